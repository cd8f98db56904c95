//! The committed state of a database: its namespaces, each with a sharded point index, a
//! memtable and an expiry index; the single writer; the snapshot registry; and (persistent) the
//! durable tree beneath the memtables.
//!
//! Commit protocol: take the writer lock → assign the next LSN → append ONE log frame for the
//! batch (persistent) → take the snapshot registry lock and read the open snapshot LSNs → lock
//! the touched namespaces' memtables, expiry indexes and index shards in ascending order → apply
//! every operation → publish the LSN → release → wait for durability as the flush policy says
//! (outside the writer lock, so waiting committers share one sync). A point reader takes one
//! shard lock and so sees a batch whole or not at all; a range reader reads at a registered
//! snapshot LSN (and the tree root and memtable current when it registered) and so never sees a
//! version newer than its snapshot.
//!
//! A large sorted batch (past the log threshold, or at least [`DIRECT_WRITES`] writes) takes
//! another path: no frame and no memtable; a checkpoint writes it with the memtables' heads,
//! and only after the meta flip is it published, under the snapshot registry lock and every
//! touched index shard's lock ([`Keyspace::commit_directly`]).

mod alloc;
#[cfg(test)]
mod corruption_tests;
#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod file_safety_tests;
mod index;
mod integrity;
mod loading;
mod maintain;
#[cfg(test)]
mod model_crash_tests;
mod ordered;
mod persist;
#[cfg(test)]
mod power_loss_tests;
mod reclaim;
mod snapshot;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard, RwLock};

use self::index::IndexWriteGuard;
pub(crate) use self::index::{
    ALL_SHARDS, Held, IndexSlot, KeyHash, ShardedIndex, Slot, ValueSource, is_expired,
};
#[cfg(test)]
pub(crate) use self::loading::IndexBuildGate;
use self::loading::Loading;
use self::ordered::StatsWriteGuard;
pub(crate) use self::ordered::{Memtable, SharedStats, Visible};
pub(crate) use self::persist::{Persist, PersistOptions, ReclaimOptions, TreeSnap};
use self::snapshot::Snapshots;
use crate::batch::{Batch, DEFAULT_NS, ExpiresAt, NO_EXPIRY, NsId, Op, Writes, WritesBuilder};
use crate::builder::FlushPolicy;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::page::file::PageFile;
use crate::page::value::ValueLoc;
use crate::progress::Reporter;

/// Batches with more keys than this lock every shard instead of hashing each key twice.
const LOCK_ALL_ABOVE: usize = 64;

/// After a commit of more operations than this, [`release_freed_heap`] runs.
const RELEASE_HEAP_ABOVE: usize = 100_000;

/// Hands the heap memory that a large batch freed back to the system.
///
/// A bulk load frees millions of small allocations at once (its buffered keys and values, and
/// the resident copies the checkpoint moved to disk). glibc keeps them in its free lists and
/// merges them the next time a larger request misses, which stalled the first durable commits
/// after a 1M-record load by about 190 ms; `malloc_trim` does that merge here, at the end of the
/// large commit that caused it, and returns the free memory to the system.
fn release_freed_heap() {
    crate::os::release_free_heap();
}

/// Sorted batches of at least this many writes are not logged but checkpointed at once, however
/// few bytes they hold (600,000 removals log only ~20 MB): writing the changed leaves now costs
/// less than a log frame, a memtable apply and the same leaves at the next checkpoint.
const DIRECT_WRITES: usize = 1 << 16;

/// Transactions of at most this many writes are logged as a batch in the order they were made;
/// larger ones are sorted first (see [`WriterGuard::commit_transaction`]).
const SMALL_TRANSACTION: usize = 8;

/// Batches with more keys than this make room in the index tables before applying.
const RESERVE_ABOVE: usize = 4096;

/// The state of one namespace.
#[derive(Debug)]
pub(crate) struct NsState {
    pub(crate) id: NsId,
    pub(crate) name: String,
    pub(crate) index: ShardedIndex,
    /// The current memtable. A checkpoint replaces it with an empty one; iterators opened before
    /// keep the old one (frozen) through their own `Arc`.
    mem: Mutex<Arc<RwLock<Memtable>>>,
    pub(crate) stats: SharedStats,
    persistent: bool,
}

impl NsState {
    fn new(id: NsId, name: String, persistent: bool) -> Self {
        NsState {
            id,
            name,
            index: ShardedIndex::new(),
            mem: Mutex::new(Arc::new(RwLock::new(Memtable::new(persistent)))),
            stats: SharedStats::default(),
            persistent,
        }
    }

