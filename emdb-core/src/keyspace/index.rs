//! The point index of one namespace, spread over 32 lock-striped shards so that reads of
//! different keys never contend. Each shard holds two tables:
//!
//! * **recent**: every key written since the last checkpoint, with its value (shared with the
//!   memtable) and expiry, or a mark that it was removed. A checkpoint writes them all into the
//!   tree and empties the table.
//! * **settled**: keys of the durable tree, each as its 64-bit hash and the leaf that holds it
//!   (12 bytes: no key, no value). A read looks the key up in that leaf, in the page file's
//!   mapping, where the key is compared in full and the value (or where it lives) found beside
//!   it. Two keys whose hashes are equal are both found: every entry with the hash is tried.
//!
//! Without a memory budget, once the open's build has run, settled holds every key of the tree,
//! so a key in neither table is absent. Under a budget ([`Budget`]) it holds the keys read
//! lately, as many as the budget allows: a key in neither table is looked up by a descent of
//! the tree from its root, and the leaf found earns the key a place, which keys not read since
//! give up ([`Budget`] says how). While the open's build runs the index is not complete either.
//!
//! A settled entry stays valid until a checkpoint rewrites its leaf. The checkpoint then, with
//! the shard's write lock held, drops the entries of the keys of every leaf it replaced and
//! adds entries for the keys of every leaf it wrote ([`ShardedIndex::settle`]). A reader holds
//! its shard's read lock from finding an entry (or descending from the shard's root) until it
//! has read the value: the pages it reads are freed by the next checkpoint at the earliest,
//! which cannot finish settling this shard, nor can another checkpoint start, before the reader
//! lets go.
//!
//! The hash of a key is computed once: five of its high bits pick the shard and the whole hash
//! is handed to the shard's tables.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use hashbrown::HashTable;
use parking_lot::{RwLock, RwLockWriteGuard};

use super::alloc::TableAlloc;
use super::tree_key;
use crate::batch::ExpiresAt;
use crate::error::Result;
use crate::io::SharedMap;
use crate::page::PageId;
use crate::page::file::{PageBytes, PageFile};
use crate::page::leaf::{Leaf, LeafEntry, entry_at};
use crate::page::value::{ValueLoc, ValueRef};
use crate::tree::{LEAF_TYPES, TreeRoot};

/// How many lock-striped shards each namespace's index has.
pub(crate) const SHARDS: usize = 32;
/// Where a hash's shard bits start: bits 52..57, below the seven top bits hashbrown's tags use.
const SHARD_SHIFT: u32 = 64 - 7 - SHARDS.trailing_zeros();

/// A value as the memtable holds it: the bytes and the expiry.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// The value bytes, shared with the index.
    pub(crate) value: Arc<[u8]>,
    /// Absolute expiry in Unix milliseconds, or `NO_EXPIRY`.
    pub(crate) expires_at: ExpiresAt,
}

impl Slot {
    /// The slot as a point read sees it.
    pub(crate) fn as_ref(&self) -> SlotRef<'_> {
        SlotRef { held: HeldRef::Bytes(&self.value), expires_at: self.expires_at }
    }
}

/// Where a point read finds a value: its bytes (written since the last checkpoint, or inline
/// in its leaf), or its place in a value page or overflow run of the page file.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HeldRef<'a> {
    Bytes(&'a [u8]),
    Disk(ValueLoc),
}

/// What a point read finds for a live key: the value or where it is, and the expiry. Borrowed
/// from the index or from the key's leaf, for as long as the read holds its shard's lock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotRef<'a> {
    pub(crate) held: HeldRef<'a>,
    /// Absolute expiry in Unix milliseconds, or `NO_EXPIRY`.
    pub(crate) expires_at: ExpiresAt,
}

impl<'a> From<LeafEntry<'a>> for SlotRef<'a> {
    fn from(e: LeafEntry<'a>) -> Self {
        let held = match e.value {
            ValueRef::Inline(bytes) => HeldRef::Bytes(bytes),
            ValueRef::Stored(loc) => HeldRef::Disk(loc),
        };
        SlotRef { held, expires_at: e.expires_at }
    }
}

/// An owned copy of a [`HeldRef`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Held {
    Mem(Arc<[u8]>),
    Disk(ValueLoc),
}

/// An owned copy of a [`SlotRef`] (checks and tests that look at an entry after its lock is let
/// go).
#[derive(Debug, Clone)]
pub(crate) struct IndexSlot {
    pub(crate) held: Held,
    pub(crate) expires_at: ExpiresAt,
}

impl From<SlotRef<'_>> for IndexSlot {
    fn from(s: SlotRef<'_>) -> Self {
        let held = match s.held {
            HeldRef::Bytes(bytes) => Held::Mem(Arc::from(bytes)),
            HeldRef::Disk(loc) => Held::Disk(loc),
        };
        IndexSlot { held, expires_at: s.expires_at }
    }
}

/// How many key bytes an entry of the recent table holds in place; longer keys are shared with
/// the memtable.
const INLINE_KEY: usize = 30;

/// A key as the recent table holds it. Short keys (most keys) sit inside the entry, so a lookup
/// touches the entry's cache line and no second heap allocation.
enum IndexKey {
    /// Up to [`INLINE_KEY`] bytes in place.
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    /// A longer key, shared.
    Shared(Arc<[u8]>),
}

impl IndexKey {
    /// The key in place, or `None` when it is too long for that.
    fn inline(key: &[u8]) -> Option<Self> {
        let mut bytes = [0u8; INLINE_KEY];
        bytes.get_mut(..key.len())?.copy_from_slice(key);
        Some(IndexKey::Inline { len: u8::try_from(key.len()).ok()?, bytes })
    }

