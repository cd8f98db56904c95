//! Maintenance of a persistent keyspace: compaction, online backup and statistics.
//!
//! Compaction holds the writer lock only at its start and its end, so writers go on while it
//! copies (readers always do):
//! 1. Under the writer lock: a checkpoint, then the tree it wrote is the *base*, and the writer
//!    is marked compacting: until the end, every commit is logged and none checkpoints, so the
//!    base's pages stay as they are.
//! 2. Without it: build `<path>.compact` from the base with
//!    [`TreeBuilder`](crate::tree::write::TreeBuilder) (bulk load), synced, with the base's
//!    checkpoint LSN, collecting every key's new leaf and the live values per value page as the
//!    builder places them; then build the new settled index tables.
//! 3. Under the writer lock again: the new file's meta page records the log as the page file's
//!    does now → rename it over `<path>` → sync the directory → reopen the store (keeping the
//!    lock) → point every index entry at its key's new leaf and swap the page file under all
//!    index shard locks at once.
//!
//! A compaction first waits for the index build of a lazy open, whose entries name the leaves
//! of the file it replaces. The new file holds what the base holds, and its meta page records
//! the log as the page file's does at step 3: the same generation (no checkpoint starts another
//! before then), and in use if a commit said so (a commit of step 2 does, on a file that was
//! closed cleanly). The log holds every commit since the base's checkpoint, so it fits either
//! file: a crash before the rename leaves the old file (and a stray `<path>.compact`, removed by
//! the next compaction), after it the new one, each whole with the log replayed on top. The
//! commits of step 2 sit in the memtables, above either tree; the next checkpoint writes them
//! into the new file. Whatever checkpoints on request waits for the whole compaction
//! (`Persist::maintenance`), and any cycle of the value mover starts over.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::MutexGuard;

use super::commit::thread_token;
use super::index::{SettledTables, Settlement};
use super::persist::{Persist, TreeSnap};
use super::tree_key;
use super::{ALL_SHARDS, IndexFigures, Keyspace, NsState, ValueSource, Writer};
use crate::batch::NsId;
use crate::error::{Error, Result};
use crate::io::{LockGuard, LockMode, Storage, parent_dir, replace, sidecar};
use crate::page::file::PageFile;
use crate::page::leaf::parse_leaf_entry;
use crate::page::meta::{LogBinding, Meta, random_id};
use crate::page::value::ValueRef;
use crate::page::{PAGE_SIZE_U64, PageId};
use crate::progress::{Operation, Reporter};
use crate::stats::Stats;
use crate::tree::reclaim::LiveValues;
use crate::tree::store::{Store, lock_file, pid_path};
use crate::tree::write::Push;
use crate::tree::{Cursor, TreeRoot};

