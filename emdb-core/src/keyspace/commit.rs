//! The one writer and the one commit path, [`WriterGuard::commit`], with the two routes it
//! takes: a logged batch applied to memtables and indexes ([`Keyspace::apply`]), and a large
//! sorted batch a checkpoint writes straight into the tree
//! ([`Keyspace::checkpoint_with_writes`]). The protocol: docs/design.md, *Commit*.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::{MutexGuard, RwLock};

use super::index::IndexWriteGuard;
use super::ordered::StatsWriteGuard;
use super::tree_key;
use super::{ALL_SHARDS, KeyHash, Keyspace, Memtable, NsState, Slot};
use crate::batch::{Batch, NsId, Op, Writes, WritesBuilder};
use crate::error::{Error, Result};
use crate::tree::Cursor;

/// Batches with more keys than this lock every shard instead of hashing each key twice.
const LOCK_ALL_ABOVE: usize = 64;

/// After a commit of more operations than this, [`release_freed_heap`] runs.
const RELEASE_HEAP_ABOVE: usize = 100_000;

/// Hands the heap memory that a large batch freed back to the system.
///
/// A bulk load frees millions of small allocations at once (its buffered keys and values, and
/// the resident copies the checkpoint moved to disk). glibc keeps them in its free lists and
/// merges them the next time a larger request misses, which stalls whichever commit comes next
/// (docs/BENCH.md has the measurement); `malloc_trim` does that merge here, at the end of the
/// large commit that caused it, and returns the free memory to the system.
fn release_freed_heap() {
    crate::os::release_free_heap();
}

/// Sorted batches of at least this many writes are not logged but checkpointed at once, however
/// few bytes they hold (600,000 removals log only ~20 MB): writing the changed leaves now costs
/// less than a log frame, a memtable apply and the same leaves at the next checkpoint.
const DIRECT_WRITES: usize = 1 << 16;

/// State only the writer touches.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(super) last_lsn: u64,
    /// Keys whose version chains still hold versions that some snapshot may need.
    pub(super) garbage: Vec<(NsId, Arc<[u8]>)>,
    /// The snapshot-registry generation `garbage` was last collected at.
    pub(super) collected_at: Option<u64>,
    /// Commits since the log was last synced by the `EveryN` policy.
    pub(super) unsynced: u32,
    /// Namespaces created since the last checkpoint (their catalog entries are not in the tree).
    pub(super) new_namespaces: Vec<(NsId, String)>,
    /// The durable meta page says the log may hold frames past its checkpoint (until it does,
    /// the first frame waits for [`Keyspace::record_log_in_use`]).
    pub(super) log_in_use: bool,
    /// The handle is closing: its last checkpoint may record the log clean.
    pub(super) closing: bool,
    /// A compaction is copying the tree into a new file (`maintain.rs`): until it has swapped
    /// that file in, no checkpoint may change the tree, so every commit is logged and none
    /// checkpoints, however large the log grows.
    pub(super) compacting: bool,
}

thread_local! {
    static THREAD_TOKEN: u8 = const { 0 };
}

/// A number unique to the calling thread while it lives (the address of a thread-local).
pub(super) fn thread_token() -> usize {
    THREAD_TOKEN.with(|t| std::ptr::from_ref(t) as usize)
}