    fn bytes(&self) -> &[u8] {
        match self {
            IndexKey::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            IndexKey::Shared(key) => key,
        }
    }
}

/// A key written since the last checkpoint: its newest value, or `None` once removed.
struct Recent {
    key: IndexKey,
    slot: Option<Slot>,
}

/// Marks a settled entry read since the last sweep of a budgeted index.
const REFERENCED: u32 = 1 << 31;
/// The leaf bits of a settled entry: leaves at page 2^31 (8 TiB into the file) and beyond are not
/// settled, and an index that meets one stops being complete.
const LEAF_BITS: u32 = REFERENCED - 1;

/// The bits of a 64-bit hash that keys are hashed to: all but bits 32..48, which no table
/// uses (hashbrown takes a bucket from the low bits and a tag from the top seven; the shard
/// comes from bits 52..57), so that a settled entry holds its key's whole hash in 48 bits.
const HASH_BITS: u64 = !(0xFFFF << 32);

/// A key of the tree: its hash (48 bits, see [`HASH_BITS`]), its leaf with the [`REFERENCED`]
/// mark, and its place in the leaf ([`Leaf::place`]), in 12 bytes.
struct Settled {
    low: u32,
    high: u16,
    place: u16,
    leaf: AtomicU32,
}

impl Settled {
    fn new(hash: u64, leaf: u32, place: u16) -> Self {
        #[expect(clippy::cast_possible_truncation, reason = "the hash's two parts")]
        let (low, high) = (hash as u32, (hash >> 48) as u16);
        Settled { low, high, place, leaf: AtomicU32::new(leaf) }
    }

    fn hash(&self) -> u64 {
        (u64::from(self.high) << 48) | u64::from(self.low)
    }

    /// Whether this is the entry of a key with `hash` at `place` in `leaf`.
    fn is(&self, hash: u64, leaf: PageId, place: u16) -> bool {
        self.hash() == hash && self.place == place && self.leaf() == leaf
    }

    fn leaf(&self) -> PageId {
        PageId::from(self.leaf.load(Ordering::Relaxed) & LEAF_BITS)
    }

    /// Marks the entry read (a store only when the mark is not set yet: hot entries' cache lines
    /// stay shared between the readers' cores).
    fn touch(&self) {
        if self.leaf.load(Ordering::Relaxed) & REFERENCED == 0 {
            self.leaf.fetch_or(REFERENCED, Ordering::Relaxed);
        }
    }

    /// Clears the mark; returns whether it was set.
    fn untouch(&mut self) -> bool {
        let leaf = self.leaf.get_mut();
        let was = *leaf & REFERENCED != 0;
        *leaf &= LEAF_BITS;
        was
    }
}

/// The settled entry a leaf id gets, `None` past [`LEAF_BITS`].
fn leaf_bits(leaf: PageId) -> Option<u32> {
    u32::try_from(leaf).ok().filter(|l| *l <= LEAF_BITS)
}

/// The memory budget of the settled tables of every namespace of a database: at most `max`
/// entries between them.
///
/// A shard that needs room while the budget is spent sweeps its own table: entries read since
/// its last sweep lose their mark and stay, the others are dropped at random until an eighth of
/// the shard's entries is gone (a CLOCK without a hand: hashbrown's table has no stable order to
/// keep one in). A key read again earns its entry back by a descent: any descent while the
/// budget has room, one in [`ADMIT_EVERY`] once it is spent.
#[derive(Debug)]
pub(crate) struct Budget {
    max: usize,
    used: AtomicUsize,
    /// Sweeps so far, which seed each sweep's choice.
    sweeps: AtomicU64,
}

/// Once a budget is spent, one descent in this many earns its key an entry (see
/// [`Budget::admits`]).
const ADMIT_EVERY: u64 = 8;

/// The heap bytes one settled entry takes at worst: 12 bytes and a control byte per bucket, at
/// the lowest load a table that never grows past its size keeps (7/16: a table rehashes in place
/// below half of its 7/8 capacity, and a budgeted shard stays there).
pub(crate) const SETTLED_ENTRY_BYTES: u64 = 30;

impl Budget {
    /// A budget of `bytes` of settled entries.
    pub(crate) fn new(bytes: u64) -> Self {
        let max = usize::try_from(bytes / SETTLED_ENTRY_BYTES).unwrap_or(usize::MAX);
        Budget { max, used: AtomicUsize::new(0), sweeps: AtomicU64::new(0) }
    }

    /// Whether the key of the `misses`-th descent of a shard earns an entry: every one while the
    /// budget has room, one in [`ADMIT_EVERY`] once it is spent. A key read often is admitted
    /// soon anyway; reads spread over more keys than the budget holds mostly descend without
    /// taking the shard's write lock and sweeping it for a key not read again.
    fn admits(&self, misses: u64) -> bool {
        self.used.load(Ordering::Relaxed) < self.max || misses.is_multiple_of(ADMIT_EVERY)
    }

    /// Whether a shard that holds `len` entries may add one: the budget is not spent, and the
    /// shard holds no more than its share of it and a quarter (tables never shrink, so no
    /// shard may grow far past its share while others are empty).
    fn has_room(&self, len: usize, adding: usize) -> bool {
        let share = (self.max / SHARDS).max(1);
        self.used.load(Ordering::Relaxed) + adding < self.max && len < share + share / 4
    }
}

