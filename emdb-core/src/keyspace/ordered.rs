//! The memtable of one namespace: a map from each key changed since the last checkpoint to a short
//! chain of versions, each tagged with the LSN of the commit that wrote it, so that range scans
//! read a consistent snapshot while writers go on; and the namespace's expiry index and count.
//!
//! A version is kept only while a registered snapshot may still see it (see
//! [`Snapshots`](super::snapshot::Snapshots)); with no snapshot open every key holds exactly its
//! newest version and removed keys disappear at once.
//!
//! Writes made while no snapshot is open are not put in the map one by one: they are appended
//! to a pending list and folded into the map when something reads it (a range scan, a
//! checkpoint, the integrity check) or when a write arrives while a snapshot is open. Every
//! snapshot opened since sees the newest pending version of each key (its LSN is at least theirs),
//! so a fold keeps nothing older, and it folds many writes in one sorted merge instead of one
//! descent of the map per write. Point reads never need it: the index has every write.

use std::collections::{BTreeMap, BTreeSet, btree_map};
use std::ops::{Bound, Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::index::Slot;
use crate::batch::{ExpiresAt, NO_EXPIRY};

/// One version of a key: the slot it held after commit `lsn`, or `None` if that commit removed it.
#[derive(Debug, Clone)]
struct Version {
    lsn: u64,
    slot: Option<Slot>,
}

/// The versions of one key, newest first in `head`, older ones ascending by LSN in `older`.
#[derive(Debug, Clone)]
struct Chain {
    head: Version,
    older: Vec<Version>,
}

impl Chain {
    /// The version a reader at `snapshot` sees: `None` when the chain has none that old (the
    /// key is as the tree beneath has it), `Some(None)` when it is removed.
    #[expect(clippy::option_option, reason = "absent here, removed here, and present differ")]
    fn visible(&self, snapshot: u64) -> Option<Option<&Slot>> {
        if self.head.lsn <= snapshot {
            return Some(self.head.slot.as_ref());
        }
        self.older.iter().rev().find(|v| v.lsn <= snapshot).map(|v| v.slot.as_ref())
    }

    /// Drops the versions no open snapshot can see: a snapshot at LSN `s` sees the newest version
    /// at or below `s`, and a snapshot taken later sees the head. `open` holds the LSNs of the open
    /// snapshots, ascending. Returns whether the key has nothing left worth keeping (its only
    /// version is a removal).
    fn prune(&mut self, open: &[u64]) -> bool {
        if open.is_empty() {
            self.older.clear();
        } else if !self.older.is_empty() {
            let head_lsn = self.head.lsn;
            let mut versions = std::mem::take(&mut self.older).into_iter().peekable();
            while let Some(version) = versions.next() {
                let next_lsn = versions.peek().map_or(head_lsn, |v| v.lsn);
                // The first open snapshot at or after this version sees it if it is older than
                // the next version.
                let first = open.partition_point(|&s| s < version.lsn);
                if open.get(first).is_some_and(|&s| s < next_lsn) {
                    self.older.push(version);
                }
            }
        }
        self.older.is_empty() && self.head.slot.is_none()
    }

    /// Whether the chain holds more than its newest version, or (when removals are not kept) a
    /// removal marker.
    fn needs_gc(&self, keep_removals: bool) -> bool {
        !self.older.is_empty() || (!keep_removals && self.head.slot.is_none())
    }
}

/// A memtable key: its first 16 bytes as a big-endian number beside the shared bytes.
///
/// Comparing the numbers orders keys as their bytes do (a key shorter than 16 bytes is padded
/// with zeros, and equal numbers fall back to the bytes), so a write's descent through the map
/// reads the keys held in each node instead of one heap allocation per comparison.
#[derive(Debug, Clone)]
struct MemKey {
    prefix: u128,
    key: Arc<[u8]>,
}

impl MemKey {
    fn new(key: Arc<[u8]>) -> Self {
        let mut head = [0u8; 16];
        for (to, from) in head.iter_mut().zip(key.iter()) {
            *to = *from;
        }
        MemKey { prefix: u128::from_be_bytes(head), key }
    }
}

impl Ord for MemKey {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.prefix.cmp(&other.prefix).then_with(|| self.key.cmp(&other.key))
    }
}