    /// The current memtable.
    pub(crate) fn memtable(&self) -> Arc<RwLock<Memtable>> {
        Arc::clone(&self.mem.lock())
    }

    /// Starts an empty memtable (after a checkpoint wrote the current one to the tree).
    fn fresh_memtable(&self) {
        *self.mem.lock() = Arc::new(RwLock::new(Memtable::new(self.persistent)));
    }

    /// The 4-byte big-endian prefix of this namespace's keys in the tree.
    pub(crate) fn tree_prefix(&self) -> [u8; 4] {
        self.id.to_be_bytes()
    }
}

#[derive(Debug, Default)]
struct Registry {
    by_name: HashMap<String, Arc<NsState>>,
    by_id: HashMap<NsId, Arc<NsState>>,
    next_id: NsId,
}

/// Settings fixed when the database is opened.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) default_ttl: Option<Duration>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) flush_policy: FlushPolicy,
    /// Where long operations report their progress.
    pub(crate) progress: Reporter,
}

/// State only the writer touches.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    last_lsn: u64,
    /// Keys whose version chains still hold versions that some snapshot may need.
    garbage: Vec<(NsId, Arc<[u8]>)>,
    /// The snapshot-registry generation `garbage` was last collected at.
    collected_at: Option<u64>,
    /// Commits since the log was last synced by the `EveryN` policy.
    unsynced: u32,
    /// Namespaces created since the last checkpoint (their catalog entries are not in the tree).
    new_namespaces: Vec<(NsId, String)>,
    /// The durable meta page says the log may hold frames past its checkpoint (until it does,
    /// the first frame waits for [`Keyspace::record_log_in_use`]).
    log_in_use: bool,
    /// The handle is closing: its last checkpoint may record the log clean.
    closing: bool,
}

/// The shared core of a database handle.
#[derive(Debug)]
pub(crate) struct Keyspace {
    pub(crate) config: Config,
    writer: Mutex<Writer>,
    /// The token of the thread that holds `writer`, or 0.
    writer_thread: AtomicUsize,
    committed: AtomicU64,
    snapshots: Mutex<Snapshots>,
    registry: RwLock<Registry>,
    default_ns: Arc<NsState>,
    /// The page file and the log; `None` for an in-memory database.
    persist: Option<Persist>,
    /// A failed sync or checkpoint: every later write is refused until the database is reopened.
    poisoned: AtomicBool,
    persistent: bool,
    /// The background build of the indexes after a lazy open (`None`: they are complete).
    loading: Option<Arc<Loading>>,
}

thread_local! {
    static THREAD_TOKEN: u8 = const { 0 };
}

/// A number unique to the calling thread while it lives (the address of a thread-local).
fn thread_token() -> usize {
    THREAD_TOKEN.with(|t| std::ptr::from_ref(t) as usize)
}

impl Keyspace {
    pub(crate) fn new(config: Config, persistent: bool) -> Self {
        let default_ns = Arc::new(NsState::new(DEFAULT_NS, String::new(), persistent));
        let mut registry = Registry { next_id: DEFAULT_NS + 1, ..Registry::default() };
        registry.by_id.insert(DEFAULT_NS, Arc::clone(&default_ns));
        Keyspace {
            config,
            writer: Mutex::new(Writer::default()),
            writer_thread: AtomicUsize::new(0),
            committed: AtomicU64::new(0),
            snapshots: Mutex::new(Snapshots::default()),
            registry: RwLock::new(registry),
            default_ns,
            persist: None,
            poisoned: AtomicBool::new(false),
            persistent,
            loading: None,
        }
    }

    /// Waits until the indexes are complete (at once unless a lazy open is still building
    /// them).
    ///
    /// # Errors
    /// The error that stopped the build: a damaged page, or an I/O error.
    #[inline]
    pub(crate) fn wait_loaded(&self) -> Result<()> {
        match &self.loading {
            Some(l) if !l.is_ready() => l.wait(),
            _ => Ok(()),
        }
    }

    /// Whether point reads must look in the tree because the indexes are still being built.
    pub(crate) fn is_loading(&self) -> bool {
        self.loading.as_ref().is_some_and(|l| !l.is_ready())
    }