/// Where a shard's readers find the leaves and values that live in the page file: the file, and
/// the mapping of it that was current when the source was published.
///
/// Each shard keeps its own copy so that a point read, which already holds its shard's read
/// lock, reaches the leaf and the value without touching any lock or reference count shared
/// with readers of other shards. A copy may lag behind a growing file (a page past the end of
/// its mapping is read with `pread`); it never names a file other than the one the shard's
/// entries point into, because compaction replaces both under every shard's write lock.
#[derive(Debug, Clone)]
pub(crate) struct ValueSource {
    /// The page file.
    pub(crate) file: Arc<PageFile>,
    /// Its read-only mapping, when reads use one.
    pub(crate) map: Option<SharedMap>,
}

impl ValueSource {
    /// Reads and checks the value at `loc`, appending it to `out`: in place from the mapping
    /// when it covers the value, otherwise through the file.
    ///
    /// # Errors
    /// As [`PageFile::read_value`]; `out` is unchanged on error.
    pub(crate) fn read_into(&self, loc: ValueLoc, out: &mut Vec<u8>) -> crate::Result<()> {
        self.file.read_value_in(self.map.as_ref(), loc, out)
    }

    /// Reads leaf `leaf`, checked.
    fn leaf(&self, leaf: PageId) -> Result<PageBytes<'_>> {
        let file = &self.file;
        let page = file.read_page_in(self.map.as_ref(), leaf, &LEAF_TYPES)?;
        if crate::page::level(page.bytes()) != 0 {
            return Err(file.bad_page(leaf, "a point-index entry names a page that is no leaf"));
        }
        Ok(page)
    }

    /// The leaf `leaf` and the place of the tree key `full` in it, if it holds that key.
    fn search(&self, leaf: PageId, full: &[u8]) -> Result<Option<InLeaf<'_>>> {
        let page = self.leaf(leaf)?;
        let place = {
            let bad = |d| self.file.bad_page(leaf, d);
            let l = Leaf::new(page.bytes()).map_err(bad)?;
            match l.search(full).map_err(bad)? {
                Ok(i) => l.place(i).map_err(bad)?,
                Err(_) => return Ok(None),
            }
        };
        Ok(Some(InLeaf { leaf, page, place }))
    }

    /// The leaf `leaf`, if the tree key `full` is at `place` in it (another key there is a key
    /// whose hash equals this one's). A leaf checked since it was written is read in place
    /// without its header: the entry alone, one cache line or two.
    fn at(&self, leaf: PageId, place: u16, full: &[u8]) -> Result<Option<InLeaf<'_>>> {
        let page = match &self.map {
            Some(map) if self.file.is_verified(leaf) => {
                PageFile::mapped_page(map, leaf).map(PageBytes::Mapped)
            }
            _ => None,
        };
        let page = match page {
            Some(page) => page,
            None => self.leaf(leaf)?,
        };
        let e = entry_at(page.bytes(), place).map_err(|d| self.file.bad_page(leaf, d))?;
        let same = e.key == full;
        Ok(same.then_some(InLeaf { leaf, page, place }))
    }
}

/// A key found in its leaf.
struct InLeaf<'m> {
    leaf: PageId,
    page: PageBytes<'m>,
    place: u16,
}

impl InLeaf<'_> {
    /// The key's entry.
    fn slot(&self, file: &PageFile) -> Result<SlotRef<'_>> {
        let e = entry_at(self.page.bytes(), self.place).map_err(|d| file.bad_page(self.leaf, d))?;
        Ok(SlotRef::from(e))
    }
}

/// What one shard's lock protects.
struct ShardData {
    recent: HashTable<Recent, TableAlloc>,
    settled: HashTable<Settled, TableAlloc>,
    source: Option<ValueSource>,
    /// The tree the settled entries point into, which a miss descends.
    tree: TreeRoot,
    /// Counts the publications of a tree: an entry found by a descent is kept only if no other
    /// tree was published since.
    generation: u64,
    /// The namespace was cleared since the last checkpoint: nothing of it in the tree counts.
    cleared: bool,
}

impl ShardData {
    /// Takes a newly published tree (a checkpoint's, or compaction's new file) that holds every
    /// write so far: the recent table empties and the namespace is no longer cleared.
    fn take_tree(&mut self, source: Option<&ValueSource>, tree: TreeRoot) {
        self.recent = HashTable::new_in(TableAlloc);
        self.cleared = false;
        self.source = source.cloned();
        self.tree = tree;
        self.generation += 1;
    }

    /// Moves to the same tree in a new file (compaction's): the recent table, which holds what
    /// was written since the tree's checkpoint, stays, and so does a clearing since then.
    fn move_tree(&mut self, source: Option<&ValueSource>, tree: TreeRoot) {
        self.source = source.cloned();
        self.tree = tree;
        self.generation += 1;
    }

    fn new() -> Self {
        ShardData {
            recent: HashTable::new_in(TableAlloc),
            settled: HashTable::new_in(TableAlloc),
            source: None,
            tree: TreeRoot::default(),
            generation: 0,
            cleared: false,
        }
    }
}

/// One shard, on its own cache lines so that readers of neighbouring shards do not bounce a
/// line; the counters lie beside the lock's word, on the line every read writes anyway.
#[repr(C, align(128))]
struct Shard {
    /// Point lookups answered by the tables.
    hits: AtomicU64,
    /// Point lookups that descended the tree.
    misses: AtomicU64,
    lock: RwLock<ShardData>,
}

/// How an index hashes keys.
#[derive(Debug)]
enum Hasher {
    Random(foldhash::fast::RandomState),
    /// Two hash values for every key (tests of keys whose hashes are equal).
    #[cfg(test)]
    Degenerate,
}