impl PartialOrd for MemKey {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MemKey {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.prefix == other.prefix && self.key == other.key
    }
}

impl Eq for MemKey {}

/// Lookups by borrowed bytes (reads, scans) compare the bytes: the order is the same.
impl std::borrow::Borrow<[u8]> for MemKey {
    fn borrow(&self) -> &[u8] {
        &self.key
    }
}

/// What a memtable scan found for one key at a snapshot: its value and expiry, or `None` for a
/// removal (which hides the key in the tree beneath).
pub(crate) type Visible = (Arc<[u8]>, Option<(Arc<[u8]>, ExpiresAt)>);

/// The memtable of one namespace: every key changed since the last checkpoint (every key, in
/// memory), with a short chain of versions each.
///
/// In a persistent database a removal stays as a marker until the next checkpoint writes it to
/// the tree (the key may still be there); in memory there is no tree, so removals vanish.
#[derive(Debug)]
pub(crate) struct Memtable {
    map: BTreeMap<MemKey, Chain>,
    /// Writes made while no snapshot was open, in the order they were made, not yet in `map`
    /// (see the module documentation). Readers [`fold`](Self::fold) them in first.
    pending: Vec<(MemKey, Version)>,
    keep_removals: bool,
}

/// A fold rebuilds the map in one sorted merge when the pending writes number at least the map's
/// size divided by this; fewer are put into the map one by one (a rebuild costs the whole map).
const REBUILD_RATIO: usize = 8;

impl Memtable {
    /// An empty memtable; `keep_removals` for a persistent database.
    pub(crate) fn new(keep_removals: bool) -> Self {
        Memtable { map: BTreeMap::new(), pending: Vec::new(), keep_removals }
    }

