//! [`Store`]: the page file as a whole: open or create it (lock, meta pages, free-list), and
//! the checkpoint that makes a new tree root durable ([`Store::stage`], then
//! [`Store::publish`]). The protocol step by step, and why its order is crash-safe, is in
//! docs/design.md ("Checkpoint protocol").

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::io::{LockGuard, LockMode, Storage, parent_dir, replaced_path, sidecar};
use crate::page::alloc::{Allocator, DoubleFree};
use crate::page::file::PageFile;
use crate::page::freelist::{self, EXTENTS_PER_PAGE, Extent};
use crate::page::leaf::MAX_LEAF_ENTRY;
use crate::page::meta::{self, LogBinding, MAGIC, Meta};
use crate::page::{PAGE_SIZE, PAGE_SIZE_U64, PageError, PageId, PageType};

use super::TreeRoot;
use super::reclaim::LiveValues;
use super::write::{Change, LeafChanges, Placed, Push, TreeBuilder, Writer};

/// A checkpoint between [`Store::stage`] and [`Store::publish`]: its pages are written, not yet
/// durable.
#[derive(Debug, Clone)]
pub(crate) struct Staged {
    /// The new root.
    pub(crate) root: TreeRoot,
    entry_count: u64,
    dead: u64,
    checkpoint_lsn: u64,
    /// The free-list chain written for the new meta page.
    chain: Vec<PageId>,
    /// The leaves the checkpoint replaced and wrote.
    pub(crate) leaves: LeafChanges,
}

/// What the tree held of each change's key before a checkpoint, one item per change, in the
/// order of the changes: the expiry of the entry the change replaced or removed, `None` when
/// there was none.
#[derive(Debug)]
pub(crate) struct Prior(Vec<Option<u64>>);

impl Prior {
    /// Checks the tree writer's record (one item per change) against `changes`.
    ///
    /// # Errors
    /// [`Error::Internal`] if the writer recorded another number of items than there are
    /// changes.
    fn pair(changes: &[Change<'_>], prior: Vec<Option<u64>>) -> Result<Prior> {
        if prior.len() != changes.len() {
            return Err(Error::Internal {
                detail: format!(
                    "a checkpoint recorded {} prior entries for {} changes",
                    prior.len(),
                    changes.len()
                ),
            });
        }
        Ok(Prior(prior))
    }

    /// The prior entry of each change, in the order of the changes.
    pub(crate) fn into_expiries(self) -> Vec<Option<u64>> {
        self.0
    }
}

/// How a [`Store`] opens its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// For writing, created when it does not exist.
    Create,
    /// For writing; a missing file is an error.
    Existing,
    /// Without write access, under a shared lock: never created, never written.
    ReadOnly,
}

/// How a [`Store`] is opened.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreOptions {
    /// Read pages through a read-only memory mapping instead of `pread`.
    pub(crate) mmap: bool,
    /// Values up to this many bytes stay inline in their leaf (capped so that an entry fits
    /// half a leaf); larger ones go to value pages or overflow runs.
    pub(crate) inline_max: usize,
    /// Whether the file may be created, and whether it is written.
    pub(crate) access: Access,
    /// Free a value page at the checkpoint that drops its last live value (once the live
    /// values are counted, see [`Store::set_live_values`]); otherwise only compaction does.
    pub(crate) free_emptied: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            mmap: false,
            inline_max: DEFAULT_INLINE_MAX,
            access: Access::Create,
            free_emptied: true,
        }
    }
}

/// The default inline threshold; see docs/design.md ("Where values live").
pub(crate) const DEFAULT_INLINE_MAX: usize = 128;

/// The page file of one database, with its lock held.
#[derive(Debug)]
pub(crate) struct Store {
    storage: Arc<dyn Storage>,
    path: PathBuf,
    file: Arc<PageFile>,
    /// The durable meta page.
    meta: Meta,
    alloc: Allocator,
    /// The pages of the durable free-list chain; freed by the next checkpoint.
    free_chain: Vec<PageId>,
    inline_max: usize,
    poisoned: bool,
    /// Held while the store is open; `None` only after a failed reopen.
    lock: Option<LockGuard>,
    /// What the next meta page records as the number of namespace catalog entries (the
    /// keyspace knows; the store only carries it).
    catalog_entries: u64,
    /// What the next meta page records of the log (the keyspace knows; the store only
    /// carries it).
    log: Option<LogBinding>,
    /// Neither meta page was damaged at open.
    meta_intact: bool,
    /// The format version of the durable meta page.
    format_version: u32,
    /// The live values per value page of the durable tree, once counted.
    live: Option<LiveValues>,
    free_emptied: bool,
}

impl Store {
    /// Opens the page file at `path` (creating it when `opts.create` and it is missing), after
    /// taking the exclusive lock on the file itself (see [`lock_file`]).
    ///
    /// # Errors
    /// [`Error::Locked`] when another handle holds the lock, [`Error::NotAnEmdbFile`],
    /// [`Error::UnsupportedFormatVersion`], [`Error::Corruption`], or an I/O error.
    pub(crate) fn open(
        storage: Arc<dyn Storage>,
        path: &Path,
        opts: StoreOptions,
    ) -> Result<Store> {
        let mode =
            if opts.access == Access::ReadOnly { LockMode::Shared } else { LockMode::Exclusive };
        let lock = lock_file(storage.as_ref(), path, opts.access == Access::Create, mode)?;
        Self::open_locked(storage, path, opts, Some(lock))
    }

    /// Opens the file now at this store's path again, after compaction renamed a new file over
    /// it: `lock` is that new file's lock (taken when it was created), and the old file's lock
    /// is released once the new file is open.
    ///
    /// # Errors
    /// As [`open`](Self::open); the store is then poisoned.
    pub(crate) fn reopen(&mut self, opts: StoreOptions, lock: LockGuard) -> Result<()> {
        let opts = StoreOptions { access: Access::Existing, ..opts };
        match Self::open_locked(Arc::clone(&self.storage), &self.path.clone(), opts, Some(lock)) {
            Ok(fresh) => {
                *self = fresh;
                Ok(())
            }
            Err(e) => {
                self.poisoned = true;
                Err(e)
            }
        }
    }

    /// The lock this store holds on its file, given up with the store (compaction hands the
    /// lock of the file it built to the store that reopens it under the database's name).
    pub(crate) fn into_lock(mut self) -> Option<LockGuard> {
        self.lock.take()
    }

    /// The number of free pages.
    pub(crate) fn free_pages(&self) -> u64 {
        self.alloc.free_pages()
    }