/// The 32-shard point index of one namespace.
pub(crate) struct ShardedIndex {
    hasher: Hasher,
    /// The namespace's tree-key prefix.
    prefix: [u8; 4],
    budget: Option<Arc<Budget>>,
    /// Settled holds every key of the tree (no budget, and the open's build has run).
    complete: AtomicBool,
    shards: [Shard; SHARDS],
}

impl std::fmt::Debug for ShardedIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedIndex").field("shards", &self.shards.len()).finish_non_exhaustive()
    }
}

/// A key's hash, computed once per operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyHash(u64);

impl KeyHash {
    /// The hash itself.
    pub(crate) fn raw(self) -> u64 {
        self.0
    }

    /// The shard that holds the key.
    pub(crate) fn shard(self) -> usize {
        // Five bits just below the top seven pick one of the 32 shards: hashbrown takes the
        // bucket from the low bits and the tag of its control bytes from the top seven, so both
        // keep their full entropy within a shard.
        ((self.0 >> SHARD_SHIFT) & (SHARDS as u64 - 1)) as usize
    }
}

/// The settled entries a checkpoint changes in one namespace, by shard: the (hash, leaf) of
/// every key of a leaf it replaced, and of every key of a leaf it wrote.
#[derive(Debug)]
pub(crate) struct Settlement {
    replaced: Vec<Vec<KeyPlace>>,
    written: Vec<Vec<KeyPlace>>,
}

/// A key's place in the tree: its hash, its leaf, its place in the leaf ([`Leaf::place`]).
pub(crate) type KeyPlace = (u64, PageId, u16);

impl Settlement {
    pub(crate) fn new() -> Self {
        Settlement {
            replaced: (0..SHARDS).map(|_| Vec::new()).collect(),
            written: (0..SHARDS).map(|_| Vec::new()).collect(),
        }
    }

    /// Records that a key (hashed by [`ShardedIndex::hash`]) was at `place` in leaf `leaf` of
    /// the old tree.
    pub(crate) fn replaced(&mut self, hash: KeyHash, leaf: PageId, place: u16) {
        if let Some(v) = self.replaced.get_mut(hash.shard()) {
            v.push((hash.0, leaf, place));
        }
    }

    /// Records that a key (hashed by [`ShardedIndex::hash`]) is at `place` in leaf `leaf` of
    /// the new tree.
    pub(crate) fn written(&mut self, hash: KeyHash, leaf: PageId, place: u16) {
        if let Some(v) = self.written.get_mut(hash.shard()) {
            v.push((hash.0, leaf, place));
        }
    }
}

/// The settled tables of every shard of a namespace, built whole from the keys of a new file
/// before they replace the shards' tables ([`IndexWriteGuard::replace_settled`]): compaction
/// builds them while no lock is held, so that readers and writers wait only for the swap.
pub(crate) struct SettledTables {
    shards: Vec<HashTable<Settled, TableAlloc>>,
    /// Every key had a leaf an entry can name.
    all: bool,
}

impl std::fmt::Debug for SettledTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries: usize = self.shards.iter().map(HashTable::len).sum();
        f.debug_struct("SettledTables").field("entries", &entries).field("all", &self.all).finish()
    }
}

impl SettledTables {
    /// The tables of the keys `settlement` found written.
    pub(crate) fn build(settlement: Settlement) -> Self {
        let mut all = true;
        let shards = settlement
            .written
            .into_iter()
            .map(|written| {
                let mut table = HashTable::with_capacity_in(written.len(), TableAlloc);
                for (hash, leaf, place) in written {
                    match leaf_bits(leaf) {
                        Some(bits) => {
                            let entry = Settled::new(hash, bits, place);
                            table.insert_unique(hash, entry, Settled::hash);
                        }
                        None => all = false,
                    }
                }
                table
            })
            .collect();
        SettledTables { shards, all }
    }
}

/// Heap and lookup figures of an index, for [`Stats`](crate::Stats).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IndexFigures {
    pub(crate) bytes: u64,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
}

impl ShardedIndex {
    /// The empty index of the namespace whose tree keys start with `prefix`.
    pub(crate) fn new(prefix: [u8; 4], budget: Option<Arc<Budget>>) -> Self {
        Self::with_hasher(prefix, budget, Hasher::Random(foldhash::fast::RandomState::default()))
    }