    /// Whether the memtable holds no key.
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty() && self.pending.is_empty()
    }

    /// Whether writes wait to be folded into the map (readers must [`fold`](Self::fold) first).
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// A read guard on a memtable with no pending writes: folds them in first, under the write
    /// lock, when there are any.
    pub(crate) fn read_folded(lock: &RwLock<Memtable>) -> RwLockReadGuard<'_, Memtable> {
        let guard = lock.read();
        if !guard.has_pending() {
            return guard;
        }
        drop(guard);
        let mut guard = lock.write();
        guard.fold();
        RwLockWriteGuard::downgrade(guard)
    }

    /// Puts the pending writes into the map. Every open snapshot is younger than all of them
    /// (they were made while none was open, and a snapshot sees every commit before it), so
    /// each key keeps only its newest version.
    pub(crate) fn fold(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        // Stable: the writes of one key stay in the order they were made, the newest last.
        // Writes come in sorted runs (each commit's), which the sort merges.
        pending.sort_by(|a, b| a.0.cmp(&b.0));
        if pending.len().saturating_mul(REBUILD_RATIO) < self.map.len() {
            for (key, version) in pending {
                self.write_map(key, version, &[]);
            }
            return;
        }
        let old = std::mem::take(&mut self.map).into_iter();
        let mut merged: Vec<(MemKey, Chain)> = Vec::with_capacity(old.len() + pending.len());
        let mut pending = pending.into_iter().peekable();
        let mut old = old.peekable();
        loop {
            let take_old = match (old.peek(), pending.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((o, _)), Some((p, _))) => o < p,
            };
            if take_old {
                merged.extend(old.next());
                continue;
            }
            let Some((key, mut version)) = pending.next() else { break };
            // The newest write of the key wins; an older chain in the map goes with it.
            while pending.peek().is_some_and(|(next, _)| *next == key) {
                if let Some((_, newer)) = pending.next() {
                    version = newer;
                }
            }
            if old.peek().is_some_and(|(o, _)| *o == key) {
                old.next();
            }
            if self.starts_chain(&version) {
                merged.push((key, Chain { head: version, older: Vec::new() }));
            }
        }
        // Already sorted and distinct: built in one pass.
        self.map = merged.into_iter().collect();
    }

    /// Whether `version` of a key the map does not hold is worth an entry: in memory a removal
    /// of an absent key needs no marker (every snapshot misses the key anyway).
    fn starts_chain(&self, version: &Version) -> bool {
        version.slot.is_some() || self.keep_removals
    }

    /// Writes `slot` (or a removal when `None`) as the newest version of `key` at `lsn`.
    ///
    /// `open` holds the LSNs of the open snapshots, ascending; older versions none of them can see
    /// are dropped on the spot. Returns whether the key's chain has just started to keep versions
    /// that garbage collection must revisit once those snapshots close.
    pub(crate) fn write(
        &mut self,
        key: &Arc<[u8]>,
        slot: Option<Slot>,
        lsn: u64,
        open: &[u64],
    ) -> bool {
        let version = Version { lsn, slot };
        if open.is_empty() {
            self.pending.push((MemKey::new(Arc::clone(key)), version));
            return false;
        }
        self.fold();
        self.write_map(MemKey::new(Arc::clone(key)), version, open)
    }

    /// [`write`](Self::write) straight into the map.
    fn write_map(&mut self, key: MemKey, version: Version, open: &[u64]) -> bool {
        let keep = self.keep_removals;
        let starts_chain = self.starts_chain(&version);
        // One search of the map whether the key is there or not.
        match self.map.entry(key) {
            btree_map::Entry::Occupied(mut entry) => {
                let chain = entry.get_mut();
                let was_dirty = chain.needs_gc(keep);
                let old = std::mem::replace(&mut chain.head, version);
                if !open.is_empty() {
                    chain.older.push(old);
                }
                if chain.prune(open) && !keep {
                    entry.remove();
                    false
                } else {
                    !was_dirty && chain.needs_gc(keep)
                }
            }
            btree_map::Entry::Vacant(entry) => {
                if starts_chain {
                    entry.insert(Chain { head: version, older: Vec::new() });
                }
                false
            }
        }
    }

    /// Re-prunes `key` against the open snapshots; returns whether it still needs a later visit.
    pub(crate) fn collect(&mut self, key: &[u8], open: &[u64]) -> bool {
        self.fold();
        let keep = self.keep_removals;
        let Some(chain) = self.map.get_mut(key) else { return false };
        if chain.prune(open) && !keep {
            self.map.remove(key);
            return false;
        }
        chain.needs_gc(keep)
    }

    /// Drops everything at once; only valid in memory when no snapshot is open.
    pub(crate) fn reset(&mut self) {
        self.map.clear();
        self.pending.clear();
    }

    /// The newest version of every key, in key order: what a checkpoint writes. The memtable
    /// must have been folded ([`read_folded`](Self::read_folded)).
    pub(crate) fn heads(&self) -> impl Iterator<Item = (&Arc<[u8]>, Option<&Slot>)> {
        debug_assert!(self.pending.is_empty(), "heads of an unfolded memtable");
        self.map.iter().map(|(k, c)| (&k.key, c.head.slot.as_ref()))
    }

    /// The newest version of `key`: `None` when the memtable does not hold it (the tree
    /// beneath decides), `Some(None)` when it is removed.
    #[expect(clippy::option_option, reason = "absent here, removed here, and present differ")]
    pub(crate) fn head(&self, key: &[u8]) -> Option<Option<&Slot>> {
        debug_assert!(self.pending.is_empty(), "a lookup in an unfolded memtable");
        self.map.get(key).map(|c| c.head.slot.as_ref())
    }

    /// Appends to `out` up to `limit` keys with a version visible at `snapshot` (removals
    /// included), in key order from `lower` to `upper` (descending when `!forward`). Returns
    /// whether the range was exhausted.
    pub(crate) fn scan(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        snapshot: u64,
        forward: bool,
        limit: usize,
        out: &mut Vec<Visible>,
    ) -> bool {
        debug_assert!(self.pending.is_empty(), "a scan of an unfolded memtable");
        if is_empty_range(lower, upper) {
            return true;
        }
        let range = self.map.range::<[u8], _>((lower, upper));
        let mut taken = 0;
        let mut visit = |(key, chain): (&MemKey, &Chain)| {
            if taken == limit {
                return false;
            }
            if let Some(version) = chain.visible(snapshot) {
                let value = version.map(|s| (Arc::clone(&s.value), s.expires_at));
                out.push((Arc::clone(&key.key), value));
                taken += 1;
            }
            true
        };
        if forward { range.into_iter().all(&mut visit) } else { range.rev().all(&mut visit) }
    }
}