    fn open_locked(
        storage: Arc<dyn Storage>,
        path: &Path,
        opts: StoreOptions,
        lock: Option<LockGuard>,
    ) -> Result<Store> {
        let io = |e| Error::io(path, e);
        let handle = match if opts.access == Access::ReadOnly {
            storage.open_read(path)
        } else {
            storage.open_file(path, false)
        } {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && opts.access == Access::Create => {
                create_file(storage.as_ref(), path)?;
                storage.open_file(path, false).map_err(io)?
            }
            opened => opened.map_err(io)?,
        };
        let file = PageFile::new(path.to_path_buf(), handle, opts.mmap);
        let (meta, meta_intact, format_version) = match read_meta(&file) {
            // An empty file (no I/O beyond the length `read_meta` already asked for).
            Err(Error::NotAnEmdbFile { .. })
                if opts.access == Access::Create
                    && file.len()? == 0
                    && init_empty_file(storage.as_ref(), path, &file)? =>
            {
                read_meta(&file)?
            }
            read => read?,
        };
        let len = file.len()?;
        if meta.page_count.saturating_mul(PAGE_SIZE_U64) > len {
            return Err(file.corruption(
                len,
                format!(
                    "file holds {len} bytes but its meta page counts {} pages (truncated file?)",
                    meta.page_count
                ),
            ));
        }
        let (free_chain, extents) = read_free_list(&file, &meta)?;
        let alloc = Allocator::new(meta.page_count, &extents)
            .map_err(|d| file.corruption(meta.free_root * PAGE_SIZE_U64, d))?;
        Ok(Store {
            storage,
            path: path.to_path_buf(),
            file: Arc::new(file),
            meta,
            alloc,
            free_chain,
            inline_max: opts.inline_max.min(MAX_LEAF_ENTRY),
            poisoned: false,
            lock,
            catalog_entries: meta.catalog_entries.unwrap_or(0),
            log: meta.log,
            meta_intact,
            format_version,
            live: None,
            free_emptied: opts.free_emptied,
        })
    }

    /// The format version of the durable meta page.
    pub(crate) fn format_version(&self) -> u32 {
        self.format_version
    }

    /// Whether both meta pages were valid at open: no newer meta page can have been lost.
    pub(crate) fn meta_intact(&self) -> bool {
        self.meta_intact
    }

    /// Sets what the next meta page records of the log.
    pub(crate) fn set_log_binding(&mut self, log: LogBinding) {
        self.log = Some(log);
    }

    /// What the next meta page records of the log.
    pub(crate) fn log_binding(&self) -> Option<LogBinding> {
        self.log
    }

    /// Makes `log` what the durable meta page records of the log, with a meta page of its own
    /// (the same tree, sequence + 1) when it records something else, and what later meta pages
    /// record.
    ///
    /// # Errors
    /// As [`publish`](Self::publish).
    pub(crate) fn record_log_binding(&mut self, log: LogBinding) -> Result<()> {
        self.log = Some(log);
        if self.meta.log == Some(log) {
            return Ok(());
        }
        self.poisoning(|store| {
            let meta = Meta { sequence: store.meta.sequence + 1, log: Some(log), ..store.meta };
            store.file.write_at(&meta.encode()[..], meta.slot() * PAGE_SIZE_U64)?;
            store.file.sync()?;
            store.meta = meta;
            store.format_version = meta::FORMAT_VERSION;
            Ok(())
        })
    }

    /// Sets what the next meta page records as the number of namespace catalog entries in the
    /// tree.
    pub(crate) fn set_catalog_entries(&mut self, entries: u64) {
        self.catalog_entries = entries;
    }

    /// What the next meta page records as the number of namespace catalog entries.
    pub(crate) fn catalog_entries(&self) -> u64 {
        self.catalog_entries
    }

    /// Hands the store the count of live values per value page of its durable tree (every
    /// stored value of every leaf, see [`LiveValues`]); from then on each checkpoint keeps it
    /// up to date and frees the value pages it empties (when the options say so).
    pub(crate) fn set_live_values(&mut self, live: LiveValues) {
        self.live = Some(live);
    }

    /// The count of live values per value page, once it is known.
    pub(crate) fn live_values(&self) -> Option<&LiveValues> {
        self.live.as_ref()
    }

    /// The page file, shared with readers.
    pub(crate) fn file(&self) -> &Arc<PageFile> {
        &self.file
    }

    /// The durable meta page.
    pub(crate) fn meta(&self) -> Meta {
        self.meta
    }

    /// The durable root.
    pub(crate) fn root(&self) -> TreeRoot {
        TreeRoot { root: self.meta.root, height: self.meta.height }
    }

    /// The storage the file lives in.
    pub(crate) fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// A whole checkpoint in one call, [`stage`](Self::stage) then [`publish`](Self::publish)
    /// (the keyspace calls the two halves itself).
    ///
    /// # Errors
    /// As [`stage`](Self::stage) and [`publish`](Self::publish).
    #[cfg(test)]
    pub(crate) fn checkpoint(
        &mut self,
        changes: &[Change<'_>],
        checkpoint_lsn: u64,
        oldest_pinned: u64,
    ) -> Result<Meta> {
        let (staged, _) = self.stage(changes, checkpoint_lsn, oldest_pinned)?;
        self.publish(staged)
    }

    /// The first half of a checkpoint, which makes `changes` (strictly increasing keys)
    /// durable as a new root that includes the WAL up to `checkpoint_lsn`: writes the new tree,
    /// its values and the free-list, none of it durable or reachable from a meta page yet. Until
    /// [`publish`](Self::publish) runs, the durable state is the old root (a crash loses the
    /// staged pages, which no meta page names). `oldest_pinned` is the oldest meta sequence any
    /// reader or iterator still reads (pass `self.meta().sequence` when none): pages freed by
    /// later checkpoints are not reused before those readers are gone.
    ///
    /// # Errors
    /// [`Error::Poisoned`] after an earlier failed checkpoint; otherwise the error that
    /// stopped this one, which poisons the store (the durable state is still the old root).
    ///
    /// A failure for want of space ([`Error::is_out_of_space`]) does not poison the store: the
    /// allocator is put back as it was and the file cut back to its length before (the pages
    /// written past it are unreachable, and no reader maps past the old length), so the space
    /// is given back and a later checkpoint, once space is freed, goes on from the same
    /// durable state.
    ///
    /// Returns the staged checkpoint and what the tree held of each change's key ([`Prior`]).
    pub(crate) fn stage(
        &mut self,
        changes: &[Change<'_>],
        checkpoint_lsn: u64,
        oldest_pinned: u64,
    ) -> Result<(Staged, Prior)> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        let before = self.alloc.clone();
        let len = self.file.len()?;
        let r = self.stage_inner(changes, checkpoint_lsn, oldest_pinned);
        match &r {
            Err(e) if e.is_out_of_space() => {
                self.alloc = before;
                if self.file.set_len(len).is_err() {
                    self.poisoned = true;
                }
            }
            Err(_) => self.poisoned = true,
            Ok(_) => {}
        }
        r
    }

    /// Whether a failed step has poisoned the store (only a reopen clears it).
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// The second half of a checkpoint: makes the staged pages durable, then the meta page
    /// that names them. The store must not have changed since [`stage`](Self::stage).
    ///
    /// # Errors
    /// As [`stage`](Self::stage).
    pub(crate) fn publish(&mut self, staged: Staged) -> Result<Meta> {
        self.poisoning(|store| store.publish_inner(staged))
    }

    /// Runs `f` unless the store is poisoned, and poisons it if `f` fails: a failed step of a
    /// checkpoint leaves the allocator and the file's tail in a state only a reopen clears.
    fn poisoning<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        let r = f(self);
        if r.is_err() {
            self.poisoned = true;
        }
        r
    }