    fn with_hasher(prefix: [u8; 4], budget: Option<Arc<Budget>>, hasher: Hasher) -> Self {
        let shards = std::array::from_fn(|_| Shard {
            lock: RwLock::new(ShardData::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        });
        // An empty index is complete: a fresh database's tree is empty.
        let complete = AtomicBool::new(budget.is_none());
        ShardedIndex { hasher, prefix, budget, complete, shards }
    }

    /// An index whose keys hash to two values only (tests of keys with equal hashes).
    #[cfg(test)]
    pub(crate) fn degenerate(prefix: [u8; 4], budget: Option<Arc<Budget>>) -> Self {
        Self::with_hasher(prefix, budget, Hasher::Degenerate)
    }

    pub(crate) fn hash(&self, key: &[u8]) -> KeyHash {
        match &self.hasher {
            Hasher::Random(state) => KeyHash(state.hash_one(key) & HASH_BITS),
            #[cfg(test)]
            Hasher::Degenerate => KeyHash(u64::from(key.last().is_some_and(|b| b % 2 == 1))),
        }
    }

    fn shard(&self, hash: KeyHash) -> &Shard {
        #[expect(
            clippy::indexing_slicing,
            reason = "KeyHash::shard is below SHARDS by construction"
        )]
        &self.shards[hash.shard()]
    }

    /// Whether a key found in neither table is absent (no lookup of the tree needed).
    pub(crate) fn is_complete(&self) -> bool {
        self.complete()
    }

    fn complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }

    /// Sets whether settled holds every key of the tree: false while the open's build runs, true
    /// once it has filled the tables (never under a budget).
    pub(crate) fn set_complete(&self, complete: bool) {
        self.complete.store(complete && self.budget.is_none(), Ordering::Release);
    }

    /// Whether settled is meant to hold every key of the tree (no budget).
    pub(crate) fn holds_every_key(&self) -> bool {
        self.budget.is_none()
    }

    /// Looks `key` (hashed to `hash`) up in the tree under a shard's lock: through its settled
    /// entries, then (when the index is not complete) by a descent from the shard's root.
    /// Returns where it is and whether a descent found it.
    fn in_tree<'d>(
        &self,
        data: &'d ShardData,
        hash: u64,
        key: &[u8],
    ) -> Result<(Option<InLeaf<'d>>, bool)> {
        let Some(source) = data.source.as_ref().filter(|_| !data.cleared) else {
            return Ok((None, false));
        };
        tree_key::with_encoded(self.prefix, key, |full| {
            for entry in data.settled.iter_hash(hash).filter(|e| e.hash() == hash) {
                if let Some(found) = source.at(entry.leaf(), entry.place, full)? {
                    entry.touch();
                    return Ok((Some(found), false));
                }
            }
            if self.complete() {
                return Ok((None, false));
            }
            let map = source.map.as_ref();
            let found = match crate::tree::leaf_of(&source.file, map, data.tree, full)? {
                Some(leaf) => source.search(leaf, full)?,
                None => None,
            };
            Ok((found, true))
        })
    }

    /// Runs `f` on the key's slot (`None`: absent, or removed; expired or not), with the
    /// shard's [`ValueSource`] to read a value on disk with, under the shard's read lock: a value
    /// on disk is not replaced while `f` reads it.
    ///
    /// # Errors
    /// [`Error::Corruption`](crate::Error::Corruption) or an I/O error reading the key's leaf
    /// (or the tree above it); the error of `f`.
    pub(crate) fn with_source<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(Option<SlotRef<'_>>, Option<&ValueSource>) -> Result<R>,
    ) -> Result<R> {
        let hash = self.hash(key);
        let shard = self.shard(hash);
        let data = shard.lock.read();
        if let Some(e) = data.recent.find(hash.0, |e| e.key.bytes() == key) {
            shard.hits.fetch_add(1, Ordering::Relaxed);
            return f(e.slot.as_ref().map(Slot::as_ref), data.source.as_ref());
        }
        let (found, descended) = self.in_tree(&data, hash.0, key)?;
        let counter = if descended { &shard.misses } else { &shard.hits };
        let count = counter.fetch_add(1, Ordering::Relaxed);
        let remember = found
            .as_ref()
            .filter(|_| descended && self.budget.as_ref().is_some_and(|b| b.admits(count)))
            .map(|found| (found.leaf, found.place, data.generation));
        let out = match (&found, &data.source) {
            (Some(found), Some(source)) => f(Some(found.slot(&source.file)?), Some(source)),
            _ => f(None, data.source.as_ref()),
        };
        drop(found);
        drop(data);
        if let Some((leaf, place, generation)) = remember {
            self.remember(shard, hash, leaf, place, generation);
        }
        out
    }

    /// As [`with_source`](Self::with_source) without the source.
    ///
    /// # Errors
    /// As [`with_source`](Self::with_source).
    pub(crate) fn with<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(Option<SlotRef<'_>>) -> Result<R>,
    ) -> Result<R> {
        self.with_source(key, |slot, _| f(slot))
    }

    /// A copy of the key's slot, expired or not.
    ///
    /// # Errors
    /// As [`with_source`](Self::with_source).
    pub(crate) fn slot(&self, key: &[u8]) -> Result<Option<IndexSlot>> {
        self.with(key, |slot| Ok(slot.map(IndexSlot::from)))
    }

    /// Keeps the leaf a descent found for a key (hashed to `hash`) in a budgeted index, unless
    /// a tree was published since the descent or the entry is there already.
    fn remember(&self, shard: &Shard, hash: KeyHash, leaf: PageId, place: u16, generation: u64) {
        let Some(bits) = leaf_bits(leaf) else { return };
        let mut data = shard.lock.write();
        if data.generation != generation
            || data.settled.iter_hash(hash.0).any(|e| e.is(hash.0, leaf, place))
            || !self.make_room(&mut data)
        {
            return;
        }
        data.settled.insert_unique(hash.0, Settled::new(hash.0, bits, place), Settled::hash);
        if let Some(budget) = &self.budget {
            budget.used.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Under a budget, sweeps the shard when the budget is spent (see [`Budget`]); returns
    /// whether an entry may be added.
    fn make_room(&self, data: &mut ShardData) -> bool {
        let Some(budget) = &self.budget else { return true };
        if budget.has_room(data.settled.len(), 0) {
            return true;
        }
        let len = data.settled.len();
        if len == 0 {
            return false;
        }
        // An eighth of the entries go (all the unmarked ones when they are fewer): the unmarked
        // entries whose hash, mixed with the sweep's number, ranks lowest. Marked ones lose the
        // mark and stay.
        let seed =
            budget.sweeps.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let pick = |e: &Settled| (e.hash() ^ seed).wrapping_mul(0xD6E8_FEB8_6659_FD93);
        let mut picks: Vec<u64> = data
            .settled
            .iter()
            .filter(|e| e.leaf.load(Ordering::Relaxed) & REFERENCED == 0)
            .map(pick)
            .collect();
        let target = (len / 8).max(1).min(picks.len());
        let threshold = match target.checked_sub(1) {
            Some(last) => *picks.select_nth_unstable(last).1,
            None => 0,
        };
        let mut evicted = 0;
        data.settled.retain(|e| {
            if e.untouch() {
                return true;
            }
            let go = target > 0 && pick(e) <= threshold;
            evicted += usize::from(go);
            !go
        });
        budget.used.fetch_sub(evicted, Ordering::Relaxed);
        budget.has_room(data.settled.len(), 0)
    }

    /// Hands every shard a copy of `source` and the tree `tree` (open, a new namespace).
    pub(crate) fn publish(&self, source: Option<&ValueSource>, tree: TreeRoot) {
        for shard in &self.shards {
            let mut data = shard.lock.write();
            data.source = source.cloned();
            data.tree = tree;
            data.generation += 1;
        }
    }

    /// The source the shards read values from (shard 0's copy), and shard 0's tree.
    pub(crate) fn source(&self) -> (Option<ValueSource>, TreeRoot) {
        self.shards.first().map_or((None, TreeRoot::default()), |s| {
            let data = s.lock.read();
            (data.source.clone(), data.tree)
        })
    }

    /// Adds settled entries `(hash, leaf)` to shard `shard` (the open's build, in chunks, so
    /// that readers of the shard wait for one chunk at most). Returns false when a leaf lies
    /// beyond what an entry can name (the index cannot be complete).
    pub(crate) fn add_settled(&self, shard: usize, entries: &[KeyPlace]) -> bool {
        let Some(shard) = self.shards.get(shard) else { return true };
        let mut data = shard.lock.write();
        let settled = &mut data.settled;
        settled.reserve(entries.len(), Settled::hash);
        let mut all = true;
        for &(hash, leaf, place) in entries {
            match leaf_bits(leaf) {
                Some(bits) => {
                    settled.insert_unique(hash, Settled::new(hash, bits, place), Settled::hash);
                }
                None => all = false,
            }
        }
        all
    }

    /// Runs `f` on every settled entry of shard `shard`, under its read lock.
    pub(crate) fn for_each_settled(&self, shard: usize, mut f: impl FnMut(KeyPlace)) {
        if let Some(shard) = self.shards.get(shard) {
            for e in &shard.lock.read().settled {
                f((e.hash(), e.leaf(), e.place));
            }
        }
    }

    /// The heap bytes of the tables and the lookups so far.
    pub(crate) fn figures(&self) -> IndexFigures {
        let mut out = IndexFigures::default();
        for shard in &self.shards {
            let data = shard.lock.read();
            let bytes = data.recent.allocation_size() + data.settled.allocation_size();
            out.bytes += bytes as u64;
            out.hits += shard.hits.load(Ordering::Relaxed);
            out.misses += shard.misses.load(Ordering::Relaxed);
        }
        out
    }

    /// Runs `f` unless `key` was written (or removed) since the last checkpoint, under its
    /// shard's read lock: the build of a lazy open adds a tree key's expiry to the expiry index
    /// this way. A commit that changed the key counted its change against the tree; one that
    /// comes later waits for the lock, and finds the expiry to remove.
    pub(crate) fn unless_recent(&self, key: &[u8], f: impl FnOnce()) {
        let hash = self.hash(key);
        let data = self.shard(hash).lock.read();
        if data.recent.find(hash.0, |e| e.key.bytes() == key).is_none() {
            f();
        }
    }

    /// Whether the namespace was cleared since the last checkpoint (nothing in the tree counts).
    pub(crate) fn is_cleared(&self) -> bool {
        self.shards.iter().any(|s| s.lock.read().cleared)
    }

    /// Runs `f` on every key of shard `shard` written since the last checkpoint (`true`: it
    /// was not removed since), under its read lock.
    pub(crate) fn for_each_recent(&self, shard: usize, mut f: impl FnMut(&[u8], bool)) {
        if let Some(shard) = self.shards.get(shard) {
            for e in &shard.lock.read().recent {
                f(e.key.bytes(), e.slot.is_some());
            }
        }
    }

    /// Puts a recent entry for `key` as it is given, however it disagrees with the memtable
    /// (tests of the integrity check).
    #[cfg(test)]
    pub(crate) fn forge_recent(&self, key: &[u8], slot: Option<Slot>) {
        let hash = self.hash(key);
        let mut data = self.shard(hash).lock.write();
        let hasher = |e: &Recent| self.hash(e.key.bytes()).0;
        if let Some(e) = data.recent.find_mut(hash.0, |e| e.key.bytes() == key) {
            e.slot = slot;
        } else {
            let key = IndexKey::inline(key).unwrap_or_else(|| IndexKey::Shared(Arc::from(key)));
            data.recent.insert_unique(hash.0, Recent { key, slot }, hasher);
        }
    }

    /// Drops the settled entries of `key`'s hash (tests of the integrity check).
    #[cfg(test)]
    pub(crate) fn forget_settled(&self, key: &[u8]) {
        let hash = self.hash(key);
        let mut data = self.shard(hash).lock.write();
        data.settled.retain(|e| e.hash() != hash.0);
    }

    /// Adds a settled entry naming place 0 of `leaf` for `key` (tests of the integrity check).
    #[cfg(test)]
    pub(crate) fn forge_settled(&self, key: &[u8], leaf: PageId) {
        let hash = self.hash(key);
        let bits = leaf_bits(leaf).unwrap_or(LEAF_BITS);
        let mut data = self.shard(hash).lock.write();
        data.settled.insert_unique(hash.0, Settled::new(hash.0, bits, 0), Settled::hash);
    }

    /// Locks the shards in `mask` (bit `i` = shard `i`) for writing, in ascending order.
    pub(crate) fn lock(&self, mask: u32) -> IndexWriteGuard<'_> {
        let guards = self
            .shards
            .iter()
            .enumerate()
            .map(|(i, shard)| if mask & (1 << i) != 0 { Some(shard.lock.write()) } else { None })
            .collect();
        IndexWriteGuard { index: self, guards }
    }

    /// The bit of the shard holding `key` in a lock mask.
    pub(crate) fn shard_bit(&self, key: &[u8]) -> u32 {
        1 << self.hash(key).shard()
    }
}