    /// Runs `f` on the slot of `key` in namespace `ns` as the tree holds it, and on the page
    /// file its value lies in: a point read while the indexes are being built. It runs under a
    /// registered snapshot, which keeps the tree's pages (and the file) as they are until `f`
    /// has read the value. `Ok(None)` when the build has finished meanwhile: read the index.
    ///
    /// # Errors
    /// [`Error::Corruption`] or an I/O error reading the tree; the error of `f`.
    pub(crate) fn with_tree_slot<R>(
        self: &Arc<Self>,
        ns: &NsState,
        key: &[u8],
        f: impl FnOnce(Option<&IndexSlot>, &PageFile) -> Result<R>,
    ) -> Result<Option<R>> {
        let (_guard, view) = self.snapshot(ns);
        // Commits wait for the build: while it runs, the tree is the database.
        if !self.is_loading() {
            return Ok(None);
        }
        let Some(tree) = view.tree else { return Ok(None) };
        let mut full = Vec::with_capacity(4 + key.len());
        full.extend_from_slice(&ns.tree_prefix());
        full.extend_from_slice(key);
        let found = crate::tree::get(&tree.file, tree.root, &full)?;
        let slot = found.map(|found| IndexSlot {
            held: match found.value {
                crate::tree::FoundValue::Inline(bytes) => Held::Mem(Arc::from(bytes)),
                crate::tree::FoundValue::Stored(loc) => Held::Disk(loc),
            },
            expires_at: found.expires_at,
        });
        f(slot.as_ref(), &tree.file).map(Some)
    }