    fn stage_inner(
        &mut self,
        changes: &[Change<'_>],
        checkpoint_lsn: u64,
        oldest_pinned: u64,
    ) -> Result<(Staged, Prior)> {
        let file = Arc::clone(&self.file);
        self.alloc
            .release(oldest_pinned.min(self.meta.sequence))
            .map_err(|e| freed_twice(&file, e))?;
        let old_root = self.root();
        let mut w = Writer::new(&file, &mut self.alloc, self.inline_max);
        if let Some(live) = &mut self.live {
            w = w.count_live(live, self.free_emptied);
        }
        let root = w.apply(old_root, changes)?;
        w.finish()?;
        let prior = Prior::pair(changes, std::mem::take(&mut w.prior))?;
        let (delta, dead) = (w.entry_delta, w.dead_value_bytes);
        let leaves = std::mem::take(&mut w.leaves);
        let entry_count = self.meta.entry_count.saturating_add_signed(delta);
        let mut staged = self.stage_free_list(root, entry_count, dead, checkpoint_lsn)?;
        staged.leaves = leaves;
        Ok((staged, prior))
    }

    /// Step 1 of the protocol (the free-list), after the tree pages of `root` are written.
    fn stage_free_list(
        &mut self,
        root: TreeRoot,
        entry_count: u64,
        dead: u64,
        checkpoint_lsn: u64,
    ) -> Result<Staged> {
        for &p in &self.free_chain {
            self.alloc.free_later(p, 1);
        }
        let chain = self.write_free_list()?;
        // An overflow run's last page may be written only in part: cover the page count.
        let end = self.alloc.end().saturating_mul(PAGE_SIZE_U64);
        if self.file.len()? < end {
            self.file.set_len(end)?;
        }
        Ok(Staged {
            root,
            entry_count,
            dead,
            checkpoint_lsn,
            chain,
            leaves: LeafChanges::default(),
        })
    }

    /// Steps 2 to 5 of the protocol: the staged pages made durable, then the meta page.
    fn publish_inner(&mut self, staged: Staged) -> Result<Meta> {
        let Staged { root, entry_count, dead, checkpoint_lsn, chain, leaves: _ } = staged;
        self.file.sync()?;
        let meta = Meta {
            sequence: self.meta.sequence + 1,
            root: root.root,
            height: root.height,
            free_root: chain.first().copied().unwrap_or(0),
            checkpoint_lsn,
            page_count: self.alloc.end(),
            entry_count,
            dead_value_bytes: self.meta.dead_value_bytes.saturating_add(dead),
            catalog_entries: Some(self.catalog_entries),
            log: self.log,
        };
        self.file.write_at(&meta.encode()[..], meta.slot() * PAGE_SIZE_U64)?;
        self.file.sync()?;
        self.meta = meta;
        self.format_version = meta::FORMAT_VERSION;
        self.alloc.checkpoint_done(meta.sequence);
        self.free_chain = chain;
        Ok(meta)
    }

    /// Writes the free-list chain. Its own pages come from the free pages (or the end of
    /// the file); taking a page off the front of an extent never adds an extent, so the
    /// loop that sizes the chain ends.
    fn write_free_list(&mut self) -> Result<Vec<PageId>> {
        let mut ids: Vec<PageId> = Vec::new();
        let extents = loop {
            let extents = self.alloc.persisted().map_err(|e| freed_twice(&self.file, e))?;
            let need = extents.len().div_ceil(EXTENTS_PER_PAGE);
            if ids.len() >= need {
                break extents;
            }
            for _ in ids.len()..need {
                ids.push(self.alloc.alloc(1));
            }
        };
        let mut chunks = extents.chunks(EXTENTS_PER_PAGE);
        for (i, &id) in ids.iter().enumerate() {
            let next = ids.get(i + 1).copied().unwrap_or(0);
            let mut page = freelist::build(chunks.next().unwrap_or_default(), next);
            self.file.write_page(id, &mut page)?;
        }
        Ok(ids)
    }

    /// Replaces the (empty) tree of a new file by one built from what `entries` pushes (key,
    /// value, expiry) in strictly increasing key order, and makes it durable: compaction writes
    /// a new file this way and renames it over the old one. `entries` pushes borrowed bytes, so
    /// that a source can reuse its buffers. `placed`, if any, is told where each entry went.
    ///
    /// # Errors
    /// As [`stage`](Self::stage); [`Error::Internal`] when the store is not empty; the first
    /// error of `entries` or `placed`.
    pub(crate) fn bulk_load(
        &mut self,
        entries: impl FnOnce(Push<'_>) -> Result<()>,
        checkpoint_lsn: u64,
        mut placed: Option<Placed<'_>>,
    ) -> Result<Meta> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        if self.meta.height != 0 {
            return Err(Error::Internal { detail: "bulk load into a non-empty tree".into() });
        }
        self.poisoning(|store| {
            let file = Arc::clone(&store.file);
            let placed = placed.as_mut().map(reborrow);
            let mut b = TreeBuilder::new(&file, &mut store.alloc, store.inline_max, placed);
            entries(&mut |key, value, expires_at| b.push(key, value, expires_at))?;
            let (root, count) = b.finish()?;
            let staged = store.stage_free_list(root, count, 0, checkpoint_lsn)?;
            store.publish_inner(staged)
        })
    }
}

/// `placed` for a shorter lifetime (a trait object's lifetime does not shorten by itself
/// inside an `Option`).
fn reborrow<'a>(placed: &'a mut Placed<'_>) -> Placed<'a> {
    &mut **placed
}

/// How many times [`lock_file`] tries when the file it locked is no longer the one `path`
/// names (a compaction replaced it, or another process created it first), or the lock is held.
const LOCK_ATTEMPTS: usize = 32;

/// How long [`lock_file`] waits for a held lock to be let go before it reports
/// [`Error::Locked`].
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(50);

/// Takes the lock of the database whose page file is at `path` (exclusive for the writer,
/// shared for read-only handles): a lock on the file itself, so that every name of the file (a
/// symbolic or hard link, another spelling of the path) meets the same lock, in this process
/// or another. With `create`, a missing file is created first (see [`create_file`]).
///
/// The lock counts only while `path` still names the locked file: compaction renames a new
/// file over the old one (holding the new file's lock before the rename), so a handle that
/// opened the old file just before and locked it once the old handle let go holds a lock on
/// a file no name leads to. It looks again.
///
/// # Errors
/// [`Error::Locked`] when another handle holds the lock (naming the writer's process when it
/// recorded itself); an I/O error (`NotFound` when the file is missing and `create` is false).
pub(crate) fn lock_file(
    storage: &dyn Storage,
    path: &Path,
    create: bool,
    mode: LockMode,
) -> Result<LockGuard> {
    let io = |e| Error::io(path, e);
    let mut held_since = None;
    for _ in 0..LOCK_ATTEMPTS {
        let guard = match storage.lock(path, mode) {
            Ok(guard) => guard,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                // A lock its holder let go of can stay held for a moment: a child process
                // forked (by any thread) just before keeps a copy of the holder's descriptor
                // until it starts its program. Only a lock still held after a while is refused.
                let since = *held_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() < LOCK_PATIENCE {
                    std::thread::sleep(LOCK_PATIENCE / 10);
                    continue;
                }
                return Err(Error::Locked { path: path.to_path_buf(), pid: locker(storage, path) });
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound && recover_replaced(storage, path)? =>
            {
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                match create_file(storage, path)? {
                    Some(guard) => return Ok(guard),
                    None => continue,
                }
            }
            Err(e) => return Err(io(e)),
        };
        if storage.identity(path).map_err(io)? == Some(guard.identity()) {
            return Ok(guard);
        }
    }
    Err(Error::Locked { path: path.to_path_buf(), pid: locker(storage, path) })
}

/// With no file at `path`: puts back the file a replacement (see [`crate::io::replace`]) moved
/// to `<path>.replaced` before a crash stopped it, and says whether there was one. Its lock is
/// taken first: the writer whose replacement is under way holds it, and gets its file back
/// from no one.
///
/// # Errors
/// [`Error::Locked`] while that replacement is under way; an I/O error.
fn recover_replaced(storage: &dyn Storage, path: &Path) -> Result<bool> {
    let old = replaced_path(path);
    let io = |e| Error::io(&old, e);
    let _guard = match storage.lock(&old, LockMode::Exclusive) {
        Ok(guard) => guard,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            return Err(Error::Locked { path: path.to_path_buf(), pid: locker(storage, path) });
        }
        Err(e) => return Err(io(e)),
    };
    match storage.rename_noreplace(&old, path) {
        // Another opener put it back, or the new file has the name by now.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        r => r.map_err(io)?,
    }
    storage.sync_dir(parent_dir(path)).map_err(io)?;
    Ok(true)
}