impl Keyspace {
    /// Takes the maintenance lock of the files `p` (see [`Persist::maintenance`]) for
    /// `operation`; the caller takes the writer lock after it.
    ///
    /// # Errors
    /// [`Error::WriteInTransaction`] if the calling thread holds the writer lock, and
    /// [`Error::InsideCompaction`] if it holds this one (a compaction's progress callback): it
    /// would wait for itself.
    pub(crate) fn lock_maintenance<'p>(
        &self,
        p: &'p Persist,
        operation: &'static str,
    ) -> Result<Maintenance<'p>> {
        if self.holds_writer() {
            return Err(Error::WriteInTransaction);
        }
        let token = thread_token();
        if p.maintainer.load(Ordering::Relaxed) == token {
            return Err(Error::InsideCompaction { operation });
        }
        let lock = p.maintenance.lock();
        p.maintainer.store(token, Ordering::Relaxed);
        Ok(Maintenance { p, _lock: lock })
    }

    /// Rewrites the page file without free space; see the module documentation.
    ///
    /// # Errors
    /// [`Error::InMemory`], [`Error::Poisoned`] (also when a commit failed while it ran),
    /// [`Error::WriteInTransaction`], [`Error::InsideCompaction`], the index build's error, or
    /// the error that stopped it (after the rename, it poisons the handle).
    pub(crate) fn compact(&self) -> Result<()> {
        let Some(p) = self.durability.files() else {
            return Err(Error::InMemory { operation: "compact" });
        };
        let _maintenance = self.lock_maintenance(p, "compact")?;
        // The build of a lazy open adds entries naming the leaves of the file it reads, which
        // this replaces (a checkpoint with nothing to write does not wait for it).
        self.wait_loaded()?;
        let (base, mark) = {
            let mut guard = self.lock_writer()?;
            self.checkpoint_locked(&mut guard.writer)?;
            (Base::of(&p.store.lock()), CompactingMark::set(self, &mut guard.writer))
        };
        let storage = Arc::clone(p.store.lock().storage());
        let tmp = sidecar(&p.path, ".compact");
        // Left by a compaction that crashed.
        discard(storage.as_ref(), &tmp);
        let mut placements = Placements::new(self.namespaces());
        let built =
            build_compacted(p, &storage, &tmp, &base, &self.config.progress, &mut placements)
                .map(|fresh| (placements.finish(), fresh));
        // This thread let the writer lock go above, so it can take it again.
        let mut guard = self.hold_writer()?;
        mark.clear(&mut guard.writer);
        let finished = built.and_then(|(placed, fresh)| {
            if self.is_poisoned() {
                return Err(Error::Poisoned);
            }
            Ok((placed, seal_compacted(p, fresh)?))
        });
        let (placed, lock) = match finished {
            Ok(done) => done,
            Err(e) => {
                drop(guard);
                // The database is as it was; the space the new file took is given back.
                discard(storage.as_ref(), &tmp);
                return Err(e);
            }
        };
        if let Err(e) = replace(storage.as_ref(), &tmp, &p.path) {
            discard(storage.as_ref(), &tmp);
            return Err(Error::io(&p.path, e));
        }
        let r = self.install_compacted(p, &storage, lock, placed);
        if r.is_err() {
            self.poison();
        }
        r
    }

    /// After the compacted file was renamed over the page file (the caller holds the writer
    /// lock): makes the rename durable, reopens the store on it (with its `lock`) and moves
    /// every reader and index entry over, as the build placed them (`placed`).
    fn install_compacted(
        &self,
        p: &Persist,
        storage: &Arc<dyn Storage>,
        lock: LockGuard,
        placed: Compacted,
    ) -> Result<()> {
        let path = &p.path;
        storage.sync_dir(parent_dir(path)).map_err(|e| Error::io(path, e))?;
        let mut store = p.store.lock();
        store.reopen(p.store_opts, lock)?;
        let file = Arc::clone(store.file());
        let (root, seq) = (store.root(), store.meta().sequence);
        drop(store);
        // Readers read a leaf and a value under a shard lock: swap the entries and the file
        // while every shard of every namespace is locked, so no reader pairs an entry of one
        // file with the other. A namespace created during the compaction has no key in the
        // new file.
        let namespaces = self.namespaces();
        let Compacted { mut tables, live } = placed;
        let mut tables: Vec<Option<SettledTables>> = namespaces
            .iter()
            .map(|ns| {
                let at = tables.iter().position(|(id, _)| *id == ns.id);
                let found = at.map(|at| tables.swap_remove(at).1);
                let none = || SettledTables::build(Settlement::new());
                ns.index.holds_every_key().then(|| found.unwrap_or_else(none))
            })
            .collect();
        let source = ValueSource { file: Arc::clone(&file), map: file.current_map()? };
        let mut guards: Vec<_> = namespaces.iter().map(|ns| ns.index.lock(ALL_SHARDS)).collect();
        *p.file.write() = Arc::clone(&file);
        for (g, t) in guards.iter_mut().zip(&mut tables) {
            g.replace_settled(t.take(), Some(&source), root);
        }
        drop(guards);
        p.store.lock().set_live_values(live);
        p.mover.reset();
        self.snapshots.lock().set_tree(Arc::new(TreeSnap { root, seq, file }));
        Ok(())
    }

    /// Writes a consistent, openable copy of the database to `dest` while it stays in use:
    /// checkpoint, then copy the page file (writers wait; readers go on) to `<dest>.tmp` with
    /// the page file's permissions, give the copy a log generation of its own (a meta page
    /// whose salt no existing log has, that expects no log), sync it, rename it to `dest`, and
    /// remove a `<dest>.wal` left by the file it replaced.
    ///
    /// # Errors
    /// [`Error::InMemory`], [`Error::BackupOntoItself`] when `dest` (or `<dest>.tmp` or
    /// `<dest>.wal`) is one of this database's files, [`Error::Locked`] when another handle has
    /// a database open at `dest`, [`Error::Poisoned`], [`Error::WriteInTransaction`], or an I/O
    /// error (`<dest>.tmp` is removed, `dest` untouched).
    pub(crate) fn backup_to(&self, dest: &Path) -> Result<()> {
        let Some(p) = self.durability.files() else {
            return Err(Error::InMemory { operation: "backup" });
        };
        let storage = Arc::clone(p.store.lock().storage());
        let dest = storage.resolve(dest).map_err(|e| Error::io(dest, e))?;
        let tmp = sidecar(&dest, ".tmp");
        let dest_log = sidecar(&dest, ".wal");
        refuse_own_files(storage.as_ref(), p, &[&dest, &tmp, &dest_log])?;
        // A database open elsewhere at `dest` keeps its file; none can open it until the copy
        // has replaced it.
        let _dest_lock = match storage.identity(&dest).map_err(|e| Error::io(&dest, e))? {
            Some(_) => Some(lock_file(storage.as_ref(), &dest, false, LockMode::Exclusive)?),
            None => None,
        };
        let _maintenance = self.lock_maintenance(p, "backup")?;
        let mut guard = self.lock_writer()?;
        self.checkpoint_locked(&mut guard.writer)?;
        let copied = copy_as_new_generation(p, storage.as_ref(), &tmp, &self.config.progress);
        drop(guard);
        if let Err(e) = copied
            .and_then(|()| replace(storage.as_ref(), &tmp, &dest).map_err(|e| Error::io(&dest, e)))
        {
            discard(storage.as_ref(), &tmp);
            return Err(e);
        }
        // The log of the file just replaced: it can never be replayed into the copy (another
        // salt), but it is not the copy's either.
        match storage.remove(&dest_log) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(&dest_log, e));
            }
            _ => {}
        }
        storage.sync_dir(parent_dir(&dest)).map_err(|e| Error::io(&dest, e))
    }

    /// Sizes and state of the database.
    ///
    /// # Errors
    /// An I/O error reading a file length.
    pub(crate) fn stats(&self) -> Result<Stats> {
        self.wait_loaded()?;
        let now = self.now();
        let live_records = self.namespaces().iter().map(|ns| ns.stats.read().len(now) as u64).sum();
        let last_lsn = self.committed.load(std::sync::atomic::Ordering::Acquire);
        let index = self.namespaces().iter().map(|ns| ns.index.figures()).fold(
            IndexFigures::default(),
            |a, b| IndexFigures {
                bytes: a.bytes + b.bytes,
                hits: a.hits + b.hits,
                misses: a.misses + b.misses,
            },
        );
        let Some(p) = self.durability.files() else {
            return Ok(Stats {
                live_records,
                index_bytes: index.bytes,
                index_hits: index.hits,
                index_misses: index.misses,
                file_bytes: 0,
                wal_bytes: 0,
                free_pages: 0,
                dead_value_bytes: 0,
                reclaimable_bytes: 0,
                tree_height: 0,
                format_version: 0,
                last_checkpoint_lsn: 0,
                last_checkpoint_time: None,
                last_lsn,
                running: self.config.progress.running(),
            });
        };
        let mut store = p.store.lock();
        self.adopt_live_values(&mut store);
        let meta = store.meta();
        let (_, time) = *p.last_checkpoint.lock();
        Ok(Stats {
            live_records,
            index_bytes: index.bytes,
            index_hits: index.hits,
            index_misses: index.misses,
            file_bytes: store.file().len()?,
            wal_bytes: p.wal.size(),
            free_pages: store.free_pages(),
            dead_value_bytes: meta.dead_value_bytes,
            reclaimable_bytes: store.live_values().map_or(0, LiveValues::reclaimable_bytes),
            tree_height: meta.height,
            format_version: store.format_version(),
            last_checkpoint_lsn: meta.checkpoint_lsn,
            last_checkpoint_time: time,
            last_lsn,
            running: self.config.progress.running(),
        })
    }
}

