//! The sharded point index: every live key of one namespace mapped to its newest value and expiry,
//! spread over 32 lock-striped shards so that reads of different keys never contend.
//!
//! Point reads (`get`, `contains_key`, `ttl`) go through this index only. The hash of a key is
//! computed once: five of its high bits pick the shard and the whole hash is handed to the
//! shard's table.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::{HashTable, hash_table};
use parking_lot::{RwLock, RwLockWriteGuard};

use super::alloc::TableAlloc;
use crate::batch::ExpiresAt;
use crate::io::SharedMap;
use crate::page::file::PageFile;
use crate::page::value::ValueLoc;

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

/// Where the index finds a value.
#[derive(Debug, Clone)]
pub(crate) enum Held {
    /// Resident bytes: values not yet checkpointed, and small values kept inline in leaves.
    Mem(Arc<[u8]>),
    /// A value page record or overflow run of the page file (valid until compaction, or a
    /// checkpoint that moves the value out of a page it empties, points the entry elsewhere).
    Disk(ValueLoc),
}

/// What the index knows about one live key.
#[derive(Debug, Clone)]
pub(crate) struct IndexSlot {
    /// The value or where it is.
    pub(crate) held: Held,
    /// Absolute expiry in Unix milliseconds, or `NO_EXPIRY`.
    pub(crate) expires_at: ExpiresAt,
}

/// How many key bytes an index entry holds in place; longer keys are shared with the memtable.
const INLINE_KEY: usize = 30;

/// A key as the index holds it. Short keys (most keys) sit inside the entry, so a lookup touches
/// the entry's cache line and no second heap allocation; the entry of a 24-byte key is 64 bytes.
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

    /// The index's copy of `key`, allocated when it is too long to hold in place.
    fn copy(key: &[u8]) -> Self {
        Self::inline(key).unwrap_or_else(|| IndexKey::Shared(Arc::from(key)))
    }

    fn bytes(&self) -> &[u8] {
        match self {
            IndexKey::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            IndexKey::Shared(key) => key,
        }
    }

    fn shared(&self) -> Arc<[u8]> {
        match self {
            IndexKey::Inline { .. } => Arc::from(self.bytes()),
            IndexKey::Shared(key) => Arc::clone(key),
        }
    }
}

struct Entry {
    key: IndexKey,
    slot: IndexSlot,
}

/// Where a shard's readers find the values that live in the page file: the file, and the
/// mapping of it that was current when the source was published.
///
/// Each shard keeps its own copy so that a point read, which already holds its shard's read
/// lock, reaches the value without touching any lock or reference count shared with readers of
/// other shards. A copy may lag behind a growing file (a value past the end of its mapping is
/// read with `pread`); it never names a file other than the one the shard's locations point
/// into, because compaction replaces both under every shard's write lock.
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
}

/// What one shard's lock protects.
struct ShardData {
    table: HashTable<Entry, TableAlloc>,
    source: Option<ValueSource>,
}

/// One shard, on its own cache lines so that readers of neighbouring shards do not bounce a line.
#[repr(align(128))]
struct Shard(RwLock<ShardData>);

/// The 32-shard point index of one namespace.
pub(crate) struct ShardedIndex {
    hasher: foldhash::fast::RandomState,
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
    /// The shard that holds the key.
    pub(crate) fn shard(self) -> usize {
        // Five bits just below the top seven pick one of the 32 shards: hashbrown takes the
        // bucket from the low bits and the tag of its control bytes from the top seven, so both
        // keep their full entropy within a shard. (Taking the top five made every key of a
        // shard share five of its seven tag bits: a quarter of a full group matched a lookup's
        // tag, one key comparison and cache miss each.)
        ((self.0 >> SHARD_SHIFT) & (SHARDS as u64 - 1)) as usize
    }
}

impl ShardedIndex {
    pub(crate) fn new() -> Self {
        let shards = std::array::from_fn(|_| {
            Shard(RwLock::new(ShardData { table: HashTable::new_in(TableAlloc), source: None }))
        });
        ShardedIndex { hasher: foldhash::fast::RandomState::default(), shards }
    }

    pub(crate) fn hash(&self, key: &[u8]) -> KeyHash {
        KeyHash(self.hasher.hash_one(key))
    }