/// The expiry index and live count of one namespace (over the tree and the memtable together).
#[derive(Debug, Default)]
pub(crate) struct NsStats {
    /// `(expires_at, key)` of every live key that has an expiry.
    expiring: BTreeSet<(ExpiresAt, Arc<[u8]>)>,
    /// How many keys are live (expired-but-unpurged ones included). Signed: while the build of
    /// a lazy open adds the tree's keys, commits already count their own changes, and a removal
    /// may come before the build has counted the key.
    live: i64,
}

impl NsStats {
    /// Records that `key` went from `old` to `new` (`None`: absent; `Some(expiry)`: live).
    pub(crate) fn change(&mut self, key: &[u8], old: Option<ExpiresAt>, new: Option<ExpiresAt>) {
        // Only keys with an expiry are copied; most keys have none.
        if let Some(e) = old.filter(|&e| e != NO_EXPIRY) {
            self.expiring.remove(&(e, Arc::from(key)));
        }
        if let Some(e) = new.filter(|&e| e != NO_EXPIRY) {
            self.expiring.insert((e, Arc::from(key)));
        }
        match (old.is_some(), new.is_some()) {
            (false, true) => self.live += 1,
            (true, false) => self.live -= 1,
            _ => {}
        }
    }

    /// Counts `n` keys of the tree found by the build of a lazy open, with none of the expiries
    /// (see [`add_expiring`](Self::add_expiring)).
    pub(crate) fn add_built(&mut self, n: usize) {
        self.live += i64::try_from(n).unwrap_or(i64::MAX);
    }

    /// Adds a key of the tree with an expiry to the expiry index (the build of a lazy open).
    pub(crate) fn add_expiring(&mut self, key: &[u8], expires_at: ExpiresAt) {
        self.expiring.insert((expires_at, Arc::from(key)));
    }

    /// How many keys are live, expired ones included.
    pub(crate) fn live(&self) -> usize {
        usize::try_from(self.live).unwrap_or(0)
    }

    /// How many live keys have an expiry.
    pub(crate) fn expiring(&self) -> usize {
        self.expiring.len()
    }

    /// Forgets every key.
    pub(crate) fn reset(&mut self) {
        self.expiring.clear();
        self.live = 0;
    }

    /// Live keys that are not expired at `now`.
    pub(crate) fn len(&self, now: u64) -> usize {
        self.live().saturating_sub(self.expired_count(now))
    }

    fn expired_count(&self, now: u64) -> usize {
        if self.expiring.is_empty() {
            // Most namespaces have no expiring key: no range bound to build.
            return 0;
        }
        self.expiring.range(..(now.saturating_add(1), Arc::from(&[][..]))).count()
    }

    /// Keys whose expiry is at or before `now`, oldest expiry first, at most `limit` of them.
    pub(crate) fn expired_keys(&self, now: u64, limit: usize) -> Vec<Arc<[u8]>> {
        self.expiring
            .range(..(now.saturating_add(1), Arc::from(&[][..])))
            .take(limit)
            .map(|(_, k)| Arc::clone(k))
            .collect()
    }
}