/// Removes the file at `path` and the `<path>.init` its creation may have left, if they exist:
/// what a failed compaction or backup wrote, so that it does not hold on to the space (the
/// failure may have been a full disk). Best effort: the failure being reported matters more.
fn discard(storage: &dyn Storage, path: &Path) {
    for file in [path.to_path_buf(), sidecar(path, ".init")] {
        if storage.exists(&file).unwrap_or(true) {
            let _ = storage.remove(&file);
        }
    }
}

/// Refuses a backup whose destination files include the page file or the log of `p`, by
/// identity (any name of them) and by resolved name.
fn refuse_own_files(storage: &dyn Storage, p: &Persist, targets: &[&Path]) -> Result<()> {
    let own_log = sidecar(&p.path, ".wal");
    let own_record = pid_path(&p.path);
    let own = [(&p.path, "page file"), (&own_log, "log"), (&own_record, "lock record")];
    for (file, what) in own {
        let id = storage.identity(file).map_err(|e| Error::io(file, e))?;
        for &target in targets {
            let same = target == file.as_path()
                || id.is_some()
                    && storage.identity(target).map_err(|e| Error::io(target, e))? == id;
            if same {
                return Err(Error::BackupOntoItself { dest: target.to_path_buf(), what });
            }
        }
    }
    Ok(())
}