/// The file in which the writer of the database at `path` records its process id.
pub(crate) fn pid_path(path: &Path) -> PathBuf {
    sidecar(path, ".lock")
}

/// Records this process as the writer of the database at `path` (best effort: the record only
/// names the holder in [`Error::Locked`]; the lock itself is on the page file).
pub(crate) fn record_locker(storage: &dyn Storage, path: &Path) {
    let pid = std::process::id().to_string();
    if let Ok(f) = storage.open_file(&pid_path(path), true) {
        let _ = f.set_len(0).and_then(|()| f.write_at(pid.as_bytes(), 0));
    }
}

/// The process id the writer of the database at `path` recorded, if any.
fn locker(storage: &dyn Storage, path: &Path) -> Option<u32> {
    let f = storage.open_read(&pid_path(path)).ok()?;
    let len = usize::try_from(f.len().ok()?).ok().filter(|&n| n <= 20)?;
    let mut buf = vec![0u8; len];
    f.read_at(&mut buf, 0).ok()?;
    std::str::from_utf8(&buf).ok()?.trim().parse().ok()
}

/// Creates a new page file at `path`, locked: both meta pages (with a fresh database id) are
/// written to `<path>.init`, synced, and given the name `path` unless a file has it by then,
/// so `path` either does not exist or is a whole database, never replaced. Returns the lock of
/// the new file, or `None` when another creator got there first (the caller locks theirs).
fn create_file(storage: &dyn Storage, path: &Path) -> Result<Option<LockGuard>> {
    let tmp = sidecar(path, ".init");
    let io = |e| Error::io(&tmp, e);
    let f = storage.open_file(&tmp, true).map_err(io)?;
    // Two creators share the name `.init`; the one holding its lock writes it.
    let guard = match storage.lock(&tmp, LockMode::Exclusive) {
        Ok(guard) if storage.identity(&tmp).map_err(io)? == Some(guard.identity()) => guard,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            return Err(Error::Locked { path: path.to_path_buf(), pid: None });
        }
        Err(e) => return Err(io(e)),
    };
    f.set_len(0).map_err(io)?;
    let log = LogBinding { database_id: meta::random_id(), salt: meta::random_id(), in_use: false };
    let empty = Meta { page_count: 2, log: Some(log), ..Meta::default() };
    let second = Meta { sequence: 1, ..empty };
    f.write_at(&empty.encode()[..], 0).map_err(io)?;
    f.write_at(&second.encode()[..], PAGE_SIZE_U64).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    match storage.rename_noreplace(&tmp, path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            drop(guard);
            let _ = storage.remove(&tmp);
            return Ok(None);
        }
        Err(e) => return Err(Error::io(path, e)),
    }
    storage.sync_dir(parent_dir(path)).map_err(|e| Error::io(path, e))?;
    Ok(Some(guard))
}

/// Makes the empty file at `path`, which the caller has open and locked, a new database in
/// place (a file created empty beforehand, as `tempfile::NamedTempFile` does, keeps its name,
/// mode and owner): the second meta page first, synced, then the first. An empty file holds no
/// data, so a crash loses none: before the first sync the file is empty again or its second meta
/// page is torn (then it is refused, never read as a database), after it the second meta page
/// opens it. An empty file with a log beside it that holds anything is left alone: it is a page
/// file that lost its pages, not a new database (the open then refuses it). Says whether it
/// made one.
fn init_empty_file(storage: &dyn Storage, path: &Path, file: &PageFile) -> Result<bool> {
    let wal = sidecar(path, ".wal");
    match storage.open_read(&wal) {
        Ok(log) if log.len().map_err(|e| Error::io(&wal, e))? > 0 => return Ok(false),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&wal, e)),
    }
    let log = LogBinding { database_id: meta::random_id(), salt: meta::random_id(), in_use: false };
    let empty = Meta { page_count: 2, log: Some(log), ..Meta::default() };
    let second = Meta { sequence: 1, ..empty };
    file.write_at(&second.encode()[..], PAGE_SIZE_U64)?;
    file.sync()?;
    file.write_at(&empty.encode()[..], 0)?;
    file.sync()?;
    Ok(true)
}