    /// Whether a failed sync or checkpoint has poisoned the handle.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
            || self.persist.as_ref().is_some_and(|p| p.wal.is_poisoned())
    }

    pub(crate) fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
    }

    /// Makes every commit so far durable (a no-op in memory).
    ///
    /// # Errors
    /// [`Error::Poisoned`], or the I/O error of the sync (which poisons the handle).
    pub(crate) fn flush(&self) -> Result<()> {
        let Some(p) = &self.persist else { return Ok(()) };
        if p.read_only {
            // Nothing was written.
            return Ok(());
        }
        if self.is_poisoned() {
            return Err(Error::Poisoned);
        }
        p.wal.sync()
    }

    pub(crate) fn default_ns(&self) -> &Arc<NsState> {
        &self.default_ns
    }

    /// The time expiry is judged at, in Unix milliseconds: the clock, but never before 1 ms,
    /// since an expiry of 0 means "never" ([`NO_EXPIRY`]): a zero TTL written at a clock of 0
    /// expires at 1 ms ([`Ttl::expires_at`](crate::Ttl)) and is judged expired at once, as at
    /// any other time.
    pub(crate) fn now(&self) -> u64 {
        self.clock_ms().max(1)
    }

    /// The clock, in Unix milliseconds: what a time-to-live counts from.
    pub(crate) fn clock_ms(&self) -> u64 {
        self.config.clock.now_ms()
    }

    /// Whether an entry that expires at `expires_at` is expired now (the clock is read only for
    /// an entry with an expiry).
    #[inline]
    pub(crate) fn expired(&self, expires_at: ExpiresAt) -> bool {
        expires_at != NO_EXPIRY && is_expired(expires_at, self.now())
    }

    /// The LSN of the newest published commit.
    #[inline]
    pub(crate) fn committed_lsn(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// Writes everything committed since the last checkpoint into the page file and starts a
    /// fresh log (a no-op in memory).
    ///
    /// # Errors
    /// [`Error::Poisoned`], [`Error::WriteInTransaction`], or the error that stopped the
    /// checkpoint (which poisons the handle; the file still holds the previous checkpoint and the
    /// log every commit since).
    pub(crate) fn checkpoint(&self) -> Result<()> {
        if self.persist.is_none() {
            return Ok(());
        }
        let mut guard = self.lock_writer()?;
        self.checkpoint_locked(&mut guard.writer)
    }

    /// Takes the single writer lock, to write.
    ///
    /// # Errors
    /// [`Error::ReadOnly`] for a database opened read-only; as
    /// [`hold_writer`](Self::hold_writer).
    pub(crate) fn lock_writer(&self) -> Result<WriterGuard<'_>> {
        if self.persist.as_ref().is_some_and(|p| p.read_only) {
            return Err(Error::ReadOnly);
        }
        self.hold_writer()
    }

    /// Takes the single writer lock, to keep every writer out (the integrity check), also on a
    /// read-only database.
    ///
    /// # Errors
    /// [`Error::WriteInTransaction`] if the calling thread already holds it (a write through the
    /// database handle inside a transaction closure would otherwise wait for itself forever).
    pub(crate) fn hold_writer(&self) -> Result<WriterGuard<'_>> {
        let token = thread_token();
        if self.writer_thread.load(Ordering::Relaxed) == token {
            return Err(Error::WriteInTransaction);
        }
        self.wait_loaded()?;
        let writer = self.writer.lock();
        self.writer_thread.store(token, Ordering::Relaxed);
        Ok(WriterGuard { ks: self, writer })
    }

    /// Registers a read snapshot of namespace `ns` at the newest published commit: its LSN, the
    /// tree root it sits on (pinned, so the pages stay) and the memtable above that root.
    pub(crate) fn snapshot(self: &Arc<Self>, ns: &NsState) -> (SnapshotGuard, View) {
        let mut snapshots = self.snapshots.lock();
        let lsn = self.committed.load(Ordering::Acquire);
        let tree = snapshots.register(lsn);
        let view = View { lsn, tree: tree.clone(), mem: ns.memtable() };
        (SnapshotGuard { ks: Arc::clone(self), lsn, seq: tree.map(|t| t.seq) }, view)
    }

    /// The current state of `ns` without registering a snapshot: only valid while the caller
    /// holds the writer lock (no commit or checkpoint can change it then).
    pub(crate) fn current_view(&self, ns: &NsState) -> View {
        let snapshots = self.snapshots.lock();
        let lsn = self.committed.load(Ordering::Acquire);
        View { lsn, tree: snapshots.tree().cloned(), mem: ns.memtable() }
    }

    /// As [`read_held`](Self::read_held), reading a value on disk through `source` (the one
    /// the index handed out with the location).
    ///
    /// # Errors
    /// As [`read_held`](Self::read_held).
    pub(crate) fn read_held_in(
        &self,
        held: &Held,
        source: Option<&ValueSource>,
    ) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_held_into(held, source, &mut out)?;
        Ok(out)
    }

    /// Appends the value of the index slot `slot` to `out` if it is live (present and
    /// unexpired) and says whether it was: the end of every point read through the index.
    ///
    /// # Errors
    /// As [`read_held`](Self::read_held); `out` is unchanged on error.
    pub(crate) fn read_live_into(
        &self,
        slot: Option<&IndexSlot>,
        source: Option<&ValueSource>,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        match slot {
            Some(slot) if !self.expired(slot.expires_at) => {
                self.read_held_into(&slot.held, source, out)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// As [`read_held_in`](Self::read_held_in), appending the value to `out`.
    ///
    /// # Errors
    /// As [`read_held`](Self::read_held); `out` is unchanged on error.
    pub(crate) fn read_held_into(
        &self,
        held: &Held,
        source: Option<&ValueSource>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        match (held, source) {
            (Held::Mem(bytes), _) => {
                out.extend_from_slice(bytes);
                Ok(())
            }
            (Held::Disk(loc), Some(source)) => source.read_into(*loc, out),
            (Held::Disk(loc), None) => match &self.persist {
                Some(p) => p.file().read_value_into(*loc, out),
                None => Ok(()),
            },
        }
    }

    /// Hands every namespace's index the current page file and its mapping, for point reads.
    pub(crate) fn publish_value_source(&self) -> Result<()> {
        let Some(p) = &self.persist else { return Ok(()) };
        let file = p.file();
        let source = ValueSource { map: file.current_map()?, file };
        for ns in self.namespaces() {
            ns.index.publish(Some(&source));
        }
        Ok(())
    }

    /// Reads a value the index holds or points to.
    ///
    /// # Errors
    /// [`Error::Corruption`] or an I/O error reading it from the page file.
    pub(crate) fn read_held(&self, held: &Held) -> Result<Vec<u8>> {
        self.read_held_in(held, None)
    }

    /// The namespace called `name`, if it exists.
    pub(crate) fn find_namespace(&self, name: &str) -> Option<Arc<NsState>> {
        self.registry.read().by_name.get(name).cloned()
    }

    /// The names of every namespace, sorted.
    pub(crate) fn namespace_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.registry.read().by_name.keys().cloned().collect();
        names.sort_unstable();
        names
    }

    /// The namespace called `name`, created (durably, as a commit of its own) if it is missing.
    pub(crate) fn namespace(&self, name: &str) -> Result<Arc<NsState>> {
        if let Some(ns) = self.find_namespace(name) {
            return Ok(ns);
        }
        let writer = self.lock_writer()?;
        if let Some(ns) = self.find_namespace(name) {
            return Ok(ns);
        }
        let id = self.registry.read().next_id;
        writer
            .commit(Batch { ops: vec![Op::CreateNamespace { ns: id, name: name.to_owned() }] })?;
        self.find_namespace(name).ok_or(Error::InvalidNamespace {
            name: name.to_owned(),
            reason: "the namespace vanished while it was created",
        })
    }

    /// Registers namespace `name` under `id` (a commit, the replay or the catalog at open).
    fn add_namespace(&self, id: NsId, name: String) -> Arc<NsState> {
        let mut registry = self.registry.write();
        let state = Arc::new(NsState::new(id, name.clone(), self.persistent));
        // A new namespace reads values where the others do.
        let source = registry.by_id.get(&DEFAULT_NS).and_then(|ns| ns.index.source());
        state.index.publish(source.as_ref());
        registry.by_name.insert(name, Arc::clone(&state));
        registry.by_id.insert(id, Arc::clone(&state));
        registry.next_id = registry.next_id.max(id.saturating_add(1));
        state
    }

    /// Every namespace, by ascending id.
    fn namespaces(&self) -> Vec<Arc<NsState>> {
        let registry = self.registry.read();
        let mut all: Vec<Arc<NsState>> = registry.by_id.values().cloned().collect();
        all.sort_unstable_by_key(|s| s.id);
        all
    }

    fn apply(&self, batch: &Batch, lsn: u64, writer: &mut Writer) {
        let snapshots = self.snapshots.lock();
        let open = snapshots.open_lsns();
        self.collect_garbage(writer, &open, snapshots.generation());

        // Namespace creation first: the data operations of the same batch may use them.
        let mut touched: Vec<(NsId, u32, usize)> = Vec::new();
        for op in &batch.ops {
            let (ns, bit) = match op {
                Op::CreateNamespace { ns, name } => {
                    self.add_namespace(*ns, name.clone());
                    writer.new_namespaces.push((*ns, name.clone()));
                    continue;
                }
                Op::Put { ns, .. } | Op::Remove { ns, .. } => (*ns, 0),
                Op::Clear { ns } => (*ns, ALL_SHARDS),
            };
            match touched.iter_mut().find(|(id, _, _)| *id == ns) {
                Some(entry) => {
                    entry.1 |= bit;
                    entry.2 += 1;
                }
                None => touched.push((ns, bit, 1)),
            }
        }
        touched.sort_unstable_by_key(|(id, _, _)| *id);

        let states: Vec<Arc<NsState>> = {
            let registry = self.registry.read();
            touched.iter().filter_map(|(id, _, _)| registry.by_id.get(id).cloned()).collect()
        };
        let mems: Vec<Arc<RwLock<Memtable>>> = states.iter().map(|s| s.memtable()).collect();
        let mut locked: Vec<_> = states
            .iter()
            .zip(&mems)
            .map(|(state, mem)| {
                let (_, mut mask, count) =
                    touched.iter().find(|(id, _, _)| *id == state.id).copied().unwrap_or_default();
                if count > LOCK_ALL_ABOVE {
                    mask = ALL_SHARDS;
                } else if mask != ALL_SHARDS {
                    for op in &batch.ops {
                        if let Op::Put { ns, key, .. } | Op::Remove { ns, key } = op
                            && *ns == state.id
                        {
                            mask |= state.index.shard_bit(key);
                        }
                    }
                }
                let mut index = state.index.lock(mask);
                if count > RESERVE_ABOVE {
                    index.reserve(count);
                }
                (state.id, mem.write(), state.stats.write(), index)
            })
            .collect();

        for op in &batch.ops {
            let ns = match op {
                Op::Put { ns, .. } | Op::Remove { ns, .. } | Op::Clear { ns } => *ns,
                Op::CreateNamespace { .. } => continue,
            };
            let Some((_, mem, counts, index)) = locked.iter_mut().find(|(id, ..)| *id == ns) else {
                continue;
            };
            match op {
                Op::Put { key, value, expires_at, .. } => {
                    let held =
                        IndexSlot { held: Held::Mem(Arc::clone(value)), expires_at: *expires_at };
                    let old = index.put(key, held);
                    counts.change(key, old, Some(*expires_at));
                    let slot = Slot { value: Arc::clone(value), expires_at: *expires_at };
                    if mem.write(key, Some(slot), lsn, &open) {
                        writer.garbage.push((ns, Arc::clone(key)));
                    }
                }
                Op::Remove { key, .. } => {
                    let old = index.remove(key);
                    counts.change(key, old.map(|s| s.expires_at), None);
                    if mem.write(key, None, lsn, &open) {
                        writer.garbage.push((ns, Arc::clone(key)));
                    }
                }
                Op::Clear { .. } => {
                    let keys = index.keys();
                    index.clear();
                    counts.reset();
                    if open.is_empty() && !self.persistent {
                        mem.reset();
                    } else {
                        for key in keys {
                            if mem.write(&key, None, lsn, &open) {
                                writer.garbage.push((ns, key));
                            }
                        }
                    }
                }
                Op::CreateNamespace { .. } => {}
            }
        }
        self.committed.store(lsn, Ordering::Release);
        drop(locked);
        drop(snapshots);
    }

    /// Whether every namespace `writes` touches exists (and none is the catalog's).
    fn namespaces_exist(&self, writes: &Writes) -> bool {
        let registry = self.registry.read();
        writes
            .namespaces()
            .iter()
            .all(|ns| *ns != persist::CATALOG && registry.by_id.contains_key(ns))
    }

    /// The namespaces `batch` (a batch a checkpoint writes, see
    /// [`commit_directly`](Self::commit_directly)) writes, with how many puts and writes each
    /// has.
    fn written(&self, batch: &Writes) -> Written {
        // The writes are grouped by namespace (sorted): (namespace, puts, writes).
        let mut groups: Vec<(NsId, usize, usize)> = Vec::new();
        for at in 0..batch.len() {
            let Some(ns) = batch.ns(at) else { continue };
            let put = usize::from(batch.value(at).is_some());
            match groups.last_mut() {
                Some(g) if g.0 == ns => {
                    g.1 += put;
                    g.2 += 1;
                }
                _ => groups.push((ns, put, 1)),
            }
        }
        let states: Vec<Arc<NsState>> = {
            let registry = self.registry.read();
            groups.iter().filter_map(|(id, ..)| registry.by_id.get(id).cloned()).collect()
        };
        Written { states, groups }
    }

    /// Publishes the LSN of a batch applied by [`Written::lock_and_apply`],
    /// then releases its shards: a reader sees all of the batch or none of it.
    fn publish_applied(&self, locked: Applied<'_>, lsn: u64) {
        self.committed.store(lsn, Ordering::Release);
        drop(locked);
    }

    /// Drops versions that no open snapshot can see any more, once the set of open snapshots
    /// has changed since the last collection.
    fn collect_garbage(&self, writer: &mut Writer, open: &[u64], generation: u64) {
        if writer.garbage.is_empty() || writer.collected_at == Some(generation) {
            return;
        }
        writer.collected_at = Some(generation);
        let registry = self.registry.read();
        writer.garbage.retain(|(ns, key)| {
            registry.by_id.get(ns).is_some_and(|state| state.memtable().write().collect(key, open))
        });
    }
}

/// Exclusive write access to a keyspace. Dropping it releases the writer lock.
pub(crate) struct WriterGuard<'a> {
    ks: &'a Keyspace,
    writer: MutexGuard<'a, Writer>,
}

