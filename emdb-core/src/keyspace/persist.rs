//! The durable side of a keyspace: the page file ([`Store`]) and the write-ahead log ([`Wal`])
//! it is opened with, the background syncer of [`FlushPolicy::Interval`], what the meta page
//! records of the log, and the closing checkpoint when the last handle drops. Opening is in
//! [`recovery`](super::recovery), checkpoints in [`checkpoint`](super::checkpoint).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
#[cfg(test)]
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use parking_lot::{Condvar, Mutex, RwLock};

use super::reclaim::Mover;
use super::{Durability, FlushPolicy, Keyspace, Logged, Pending, Writer};
use crate::batch::{Batch, Writes};
use crate::error::{Error, Result};
use crate::io::Storage;
use crate::page::file::PageFile;
use crate::page::meta::LogBinding;
use crate::page::value::ValueLoc;
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
    /// [`LogCheck::set_aside`](crate::wal::LogCheck::set_aside)).
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
    /// Held by whatever checkpoints on request (`checkpoint`, `close`, `backup_to`) and by a
    /// compaction from start to end, so that none of them runs while a compaction copies the
    /// tree with the writer lock let go. Taken before the writer lock, never while holding it
    /// ([`Keyspace::lock_maintenance`]).
    pub(crate) maintenance: Mutex<()>,
    /// The token of the thread that holds `maintenance`, or 0.
    pub(crate) maintainer: AtomicUsize,
}

impl Persist {
    /// After the last checkpoint of a close: records in the meta page that the log holds no
    /// frame past it, so that a log missing at the next open loses nothing.
    fn record_log_clean(&self) -> Result<()> {
        let mut store = self.store.lock();
        if self.wal.last_lsn() != store.meta().checkpoint_lsn {
            return Ok(());
        }
        let Some(log) = store.log_binding() else { return Ok(()) };
        store.record_log_binding(LogBinding { salt: self.wal.salt(), in_use: false, ..log })
    }

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
        let Some(p) = self.durability.files() else { return (0, 0) };
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
    pub(crate) fn record_log_in_use(&self, p: &Persist, writer: &mut Writer) -> Result<()> {
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
}

impl Keyspace {
    /// The closing checkpoint of [`Drop`], run now with its error reported (`Emdb::close`).
    /// Handles still open go on: their next commit records the log in use again.
    ///
    /// # Errors
    /// [`Error::Poisoned`]; as [`checkpoint_locked`](Self::checkpoint_locked).
    pub(crate) fn close(&self) -> Result<()> {
        // In memory, or read-only: nothing to write.
        let Some(p) = self.durability.files().filter(|p| !p.read_only) else { return Ok(()) };
        let _maintenance = self.lock_maintenance(p, "close")?;
        let mut guard = self.lock_writer()?;
        guard.writer.closing = true;
        let r = self.checkpoint_locked(&mut guard.writer);
        guard.writer.closing = false;
        r?;
        // Under the writer lock: no commit can slip in between.
        p.record_log_clean()
    }
}

impl Drop for Keyspace {
    fn drop(&mut self) {
        self.feed.close();
        // A build still running is stopped, and then nothing is written: the commits made since
        // the open are in the log, which the next open replays.
        let built = self.loading.as_ref().is_none_or(|loading| {
            loading.stop();
            loading.is_ready()
        });
        let writer = (built && !self.is_poisoned()).then(|| std::mem::take(self.writer.get_mut()));
        self.durability.close(self, writer);
    }
}

impl Durability for Persist {
    fn files(&self) -> Option<&Persist> {
        Some(self)
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn is_poisoned(&self) -> bool {
        self.wal.is_poisoned()
    }

    fn flush(&self) -> Result<()> {
        self.wal.sync()
    }

    fn checkpoints(&self, pending: &Pending) -> bool {
        pending.is_large()
            || self.wal.size().saturating_add(pending.encoded_len()) > self.checkpoint_wal_bytes
    }

    fn commit_sorted(&self, ks: &Keyspace, writer: &mut Writer, sorted: &Writes) -> Result<u64> {
        let lsn = self.wal.reserve_lsn()?;
        debug_assert_eq!(lsn, writer.last_lsn + 1, "the log and the keyspace agree");
        ks.checkpoint_with_writes(self, writer, sorted, lsn)?;
        Ok(lsn)
    }

    fn log(&self, ks: &Keyspace, writer: &mut Writer, batch: &Batch) -> Result<Logged> {
        // A batch that would push the log past the checkpoint threshold is not logged: the
        // checkpoint that follows it writes it to the page file and flips the meta page,
        // which is as atomic as a log frame, and the batch is not written twice. While a
        // compaction copies the tree no checkpoint may follow, so everything is logged.
        let unlogged = !writer.compacting
            && self.wal.size().saturating_add(crate::wal::encoded_len(batch))
                > self.checkpoint_wal_bytes;
        if !unlogged && !writer.log_in_use {
            ks.record_log_in_use(self, writer)?;
        }
        let lsn = if unlogged { self.wal.reserve_lsn()? } else { self.wal.append(batch)? };
        debug_assert_eq!(lsn, writer.last_lsn + 1, "the log and the keyspace agree");
        let wait = match ks.config.flush_policy {
            FlushPolicy::OnEachWrite | FlushPolicy::EveryN(0 | 1) => Some(lsn),
            FlushPolicy::EveryN(n) => {
                writer.unsynced += 1;
                (writer.unsynced >= n).then(|| {
                    writer.unsynced = 0;
                    lsn
                })
            }
            _ => None,
        };
        Ok(Logged { lsn, unlogged, wait })
    }

    fn settle(&self, ks: &Keyspace, writer: &mut Writer, logged: Logged) -> Result<Option<u64>> {
        // While a compaction copies the tree, the checkpoint waits for its end.
        if !logged.unlogged && (writer.compacting || self.wal.size() <= self.checkpoint_wal_bytes) {
            return Ok(logged.wait);
        }
        // The checkpoint makes this commit durable with everything before it.
        match ks.checkpoint_files(self, writer) {
            Ok(()) => Ok(None),
            // A logged commit stays in the log: a checkpoint that found no space (and left the
            // handle usable) is only put off to a later commit.
            Err(_) if !logged.unlogged && !ks.is_poisoned() => Ok(logged.wait),
            Err(e) => {
                // Not logged, applied in memory and not durable: the handle cannot go on.
                ks.poison();
                Err(e)
            }
        }
    }

    fn wait_durable(&self, lsn: u64) -> Result<()> {
        self.wal.wait_durable(lsn)
    }

    fn checkpoint(&self, ks: &Keyspace, writer: &mut Writer) -> Result<()> {
        ks.checkpoint_files(self, writer)
    }

    fn close(&self, ks: &Keyspace, writer: Option<Writer>) {
        if self.read_only {
            return;
        }
        if let Some(mut writer) = writer {
            writer.closing = true;
            // Errors cannot be reported from a drop; the log still holds every commit.
            if ks.checkpoint_files(self, &mut writer).is_ok() {
                let _ = self.record_log_clean();
            }
        }
        let storage = Arc::clone(self.store.lock().storage());
        let _ = storage.remove(&pid_path(&self.path));
    }

    fn read_value_into(&self, loc: ValueLoc, out: &mut Vec<u8>) -> Result<()> {
        self.file().read_value_into(loc, out)
    }
}