/// Reads both meta slots and picks the newest valid one; also says whether both are valid, and
/// the chosen one's format version.
fn read_meta(file: &PageFile) -> Result<(Meta, bool, u32)> {
    let len = file.len()?;
    if len < 2 * PAGE_SIZE_U64 {
        let mut head = [0u8; 8];
        let has_magic = len >= 8 && file.read_at(&mut head, 0).is_ok() && head == MAGIC;
        return Err(if has_magic {
            file.corruption(len, "file shorter than its two meta pages (truncated file?)")
        } else {
            Error::NotAnEmdbFile { path: file.path().to_path_buf() }
        });
    }
    // Both slots in one read.
    let mut both = [0u8; 2 * PAGE_SIZE];
    file.read_at(&mut both, 0)?;
    let (first, second) = both.split_at(PAGE_SIZE);
    let slots = [meta::decode(first), meta::decode(second)];
    let intact = slots.iter().all(|s| matches!(s, meta::Slot::Valid(_)));
    let chosen = meta::choose(file.path(), slots)?;
    let page = if chosen.slot() == 0 { first } else { second };
    Ok((chosen, intact, meta::version_of(page)))
}

/// The corruption of a page given back to the allocator while free: two references to it, as
/// a damaged tree holds. Reported at that page.
fn freed_twice(file: &PageFile, e: DoubleFree) -> Error {
    file.bad_page(e.0, PageError::from(e))
}