impl WriterGuard<'_> {
    /// Commits `batch` as one atomic unit and returns its LSN. An empty batch commits nothing.
    ///
    /// On a persistent database the batch is appended to the log as one frame before it is
    /// applied, or, when that frame would take the log past the checkpoint threshold, written by
    /// the checkpoint that follows the apply instead. The writer lock is released before waiting
    /// for durability (as the flush policy says), so committers that wait share one sync. The
    /// batch is dropped before this returns; after a large one the freed heap is handed back
    /// ([`release_freed_heap`]).
    ///
    /// # Errors
    /// [`Error::Poisoned`] after a failed sync; an I/O error appending the frame (nothing is
    /// applied then); an I/O error of the sync or the checkpoint (the commit is applied but may
    /// not be durable, and the handle is poisoned).
    pub(crate) fn commit(self, batch: Batch) -> Result<u64> {
        let large = batch.ops.len() > RELEASE_HEAP_ABOVE;
        let committed = self.commit_ref(&batch);
        drop(batch);
        if large {
            release_freed_heap();
        }
        committed
    }

    /// Commits a transaction's buffered writes as one atomic unit and returns its LSN: a few
    /// writes as a batch in the order they were made (no sort, no second buffer), more through
    /// [`commit_writes`](Self::commit_writes).
    ///
    /// # Errors
    /// As [`commit`](Self::commit).
    pub(crate) fn commit_transaction(self, buffered: WritesBuilder) -> Result<u64> {
        if buffered.len() <= SMALL_TRANSACTION {
            self.commit(buffered.to_batch())
        } else {
            self.commit_writes(buffered.finish())
        }
    }

    /// Commits a transaction's `writes` as one atomic unit and returns its LSN, as
    /// [`commit`](Self::commit) does. Writes whose log frame would take the log past the
    /// checkpoint threshold, or that number at least [`DIRECT_WRITES`], are written by a
    /// checkpoint straight from their buffer (no allocation per key or value); others become a
    /// batch and are logged.
    ///
    /// # Errors
    /// As [`commit`](Self::commit).
    pub(crate) fn commit_writes(mut self, writes: Writes) -> Result<u64> {
        let ks = self.ks;
        if writes.is_empty() {
            return Ok(self.writer.last_lsn);
        }
        if let Some(p) = &ks.persist
            && (writes.len() >= DIRECT_WRITES
                || p.wal.size().saturating_add(writes.encoded_len()) > p.checkpoint_wal_bytes)
            && ks.namespaces_exist(&writes)
        {
            if ks.is_poisoned() {
                return Err(Error::Poisoned);
            }
            let lsn = p.wal.reserve_lsn()?;
            debug_assert_eq!(lsn, self.writer.last_lsn + 1, "the log and the keyspace agree");
            let committed = ks.commit_directly(&mut self.writer, &writes, lsn);
            drop(self);
            drop(writes);
            return committed.map(|()| lsn);
        }
        self.commit(writes.to_batch())
    }

    fn commit_ref(mut self, batch: &Batch) -> Result<u64> {
        if batch.ops.is_empty() {
            return Ok(self.writer.last_lsn);
        }
        let ks = self.ks;
        let mut wait = None;
        let mut direct = false;
        if let Some(p) = &ks.persist {
            if ks.is_poisoned() {
                return Err(Error::Poisoned);
            }
            // A batch that would push the log past the checkpoint threshold is not logged: the
            // checkpoint that follows it writes it to the page file and flips the meta page,
            // which is as atomic as a log frame, and the batch is not written twice.
            direct = p.wal.size().saturating_add(crate::wal::encoded_len(batch))
                > p.checkpoint_wal_bytes;
            if (direct || batch.ops.len() >= DIRECT_WRITES)
                && let Some(writes) = Writes::from_batch(batch)
                && ks.namespaces_exist(&writes)
            {
                // Written by a checkpoint straight from the batch, never through the memtable.
                let lsn = p.wal.reserve_lsn()?;
                debug_assert_eq!(lsn, self.writer.last_lsn + 1, "the log and the keyspace agree");
                ks.commit_directly(&mut self.writer, &writes, lsn)?;
                return Ok(lsn);
            }
            if !direct && !self.writer.log_in_use {
                ks.record_log_in_use(&mut self.writer)?;
            }
            let lsn = if direct { p.wal.reserve_lsn()? } else { p.wal.append(batch)? };
            debug_assert_eq!(lsn, self.writer.last_lsn + 1, "the log and the keyspace agree");
            wait = match ks.config.flush_policy {
                FlushPolicy::OnEachWrite | FlushPolicy::EveryN(0 | 1) => Some(lsn),
                FlushPolicy::EveryN(n) => {
                    self.writer.unsynced += 1;
                    (self.writer.unsynced >= n).then(|| {
                        self.writer.unsynced = 0;
                        lsn
                    })
                }
                _ => None,
            };
        }
        let lsn = self.writer.last_lsn + 1;
        ks.apply(batch, lsn, &mut self.writer);
        self.writer.last_lsn = lsn;
        if let Some(p) = &ks.persist
            && (direct || p.wal.size() > p.checkpoint_wal_bytes)
        {
            // The checkpoint makes this commit durable with everything before it.
            match ks.checkpoint_locked(&mut self.writer) {
                Ok(()) => wait = None,
                // A logged commit stays in the log: a checkpoint that found no space (and left
                // the handle usable) is only put off to a later commit.
                Err(_) if !direct && !ks.is_poisoned() => {}
                Err(e) => {
                    // Not logged, applied in memory and not durable: the handle cannot go on.
                    ks.poison();
                    return Err(e);
                }
            }
        }
        drop(self);
        if let (Some(p), Some(lsn)) = (&ks.persist, wait) {
            p.wal.wait_durable(lsn)?;
        }
        Ok(lsn)
    }
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        self.ks.writer_thread.store(0, Ordering::Relaxed);
    }
}