/// Write access to some shards of an index, held for the whole apply of one batch so that a reader
/// sees all of the batch or none of it.
pub(crate) struct IndexWriteGuard<'a> {
    index: &'a ShardedIndex,
    guards: Vec<Option<RwLockWriteGuard<'a, ShardData>>>,
}

impl IndexWriteGuard<'_> {
    fn data(&mut self, hash: KeyHash) -> Option<&mut ShardData> {
        self.guards.get_mut(hash.shard()).and_then(|g| g.as_deref_mut())
    }

    /// The hash of `key` in this index (see [`ShardedIndex::hash`]).
    pub(crate) fn hash(&self, key: &[u8]) -> KeyHash {
        self.index.hash(key)
    }

    /// The expiry of `key` (hashed to `hash`) as the tree holds it, `None` when it holds no
    /// such key (or the namespace was cleared since).
    fn expiry_in_tree(&mut self, hash: KeyHash, key: &[u8]) -> Result<Option<ExpiresAt>> {
        let index = self.index;
        let Some(data) = self.data(hash) else { return Ok(None) };
        let (found, _) = index.in_tree(data, hash.0, key)?;
        match (found, &data.source) {
            (Some(found), Some(source)) => Ok(Some(found.slot(&source.file)?.expires_at)),
            _ => Ok(None),
        }
    }

    /// Puts `slot` under `key` (hashed by [`ShardedIndex::hash`]); returns the expiry of the
    /// live entry it replaced, `None` when the key was absent. A key too long to hold in place
    /// shares `shared` (the same bytes) when given, else is copied.
    ///
    /// The shard of `key` must have been locked; a key outside the locked mask is ignored, which
    /// the apply code rules out by computing the mask from the same keys.
    ///
    /// # Errors
    /// An error reading the key's leaf to learn whether it was there.
    pub(crate) fn put_hashed(
        &mut self,
        hash: KeyHash,
        key: &[u8],
        shared: Option<&Arc<[u8]>>,
        slot: Slot,
    ) -> Result<Option<ExpiresAt>> {
        self.write(hash, key, shared, Some(slot))
    }

    /// Removes `key` (hashed by [`ShardedIndex::hash`]); returns the expiry of the entry it
    /// removed, `None` when the key was absent.
    ///
    /// # Errors
    /// As [`put_hashed`](Self::put_hashed).
    pub(crate) fn remove_hashed(&mut self, hash: KeyHash, key: &[u8]) -> Result<Option<ExpiresAt>> {
        self.write(hash, key, None, None)
    }

    fn write(
        &mut self,
        hash: KeyHash,
        key: &[u8],
        shared: Option<&Arc<[u8]>>,
        slot: Option<Slot>,
    ) -> Result<Option<ExpiresAt>> {
        let Some(data) = self.data(hash) else { return Ok(None) };
        if slot.is_some()
            && let Some(e) = data.recent.find_mut(hash.0, |e| e.key.bytes() == key)
        {
            let old = std::mem::replace(&mut e.slot, slot);
            return Ok(old.map(|s| s.expires_at));
        }
        if slot.is_none()
            && let Ok(e) = data.recent.find_entry(hash.0, |e| e.key.bytes() == key)
        {
            // A removal of a key written since the checkpoint: the mark of the removal stays
            // only while the tree still holds the key.
            let (old, _) = e.remove();
            let old = old.slot.map(|s| s.expires_at);
            if self.expiry_in_tree(hash, key)?.is_some() {
                self.insert_recent(hash, key, None, None);
            }
            return Ok(old);
        }
        let old = self.expiry_in_tree(hash, key)?;
        if old.is_none() && slot.is_none() {
            // Neither written since the checkpoint nor in the tree: nothing to remove.
            return Ok(None);
        }
        self.insert_recent(hash, key, shared, slot);
        Ok(old)
    }

    /// Adds a recent entry for `key`, known to have none.
    fn insert_recent(
        &mut self,
        hash: KeyHash,
        key: &[u8],
        shared: Option<&Arc<[u8]>>,
        slot: Option<Slot>,
    ) {
        let index = self.index;
        let Some(data) = self.data(hash) else { return };
        let key = IndexKey::inline(key)
            .unwrap_or_else(|| IndexKey::Shared(shared.map_or_else(|| Arc::from(key), Arc::clone)));
        let hasher = |e: &Recent| index.hash(e.key.bytes()).0;
        data.recent.insert_unique(hash.0, Recent { key, slot }, hasher);
    }

    /// What `key` held before a batch a checkpoint writes, in a locked shard: what it was
    /// last written with since the previous checkpoint, or else (unless the namespace was
    /// cleared since) `in_tree`, what the tree held. `None`: absent.
    pub(crate) fn held_before(
        &mut self,
        key: &[u8],
        in_tree: Option<ExpiresAt>,
    ) -> Option<ExpiresAt> {
        let hash = self.index.hash(key);
        let data = self.data(hash)?;
        match data.recent.find(hash.0, |e| e.key.bytes() == key) {
            Some(e) => e.slot.as_ref().map(|s| s.expires_at),
            None if data.cleared => None,
            None => in_tree,
        }
    }

    /// Applies a checkpoint to the locked shards (all of them): the entries of keys in replaced
    /// leaves go, entries for keys in written leaves come (under a budget: those of keys that
    /// had one, and others while the budget has room), the recent table empties (the tree holds
    /// all of it now), and each shard takes the new tree and source.
    pub(crate) fn settle(
        &mut self,
        settlement: &Settlement,
        source: Option<&ValueSource>,
        tree: TreeRoot,
    ) {
        let index = self.index;
        let mut all = true;
        for (i, data) in self.guards.iter_mut().enumerate() {
            let Some(data) = data.as_deref_mut() else { continue };
            let replaced = settlement.replaced.get(i).map_or(&[][..], Vec::as_slice);
            let written = settlement.written.get(i).map_or(&[][..], Vec::as_slice);
            let mut had = Vec::new();
            let mut removed = 0;
            for &(hash, leaf, place) in replaced {
                if let Ok(e) = data.settled.find_entry(hash, |e| e.is(hash, leaf, place)) {
                    e.remove();
                    removed += 1;
                    if index.budget.is_some() {
                        had.push(hash);
                    }
                }
            }
            had.sort_unstable();
            let mut added: usize = 0;
            for &(hash, leaf, place) in written {
                let Some(bits) = leaf_bits(leaf) else {
                    all = false;
                    continue;
                };
                if let Some(budget) = &index.budget
                    && had.binary_search(&hash).is_err()
                    && !budget.has_room(data.settled.len(), added.saturating_sub(removed))
                {
                    continue;
                }
                let settled = &mut data.settled;
                settled.insert_unique(hash, Settled::new(hash, bits, place), Settled::hash);
                added += 1;
            }
            if let Some(budget) = &index.budget {
                // Added before the removed are taken off: the count never wraps below zero.
                budget.used.fetch_add(added, Ordering::Relaxed);
                budget.used.fetch_sub(removed, Ordering::Relaxed);
            }
            data.take_tree(source, tree);
        }
        if !all {
            index.set_complete(false);
        }
    }

    /// Replaces the settled entries of the locked shards (all of them) with `tables` (`None`
    /// under a budget: none), and their source and tree: compaction, which copied the tree into
    /// a new file (the recent tables stay: the new tree holds what the old one did). The caller
    /// holds every shard of every namespace, so that no reader pairs an entry of one file with
    /// the other.
    pub(crate) fn replace_settled(
        &mut self,
        tables: Option<SettledTables>,
        source: Option<&ValueSource>,
        tree: TreeRoot,
    ) {
        let index = self.index;
        let complete = tables.as_ref().is_none_or(|t| t.all);
        let mut tables = tables.map(|t| t.shards.into_iter());
        for data in &mut self.guards {
            let table = tables.as_mut().and_then(Iterator::next);
            let Some(data) = data.as_deref_mut() else { continue };
            let table = table.unwrap_or_else(|| HashTable::new_in(TableAlloc));
            if let Some(budget) = &index.budget {
                budget.used.fetch_add(table.len(), Ordering::Relaxed);
                budget.used.fetch_sub(data.settled.len(), Ordering::Relaxed);
            }
            data.settled = table;
            data.move_tree(source, tree);
        }
        if !complete {
            index.set_complete(false);
        }
    }

    /// Empties the locked shards: nothing written since the checkpoint is left, and nothing in
    /// the tree counts until the next checkpoint (which removes it there).
    pub(crate) fn clear(&mut self) {
        let index = self.index;
        for data in self.guards.iter_mut().flatten() {
            data.recent = HashTable::new_in(TableAlloc);
            if let Some(budget) = &index.budget {
                budget.used.fetch_sub(data.settled.len(), Ordering::Relaxed);
            }
            data.settled = HashTable::new_in(TableAlloc);
            data.cleared = true;
        }
    }

    /// The keys the locked shards (all of them) hold: those written since the last
    /// checkpoint and not removed, and those of `in_tree` (the keys of the tree) not written
    /// since, unless the namespace was cleared since.
    pub(crate) fn keys(&mut self, in_tree: &[Arc<[u8]>]) -> Vec<Arc<[u8]>> {
        let mut keys = Vec::new();
        let mut tree_counts = true;
        for data in self.guards.iter().flatten() {
            tree_counts &= !data.cleared;
            for e in &data.recent {
                if e.slot.is_some() {
                    keys.push(match &e.key {
                        IndexKey::Shared(key) => Arc::clone(key),
                        IndexKey::Inline { .. } => Arc::from(e.key.bytes()),
                    });
                }
            }
        }
        if tree_counts {
            keys.extend(in_tree.iter().filter(|k| !self.is_recent(k)).map(Arc::clone));
        }
        keys
    }

    /// Whether `key` was written (or removed) since the last checkpoint, in a locked shard.
    fn is_recent(&self, key: &[u8]) -> bool {
        let hash = self.index.hash(key);
        let data = self.guards.get(hash.shard()).and_then(|g| g.as_deref());
        data.is_some_and(|d| d.recent.find(hash.0, |e| e.key.bytes() == key).is_some())
    }
}

/// A mask that locks every shard.
pub(crate) const ALL_SHARDS: u32 = u32::MAX;