/// A namespace's [`NsStats`] behind a lock, with the live count mirrored in one atomic word so
/// that `len()` of a namespace without expiring keys takes no lock.
#[derive(Debug, Default)]
pub(crate) struct SharedStats {
    stats: RwLock<NsStats>,
    /// The live count, with [`SOME_EXPIRE`] set while some live key has an expiry (then the
    /// count needs the clock and the expiry index) and [`BUILDING`] while the index build after
    /// an open runs. Stored when a write guard is dropped, under the lock, so a reader sees the
    /// count before or after a whole batch.
    len_hint: AtomicU64,
}

/// The flag of [`SharedStats::len_hint`] that sends `len()` to the locked path.
const SOME_EXPIRE: u64 = 1 << 63;
/// The flag of [`SharedStats::len_hint`] set while the index is being built after an open (the
/// count is not complete): `len()` then waits for the build. Kept in the same word so that a
/// `len()` of a built namespace reads one word.
const BUILDING: u64 = 1 << 62;

impl SharedStats {
    /// Shared access to the statistics.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, NsStats> {
        self.stats.read()
    }

    /// Exclusive access; the live count is republished when the guard is dropped.
    pub(crate) fn write(&self) -> StatsWriteGuard<'_> {
        StatsWriteGuard { guard: self.stats.write(), hint: &self.len_hint }
    }

    /// The number of live keys when no live key has an expiry (so none can have expired) and
    /// the index is built, without taking the lock; `None` when the count depends on the clock
    /// or on the build.
    #[inline]
    pub(crate) fn len_without_expiry(&self) -> Option<usize> {
        let hint = self.len_hint.load(Ordering::Acquire);
        if hint & (SOME_EXPIRE | BUILDING) == 0 { usize::try_from(hint).ok() } else { None }
    }

    /// Marks the count incomplete: the index build after an open is about to fill it.
    pub(crate) fn mark_building(&self) {
        self.len_hint.fetch_or(BUILDING, Ordering::AcqRel);
    }

    /// Marks the count complete, once the index build has filled it.
    pub(crate) fn mark_built(&self) {
        self.len_hint.fetch_and(!BUILDING, Ordering::AcqRel);
    }
}

/// Write access to a namespace's statistics (see [`SharedStats::write`]).
pub(crate) struct StatsWriteGuard<'a> {
    guard: RwLockWriteGuard<'a, NsStats>,
    hint: &'a AtomicU64,
}

impl Deref for StatsWriteGuard<'_> {
    type Target = NsStats;

    fn deref(&self) -> &NsStats {
        &self.guard
    }
}

impl DerefMut for StatsWriteGuard<'_> {
    fn deref_mut(&mut self) -> &mut NsStats {
        &mut self.guard
    }
}

impl Drop for StatsWriteGuard<'_> {
    fn drop(&mut self) {
        let live = u64::try_from(self.guard.live).unwrap_or(0) & !(SOME_EXPIRE | BUILDING);
        let flag = if self.guard.expiring.is_empty() { 0 } else { SOME_EXPIRE };
        // The build flag is the builder's to clear.
        let building = self.hint.load(Ordering::Relaxed) & BUILDING;
        self.hint.store(live | flag | building, Ordering::Release);
    }
}

