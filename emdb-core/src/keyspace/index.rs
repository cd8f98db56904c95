//! The sharded point index: every live key of one namespace mapped to its newest value and expiry,
//! spread over 32 lock-striped shards so that reads of different keys never contend.
//!
//! Point reads (`get`, `contains_key`, `ttl`) go through this index only. The hash of a key is
//! computed once: its top bits pick the shard and the whole hash is handed to the shard's table.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;
use parking_lot::{RwLock, RwLockWriteGuard};

use crate::batch::ExpiresAt;
use crate::page::node::ValueLoc;

/// How many lock-striped shards each namespace's index has.
pub(crate) const SHARDS: usize = 32;

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
    /// A value page record or overflow run of the page file (valid until compaction).
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

impl IndexSlot {
    /// Whether the entry is expired at `now` (Unix milliseconds).
    pub(crate) fn is_expired(&self, now: u64) -> bool {
        is_expired(self.expires_at, now)
    }
}

/// Whether an entry with this expiry is expired at `now`.
pub(crate) fn is_expired(expires_at: ExpiresAt, now: u64) -> bool {
    expires_at != crate::batch::NO_EXPIRY && expires_at <= now
}

struct Entry {
    key: Arc<[u8]>,
    slot: IndexSlot,
}

/// One shard, on its own cache lines so that readers of neighbouring shards do not bounce a line.
#[repr(align(128))]
struct Shard(RwLock<HashTable<Entry>>);

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
    fn shard(self) -> usize {
        // The top five bits pick one of the 32 shards; hashbrown uses the low bits and the top
        // seven for its control bytes, which stay well mixed within a shard.
        // The shift leaves five bits, so the value is below `SHARDS` (32).
        (self.0 >> 59) as usize
    }
}

impl ShardedIndex {
    pub(crate) fn new() -> Self {
        let shards = std::array::from_fn(|_| Shard(RwLock::new(HashTable::new())));
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
        let hash = self.hash(key);
        let table = self.shard(hash).0.read();
        let found = table.find(hash.0, |e| *e.key == *key).map(|e| &e.slot);
        f(found)
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

    /// Inserts or replaces one key under its shard's lock (the index rebuild at open).
    pub(crate) fn insert_one(&self, key: Arc<[u8]>, slot: IndexSlot) -> Option<ExpiresAt> {
        let hash = self.hash(&key);
        let mut table = self.shard(hash).0.write();
        if let Some(entry) = table.find_mut(hash.0, |e| *e.key == *key) {
            return Some(std::mem::replace(&mut entry.slot, slot).expires_at);
        }
        table.insert_unique(hash.0, Entry { key, slot }, |e| self.hasher.hash_one(&*e.key));
        None
    }

    /// Points a key that still holds resident bytes at their copy on disk (after a checkpoint
    /// wrote them), so the index stops keeping them on the heap.
    pub(crate) fn move_to_disk(&self, key: &[u8], loc: ValueLoc) {
        let hash = self.hash(key);
        let mut table = self.shard(hash).0.write();
        if let Some(entry) = table.find_mut(hash.0, |e| *e.key == *key)
            && let Held::Mem(bytes) = &entry.slot.held
            && bytes.len() == loc.len() as usize
        {
            entry.slot.held = Held::Disk(loc);
        }
    }

    /// The number of keys over every shard (locks each shard in turn: exact only while no
    /// writer runs).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.0.read().len()).sum()
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
    guards: Vec<Option<RwLockWriteGuard<'a, HashTable<Entry>>>>,
}

impl IndexWriteGuard<'_> {
    fn table(&mut self, hash: KeyHash) -> Option<&mut HashTable<Entry>> {
        self.guards.get_mut(hash.shard()).and_then(|g| g.as_deref_mut())
    }

    /// Inserts or replaces `key`; returns the expiry of the entry it replaced, `None` when the
    /// key was absent.
    ///
    /// The shard of `key` must have been locked; a key outside the locked mask is ignored, which
    /// the apply code rules out by computing the mask from the same keys.
    pub(crate) fn put(&mut self, key: &Arc<[u8]>, slot: IndexSlot) -> Option<ExpiresAt> {
        let index = self.index;
        let hash = index.hash(key);
        let table = self.table(hash)?;
        if let Some(entry) = table.find_mut(hash.0, |e| *e.key == **key) {
            return Some(std::mem::replace(&mut entry.slot, slot).expires_at);
        }
        let hasher = |e: &Entry| index.hasher.hash_one(&*e.key);
        table.insert_unique(hash.0, Entry { key: Arc::clone(key), slot }, hasher);
        None
    }

    /// The slot of `key`, when its shard is locked and it is present.
    pub(crate) fn get(&mut self, key: &[u8]) -> Option<&IndexSlot> {
        let hash = self.index.hash(key);
        let table = self.table(hash)?;
        table.find(hash.0, |e| *e.key == *key).map(|e| &e.slot)
    }

    /// Every key of the locked shards.
    pub(crate) fn keys(&self) -> Vec<Arc<[u8]>> {
        self.guards.iter().flatten().flat_map(|t| t.iter().map(|e| Arc::clone(&e.key))).collect()
    }

    /// Removes `key`; returns its slot if it was present.
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<IndexSlot> {
        let hash = self.index.hash(key);
        let table = self.table(hash)?;
        match table.find_entry(hash.0, |e| *e.key == *key) {
            Ok(entry) => Some(entry.remove().0.slot),
            Err(_) => None,
        }
    }

    /// Removes every key of the locked shards.
    pub(crate) fn clear(&mut self) {
        for table in self.guards.iter_mut().flatten() {
            table.clear();
            table.shrink_to_fit(|e: &Entry| self.index.hasher.hash_one(&*e.key));
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
        assert!(guard.remove(&keys[5]).is_some());
        assert!(guard.remove(&keys[5]).is_none());
        drop(guard);
        assert!(index.with(&keys[5], |s| s.is_none()));
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
