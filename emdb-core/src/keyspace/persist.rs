//! The durable side of a keyspace: the page file ([`Store`]), the write-ahead log ([`Wal`]) and
//! the background syncer of [`FlushPolicy::Interval`]; opening a database from them; and the
//! checkpoint that folds the memtables into the tree.
//!
//! Open (recovery): take the lock and read the newest valid meta page ([`Store::open`]) → read
//! the namespace catalog → read the log's frames newer than the checkpoint → with frames:
//! rebuild every namespace's index, expiry index and count with one sequential leaf scan, then
//! replay the frames through the same `apply` a commit uses; without: start that scan on a
//! background thread and return ([`loading`](super::loading)).
//!
//! Checkpoint (under the writer lock): the newest version of every memtable key (and the
//! catalog entries of new namespaces) → [`Store::checkpoint`] writes them as new pages and flips
//! the meta page → under the snapshot registry lock, new readers get the new root and empty
//! memtables (older iterators keep their pinned root and frozen memtable) → index entries of
//! values that went to value pages or overflow runs drop their resident bytes → the log starts
//! a new generation.
//!
//! Tree keys are the namespace id (4 bytes, big-endian) followed by the user key. The catalog
//! lives under the reserved id `u32::MAX`: key `FF FF FF FF` + namespace id (big-endian), value
//! the namespace name.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use parking_lot::{Condvar, Mutex, RwLock};

use super::loading::{Loading, fill_indexes};
use super::reclaim::{Mover, add_moves, move_budget};
use super::{Config, Keyspace, NsState, Writer};
use crate::batch::{NsId, Writes};
use crate::builder::FlushPolicy;
use crate::error::{Error, Result};
use crate::io::{Storage, replaced_path};
use crate::page::file::PageFile;
use crate::page::meta::{LogBinding, random_id};
use crate::page::node::{ValueLoc, ValueRef};
#[cfg(test)]
use crate::tree::reclaim::LiveValues;
use crate::tree::store::{Access, Store, StoreOptions, pid_path, record_locker};
use crate::tree::write::Change;
use crate::tree::{Cursor, TreeRoot};
use crate::wal::{LogCheck, Recovery, Wal, fresh_salt};

/// The newest version of a key as a checkpoint writes it: value and expiry, or a removal.
type Head = Option<(Arc<[u8]>, u64)>;