/// Whether `(lower, upper)` holds no key at all. `BTreeMap::range` panics on a start above the end
/// (and on two equal excluded bounds); a user may well pass `"d".."b"`, which is simply empty.
fn is_empty_range(lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> bool {
    match (lower, upper) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b)) => a >= b,
        (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Arc<[u8]> {
        Arc::from(k.as_bytes())
    }

    #[test]
    fn the_lock_free_count_follows_every_write_and_steps_aside_for_expiring_keys() {
        let stats = SharedStats::default();
        assert_eq!(stats.len_without_expiry(), Some(0));
        {
            let mut w = stats.write();
            w.change(b"a", None, Some(NO_EXPIRY));
            w.change(b"b", None, Some(NO_EXPIRY));
            // Not published before the whole batch is.
            assert_eq!(stats.len_hint.load(Ordering::Acquire), 0);
        }
        assert_eq!(stats.len_without_expiry(), Some(2));
        stats.write().change(b"c", None, Some(500));
        assert_eq!(stats.len_without_expiry(), None, "an expiring key needs the clock");
        assert_eq!(stats.read().len(499), 3);
        assert_eq!(stats.read().len(500), 2);
        stats.write().change(b"c", Some(500), Some(NO_EXPIRY));
        assert_eq!(stats.len_without_expiry(), Some(3));
        stats.write().change(b"a", Some(NO_EXPIRY), None);
        assert_eq!(stats.len_without_expiry(), Some(2));
        stats.write().reset();
        assert_eq!(stats.len_without_expiry(), Some(0));
        // While the index is being built the count is not complete, whatever it says.
        stats.mark_building();
        assert_eq!(stats.len_without_expiry(), None);
        stats.write().change(b"d", None, Some(NO_EXPIRY));
        assert_eq!(stats.len_without_expiry(), None, "a write under the build keeps the flag");
        stats.mark_built();
        assert_eq!(stats.len_without_expiry(), Some(1));
    }

    #[test]
    fn memtable_keys_order_as_their_bytes() {
        let keys: Vec<&[u8]> = vec![
            b"",
            b"\0",
            b"\0\0",
            b"a",
            b"a\0",
            b"ab",
            b"abcdefghijklmnop",
            b"abcdefghijklmnop\0",
            b"abcdefghijklmnopq",
            b"abcdefghijklmnoq",
            b"b",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
        ];
        for a in &keys {
            for b in &keys {
                let (ma, mb) = (MemKey::new(Arc::from(*a)), MemKey::new(Arc::from(*b)));
                assert_eq!(ma.cmp(&mb), a.cmp(b), "{a:?} vs {b:?}");
                assert_eq!(ma == mb, a == b);
            }
        }
    }

    fn slot(v: &str) -> Option<Slot> {
        let value: Arc<[u8]> = Arc::from(v.as_bytes());
        (!value.is_empty()).then_some(Slot { value, expires_at: NO_EXPIRY })
    }

    fn scan(o: &Memtable, snapshot: u64) -> Vec<(String, String)> {
        let mut out = Vec::new();
        o.scan(Bound::Unbounded, Bound::Unbounded, snapshot, true, usize::MAX, &mut out);
        out.into_iter()
            .filter_map(|(k, v)| {
                let (v, _) = v?;
                Some((
                    String::from_utf8(k.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                ))
            })
            .collect()
    }

    #[test]
    fn without_snapshots_only_the_newest_version_is_kept() {
        let mut o = Memtable::new(false);
        o.write(&key("a"), slot("1"), 1, &[]);
        o.write(&key("a"), slot("2"), 2, &[]);
        o.fold();
        assert!(o.map.get(&b"a"[..]).unwrap().older.is_empty());
        o.write(&key("a"), None, 3, &[]);
        o.fold();
        assert!(o.map.is_empty(), "a removal without snapshots leaves nothing behind");
    }

    #[test]
    fn a_persistent_memtable_keeps_removal_markers_for_the_tree_beneath() {
        let mut o = Memtable::new(true);
        o.write(&key("a"), None, 1, &[]);
        o.write(&key("b"), slot("1"), 2, &[]);
        o.write(&key("b"), None, 3, &[]);
        o.fold();
        let mut out = Vec::new();
        o.scan(Bound::Unbounded, Bound::Unbounded, 9, true, 10, &mut out);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|(_, v)| v.is_none()));
        assert_eq!(o.heads().filter(|(_, s)| s.is_none()).count(), 2);
    }

    #[test]
    fn a_snapshot_keeps_seeing_the_versions_of_its_lsn() {
        let mut o = Memtable::new(false);
        o.write(&key("a"), slot("1"), 1, &[]);
        o.write(&key("b"), slot("1"), 1, &[]);
        // A snapshot at LSN 1 is open while commit 2 rewrites a and removes b.
        o.write(&key("a"), slot("2"), 2, &[1]);
        o.write(&key("b"), None, 2, &[1]);
        assert_eq!(scan(&o, 1), vec![("a".into(), "1".into()), ("b".into(), "1".into())]);
        assert_eq!(scan(&o, 2), vec![("a".into(), "2".into())]);
        // Once the snapshot is gone, collection drops the old versions and the removed key.
        assert!(!o.collect(b"a", &[]));
        assert!(!o.collect(b"b", &[]));
        assert_eq!(o.map.len(), 1);
    }

    #[test]
    fn a_key_first_written_after_a_snapshot_is_left_to_the_tree_for_that_snapshot() {
        let mut o = Memtable::new(true);
        o.write(&key("a"), slot("new"), 5, &[3]);
        let mut out = Vec::new();
        o.scan(Bound::Unbounded, Bound::Unbounded, 3, true, 10, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn versions_between_open_snapshots_that_none_can_see_are_dropped() {
        let mut o = Memtable::new(false);
        o.write(&key("a"), slot("1"), 1, &[]);
        for lsn in 2..100 {
            o.write(&key("a"), slot(&lsn.to_string()), lsn, &[1]);
        }
        let chain = o.map.get(&b"a"[..]).unwrap();
        assert_eq!(chain.older.len(), 1, "only the version snapshot 1 sees is kept");
        assert_eq!(scan(&o, 1), vec![("a".into(), "1".into())]);
        o.write(&key("a"), slot("x"), 100, &[1, 99]);
        assert_eq!(o.map.get(&b"a"[..]).unwrap().older.len(), 2);
        assert_eq!(scan(&o, 99), vec![("a".into(), "99".into())]);
        assert_eq!(scan(&o, 100), vec![("a".into(), "x".into())]);
    }

    #[test]
    fn stats_count_live_keys_and_expired_ones_separately() {
        let mut s = NsStats::default();
        s.change(&key("a"), None, Some(100));
        s.change(&key("b"), None, Some(NO_EXPIRY));
        assert_eq!(s.len(99), 2);
        assert_eq!(s.len(100), 1);
        assert_eq!(s.expired_keys(100, 10), vec![key("a")]);
        s.change(&key("a"), Some(100), Some(NO_EXPIRY));
        assert!(s.expired_keys(u64::MAX, 10).is_empty());
        s.change(&key("a"), Some(NO_EXPIRY), None);
        assert_eq!(s.live, 1);
    }

    #[test]
    fn inverted_and_degenerate_ranges_are_empty_not_a_panic() {
        let mut o = Memtable::new(false);
        o.write(&key("b"), slot("b"), 1, &[]);
        o.fold();
        let mut out = Vec::new();
        for (lo, hi) in [
            (Bound::Included(&b"d"[..]), Bound::Excluded(&b"a"[..])),
            (Bound::Excluded(&b"b"[..]), Bound::Excluded(&b"b"[..])),
            (Bound::Included(&b"b"[..]), Bound::Excluded(&b"b"[..])),
            (Bound::Excluded(&b"b"[..]), Bound::Included(&b"b"[..])),
        ] {
            assert!(o.scan(lo, hi, 9, true, 10, &mut out));
            assert!(o.scan(lo, hi, 9, false, 10, &mut out));
        }
        assert!(out.is_empty());
        o.scan(Bound::Included(b"b"), Bound::Included(b"b"), 9, true, 10, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn scans_stop_at_the_limit_and_report_whether_the_range_is_exhausted() {
        let mut o = Memtable::new(false);
        for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
            o.write(&key(k), slot(k), i as u64 + 1, &[]);
        }
        o.fold();
        let mut out = Vec::new();
        assert!(!o.scan(Bound::Unbounded, Bound::Unbounded, 9, true, 2, &mut out));
        assert_eq!(out.len(), 2);
        out.clear();
        assert!(o.scan(Bound::Included(b"b"), Bound::Excluded(b"d"), 9, false, 5, &mut out));
        assert_eq!(
            out.iter().map(|(k, _)| k.to_vec()).collect::<Vec<_>>(),
            vec![b"c".to_vec(), b"b".to_vec()]
        );
    }

    /// The keys (with values, removal markers as "") a folded memtable holds at the newest LSN.
    fn contents(o: &mut Memtable) -> Vec<(String, String)> {
        o.fold();
        o.heads()
            .map(|(k, s)| {
                let v = s.map_or(String::new(), |s| String::from_utf8(s.value.to_vec()).unwrap());
                (String::from_utf8(k.to_vec()).unwrap(), v)
            })
            .collect()
    }

    #[test]
    fn pending_writes_fold_into_the_same_map_by_merge_or_one_by_one() {
        // The same writes, folded after every few writes (one by one into a larger map) and
        // once at the end (one merge), in memory and persistent, agree with a model.
        for keep in [false, true] {
            let mut seed = 7u64;
            let mut next = move || {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                seed >> 33
            };
            let mut often = Memtable::new(keep);
            let mut once = Memtable::new(keep);
            let mut model: BTreeMap<String, String> = BTreeMap::new();
            for lsn in 1..=3_000u64 {
                let k = format!("k{:03}", next() % 400);
                let v = if next() % 4 == 0 { String::new() } else { format!("v{lsn}") };
                for o in [&mut often, &mut once] {
                    o.write(&key(&k), slot(&v), lsn, &[]);
                }
                if v.is_empty() {
                    if keep {
                        model.insert(k, v);
                    } else {
                        model.remove(&k);
                    }
                } else {
                    model.insert(k, v);
                }
                if lsn % 7 == 0 {
                    often.fold();
                }
            }
            let want: Vec<(String, String)> = model.into_iter().collect();
            assert_eq!(contents(&mut often), want, "folded often, keep {keep}");
            assert_eq!(contents(&mut once), want, "folded once, keep {keep}");
        }
    }

    #[test]
    fn a_write_under_a_snapshot_folds_first_and_keeps_what_the_snapshot_sees() {
        let mut o = Memtable::new(false);
        // Older versions kept for a snapshot that has closed since.
        o.write(&key("a"), slot("1"), 1, &[]);
        o.write(&key("a"), slot("2"), 2, &[1]);
        assert_eq!(o.map.get(&b"a"[..]).unwrap().older.len(), 1);
        // No snapshot open: pending, and folding keeps only the newest version.
        o.write(&key("a"), slot("3"), 3, &[]);
        o.write(&key("b"), slot("3"), 3, &[]);
        assert!(o.has_pending());
        // A snapshot at LSN 3 opens; commit 4 rewrites a: the fold comes first, then the
        // version the snapshot sees is kept.
        o.write(&key("a"), slot("4"), 4, &[3]);
        assert!(!o.has_pending());
        assert_eq!(o.map.get(&b"a"[..]).unwrap().older.len(), 1, "only version 3 is kept");
        assert_eq!(scan(&o, 3), vec![("a".into(), "3".into()), ("b".into(), "3".into())]);
        assert_eq!(scan(&o, 4), vec![("a".into(), "4".into()), ("b".into(), "3".into())]);
    }

    #[test]
    fn readers_through_the_lock_fold_first() {
        let lock = RwLock::new(Memtable::new(true));
        lock.write().write(&key("x"), slot("1"), 1, &[]);
        assert!(lock.read().has_pending());
        assert!(!lock.read().is_empty(), "pending writes count as content");
        let guard = Memtable::read_folded(&lock);
        assert!(!guard.has_pending());
        assert_eq!(guard.head(b"x").flatten().map(|s| s.value.to_vec()), Some(b"1".to_vec()));
    }
}