/// A registered read snapshot; released when dropped.
#[derive(Debug)]
pub(crate) struct SnapshotGuard {
    ks: Arc<Keyspace>,
    lsn: u64,
    /// The meta sequence of the tree root it pins.
    seq: Option<u64>,
}

impl Drop for SnapshotGuard {
    fn drop(&mut self) {
        self.ks.snapshots.lock().release(self.lsn, self.seq);
    }
}

/// The locked index shards and counts of the namespaces of a [`Written`] batch.
type Applied<'w> = Vec<(StatsWriteGuard<'w>, IndexWriteGuard<'w>)>;

/// The namespaces a written batch touches (see [`Written::lock_and_apply`]).
pub(crate) struct Written {
    states: Vec<Arc<NsState>>,
    /// `(namespace, puts, writes)`, by namespace.
    groups: Vec<(NsId, usize, usize)>,
}

impl Written {
    /// Whether every namespace's index is empty (a first load into each).
    fn indexes_empty(&self) -> bool {
        self.states.iter().all(|s| s.index.is_empty())
    }

    /// Locks the index shards and counts of every namespace and applies `batch` to them (the
    /// values the checkpoint moved to `locs` get their disk locations, the others their bytes),
    /// publishing nothing: until [`Keyspace::publish_applied`] (or [`undo`](Self::undo))
    /// releases them, point readers of those shards wait.
    fn lock_and_apply(&self, batch: &Writes, locs: &[Option<ValueLoc>]) -> Applied<'_> {
        let Written { states, groups } = self;
        let mut locked: Vec<_> = states
            .iter()
            .map(|state| {
                let (_, puts, count) =
                    groups.iter().find(|g| g.0 == state.id).copied().unwrap_or_default();
                let mask = if count > LOCK_ALL_ABOVE {
                    ALL_SHARDS
                } else {
                    (0..batch.len())
                        .filter(|&at| batch.ns(at) == Some(state.id))
                        .fold(0, |mask, at| mask | state.index.shard_bit(batch.key(at)))
                };
                let mut index = state.index.lock(mask);
                if puts > RESERVE_ABOVE {
                    index.reserve(puts);
                }
                (state.stats.write(), index)
            })
            .collect();
        // Shard by shard: each shard's table is a few megabytes that stay in the cache while
        // its keys go in, instead of every key touching a random place in all of them.
        for (state, (counts, index)) in states.iter().zip(&mut locked) {
            let mut order: Vec<(KeyHash, usize)> = (0..batch.len())
                .filter(|&at| batch.ns(at) == Some(state.id))
                .map(|at| (state.index.hash(batch.key(at)), at))
                .collect();
            order.sort_unstable_by_key(|(hash, _)| hash.shard());
            // Into an empty namespace (a first load) every key is new: no search before each
            // insert. The batch's keys are distinct.
            let fresh = index.is_empty();
            for (hash, at) in order {
                let key = batch.key(at);
                if let Some((value, expires_at)) = batch.value(at) {
                    let held = match locs.get(at).copied().flatten() {
                        Some(loc) => Held::Disk(loc),
                        None => Held::Mem(Arc::from(value)),
                    };
                    let slot = IndexSlot { held, expires_at };
                    let old = if fresh {
                        index.insert_absent_hashed(hash, key, slot);
                        None
                    } else {
                        index.put_hashed(hash, key, None, slot)
                    };
                    counts.change(key, old, Some(expires_at));
                } else {
                    let old = index.remove_hashed(hash, key);
                    counts.change(key, old.map(|s| s.expires_at), None);
                }
            }
        }
        locked
    }

    /// Takes back a batch that [`lock_and_apply`](Self::lock_and_apply) applied to empty
    /// indexes (its commit failed): the shards and counts are emptied again, as they were.
    fn undo(locked: Applied<'_>) {
        for (mut counts, mut index) in locked {
            index.clear();
            counts.reset();
        }
    }
}

/// What a reader of one namespace sees: the commits up to `lsn`, as the tree at `tree` (none in
/// memory) overlaid by the memtable `mem`.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) lsn: u64,
    pub(crate) tree: Option<Arc<TreeSnap>>,
    pub(crate) mem: Arc<RwLock<Memtable>>,
}