impl Keyspace {
    /// Takes the single writer lock, to write.
    ///
    /// # Errors
    /// [`Error::ReadOnly`] for a database opened read-only; as
    /// [`hold_writer`](Self::hold_writer).
    pub(crate) fn lock_writer(&self) -> Result<WriterGuard<'_>> {
        if self.durability.read_only() {
            return Err(Error::ReadOnly);
        }
        self.hold_writer()
    }

    /// Takes the single writer lock, to keep every writer out (the integrity check), also on a
    /// read-only database. Commits do not wait for the index build of a lazy open: what they
    /// read of the tree they find by descents, and the build counts the tree's keys apart from
    /// theirs (`loading.rs`); checkpoints wait for it.
    ///
    /// # Errors
    /// [`Error::WriteInTransaction`] if the calling thread already holds it (a write through the
    /// database handle inside a transaction closure would otherwise wait for itself forever).
    pub(crate) fn hold_writer(&self) -> Result<WriterGuard<'_>> {
        if self.holds_writer() {
            return Err(Error::WriteInTransaction);
        }
        let writer = self.writer.lock();
        self.writer_thread.store(thread_token(), Ordering::Relaxed);
        Ok(WriterGuard { ks: self, writer })
    }

    /// Whether the calling thread holds the writer lock.
    pub(super) fn holds_writer(&self) -> bool {
        self.writer_thread.load(Ordering::Relaxed) == thread_token()
    }

    /// Applies a logged batch to the memtables and indexes, as commit `lsn`.
    ///
    /// # Errors
    /// [`Error::Corruption`] or an I/O error reading the tree: a leaf, to learn whether a key
    /// was there (counts and expiry follow it), or the keys of a namespace being cleared. The
    /// batch may then be applied in part: the caller poisons the handle (or fails the open).
    pub(super) fn apply(&self, batch: &Batch, lsn: u64, writer: &mut Writer) -> Result<()> {
        let clearing = self.keys_to_clear(batch)?;
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
                let (_, mask, count) =
                    touched.iter().find(|(id, _, _)| *id == state.id).copied().unwrap_or_default();
                let keys = batch.ops.iter().filter_map(|op| match op {
                    Op::Put { ns, key, .. } | Op::Remove { ns, key } if *ns == state.id => {
                        Some(&key[..])
                    }
                    _ => None,
                });
                let index = lock_index(state, mask, count, keys);
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
                    let slot = Slot { value: Arc::clone(value), expires_at: *expires_at };
                    let hash = index.hash(key);
                    write_index(index, counts, hash, key, Some(key), Some(slot.clone()))?;
                    if mem.write(key, Some(slot), lsn, &open) {
                        writer.garbage.push((ns, Arc::clone(key)));
                    }
                }
                Op::Remove { key, .. } => {
                    let hash = index.hash(key);
                    write_index(index, counts, hash, key, None, None)?;
                    if mem.write(key, None, lsn, &open) {
                        writer.garbage.push((ns, Arc::clone(key)));
                    }
                }
                Op::Clear { .. } => {
                    let in_tree = clearing.get(&ns).map_or(&[][..], Vec::as_slice);
                    let keys = index.keys(in_tree);
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
        Ok(())
    }

    /// The keys of the tree in every namespace `batch` clears, by namespace (the memtable
    /// records each one's removal, which the next checkpoint writes).
    ///
    /// # Errors
    /// [`Error::Corruption`] or an I/O error reading the tree.
    fn keys_to_clear(&self, batch: &Batch) -> Result<HashMap<NsId, Vec<Arc<[u8]>>>> {
        let mut out = HashMap::new();
        for op in &batch.ops {
            if let Op::Clear { ns } = op
                && !out.contains_key(ns)
            {
                // A clear resets the counts the build is still filling.
                self.wait_loaded()?;
                out.insert(*ns, self.tree_keys(*ns)?);
            }
        }
        Ok(out)
    }

    /// Every key namespace `state` holds, expired ones included (the events of its clearing).
    ///
    /// # Errors
    /// As [`tree_keys`](Self::tree_keys).
    pub(super) fn namespace_keys(&self, state: &NsState) -> Result<Vec<Arc<[u8]>>> {
        let in_tree = self.tree_keys(state.id)?;
        Ok(state.index.lock(ALL_SHARDS).keys(&in_tree))
    }

    /// Every key the current tree holds in namespace `ns`.
    ///
    /// # Errors
    /// [`Error::Corruption`] or an I/O error reading the tree.
    pub(super) fn tree_keys(&self, ns: NsId) -> Result<Vec<Arc<[u8]>>> {
        let Some(tree) = self.snapshots.lock().tree().cloned() else { return Ok(Vec::new()) };
        let prefix = tree_key::prefix(ns);
        let mut keys = Vec::new();
        let mut cursor = Cursor::new(&tree.file, tree.root);
        cursor.seek_at_or_after(&prefix)?;
        while let Some(e) = cursor.entry()? {
            match tree_key::split(e.key) {
                Some((id, key)) if id == ns => keys.push(Arc::from(key)),
                _ => break,
            }
            cursor.next()?;
        }
        Ok(keys)
    }

    /// Drops versions that no open snapshot can see any more, once the set of open snapshots
    /// has changed since the last collection.
    pub(super) fn collect_garbage(&self, writer: &mut Writer, open: &[u64], generation: u64) {
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

/// Transactions of at most this many writes are logged as a batch in the order they were made;
/// larger ones are sorted first (see [`Pending`]).
const SMALL_TRANSACTION: usize = 8;

/// Exclusive write access to a keyspace. Dropping it releases the writer lock.
pub(crate) struct WriterGuard<'a> {
    pub(super) ks: &'a Keyspace,
    pub(super) writer: MutexGuard<'a, Writer>,
}

