//! The durable side of a keyspace: the page file ([`Store`]), the write-ahead log ([`Wal`]) and
//! the background syncer of [`FlushPolicy::Interval`], and opening a database from them.
//!
//! Open (recovery): take the lock and read the newest valid meta page ([`Store::open`]) →
//! replay every log frame newer than the checkpoint through the same `apply` a commit uses.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::{Config, Keyspace, Writer};
use crate::builder::FlushPolicy;
use crate::error::Result;
use crate::io::Storage;
use crate::tree::store::{Store, StoreOptions};
use crate::wal::Wal;

/// How a persistent keyspace is opened.
#[derive(Debug, Clone)]
pub(crate) struct PersistOptions {
    /// Where the files live (through this seam).
    pub(crate) storage: Arc<dyn Storage>,
    /// The page file; the log and the lock are its sidecars.
    pub(crate) path: PathBuf,
    /// Read pages through a read-only memory mapping.
    pub(crate) mmap: bool,
    /// Checkpoint automatically once the log grows past this many bytes.
    pub(crate) checkpoint_wal_bytes: u64,
}

/// The files of a persistent database.
#[derive(Debug)]
pub(crate) struct Persist {
    pub(crate) path: PathBuf,
    pub(crate) store: Mutex<Store>,
    pub(crate) wal: Arc<Wal>,
    pub(crate) checkpoint_wal_bytes: u64,
    syncer: Option<Syncer>,
}

impl Persist {
    /// The path of the page file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Persist {
    fn drop(&mut self) {
        if let Some(syncer) = self.syncer.take() {
            syncer.stop();
        }
    }
}

/// The background thread of [`FlushPolicy::Interval`]: syncs the log at a fixed interval until
/// it is stopped. It holds the log only, never the keyspace, so stopping it cannot deadlock.
#[derive(Debug)]
struct Syncer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    fn start(wal: Arc<Wal>, every: Duration) -> Syncer {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("emdb-syncer".into())
            .spawn(move || {
                let (lock, cv) = &*signal;
                let mut stopped = lock.lock();
                while !*stopped {
                    let timed_out = cv.wait_for(&mut stopped, every).timed_out();
                    if *stopped {
                        break;
                    }
                    if timed_out {
                        // A failed sync poisons the log; every later commit then reports it.
                        let _ = wal.sync();
                        if wal.is_poisoned() {
                            break;
                        }
                    }
                }
            })
            .ok();
        Syncer { stop, thread }
    }

    fn stop(mut self) {
        let (lock, cv) = &*self.stop;
        *lock.lock() = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Keyspace {
    /// Opens (or creates) the database at `opts.path`: lock, newest meta page, replay of the log.
    ///
    /// # Errors
    /// [`Error::Locked`](crate::Error::Locked), [`Error::NotAnEmdbFile`](crate::Error::NotAnEmdbFile),
    /// [`Error::UnsupportedFormatVersion`](crate::Error::UnsupportedFormatVersion),
    /// [`Error::Corruption`](crate::Error::Corruption), or an I/O error.
    pub(crate) fn open(config: Config, opts: &PersistOptions) -> Result<Keyspace> {
        let store_opts = StoreOptions { mmap: opts.mmap, ..StoreOptions::default() };
        let store = Store::open(Arc::clone(&opts.storage), &opts.path, store_opts)?;
        let policy = config.flush_policy;
        let mut ks = Keyspace::new(config);
        let checkpoint_lsn = store.meta().checkpoint_lsn;
        let mut writer = Writer { last_lsn: checkpoint_lsn, ..Writer::default() };
        let (wal, recovery) =
            Wal::open(&opts.storage, &opts.path, checkpoint_lsn, |lsn, batch| {
                ks.apply(&batch, lsn, &mut writer);
                writer.last_lsn = lsn;
                Ok(())
            })?;
        writer.last_lsn = recovery.last_lsn;
        ks.committed.store(recovery.last_lsn, std::sync::atomic::Ordering::Release);
        *ks.writer.get_mut() = writer;
        let wal = Arc::new(wal);
        let syncer = match policy {
            FlushPolicy::Interval(every) => Some(Syncer::start(Arc::clone(&wal), every)),
            _ => None,
        };
        ks.persist = Some(Persist {
            path: opts.path.clone(),
            store: Mutex::new(store),
            wal,
            checkpoint_wal_bytes: opts.checkpoint_wal_bytes,
            syncer,
        });
        Ok(ks)
    }
}