    fn shard(&self, hash: KeyHash) -> &Shard {
        #[expect(
            clippy::indexing_slicing,
            reason = "KeyHash::shard is below SHARDS by construction"
        )]
        &self.shards[hash.shard()]
    }

    /// Runs `f` on the key's slot under the shard's read lock, so the value need not be cloned
    /// before it is copied out.
    pub(crate) fn with<R>(&self, key: &[u8], f: impl FnOnce(Option<&IndexSlot>) -> R) -> R {
        self.with_source(key, |slot, _| f(slot))
    }

    /// As [`with`](Self::with), also handing `f` the shard's [`ValueSource`] to read a value
    /// on disk with.
    pub(crate) fn with_source<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(Option<&IndexSlot>, Option<&ValueSource>) -> R,
    ) -> R {
        let hash = self.hash(key);
        let shard = self.shard(hash).0.read();
        let found = shard.table.find(hash.0, |e| e.key.bytes() == key).map(|e| &e.slot);
        f(found, shard.source.as_ref())
    }

    /// Whether no shard holds a key.
    pub(crate) fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.0.read().table.is_empty())
    }

    /// The source the shards read values from (shard 0's copy).
    pub(crate) fn source(&self) -> Option<ValueSource> {
        self.shards.first().and_then(|s| s.0.read().source.clone())
    }

    /// Hands every shard a copy of `source`, one shard at a time.
    pub(crate) fn publish(&self, source: Option<&ValueSource>) {
        for shard in &self.shards {
            shard.0.write().source = source.cloned();
        }
    }

    /// A copy of the key's slot, expired or not.
    #[expect(
        clippy::redundant_closure_for_method_calls,
        reason = "Option::cloned as a path is not general over the borrow's lifetime"
    )]
    pub(crate) fn slot(&self, key: &[u8]) -> Option<IndexSlot> {
        self.with(key, |slot| slot.cloned())
    }

    /// Locks the shards in `mask` (bit `i` = shard `i`) for writing, in ascending order.
    pub(crate) fn lock(&self, mask: u32) -> IndexWriteGuard<'_> {
        let guards = self
            .shards
            .iter()
            .enumerate()
            .map(|(i, shard)| if mask & (1 << i) != 0 { Some(shard.0.write()) } else { None })
            .collect();
        IndexWriteGuard { index: self, guards }
    }

    /// Inserts or replaces one key under its shard's lock (tests that forge index entries).
    #[cfg(test)]
    pub(crate) fn insert_one(&self, key: &[u8], slot: IndexSlot) -> Option<ExpiresAt> {
        let hash = self.hash(key);
        let mut shard = self.shard(hash).0.write();
        let table = &mut shard.table;
        if let Some(entry) = table.find_mut(hash.0, |e| e.key.bytes() == key) {
            return Some(std::mem::replace(&mut entry.slot, slot).expires_at);
        }
        let key = IndexKey::copy(key);
        table.insert_unique(hash.0, Entry { key, slot }, |e| self.hasher.hash_one(e.key.bytes()));
        None
    }

    /// Points a key that still holds resident bytes at their copy on disk (after a checkpoint
    /// wrote them), so the index stops keeping them on the heap.
    pub(crate) fn move_to_disk(&self, key: &[u8], loc: ValueLoc) {
        let hash = self.hash(key);
        let mut shard = self.shard(hash).0.write();
        if let Some(entry) = shard.table.find_mut(hash.0, |e| e.key.bytes() == key)
            && let Held::Mem(bytes) = &entry.slot.held
            && bytes.len() == loc.len() as usize
        {
            entry.slot.held = Held::Disk(loc);
        }
    }

    /// Points `key` at `to` if it still refers to the value at `from` (after a checkpoint
    /// moved that value out of a value page being emptied).
    pub(crate) fn repoint(&self, key: &[u8], from: ValueLoc, to: ValueLoc) {
        let hash = self.hash(key);
        let mut shard = self.shard(hash).0.write();
        if let Some(entry) = shard.table.find_mut(hash.0, |e| e.key.bytes() == key)
            && matches!(entry.slot.held, Held::Disk(loc) if loc == from)
        {
            entry.slot.held = Held::Disk(to);
        }
    }

    /// Runs `f` on every key of shard `shard` whose value lives on disk, with its location,
    /// under the shard's read lock.
    pub(crate) fn for_each_on_disk(&self, shard: usize, mut f: impl FnMut(&[u8], ValueLoc)) {
        if let Some(shard) = self.shards.get(shard) {
            let data = shard.0.read();
            for e in &data.table {
                if let Held::Disk(loc) = e.slot.held {
                    f(e.key.bytes(), loc);
                }
            }
        }
    }

    /// The number of keys over every shard (locks each shard in turn: exact only while no
    /// writer runs).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.0.read().table.len()).sum()
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
    fn table(&mut self, hash: KeyHash) -> Option<&mut HashTable<Entry, TableAlloc>> {
        self.guards.get_mut(hash.shard()).and_then(|g| g.as_deref_mut()).map(|s| &mut s.table)
    }

    /// Hands every locked shard a copy of `source` (compaction, with every shard locked, so no
    /// reader pairs a location in one file with the other file).
    pub(crate) fn publish(&mut self, source: Option<&ValueSource>) {
        for shard in self.guards.iter_mut().flatten() {
            shard.source = source.cloned();
        }
    }

    /// The hash of `key` in this index (see [`ShardedIndex::hash`]).
    pub(crate) fn hash(&self, key: &[u8]) -> KeyHash {
        self.index.hash(key)
    }

    /// Inserts or replaces `key`; returns the expiry of the entry it replaced, `None` when the
    /// key was absent.
    ///
    /// The shard of `key` must have been locked; a key outside the locked mask is ignored, which
    /// the apply code rules out by computing the mask from the same keys.
    pub(crate) fn put(&mut self, key: &Arc<[u8]>, slot: IndexSlot) -> Option<ExpiresAt> {
        let hash = self.index.hash(key);
        self.put_hashed(hash, key, Some(key), slot)
    }

    /// As [`put`](Self::put), with the key's hash computed by [`ShardedIndex::hash`] (a large
    /// batch hashes its keys first to apply them shard by shard). A key too long to hold in
    /// place shares `shared` (the same bytes) when given, else is copied.
    pub(crate) fn put_hashed(
        &mut self,
        hash: KeyHash,
        key: &[u8],
        shared: Option<&Arc<[u8]>>,
        slot: IndexSlot,
    ) -> Option<ExpiresAt> {
        let index = self.index;
        let hasher = |e: &Entry| index.hasher.hash_one(e.key.bytes());
        // One probe whether the key is there or not.
        match self.table(hash)?.entry(hash.0, |e| e.key.bytes() == key, hasher) {
            hash_table::Entry::Occupied(mut entry) => {
                Some(std::mem::replace(&mut entry.get_mut().slot, slot).expires_at)
            }
            hash_table::Entry::Vacant(entry) => {
                let key = IndexKey::inline(key).unwrap_or_else(|| {
                    IndexKey::Shared(shared.map_or_else(|| Arc::from(key), Arc::clone))
                });
                entry.insert(Entry { key, slot });
                None
            }
        }
    }

    /// As [`put`](Self::put) for a borrowed key (copied when it is too long to hold in place):
    /// the index rebuild at open, which holds every shard for the whole scan.
    pub(crate) fn put_copy(&mut self, key: &[u8], slot: IndexSlot) -> Option<ExpiresAt> {
        let hash = self.index.hash(key);
        self.put_hashed(hash, key, None, slot)
    }

    /// Inserts `key`, known to be absent (its table was empty before a batch of distinct keys
    /// began): no search for an entry to replace.
    pub(crate) fn insert_absent_hashed(&mut self, hash: KeyHash, key: &[u8], slot: IndexSlot) {
        let index = self.index;
        if let Some(table) = self.table(hash) {
            let hasher = |e: &Entry| index.hasher.hash_one(e.key.bytes());
            table.insert_unique(hash.0, Entry { key: IndexKey::copy(key), slot }, hasher);
        }
    }

    /// Whether every locked shard is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.guards.iter().flatten().all(|s| s.table.is_empty())
    }

    /// Makes room for about `additional` new keys spread over the locked shards, so that a
    /// large batch grows each table once instead of doubling it again and again.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let locked = self.guards.iter().flatten().count().max(1);
        // Keys spread unevenly over shards: an eighth more than the even share.
        let share = additional / locked + additional / locked / 8;
        let hasher = &self.index.hasher;
        for shard in self.guards.iter_mut().flatten() {
            shard.table.reserve(share, |e| hasher.hash_one(e.key.bytes()));
        }
    }

    /// The slot of `key`, when its shard is locked and it is present.
    pub(crate) fn get(&mut self, key: &[u8]) -> Option<&IndexSlot> {
        let hash = self.index.hash(key);
        let table = self.table(hash)?;
        table.find(hash.0, |e| e.key.bytes() == key).map(|e| &e.slot)
    }

    /// Every key of the locked shards.
    pub(crate) fn keys(&self) -> Vec<Arc<[u8]>> {
        self.guards.iter().flatten().flat_map(|s| s.table.iter().map(|e| e.key.shared())).collect()
    }

    /// Removes `key` (hashed to `hash` by [`ShardedIndex::hash`]); returns its slot if it was
    /// present.
    pub(crate) fn remove_hashed(&mut self, hash: KeyHash, key: &[u8]) -> Option<IndexSlot> {
        let table = self.table(hash)?;
        match table.find_entry(hash.0, |e| e.key.bytes() == key) {
            Ok(entry) => Some(entry.remove().0.slot),
            Err(_) => None,
        }
    }

    /// Removes every key of the locked shards.
    pub(crate) fn clear(&mut self) {
        for shard in self.guards.iter_mut().flatten() {
            let table = &mut shard.table;
            table.clear();
            table.shrink_to_fit(|e: &Entry| self.index.hasher.hash_one(e.key.bytes()));
        }
    }
}