/// What a commit applies: operations in the order they were made (a write, a small
/// transaction, a namespace's creation or clearing), or writes sorted by key with one write per
/// key (a large transaction).
pub(crate) enum Pending {
    Ops(Batch),
    Sorted(Writes),
}

impl Pending {
    pub(super) fn is_empty(&self) -> bool {
        match self {
            Pending::Ops(batch) => batch.ops.is_empty(),
            Pending::Sorted(writes) => writes.is_empty(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Pending::Ops(batch) => batch.ops.len(),
            Pending::Sorted(writes) => writes.len(),
        }
    }

    /// Whether it holds so many writes that writing its leaves now costs less than logging it
    /// ([`DIRECT_WRITES`]).
    pub(super) fn is_large(&self) -> bool {
        self.len() >= DIRECT_WRITES
    }

    /// The size of its log frame.
    pub(super) fn encoded_len(&self) -> u64 {
        match self {
            Pending::Ops(batch) => crate::wal::encoded_len(batch),
            Pending::Sorted(writes) => writes.encoded_len(),
        }
    }
}

impl From<Batch> for Pending {
    fn from(batch: Batch) -> Self {
        Pending::Ops(batch)
    }
}

impl From<Writes> for Pending {
    fn from(writes: Writes) -> Self {
        Pending::Sorted(writes)
    }
}

impl From<WritesBuilder> for Pending {
    /// A transaction's buffered writes: a few as a batch in the order they were made (no sort,
    /// no second buffer), more sorted.
    fn from(buffered: WritesBuilder) -> Self {
        if buffered.len() <= SMALL_TRANSACTION {
            Pending::Ops(buffered.to_batch())
        } else {
            Pending::Sorted(buffered.finish())
        }
    }
}

impl WriterGuard<'_> {
    /// Commits `pending` as one atomic unit and returns its LSN: the one commit path. An empty
    /// commit commits nothing.
    ///
    /// On a persistent database the writes take one of two routes:
    /// - **checkpointed**: sorted writes of existing namespaces whose log frame would take the
    ///   log past the checkpoint threshold, or that number at least [`DIRECT_WRITES`], are
    ///   written by a checkpoint straight from their buffer and published after its meta flip
    ///   ([`Keyspace::checkpoint_with_writes`]);
    /// - **logged**: anything else is appended to the log as one frame, applied, and waited for
    ///   as the flush policy says (outside the writer lock, so committers that wait share one
    ///   sync). A batch whose frame would pass the threshold is not logged but made durable by
    ///   the checkpoint that follows its apply.
    ///
    /// After a large batch of operations the freed heap is handed back
    /// ([`release_freed_heap`]).
    ///
    /// # Errors
    /// [`Error::Poisoned`] after a failed sync; an I/O error appending the frame (nothing is
    /// applied then); an I/O error of the sync or the checkpoint (the commit is applied but may
    /// not be durable, and the handle is poisoned).
    pub(crate) fn commit(mut self, pending: impl Into<Pending>) -> Result<u64> {
        let pending = pending.into();
        if pending.is_empty() {
            return Ok(self.writer.last_lsn);
        }
        let ks = self.ks;
        if ks.is_poisoned() {
            return Err(Error::Poisoned);
        }
        if !self.writer.compacting && ks.durability.checkpoints(&pending) {
            let sorted = match &pending {
                Pending::Sorted(writes) => Some(Cow::Borrowed(writes)),
                Pending::Ops(batch) => Writes::from_batch(batch).map(Cow::Owned),
            };
            if let Some(writes) = sorted
                && ks.namespaces_exist(&writes)
            {
                let changes = ks.changes_of_writes(&writes)?;
                let committed = ks.durability.commit_sorted(ks, &mut self.writer, &writes);
                if let Ok(lsn) = committed {
                    // Published after the meta flip: visible and durable.
                    ks.feed.stage(lsn, changes);
                }
                drop(self);
                drop(writes);
                release_if_large(pending);
                if let Ok(lsn) = committed {
                    ks.feed.release(lsn);
                }
                return committed;
            }
        }
        let batch = match pending {
            Pending::Ops(batch) => batch,
            Pending::Sorted(writes) => writes.to_batch(),
        };
        let committed = self.commit_logged(&batch);
        release_if_large(Pending::Ops(batch));
        committed
    }