/// Copies the page file of `p` (checkpointed, the caller holding the writer lock) to `tmp`
/// with its permissions, then writes a meta page of its own over the older slot: the same
/// tree and database id, a fresh log salt, no log expected. Syncs it.
fn copy_as_new_generation(
    p: &Persist,
    storage: &dyn Storage,
    tmp: &Path,
    progress: &Reporter,
) -> Result<()> {
    /// The bytes copied per read and write.
    const COPY_CHUNK: usize = 1 << 20;
    let io = |e| Error::io(tmp, e);
    let store = p.store.lock();
    let file = Arc::clone(store.file());
    let out = storage.open_file(tmp, true).map_err(io)?;
    storage.copy_permissions(&p.path, tmp).map_err(io)?;
    out.set_len(0).map_err(io)?;
    let len = file.len()?;
    let mut tracker = progress.start(Operation::Backup, len);
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut at = 0u64;
    while at < len {
        let n = usize::try_from(len - at).map_or(COPY_CHUNK, |r| r.min(COPY_CHUNK));
        let chunk = buf.get_mut(..n).unwrap_or_default();
        file.read_at(chunk, at)?;
        out.write_at(chunk, at).map_err(io)?;
        at += n as u64;
        tracker.advance(n as u64);
    }
    tracker.finish();
    let meta = store.meta();
    let log = LogBinding {
        database_id: store.log_binding().map_or_else(random_id, |b| b.database_id),
        salt: random_id(),
        in_use: false,
    };
    let copy = Meta { sequence: meta.sequence + 1, log: Some(log), ..meta };
    out.write_at(&copy.encode()[..], copy.slot() * PAGE_SIZE_U64).map_err(io)?;
    out.sync_all().map_err(io)
}

/// The maintenance lock, held ([`Keyspace::lock_maintenance`]).
pub(crate) struct Maintenance<'p> {
    p: &'p Persist,
    _lock: MutexGuard<'p, ()>,
}

impl Drop for Maintenance<'_> {
    fn drop(&mut self) {
        self.p.maintainer.store(0, Ordering::Relaxed);
    }
}

/// Under the writer lock, before the rename: makes the meta page of the compacted store
/// `fresh` record the log as the page file's does now, and returns the new file's lock. A
/// compaction that started on a file opened after a clean close, with nothing to checkpoint,
/// copied a binding that says the log holds nothing; a commit since has recorded it in use.
///
/// # Errors
/// An I/O error writing or syncing the meta page.
fn seal_compacted(p: &Persist, mut fresh: Store) -> Result<LockGuard> {
    if let Some(log) = p.store.lock().log_binding() {
        fresh.record_log_binding(log)?;
    }
    fresh.into_lock().ok_or(Error::Poisoned)
}

/// The compacting mark of the writer ([`Writer::compacting`]), set while this lives: cleared by
/// [`clear`](Self::clear) under the writer lock that swaps the new file in, or, if the
/// compaction unwinds before (a panicking progress callback), when it is dropped.
struct CompactingMark<'a> {
    ks: &'a Keyspace,
    set: bool,
}

impl<'a> CompactingMark<'a> {
    fn set(ks: &'a Keyspace, writer: &mut Writer) -> Self {
        writer.compacting = true;
        CompactingMark { ks, set: true }
    }

    fn clear(mut self, writer: &mut Writer) {
        writer.compacting = false;
        self.set = false;
    }
}

impl Drop for CompactingMark<'_> {
    fn drop(&mut self) {
        if self.set && !self.ks.holds_writer() {
            self.ks.writer.lock().compacting = false;
        }
    }
}

/// The tree a compaction copies: the page file's as the checkpoint at its start left it.
struct Base {
    file: Arc<PageFile>,
    root: TreeRoot,
    meta: Meta,
    catalog_entries: u64,
    log: Option<LogBinding>,
}

impl Base {
    fn of(store: &Store) -> Self {
        Base {
            file: Arc::clone(store.file()),
            root: store.root(),
            meta: store.meta(),
            catalog_entries: store.catalog_entries(),
            log: store.log_binding(),
        }
    }
}

