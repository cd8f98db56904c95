//! The durable side of a keyspace: the page file ([`Store`]) and the write-ahead log ([`Wal`])
//! it is opened with, the background syncer of [`FlushPolicy::Interval`], what the meta page
//! records of the log, and the closing checkpoint when the last handle drops. Opening is in
//! [`recovery`](super::recovery), checkpoints in [`checkpoint`](super::checkpoint).

use std::path::PathBuf;
use std::sync::Arc;
#[cfg(test)]
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use parking_lot::{Condvar, Mutex, RwLock};

use super::reclaim::Mover;
use super::{Keyspace, Writer};
use crate::error::{Error, Result};
use crate::io::Storage;
use crate::page::file::PageFile;
use crate::page::meta::LogBinding;
use crate::tree::TreeRoot;
#[cfg(test)]
use crate::tree::reclaim::LiveValues;
use crate::tree::store::{Store, StoreOptions, pid_path};
use crate::wal::Wal;

/// A durable tree root as readers see it: the root, the meta sequence that wrote it (what a
/// reader pins) and the file it lives in.
#[derive(Debug)]
pub(crate) struct TreeSnap {
    pub(crate) root: TreeRoot,
    pub(crate) seq: u64,
    pub(crate) file: Arc<PageFile>,
}

#[cfg(test)]
impl TreeSnap {
    pub(crate) fn for_test(seq: u64) -> TreeSnap {
        let storage = crate::io::MemStorage::new();
        let file =
            storage.open_file(std::path::Path::new("/t"), true).unwrap_or_else(|_| unreachable!());
        TreeSnap {
            root: TreeRoot::default(),
            seq,
            file: Arc::new(PageFile::new("/t".into(), file, false)),
        }
    }
}

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
    /// Open at the last checkpoint when the log is missing or not this file's (see
    /// [`LogCheck::set_aside`]).
    pub(crate) recover_without_log: bool,
    /// Open without writing anything, under a shared lock.
    pub(crate) read_only: bool,
    /// What checkpoints do about dead values in value pages.
    pub(crate) reclaim: ReclaimOptions,
    /// Holds a background index build at its start (tests only).
    #[cfg(test)]
    pub(crate) hold_index_build: Option<Arc<super::loading::IndexBuildGate>>,
}

/// What checkpoints do about dead values in value pages (see docs/design.md, *Reclaiming value
/// pages*).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReclaimOptions {
    /// Free a value page at the checkpoint that drops its last live value.
    pub(crate) free_emptied: bool,
    /// Move the live values of value pages at least this many percent dead at checkpoints.
    pub(crate) move_dead_percent: Option<u8>,
}

/// The files of a persistent database.
#[derive(Debug)]
pub(crate) struct Persist {
    pub(crate) path: PathBuf,
    pub(crate) store: Mutex<Store>,
    /// The page file point reads use (replaced by compaction).
    pub(crate) file: RwLock<Arc<PageFile>>,
    /// How the page file is (re)opened.
    pub(crate) store_opts: StoreOptions,
    pub(crate) wal: Arc<Wal>,
    pub(crate) checkpoint_wal_bytes: u64,
    /// The LSN and time of the last checkpoint made by this handle.
    pub(crate) last_checkpoint: Mutex<(u64, Option<SystemTime>)>,
    /// Moves live values out of mostly dead value pages at checkpoints.
    pub(crate) mover: Mover,
    pub(super) syncer: Option<Syncer>,
    /// Opened read-only: nothing is written, every write is [`Error::ReadOnly`].
    pub(crate) read_only: bool,
}

impl Persist {
    /// The page file.
    pub(crate) fn file(&self) -> Arc<PageFile> {
        Arc::clone(&self.file.read())
    }

    /// Whether the handle goes on after a checkpoint failed with `e`: the failure was for want
    /// of space and the store put itself back as it was (the durable state, the memtables and
    /// the log are untouched, so the next checkpoint tries again).
    pub(super) fn survives(&self, e: &Error) -> bool {
        e.is_out_of_space() && !self.store.lock().is_poisoned()
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
pub(super) struct Syncer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    pub(super) fn start(wal: Arc<Wal>, every: Duration) -> Syncer {
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
    /// How many values the mover moved since the database was opened, and how many value pages
    /// the current count saw emptied (tests of the crash sweeps, which must reclaim).
    #[cfg(test)]
    pub(crate) fn reclaimed(&self) -> (u64, u64) {
        let Some(p) = &self.persist else { return (0, 0) };
        let emptied = p.store.lock().live_values().map_or(0, LiveValues::emptied);
        (p.mover.moved.load(Ordering::Relaxed), emptied)
    }

    /// Hands the store the live values per value page counted by a background index build
    /// that has completed, if it has not got them yet.
    pub(crate) fn adopt_live_values(&self, store: &mut Store) {
        if store.live_values().is_none()
            && let Some(live) = self.loading.as_ref().and_then(|l| l.take_live_values())
        {
            store.set_live_values(live);
        }
    }
}

impl Keyspace {
    /// Records in the meta page that the log may hold frames past the checkpoint, before the
    /// first frame after an open that found it clear is written (a log lost after that is then
    /// an error, not a silent loss). The caller holds the writer lock.
    ///
    /// # Errors
    /// The error of the meta page's write or sync, which poisons the handle.
    pub(crate) fn record_log_in_use(&self, writer: &mut Writer) -> Result<()> {
        let Some(p) = &self.persist else { return Ok(()) };
        let mut store = p.store.lock();
        let Some(log) = store.log_binding() else { return Ok(()) };
        let r = store.record_log_binding(LogBinding { salt: p.wal.salt(), in_use: true, ..log });
        drop(store);
        if r.is_err() {
            self.poison();
        } else {
            writer.log_in_use = true;
        }
        r
    }

    /// After the last checkpoint of a close: records in the meta page that the log holds no
    /// frame past it, so that a log missing at the next open loses nothing.
    fn record_log_clean(&self) -> Result<()> {
        let Some(p) = &self.persist else { return Ok(()) };
        let mut store = p.store.lock();
        if p.wal.last_lsn() != store.meta().checkpoint_lsn {
            return Ok(());
        }
        let Some(log) = store.log_binding() else { return Ok(()) };
        store.record_log_binding(LogBinding { salt: p.wal.salt(), in_use: false, ..log })
    }
}

impl Drop for Keyspace {
    fn drop(&mut self) {
        self.feed.close();
        // A build still running means nothing was committed (commits wait for the indexes):
        // nothing to write.
        let built = self.loading.as_ref().is_none_or(|loading| {
            loading.stop();
            loading.is_ready()
        });
        let Some(p) = &self.persist else { return };
        if p.read_only {
            return;
        }
        if built && !self.is_poisoned() {
            let mut writer = std::mem::take(self.writer.get_mut());
            writer.closing = true;
            // Errors cannot be reported from a drop; the log still holds every commit.
            if self.checkpoint_locked(&mut writer).is_ok() {
                let _ = self.record_log_clean();
            }
        }
        let storage = Arc::clone(p.store.lock().storage());
        let _ = storage.remove(&pid_path(&p.path));
    }
}