/// Follows the free-list chain: its pages and the extents they list. The chain is bounded
/// by the page count, so a cycle is an error.
fn read_free_list(file: &PageFile, meta: &Meta) -> Result<(Vec<PageId>, Vec<Extent>)> {
    let mut chain = Vec::new();
    let mut extents = Vec::new();
    let mut next = meta.free_root;
    while next != 0 {
        if next >= meta.page_count || chain.len() as u64 >= meta.page_count {
            return Err(file.bad_page(next, "free-list chain leaves the file or loops"));
        }
        let page = file.read_page(next, PageType::FreeList)?;
        let (n, mut list) = freelist::parse(page.bytes()).map_err(|d| file.bad_page(next, d))?;
        chain.push(next);
        extents.append(&mut list);
        next = n;
    }
    Ok((chain, extents))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::io::Storage;
    use crate::io::fault::{CrashMode, FaultKind, FaultStorage};
    use crate::page::value::{ValueLoc, ValueRef};
    use crate::page::{PageId, new_page};
    use crate::tree::check::check;
    use crate::tree::tests::{Model, apply_batch, assert_matches, open, read_entry};
    use crate::tree::{Cursor, get, scan};

    const DB: &str = "/db/data";

    /// The batches of the crash workload; the last one is the checkpoint that crashes.
    fn batches() -> Vec<Vec<(u16, Option<u8>)>> {
        let mut out = Vec::new();
        let mut seed = 5u64;
        for round in 0..5u64 {
            let mut b = Vec::new();
            for _ in 0..40 {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let i = u16::try_from((seed >> 33) % 150).unwrap();
                let class = u8::try_from((seed >> 45) % 6).unwrap();
                b.push((i, (round < 2 || !(seed >> 20).is_multiple_of(3)).then_some(class)));
            }
            out.push(b);
        }
        out
    }

    /// Everything in the store, read through a scan.
    fn contents(store: &Store) -> Result<Model> {
        let file = store.file();
        let mut m = Model::new();
        scan(file, store.root(), |e| {
            let v = match e.value {
                crate::page::value::ValueRef::Inline(b) => b.to_vec(),
                crate::page::value::ValueRef::Stored(loc) => file.read_value(loc)?,
            };
            m.insert(e.key.to_vec(), (v, e.expires_at));
            Ok(())
        })?;
        Ok(m)
    }

    /// Runs the workload on `fs` up to (not including) the last batch; returns the models
    /// after the setup and after the last batch.
    fn setup(fs: &FaultStorage) -> (Store, Model, Model) {
        let storage: Arc<dyn Storage> = Arc::new(fs.clone());
        let mut store = open(&storage);
        let mut model = Model::new();
        let all = batches();
        let (last, first) = all.split_last().unwrap();
        for (v, b) in (1u32..).zip(first) {
            apply_batch(&mut store, &mut model, b, v);
        }
        let mut after = model.clone();
        for &(i, v) in last {
            let val = v.map(|s| (crate::tree::tests::value(i, 99, s), u64::from(s) * 1000));
            match val {
                Some(val) => after.insert(crate::tree::tests::key(i), val),
                None => after.remove(&crate::tree::tests::key(i)),
            };
        }
        (store, model, after)
    }

    fn last_checkpoint(store: &mut Store) -> Result<Meta> {
        let all = batches();
        let last = all.last().unwrap();
        let mut changes = std::collections::BTreeMap::new();
        for &(i, v) in last {
            let val = v.map(|s| (crate::tree::tests::value(i, 99, s), u64::from(s) * 1000));
            changes.insert(crate::tree::tests::key(i), val);
        }
        let change_list: Vec<Change<'_>> = changes
            .iter()
            .map(|(k, v)| Change::new(k, v.as_ref().map(|(v, e)| (&v[..], *e))))
            .collect();
        let seq = store.meta().sequence;
        store.checkpoint(&change_list, 99, seq)
    }

    #[test]
    fn a_power_loss_at_any_io_of_a_checkpoint_opens_the_old_or_the_new_tree_whole() {
        let probe = FaultStorage::new(1);
        let (mut store, _, _) = setup(&probe);
        let start = probe.io_count();
        last_checkpoint(&mut store).unwrap();
        let end = probe.io_count();
        drop(store);
        let modes = [
            CrashMode::Random,
            CrashMode::Random,
            CrashMode::KeepAll,
            CrashMode::DropAll,
            CrashMode::TearAll,
            CrashMode::GarbageAll,
        ];
        let mut outcomes = [0usize; 2];
        // Every I/O call in a full run, every 3rd (and the last) in a short one.
        let stride = crate::test_depth::stride(3) as u64;
        let sampled = |n: &u64| (n - start - 1).is_multiple_of(stride) || *n > end;
        for n in (start + 1..=end + 1).filter(sampled) {
            for (m, mode) in modes.iter().enumerate() {
                let fs = FaultStorage::new(1);
                let (mut store, before, after) = setup(&fs);
                fs.fail_at(n, true, FaultKind::Io);
                let result = last_checkpoint(&mut store);
                if n <= end {
                    assert!(result.is_err(), "I/O {n} failed but the checkpoint succeeded");
                    assert!(matches!(last_checkpoint(&mut store), Err(Error::Poisoned)));
                }
                drop(store);
                let crashed = fs.crash(n * 31 + m as u64, *mode);
                let storage: Arc<dyn Storage> = Arc::new(crashed);
                let mut store = open(&storage);
                let got = contents(&store).unwrap();
                if got == before {
                    outcomes[0] += 1;
                } else {
                    assert_eq!(got, after, "I/O {n}, {mode:?}: neither the old nor the new tree");
                    outcomes[1] += 1;
                }
                check(store.file(), &store.meta()).unwrap();
                // The reopened file keeps working.
                let mut reopened = got;
                apply_batch(
                    &mut store,
                    &mut reopened,
                    &[(3, Some(4)), (4, None), (140, Some(5))],
                    200,
                );
                assert_matches(&store, &reopened);
            }
        }
        assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
    }

    #[test]
    fn a_power_loss_while_creating_leaves_no_file_or_a_whole_one() {
        let probe = FaultStorage::new(3);
        let storage: Arc<dyn Storage> = Arc::new(probe.clone());
        drop(open(&storage));
        let total = probe.io_count();
        for n in 1..=total {
            for mode in [CrashMode::Random, CrashMode::DropAll, CrashMode::KeepAll] {
                let fs = FaultStorage::new(3);
                fs.fail_at(n, true, FaultKind::Io);
                let storage: Arc<dyn Storage> = Arc::new(fs.clone());
                assert!(Store::open(storage, Path::new(DB), StoreOptions::default()).is_err());
                let storage: Arc<dyn Storage> = Arc::new(fs.crash(n, mode));
                let store = open(&storage);
                assert_eq!(contents(&store).unwrap(), Model::new());
            }
        }
    }

    #[test]
    fn no_space_during_a_checkpoint_is_an_error_and_the_old_tree_survives() {
        let fs = FaultStorage::new(1);
        let (mut store, before, _) = setup(&fs);
        fs.set_capacity(Some(store.file().len().unwrap() + 8 * 4096));
        let err = last_checkpoint(&mut store).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        drop(store);
        fs.set_capacity(None);
        let storage: Arc<dyn Storage> = Arc::new(fs.clone());
        let store = open(&storage);
        assert_eq!(contents(&store).unwrap(), before);
    }

    #[test]
    fn random_byte_flips_in_data_pages_give_errors_or_the_right_values() {
        let fs = FaultStorage::new(1);
        let (store, model, _) = setup(&fs);
        drop(store);
        let path = Path::new(DB);
        let clean = fs.file_bytes(path).unwrap();
        let mut seed = 11u64;
        let mut errors = 0;
        for _ in 0..400 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let mut bytes = clean.clone();
            let at = 2 * PAGE_SIZE
                + usize::try_from(seed >> 20).unwrap() % (bytes.len() - 2 * PAGE_SIZE);
            bytes[at] ^= 1 << ((seed >> 8) % 8);
            fs.set_file_bytes(path, bytes);
            let storage: Arc<dyn Storage> = Arc::new(fs.clone());
            match Store::open(storage, path, StoreOptions::default()) {
                Err(e) => {
                    assert!(matches!(e, Error::Corruption { .. }), "{e}");
                    errors += 1;
                }
                Ok(store) => match contents(&store) {
                    Ok(got) => {
                        assert_eq!(got, model, "a flip at {at} changed a value");
                        if check(store.file(), &store.meta()).is_err() {
                            errors += 1;
                        }
                    }
                    Err(e) => {
                        assert!(matches!(e, Error::Corruption { .. }), "{e}");
                        errors += 1;
                    }
                },
            }
        }
        assert!(errors > 100, "flips should mostly be detected: {errors}");
    }

    #[test]
    fn a_cyclic_child_pointer_is_corruption_not_a_hang() {
        let fs = FaultStorage::new(1);
        let (store, _, _) = setup(&fs);
        let root = store.root();
        assert!(root.height >= 2);
        drop(store);
        let path = Path::new(DB);
        let mut bytes = fs.file_bytes(path).unwrap();
        // Point child 0 of the root at the root itself, with a valid checksum.
        let at = usize::try_from(root.root).unwrap() * PAGE_SIZE;
        let mut page = new_page();
        page.copy_from_slice(&bytes[at..at + PAGE_SIZE]);
        page[16..24].copy_from_slice(&root.root.to_le_bytes());
        crate::page::seal(&mut page, root.root);
        bytes[at..at + PAGE_SIZE].copy_from_slice(&page[..]);
        fs.set_file_bytes(path, bytes);
        let storage: Arc<dyn Storage> = Arc::new(fs.clone());
        let store = open(&storage);
        assert!(matches!(contents(&store), Err(Error::Corruption { .. })));
        let mut c = Cursor::new(store.file(), store.root());
        assert!(matches!(c.seek_first(), Err(Error::Corruption { .. })));
        assert!(matches!(
            get(store.file(), store.root(), b"k00000"),
            Err(Error::Corruption { .. })
        ));
        assert!(check(store.file(), &store.meta()).is_err());
    }

    #[test]
    fn a_truncated_page_file_is_corruption() {
        let fs = FaultStorage::new(1);
        let (store, _, _) = setup(&fs);
        drop(store);
        let path = Path::new(DB);
        let bytes = fs.file_bytes(path).unwrap();
        for cut in [PAGE_SIZE, 2 * PAGE_SIZE + 100, bytes.len() - PAGE_SIZE] {
            fs.set_file_bytes(path, bytes[..cut].to_vec());
            let storage: Arc<dyn Storage> = Arc::new(fs.clone());
            let err = Store::open(storage, path, StoreOptions::default()).unwrap_err();
            assert!(matches!(err, Error::Corruption { .. }), "cut {cut}: {err}");
        }
    }

    #[test]
    fn freed_pages_are_reused_so_rewriting_the_same_keys_does_not_grow_the_file() {
        let fs = FaultStorage::new(1);
        let storage: Arc<dyn Storage> = Arc::new(fs.clone());
        let mut store = open(&storage);
        let mut model = Model::new();
        let batch: Vec<(u16, Option<u8>)> = (0..100).map(|i| (i, Some(2))).collect();
        for v in 1..=5 {
            apply_batch(&mut store, &mut model, &batch, v);
        }
        let size = store.meta().page_count;
        for v in 6..=40 {
            apply_batch(&mut store, &mut model, &batch, v);
        }
        assert!(store.meta().page_count <= size + 4, "{} > {size}", store.meta().page_count);
        assert_matches(&store, &model);
    }

    #[test]
    fn pages_pinned_by_a_reader_are_not_reused() {
        let storage: Arc<dyn Storage> = Arc::new(FaultStorage::new(1));
        let mut store = open(&storage);
        let mut model = Model::new();
        let batch: Vec<(u16, Option<u8>)> = (0..60).map(|i| (i, Some(3))).collect();
        apply_batch(&mut store, &mut model, &batch, 1);
        let pinned = store.root();
        let pinned_seq = store.meta().sequence;
        let pinned_model = model.clone();
        for v in 2..=6u32 {
            let mut m2 = model.clone();
            let mut changes = std::collections::BTreeMap::new();
            for &(i, s) in &batch {
                changes.insert(
                    crate::tree::tests::key(i),
                    crate::tree::tests::value(i, v, s.unwrap()),
                );
            }
            for (k, val) in &changes {
                m2.insert(k.clone(), (val.clone(), 3000));
            }
            let list: Vec<Change<'_>> =
                changes.iter().map(|(k, v)| Change::new(k, Some((&v[..], 3000)))).collect();
            store.checkpoint(&list, u64::from(v), pinned_seq).unwrap();
            model = m2;
        }
        let file = store.file();
        let mut old = Model::new();
        scan(file, pinned, |e| {
            old.insert(e.key.to_vec(), (read_entry(file, &e), e.expires_at));
            Ok(())
        })
        .unwrap();
        assert_eq!(old, pinned_model);
        assert_matches(&store, &model);
    }

    /// How many nodes of each page type the tree at `root` reaches, how many of its values lie
    /// in value pages of each type (keyed 5 and 7), and the keys of its compact leaves.
    fn reachable(file: &PageFile, root: super::TreeRoot) -> (Types, Types, Vec<Vec<u8>>) {
        struct Seen {
            nodes: Types,
            values: Types,
            compact_keys: Vec<Vec<u8>>,
        }
        fn walk(file: &PageFile, id: PageId, lvl: u32, seen: &mut Seen) {
            let page = crate::tree::read_node(file, id, lvl).unwrap();
            let ty = page.bytes()[crate::page::TYPE_OFFSET];
            *seen.nodes.entry(ty).or_insert(0) += 1;
            if lvl > 0 {
                let b = crate::tree::branch(file, id, &page).unwrap();
                for c in 0..b.children() {
                    walk(file, b.child(c).unwrap(), lvl - 1, seen);
                }
                return;
            }
            let l = crate::tree::leaf(file, id, &page).unwrap();
            for i in 0..l.len() {
                if ty == PageType::CompactLeaf as u8 {
                    seen.compact_keys.push(l.key(i).unwrap().to_vec());
                }
                let ty = match l.entry(i).unwrap().value {
                    ValueRef::Stored(ValueLoc::Packed { .. }) => 7,
                    ValueRef::Stored(ValueLoc::Record { .. }) => 5,
                    _ => continue,
                };
                *seen.values.entry(ty).or_insert(0) += 1;
            }
        }
        let mut seen = Seen { nodes: Types::new(), values: Types::new(), compact_keys: Vec::new() };
        if root.height > 0 {
            walk(file, root.root, root.height - 1, &mut seen);
        }
        (seen.nodes, seen.values, seen.compact_keys)
    }

    type Types = std::collections::BTreeMap<u8, usize>;

    #[test]
    fn a_checkpoint_on_a_format_2_file_rewrites_only_the_leaves_it_touches_as_compact_ones() {
        let fs = FaultStorage::new(1);
        let storage: Arc<dyn Storage> = Arc::new(fs.clone());
        drop(open(&storage));
        let fixture = include_bytes!("../../tests/fixtures/format2.emdb");
        fs.set_file_bytes(Path::new(DB), fixture.to_vec());
        let mut store = open(&storage);
        let mut model = contents(&store).unwrap();
        let (nodes, values, _) = reachable(store.file(), store.root());
        let old_leaves = nodes.get(&2).copied().unwrap_or(0);
        assert!(old_leaves >= 2, "format-2 leaves: {nodes:?}");
        assert!(!nodes.contains_key(&8) && !values.contains_key(&7), "{nodes:?} {values:?}");
        let dead = store.meta().dead_value_bytes;
        // Change two keys of the first leaf of the default namespace (prefix 0, 0, 0, 0).
        let (new, replaced) = (b"\0\0\0\0p000a".to_vec(), b"\0\0\0\0p001".to_vec());
        let old_len = model[&replaced].0.len();
        assert_eq!(old_len, 150, "a value in a type-5 page");
        let changes = [
            Change::new(&new, Some((&[1u8; 150][..], 0))),
            Change::new(&replaced, Some((&[2u8; 300][..], 77))),
        ];
        let lsn = store.meta().checkpoint_lsn;
        store.checkpoint(&changes, lsn, store.meta().sequence).unwrap();
        model.insert(new.clone(), (vec![1u8; 150], 0));
        model.insert(replaced.clone(), (vec![2u8; 300], 77));
        assert_eq!(contents(&store).unwrap(), model);
        check(store.file(), &store.meta()).unwrap();
        let (nodes, values, compact_keys) = reachable(store.file(), store.root());
        assert_eq!(nodes.get(&8), Some(&1), "{nodes:?}");
        assert_eq!(nodes.get(&2).copied().unwrap_or(0), old_leaves - 1, "{nodes:?}");
        // The rewritten leaf points at its untouched old values (kind 3) and the new ones.
        assert_eq!(values.get(&7), Some(&2), "{values:?}");
        assert!(values.get(&5).is_some_and(|&n| n > 50), "{values:?}");
        assert_eq!(store.meta().dead_value_bytes, dead + 150 + 8, "the record and its header");
        let bytes = fs.file_bytes(Path::new(DB)).unwrap();
        let slot = usize::try_from(store.meta().slot()).unwrap() * PAGE_SIZE;
        assert_eq!(bytes[slot + 8..slot + 12], 5u32.to_le_bytes(), "the meta page says format 5");
        // Emptied but for one entry, the compact leaf is merged with its neighbour, an old leaf,
        // whose entries are encoded again as compact ones.
        let removals: Vec<Change<'_>> =
            compact_keys[1..].iter().map(|k| Change::new(k, None)).collect();
        for k in &compact_keys[1..] {
            model.remove(k);
        }
        store.checkpoint(&removals, lsn, store.meta().sequence).unwrap();
        assert_eq!(contents(&store).unwrap(), model);
        check(store.file(), &store.meta()).unwrap();
        let (nodes, values, compact_keys) = reachable(store.file(), store.root());
        assert_eq!(nodes.get(&8), Some(&1), "{nodes:?}");
        assert_eq!(nodes.get(&2).copied().unwrap_or(0), old_leaves - 2, "{nodes:?}");
        assert!(compact_keys.len() > 20, "the old leaf's entries moved: {compact_keys:?}");
        assert!(values.get(&5).is_some_and(|&n| n > 20), "{values:?}");
        drop(store);
        let store = open(&storage);
        assert_eq!(contents(&store).unwrap(), model);
        check(store.file(), &store.meta()).unwrap();
    }

    /// The places a bulk load reports for its entries are where a scan of the tree finds them,
    /// entry for entry: inline, packed and overflow values, short and long keys, over several
    /// leaves and the last, unevenly packed ones.
    #[test]
    fn a_bulk_load_reports_every_entry_where_a_scan_finds_it() {
        let fs = FaultStorage::new(1);
        let storage: Arc<dyn Storage> = Arc::new(fs.clone());
        let mut store = open(&storage);
        let entries: Vec<(Vec<u8>, Vec<u8>, u64)> = (0..700u32)
            .map(|i| {
                let key = format!("k{i:05}{}", "x".repeat(usize::try_from(i % 40).unwrap_or(0)));
                let len = [3usize, 150, 900, 5000][usize::try_from(i % 4).unwrap_or(0)];
                (key.into_bytes(), vec![u8::try_from(i % 251).unwrap_or(0); len], u64::from(i % 3))
            })
            .collect();
        let mut reported: Vec<(PageId, u16, Vec<u8>)> = Vec::new();
        let mut placed = |leaf, place, raw: &[u8]| {
            let key = crate::page::leaf::parse_leaf_entry(raw).map(|e| e.key.to_vec());
            reported.push((leaf, place, key.unwrap_or_default()));
            Ok(())
        };
        let fill = |push: Push<'_>| entries.iter().try_for_each(|(k, v, e)| push(k, v, *e));
        store.bulk_load(fill, 1, Some(&mut placed)).unwrap();
        let mut scanned: Vec<(PageId, u16, Vec<u8>)> = Vec::new();
        crate::tree::scan_leaves(store.file(), store.root(), |leaf, place, e| {
            scanned.push((leaf, place, e.key.to_vec()));
            Ok(())
        })
        .unwrap();
        assert!(store.root().height > 1, "several leaves");
        assert_eq!(scanned.len(), entries.len());
        assert_eq!(reported, scanned);
    }

    #[test]
    fn a_bare_value_page_referred_to_more_often_than_it_counts_fails_the_check() {
        let fs = FaultStorage::new(1);
        let storage: Arc<dyn Storage> = Arc::new(fs.clone());
        let mut store = open(&storage);
        let entries: Vec<(Vec<u8>, Vec<u8>)> =
            (0..60u32).map(|i| (format!("k{i:03}").into_bytes(), vec![7u8; 150])).collect();
        store
            .bulk_load(|push| entries.iter().try_for_each(|(k, v)| push(k, v, 0)), 1, None)
            .unwrap();
        check(store.file(), &store.meta()).unwrap();
        // Forge the leaf (checksum and all): the last entry points at the first one's value,
        // in another page, which every one of its own entries already fills.
        let root = store.root();
        assert_eq!(root.height, 1);
        let page = store.file().read_page(root.root, PageType::CompactLeaf).unwrap();
        let leaf = crate::tree::leaf(store.file(), root.root, &page).unwrap();
        let n = leaf.len();
        let first = leaf.entry(0).unwrap().value;
        let mut raws: Vec<Vec<u8>> = Vec::new();
        for i in 0..n {
            let e = leaf.entry(i).unwrap();
            let v = if i + 1 == n { first } else { e.value };
            let mut raw = Vec::new();
            crate::page::leaf::encode_leaf_entry(&mut raw, e.key, 0, v).unwrap();
            raws.push(raw);
        }
        let mut forged = crate::page::leaf::build_leaf(raws.iter().map(Vec::as_slice));
        drop(page);
        store.file().write_page(root.root, &mut forged).unwrap();
        let err = check(store.file(), &store.meta()).unwrap_err();
        assert!(err.to_string().contains("values refer to a page that holds"), "{err}");
    }

    #[test]
    fn random_inserts_into_full_leaves_keep_them_packed_as_densely_as_a_bulk_load() {
        let key = |i: u32| format!("key:{i:08}").into_bytes();
        let value = [7u8; 150];
        let mut store = open(&(Arc::new(FaultStorage::new(1)) as Arc<dyn Storage>));
        let loaded: Vec<Vec<u8>> = (0..4000).map(|i| key(i * 10)).collect();
        store
            .bulk_load(|push| loaded.iter().try_for_each(|k| push(k, &value, 0)), 1, None)
            .unwrap();
        let before = check(store.file(), &store.meta()).unwrap().tree_pages;
        // One key in five gets a new neighbour: every leaf overflows.
        let added: Vec<Vec<u8>> = (0..4000).step_by(5).map(|i| key(i * 10 + 5)).collect();
        let changes: Vec<Change<'_>> =
            added.iter().map(|k| Change::new(k, Some((&value[..], 0)))).collect();
        store.checkpoint(&changes, 2, u64::MAX).unwrap();
        let after = check(store.file(), &store.meta()).unwrap();
        assert_eq!(after.entries, 4800);
        // A bulk load of the same 4,800 entries.
        let mut all: Vec<Vec<u8>> = loaded.iter().chain(&added).cloned().collect();
        all.sort();
        let mut fresh = open(&(Arc::new(FaultStorage::new(1)) as Arc<dyn Storage>));
        fresh.bulk_load(|push| all.iter().try_for_each(|k| push(k, &value, 0)), 1, None).unwrap();
        let dense = check(fresh.file(), &fresh.meta()).unwrap().tree_pages;
        assert!(dense > before, "the test needs more than one leaf's worth of growth");
        // Split leaf by leaf, 20% more entries would take about 2x the leaves.
        assert!(
            after.tree_pages <= dense + dense / 20 + 2,
            "{} pages, {dense} when dense",
            after.tree_pages
        );
        // Removing every other key packs the leaves again instead of leaving them half full.
        let removed: Vec<Change<'_>> =
            all.iter().step_by(2).map(|k| Change::new(k, None)).collect();
        store.checkpoint(&removed, 3, u64::MAX).unwrap();
        let halved = check(store.file(), &store.meta()).unwrap();
        assert_eq!(halved.entries, 2400);
        assert!(halved.tree_pages <= dense / 2 + dense / 20 + 2, "{} pages", halved.tree_pages);
    }

    #[test]
    fn bulk_load_builds_a_tree_equal_to_its_input() {
        let storage: Arc<dyn Storage> = Arc::new(FaultStorage::new(1));
        let mut store = open(&storage);
        let mut model = Model::new();
        for i in 0..3000u16 {
            model.insert(
                crate::tree::tests::key(i % 400 * 10 + i / 400),
                (crate::tree::tests::value(i, 1, u8::try_from(i % 6).unwrap()), 7),
            );
        }
        let entries: Vec<(Vec<u8>, Vec<u8>, u64)> =
            model.iter().map(|(k, (v, e))| (k.clone(), v.clone(), *e)).collect();
        store
            .bulk_load(|push| entries.iter().try_for_each(|(k, v, e)| push(k, v, *e)), 5, None)
            .unwrap();
        assert_eq!(store.meta().checkpoint_lsn, 5);
        assert_eq!(contents(&store).unwrap(), model);
        let report = check(store.file(), &store.meta()).unwrap();
        assert_eq!(report.entries, 3000);
        assert!(store.meta().height >= 3);
    }
}