/// The namespace id under which the catalog of namespace names lives in the tree.
pub(super) const CATALOG: NsId = NsId::MAX;

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
    syncer: Option<Syncer>,
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
    fn survives(&self, e: &Error) -> bool {
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
    /// Opens (or creates) the database at `opts.path`: lock, newest meta page, index rebuild from
    /// the tree, replay of the log.
    ///
    /// # Errors
    /// [`Error::Locked`], [`Error::NotAnEmdbFile`], [`Error::UnsupportedFormatVersion`],
    /// [`Error::Corruption`], or an I/O error.
    pub(crate) fn open(config: Config, opts: &PersistOptions) -> Result<Keyspace> {
        let store_opts = StoreOptions {
            mmap: opts.mmap,
            access: if opts.read_only { Access::ReadOnly } else { Access::Create },
            free_emptied: opts.reclaim.free_emptied,
            ..StoreOptions::default()
        };
        let mut store = Store::open(Arc::clone(&opts.storage), &opts.path, store_opts)?;
        // An open that fails from here on leaves no `<path>.lock` behind.
        let mut record = (!opts.read_only).then(|| LockRecord(opts.storage.as_ref(), &opts.path));
        if !opts.read_only {
            settle_in(opts.storage.as_ref(), &opts.path)?;
        }
        let policy = config.flush_policy;
        let ks = Keyspace::new(config, true);
        let meta = store.meta();
        let file = Arc::clone(store.file());
        let root = store.root();
        // A meta page that records no catalog entries saves looking for them (three pages
        // read at open); one of an older format says nothing either way.
        if meta.catalog_entries != Some(0) {
            let found = ks.load_catalog(&file, root)?;
            if let Some(recorded) = meta.catalog_entries
                && recorded != found
            {
                return Err(file.corruption(
                    0,
                    format!(
                        "the meta page records {recorded} namespace catalog entries, the tree \
                         holds {found}"
                    ),
                ));
            }
            store.set_catalog_entries(found);
        }
        ks.snapshots.lock().set_tree(Arc::new(TreeSnap {
            root,
            seq: meta.sequence,
            file: Arc::clone(&file),
        }));
        let checkpoint_lsn = meta.checkpoint_lsn;
        let (wal, recovery, frames) = open_log(&mut store, opts)?;
        let in_use = meta.log.is_some_and(|b| b.in_use);
        let mut writer =
            Writer { last_lsn: checkpoint_lsn, log_in_use: in_use, ..Writer::default() };
        let mut ks = ks;
        // A log with frames past the checkpoint (a crash, or a handle still open elsewhere
        // before): build the indexes now and replay the frames over them. Otherwise the tree is
        // the whole database and the indexes are built in the background (`loading.rs`).
        let lazy = frames.is_empty();
        let build_now = |ks: &Keyspace| {
            fill_indexes(&ks.namespaces(), &file, root, meta.entry_count, &AtomicBool::new(false))
        };
        if !lazy {
            store.set_live_values(build_now(&ks)?);
            for (lsn, batch) in frames {
                ks.apply(&batch, lsn, &mut writer);
                writer.last_lsn = lsn;
            }
        }
        writer.last_lsn = recovery.last_lsn;
        ks.committed.store(recovery.last_lsn, Ordering::Release);
        *ks.writer.get_mut() = writer;
        let wal = Arc::new(wal);
        let syncer = match policy {
            FlushPolicy::Interval(every) if !opts.read_only => {
                Some(Syncer::start(Arc::clone(&wal), every))
            }
            _ => None,
        };
        ks.persist = Some(Persist {
            path: opts.path.clone(),
            store: Mutex::new(store),
            file: RwLock::new(Arc::clone(&file)),
            store_opts,
            wal,
            checkpoint_wal_bytes: opts.checkpoint_wal_bytes,
            last_checkpoint: Mutex::new((checkpoint_lsn, None)),
            mover: Mover::new(opts.reclaim.move_dead_percent),
            syncer,
            read_only: opts.read_only,
        });
        ks.publish_value_source()?;
        if lazy {
            let start = Loading::start(
                ks.namespaces(),
                Arc::clone(&file),
                root,
                meta.entry_count,
                #[cfg(test)]
                opts.hold_index_build.clone(),
            );
            if let Ok(loading) = start {
                ks.loading = Some(loading);
            } else {
                // No thread to spare: build them here.
                let live = build_now(&ks)?;
                if let Some(p) = &ks.persist {
                    p.store.lock().set_live_values(live);
                }
            }
        }
        // Opened: the record stays until the handle closes.
        std::mem::forget(record.take());
        Ok(ks)
    }

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

    /// Reads the namespace catalog and registers every namespace it names; returns the number
    /// of its entries.
    fn load_catalog(&self, file: &PageFile, root: TreeRoot) -> Result<u64> {
        let catalog = CATALOG.to_be_bytes();
        let mut cursor = Cursor::new(file, root);
        cursor.seek_at_or_after(&catalog)?;
        let mut entries = 0;
        while let Some(e) = cursor.entry()? {
            entries += 1;
            let id = e.key.get(4..8).and_then(|b| b.try_into().ok()).map(NsId::from_be_bytes);
            let value = match e.value {
                ValueRef::Inline(b) => b.to_vec(),
                ValueRef::Stored(loc) => file.read_value(loc)?,
            };
            let (Some(id), Ok(name), 8) = (id, String::from_utf8(value), e.key.len()) else {
                return Err(file.corruption(0, "a namespace catalog entry is malformed"));
            };
            if id != super::DEFAULT_NS && id != CATALOG {
                self.add_namespace(id, name);
            }
            cursor.next()?;
        }
        Ok(entries)
    }

    /// Writes the memtables into the tree, makes it durable, and starts a new log generation.
    /// The caller holds the writer lock (`writer`).
    pub(crate) fn checkpoint_locked(&self, writer: &mut Writer) -> Result<()> {
        let Some(p) = &self.persist else { return Ok(()) };
        if self.is_poisoned() {
            return Err(Error::Poisoned);
        }
        let r = self.checkpoint_inner(p, writer, None);
        if let Err(e) = &r
            && !p.survives(e)
        {
            self.poison();
        }
        r
    }

    /// Commits `batch` (sorted puts and removes of existing namespaces) without logging it: one checkpoint writes it to the page file together with every
    /// memtable, and the meta-page flip makes it durable. Only then is it published in memory:
    /// the index gets the values' disk locations (or the bytes of inline values) straight away,
    /// and the batch never enters a memtable. The caller holds the writer lock and has taken
    /// `lsn` with [`Wal::reserve_lsn`].
    ///
    /// # Errors
    /// As [`checkpoint_locked`](Self::checkpoint_locked); a failure poisons the handle (a
    /// failure after the meta flip still publishes the batch, which is durable).
    pub(crate) fn commit_directly(
        &self,
        writer: &mut Writer,
        batch: &Writes,
        lsn: u64,
    ) -> Result<()> {
        let Some(p) = &self.persist else { return Ok(()) };
        if self.is_poisoned() {
            return Err(Error::Poisoned);
        }
        writer.last_lsn = lsn;
        let r = self.checkpoint_inner(p, writer, Some(batch));
        if let Err(e) = &r {
            if p.survives(e) {
                // Nothing of the batch was applied: its LSN goes back, so that the next commit
                // takes it and the log's frames stay consecutive.
                p.wal.unreserve_lsn(lsn);
                writer.last_lsn = lsn - 1;
            } else {
                self.poison();
            }
        }
        r
    }

    fn checkpoint_inner(
        &self,
        p: &Persist,
        writer: &mut Writer,
        batch: Option<&Writes>,
    ) -> Result<()> {
        let lsn = writer.last_lsn;
        let namespaces = self.namespaces();
        let mems: Vec<_> = namespaces.iter().map(|ns| ns.memtable()).collect();
        let mut store = p.store.lock();
        let nothing_new =
            mems.iter().all(|m| m.read().is_empty()) && writer.new_namespaces.is_empty();
        if batch.is_none() && nothing_new && store.meta().checkpoint_lsn >= lsn {
            return Ok(());
        }
        let owned = heads(&namespaces, &mems, &writer.new_namespaces);
        let empty = Writes::default();
        let (changes, from_batch) = merge(&owned, batch.unwrap_or(&empty));
        self.adopt_live_values(&mut store);
        let written: usize = changes.iter().filter_map(|c| c.value).map(|(v, _)| v.len()).sum();
        let budget = move_budget(written as u64);
        let to_move = p.mover.moves(&namespaces, store.live_values(), store.file(), budget)?;
        let (changes, from_batch) = add_moves(changes, from_batch, &to_move);
        let oldest = self.snapshots.lock().oldest_pinned(store.meta().sequence);
        // Every namespace but the default one has its catalog entry once this is durable.
        store.set_catalog_entries(namespaces.len().saturating_sub(1) as u64);
        // The batch's namespaces. A large batch into empty indexes (a first load) is applied to
        // them while its pages are made durable, on another thread, and published once they
        // are; any other is applied once they are.
        let written = batch.map(|b| (b, self.written(b)));
        let first_load =
            written.as_ref().filter(|(b, w)| b.len() >= OVERLAP_SYNC_ABOVE && w.indexes_empty());
        let staged = store.stage(&changes, lsn, oldest)?;
        // The meta page names the log generation that follows it: a new one when the log is
        // reset below (it holds nothing past this checkpoint), else the current one.
        let reset = p.wal.last_lsn() == lsn;
        let salt = if reset { fresh_salt() } else { p.wal.salt() };
        // The closing checkpoint of a log it empties records the log clean in its own meta
        // page (a crash before the reset leaves only frames the tree holds).
        let in_use = !(writer.closing && reset);
        if let Some(log) = store.log_binding() {
            store.set_log_binding(LogBinding { salt, in_use, ..log });
        }
        let file = Arc::clone(store.file());
        let root = staged.root;
        let placed = store.take_placed();
        let Placements { moved, relocated, batch_locs } =
            placements(&namespaces, &changes, &from_batch, placed, batch.map_or(0, Writes::len));
        drop(changes);
        // The file grew: readers get a mapping that covers the values about to move to it
        // (before any shard is locked below: publishing takes each shard's lock). A failure is
        // reported once the batch, durable by then, is published.
        let published = self.publish_value_source();
        let overlapped = match first_load {
            Some((batch, written)) => std::thread::scope(|scope| {
                let spare = staged.clone();
                let store = &mut *store;
                let sync = std::thread::Builder::new()
                    .name("emdb-sync".into())
                    .spawn_scoped(scope, move || store.publish(spare))
                    .ok()?;
                let applied = written.lock_and_apply(batch, &batch_locs);
                // The thread returns what `publish` does; a panic there (none is possible) is
                // a failed publish.
                let meta = sync.join().unwrap_or(Err(Error::Poisoned));
                Some((meta, applied))
            }),
            _ => None,
        };
        let (meta, applied) = match overlapped {
            Some((Ok(meta), applied)) => (meta, Some(applied)),
            Some((Err(e), applied)) => {
                // Not durable: the indexes go back to empty before anyone reads them.
                super::Written::undo(applied);
                return Err(e);
            }
            // No thread to overlap with (or no first load): durable first, then applied.
            None => (store.publish(staged)?, None),
        };
        drop(store);
        {
            let mut snapshots = self.snapshots.lock();
            snapshots.set_tree(Arc::new(TreeSnap { root, seq: meta.sequence, file }));
            for ns in &namespaces {
                ns.fresh_memtable();
            }
            // Every touched shard is locked and filled, and the LSN published before any is
            // released: a point reader sees all of the batch or none of it.
            match (applied, &written) {
                (Some(applied), _) => self.publish_applied(applied, lsn),
                (None, Some((batch, written))) => {
                    self.publish_applied(written.lock_and_apply(batch, &batch_locs), lsn);
                }
                (None, None) => {}
            }
        }
        writer.garbage.clear();
        writer.collected_at = None;
        writer.new_namespaces.clear();
        for (at, key, loc) in moved {
            if let Some(ns) = namespaces.get(at) {
                ns.index.move_to_disk(&key, loc);
            }
        }
        writer.log_in_use = in_use;
        #[cfg(test)]
        p.mover.moved.fetch_add(relocated.len() as u64, Ordering::Relaxed);
        for (at, key, from, to) in relocated {
            if let Some(ns) = namespaces.get(at) {
                ns.index.repoint(&key, from, to);
            }
        }
        published?;
        p.wal.reset(lsn, salt)?;
        *p.last_checkpoint.lock() = (lsn, Some(SystemTime::now()));
        Ok(())
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

/// A log frame to replay: its LSN and its batch.
type Frame = (u64, crate::batch::Batch);

/// Opens the log of the page file `store` opened (see [`Wal::open`]) and collects its frames
/// past the checkpoint; records in the store what its next meta page says of the log.
///
/// # Errors
/// As [`Wal::open`].
fn open_log(store: &mut Store, opts: &PersistOptions) -> Result<(Wal, Recovery, Vec<Frame>)> {
    let meta = store.meta();
    // A file of a format before 5 gets its database id now; its meta pages record it from the
    // first commit or checkpoint on.
    let database_id = meta.log.map_or_else(random_id, |b| b.database_id);
    let check = LogCheck {
        database_id,
        binding: meta.log,
        set_aside: opts.recover_without_log,
        meta_intact: store.meta_intact(),
        read_only: opts.read_only,
    };
    let mut frames = Vec::new();
    let (wal, recovery) =
        Wal::open(&opts.storage, &opts.path, meta.checkpoint_lsn, check, |lsn, batch| {
            frames.push((lsn, batch));
            Ok(())
        })?;
    let in_use = meta.log.is_some_and(|b| b.in_use);
    store.set_log_binding(LogBinding { database_id, salt: wal.salt(), in_use });
    Ok((wal, recovery, frames))
}

/// The writer's lock record (`<path>.lock`) of an open under way, removed if the open fails
/// (dropped before the store, whose lock it names, lets go).
struct LockRecord<'a>(&'a dyn Storage, &'a std::path::Path);

impl Drop for LockRecord<'_> {
    fn drop(&mut self) {
        let _ = self.0.remove(&pid_path(self.1));
    }
}

/// What the writer does once it holds the lock of the database at `path`: records its process
/// id, and removes the old file of a replacement that was done but not cleaned up (the lock it
/// holds is that of the file that replaced it, so no replacement is under way).
fn settle_in(storage: &dyn Storage, path: &std::path::Path) -> Result<()> {
    record_locker(storage, path);
    let old = replaced_path(path);
    if storage.exists(&old).map_err(|e| Error::io(&old, e))? {
        storage.remove(&old).map_err(|e| Error::io(&old, e))?;
    }
    Ok(())
}

/// Where a checkpoint placed the values of its changes, sorted by what the index does with them.
struct Placements {
    /// Values of memtable changes that left the leaves: (namespace, key, location).
    moved: Vec<(usize, Vec<u8>, ValueLoc)>,
    /// Values moved out of value pages being emptied: (namespace, key, from, to).
    relocated: Vec<(usize, Vec<u8>, ValueLoc, ValueLoc)>,
    /// Per write of the batch, where its value went (`None`: in its leaf, or a removal).
    batch_locs: Vec<Option<ValueLoc>>,
}

/// Pairs the tree writer's placements (one per change that puts a value, in the order of the
/// changes) with the checkpoint's `changes`.
fn placements(
    namespaces: &[Arc<NsState>],
    changes: &[Change<'_>],
    from_batch: &[bool],
    placed: Vec<Option<ValueLoc>>,
    batch_len: usize,
) -> Placements {
    let mut out = Placements {
        moved: Vec::new(),
        relocated: Vec::new(),
        batch_locs: Vec::with_capacity(batch_len),
    };
    let puts = changes.iter().zip(from_batch).filter(|(c, _)| c.value.is_some());
    debug_assert_eq!(puts.clone().count(), placed.len(), "one placement per value written");
    let mut placed = placed.into_iter();
    for (c, &new) in changes.iter().zip(from_batch) {
        let loc = if c.value.is_some() { placed.next().flatten() } else { None };
        let ns_at = || {
            let id = c.key.get(..4).and_then(|b| b.try_into().ok()).map_or(0, NsId::from_be_bytes);
            namespaces.iter().position(|ns| ns.id == id).unwrap_or(usize::MAX)
        };
        let key = || c.key.get(4..).unwrap_or_default().to_vec();
        if let Some(from) = c.from {
            if let Some(to) = loc {
                out.relocated.push((ns_at(), key(), from, to));
            }
        } else if new {
            out.batch_locs.push(loc);
        } else if let Some(loc) = loc
            && c.key.get(..4) != Some(&CATALOG.to_be_bytes()[..])
        {
            out.moved.push((ns_at(), key(), loc));
        }
    }
    out
}

/// From how many writes a batch into empty indexes is applied to them while its pages are
/// synced (smaller ones are not worth a thread).
const OVERLAP_SYNC_ABOVE: usize = 1 << 16;

/// The newest version of every key changed in the memtables, and the catalog entries of the
/// namespaces created since the last checkpoint, in tree-key order (namespaces ascending).
fn heads(
    namespaces: &[Arc<NsState>],
    mems: &[Arc<RwLock<super::Memtable>>],
    new_namespaces: &[(NsId, String)],
) -> Vec<(Vec<u8>, Head)> {
    let mut owned: Vec<(Vec<u8>, Head)> = Vec::new();
    for (ns, mem) in namespaces.iter().zip(mems) {
        let prefix = ns.tree_prefix();
        for (key, head) in super::Memtable::read_folded(mem).heads() {
            let mut k = Vec::with_capacity(4 + key.len());
            k.extend_from_slice(&prefix);
            k.extend_from_slice(key);
            owned.push((k, head.map(|s| (Arc::clone(&s.value), s.expires_at))));
        }
    }
    let mut new_ns = new_namespaces.to_vec();
    new_ns.sort_unstable_by_key(|(id, _)| *id);
    for (id, name) in &new_ns {
        let mut k = CATALOG.to_be_bytes().to_vec();
        k.extend_from_slice(&id.to_be_bytes());
        owned.push((k, Some((Arc::from(name.as_bytes()), 0))));
    }
    owned
}

/// Merges the memtables' heads with a batch's writes (both sorted by tree key) into one
/// sorted change list; on the same key the batch, which is newer, wins. Also returns, per
/// change, whether it came from the batch.
fn merge<'a>(owned: &'a [(Vec<u8>, Head)], batch: &'a Writes) -> (Vec<Change<'a>>, Vec<bool>) {
    let mut changes: Vec<Change<'a>> = Vec::with_capacity(owned.len() + batch.len());
    let mut from_batch: Vec<bool> = Vec::with_capacity(owned.len() + batch.len());
    let (mut mem_at, mut op_at) = (0, 0);
    loop {
        let head =
            owned.get(mem_at).map(|(k, v)| Change::new(k, v.as_ref().map(|(v, e)| (&v[..], *e))));
        let new =
            (op_at < batch.len()).then(|| Change::new(batch.tree_key(op_at), batch.value(op_at)));
        let take_new = match (&head, &new) {
            (Some(old), Some(new)) => {
                if old.key == new.key {
                    mem_at += 1;
                }
                old.key >= new.key
            }
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (None, None) => break,
        };
        let next = if take_new {
            op_at += 1;
            new
        } else {
            mem_at += 1;
            head
        };
        if let Some(change) = next {
            changes.push(change);
            from_batch.push(take_new);
        }
    }
    (changes, from_batch)
}

impl Keyspace {
    /// The closing checkpoint of [`Drop`], run now with its error reported (`Emdb::close`).
    /// Handles still open go on: their next commit records the log in use again.
    ///
    /// # Errors
    /// [`Error::Poisoned`]; as [`checkpoint_locked`](Self::checkpoint_locked).
    pub(crate) fn close(&self) -> Result<()> {
        let Some(p) = &self.persist else { return Ok(()) };
        if p.read_only {
            return Ok(());
        }
        let mut guard = self.lock_writer()?;
        guard.writer.closing = true;
        let r = self.checkpoint_locked(&mut guard.writer);
        guard.writer.closing = false;
        r?;
        // Under the writer lock: no commit can slip in between.
        self.record_log_clean()
    }
}

impl Drop for Keyspace {
    fn drop(&mut self) {
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