/// What a compacted file holds, as its build placed the entries: the settled tables of each
/// namespace whose index holds every key, and the live values per value page.
struct Compacted {
    tables: Vec<(NsId, SettledTables)>,
    live: LiveValues,
}

/// Collects where the build of a compacted file places each entry, as it writes each leaf:
/// every key's leaf and place (for the namespaces whose index holds every key) and the live
/// values, so that the new file is not read again. Its tables are built before the writer lock
/// is taken again.
struct Placements {
    /// The namespaces when the compaction started, by ascending id (a namespace created since
    /// has no key in the new file).
    namespaces: Vec<Arc<NsState>>,
    settlements: Vec<Settlement>,
    live: LiveValues,
    /// The position in `namespaces` of the last entry's namespace (entries come in key order,
    /// so namespace by namespace).
    at: usize,
}

impl Placements {
    fn new(namespaces: Vec<Arc<NsState>>) -> Self {
        let settlements = namespaces.iter().map(|_| Settlement::new()).collect();
        Placements { namespaces, settlements, live: LiveValues::default(), at: 0 }
    }

    /// The raw leaf entry `raw` was placed at `place` in leaf `leaf`.
    ///
    /// # Errors
    /// [`Error::Internal`] if the builder's own entry does not parse.
    fn add(&mut self, leaf: PageId, place: u16, raw: &[u8]) -> Result<()> {
        let e = parse_leaf_entry(raw)
            .map_err(|e| Error::Internal { detail: format!("a compacted entry: {e}") })?;
        if let ValueRef::Stored(loc) = e.value {
            self.live.add(loc);
        }
        if let Some((id, key)) = tree_key::split(e.key) {
            if self.namespaces.get(self.at).is_none_or(|ns| ns.id != id) {
                self.at = self.namespaces.iter().position(|ns| ns.id == id).unwrap_or(usize::MAX);
            }
            if let (Some(ns), Some(s)) =
                (self.namespaces.get(self.at), self.settlements.get_mut(self.at))
                && ns.index.holds_every_key()
            {
                s.written(ns.index.hash(key), leaf, place);
            }
        }
        Ok(())
    }

    /// The tables and live values of the whole file.
    fn finish(self) -> Compacted {
        let tables = self
            .namespaces
            .iter()
            .zip(self.settlements)
            .filter(|(ns, _)| ns.index.holds_every_key())
            .map(|(ns, s)| (ns.id, SettledTables::build(s)))
            .collect();
        Compacted { tables, live: self.live }
    }
}

/// Writes the compacted copy of the `base` tree to `tmp`, durably, with the page file's
/// permissions, database id and log binding; returns its store, which holds the lock of the
/// new file (held since it was created, and kept across its rename).
fn build_compacted(
    p: &Persist,
    storage: &Arc<dyn Storage>,
    tmp: &Path,
    base: &Base,
    progress: &Reporter,
    placements: &mut Placements,
) -> Result<Store> {
    let mut fresh = Store::open(Arc::clone(storage), tmp, p.store_opts)?;
    storage.copy_permissions(&p.path, tmp).map_err(|e| Error::io(tmp, e))?;
    // Every entry is copied, the catalog's too.
    fresh.set_catalog_entries(base.catalog_entries);
    if let Some(log) = base.log {
        fresh.set_log_binding(log);
    }
    let file = &base.file;
    let lsn = base.meta.checkpoint_lsn;
    let mut tracker = progress.start(Operation::Compact, base.meta.entry_count);
    let mut cursor = Cursor::new(file, base.root);
    cursor.seek_first()?;
    // Every entry in key order, its key borrowed from the leaf and a stored value read into one
    // reused buffer.
    let entries = |push: Push<'_>| {
        let mut stored = Vec::new();
        while let Some(e) = cursor.entry()? {
            tracker.advance(1);
            let value = match e.value {
                ValueRef::Inline(bytes) => bytes,
                ValueRef::Stored(loc) => {
                    stored.clear();
                    file.read_value_into(loc, &mut stored)?;
                    &stored[..]
                }
            };
            push(e.key, value, e.expires_at)?;
            cursor.next()?;
        }
        Ok(())
    };
    let mut placed = |leaf, place, raw: &[u8]| placements.add(leaf, place, raw);
    fresh.bulk_load(entries, lsn, Some(&mut placed))?;
    tracker.finish();
    Ok(fresh)
}