/// A mask that locks every shard.
pub(crate) const ALL_SHARDS: u32 = u32::MAX;

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(v: &[u8]) -> IndexSlot {
        IndexSlot { held: Held::Mem(Arc::from(v)), expires_at: 0 }
    }

    fn bytes(s: Option<&IndexSlot>) -> Option<Vec<u8>> {
        s.map(|s| match &s.held {
            Held::Mem(b) => b.to_vec(),
            Held::Disk(_) => Vec::new(),
        })
    }

    #[test]
    fn the_keys_of_one_shard_keep_varied_table_tags() {
        // hashbrown tags each slot with the top seven bits of its hash; a lookup compares the
        // key of every slot of a group whose tag matches. Within one shard those bits must
        // still take (nearly) all 128 values, or lookups compare keys they need not.
        let index = ShardedIndex::new();
        let mut tags = std::collections::HashSet::new();
        for i in 0..100_000u32 {
            let hash = index.hash(&i.to_be_bytes());
            if hash.shard() == 0 {
                tags.insert(hash.0 >> 57);
            }
        }
        assert!(tags.len() > 120, "only {} distinct tags in shard 0", tags.len());
        let shards: std::collections::HashSet<usize> =
            (0..1000u32).map(|i| index.hash(&i.to_be_bytes()).shard()).collect();
        assert_eq!(shards.len(), SHARDS, "every shard is used");
    }

    #[test]
    fn put_get_remove_round_trip_across_all_shards() {
        let index = ShardedIndex::new();
        let keys: Vec<Arc<[u8]>> =
            (0..1000u32).map(|i| Arc::from(i.to_be_bytes().as_slice())).collect();
        {
            let mut guard = index.lock(ALL_SHARDS);
            for k in &keys {
                assert!(guard.put(k, slot(k)).is_none());
            }
            assert!(guard.put(&keys[0], slot(b"new")).is_some());
        }
        assert_eq!(index.with(&keys[0], bytes), Some(b"new".to_vec()));
        for k in &keys[1..] {
            assert_eq!(index.with(k, bytes), Some(k.to_vec()));
        }
        let mut guard = index.lock(ALL_SHARDS);
        let hash = guard.hash(&keys[5]);
        assert!(guard.remove_hashed(hash, &keys[5]).is_some());
        assert!(guard.remove_hashed(hash, &keys[5]).is_none());
        drop(guard);
        assert!(index.with(&keys[5], |s| s.is_none()));
    }

    #[test]
    fn keys_held_in_place_and_shared_are_found_and_told_apart() {
        let index = ShardedIndex::new();
        // Around the in-place limit, and keys that share a prefix longer than it.
        let keys: Vec<Arc<[u8]>> = [0usize, 1, 29, 30, 31, 64, 1024]
            .iter()
            .flat_map(|&n| [vec![7u8; n], [vec![7u8; n], vec![8]].concat()])
            .map(Arc::from)
            .collect();
        let mut guard = index.lock(ALL_SHARDS);
        for k in &keys {
            assert!(guard.put(k, slot(&k.len().to_le_bytes())).is_none(), "{} bytes", k.len());
        }
        let mut all = guard.keys();
        all.sort_unstable();
        let mut want = keys.clone();
        want.sort_unstable();
        assert_eq!(all, want);
        drop(guard);
        for k in &keys {
            assert_eq!(index.with(k, bytes), Some(k.len().to_le_bytes().to_vec()));
        }
        assert!(index.with(&[7u8; 32], |s| s.is_none()));
        assert!(matches!(IndexKey::copy(&keys[6]), IndexKey::Inline { len: 30, .. }));
        assert!(matches!(IndexKey::copy(&keys[8]), IndexKey::Shared(_)));
    }

    #[test]
    fn keys_spread_over_every_shard() {
        let index = ShardedIndex::new();
        let mut seen = 0u32;
        for i in 0..10_000u32 {
            seen |= index.shard_bit(&i.to_le_bytes());
        }
        assert_eq!(seen, ALL_SHARDS);
    }

    #[test]
    fn a_write_outside_the_locked_mask_is_not_applied() {
        let index = ShardedIndex::new();
        let key: Arc<[u8]> = Arc::from(b"k".as_slice());
        let other_mask = !index.shard_bit(&key);
        let mut guard = index.lock(other_mask);
        assert!(guard.put(&key, slot(b"v")).is_none());
        drop(guard);
        assert!(index.with(&key, |s| s.is_none()));
    }
}