    /// The logged route of [`commit`](Self::commit), for a batch that is not empty (and, on a
    /// persistent database, a handle that is not poisoned).
    fn commit_logged(mut self, batch: &Batch) -> Result<u64> {
        let ks = self.ks;
        // Read before anything is logged: a failure here commits nothing.
        let changes = ks.changes_of_batch(batch)?;
        let logged = ks.durability.log(ks, &mut self.writer, batch)?;
        let lsn = self.writer.last_lsn + 1;
        debug_assert_eq!(lsn, logged.lsn, "the log and the keyspace agree");
        if let Err(e) = ks.apply(batch, lsn, &mut self.writer) {
            // Logged, and perhaps applied in part: no later write may build on that.
            ks.poison();
            return Err(e);
        }
        self.writer.last_lsn = lsn;
        ks.feed.stage(lsn, changes);
        let wait = ks.durability.settle(ks, &mut self.writer, logged)?;
        drop(self);
        if let Some(lsn) = wait {
            ks.durability.wait_durable(lsn)?;
        }
        ks.feed.release(lsn);
        Ok(lsn)
    }
}

/// Drops what a commit applied and, after a large batch of operations, hands the heap it freed
/// back ([`release_freed_heap`]).
fn release_if_large(pending: Pending) {
    let large = matches!(&pending, Pending::Ops(batch) if batch.ops.len() > RELEASE_HEAP_ABOVE);
    drop(pending);
    if large {
        release_freed_heap();
    }
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        self.ks.writer_thread.store(0, Ordering::Relaxed);
    }
}

/// Locks the index shards of `state` that a commit of `writes` writes to it touches: the shards
/// of `keys` (and of `mask`), or every shard past [`LOCK_ALL_ABOVE`] writes.
fn lock_index<'a, 'k>(
    state: &'a NsState,
    mask: u32,
    writes: usize,
    keys: impl Iterator<Item = &'k [u8]>,
) -> IndexWriteGuard<'a> {
    let mask = if writes > LOCK_ALL_ABOVE || mask == ALL_SHARDS {
        ALL_SHARDS
    } else {
        keys.fold(mask, |mask, key| mask | state.index.shard_bit(key))
    };
    state.index.lock(mask)
}

/// Puts `slot` under `key` (hashed to `hash`) in a locked index, or removes the key when there is
/// none, and keeps the namespace's live counts in step: the index half of every apply. A key
/// longer than the index holds in place shares `shared` when given.
///
/// # Errors
/// An error reading the key's leaf (to learn what it held before).
fn write_index(
    index: &mut IndexWriteGuard<'_>,
    counts: &mut StatsWriteGuard<'_>,
    hash: KeyHash,
    key: &[u8],
    shared: Option<&Arc<[u8]>>,
    slot: Option<Slot>,
) -> Result<()> {
    let new = slot.as_ref().map(|s| s.expires_at);
    let old = match slot {
        Some(slot) => index.put_hashed(hash, key, shared, slot)?,
        None => index.remove_hashed(hash, key)?,
    };
    counts.change(key, old, new);
    Ok(())
}
