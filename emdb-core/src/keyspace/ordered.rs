//! The ordered view of one namespace: a map from key to a short chain of versions, each tagged with
//! the LSN of the commit that wrote it, so that range scans read a consistent snapshot while
//! writers go on.
//!
//! A version is kept only while a registered snapshot may still see it (see
//! [`Snapshots`](super::snapshot::Snapshots)); with no snapshot open every key holds exactly its
//! newest version and removed keys disappear at once.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

use super::index::Slot;
use crate::batch::{ExpiresAt, NO_EXPIRY};
use crate::iter::Entry;

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
    /// The slot a reader at `snapshot` sees.
    fn visible(&self, snapshot: u64) -> Option<&Slot> {
        if self.head.lsn <= snapshot {
            return self.head.slot.as_ref();
        }
        self.older.iter().rev().find(|v| v.lsn <= snapshot).and_then(|v| v.slot.as_ref())
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

    /// Whether the chain holds more than its newest version, or a removal marker.
    fn needs_gc(&self) -> bool {
        !self.older.is_empty() || self.head.slot.is_none()
    }
}

/// The ordered, versioned state of one namespace, together with its expiry index and live count.
#[derive(Debug, Default)]
pub(crate) struct Ordered {
    map: BTreeMap<Arc<[u8]>, Chain>,
    /// `(expires_at, key)` of every live key that has an expiry.
    expiring: BTreeSet<(ExpiresAt, Arc<[u8]>)>,
    /// How many keys have a live newest version (expired-but-unpurged ones included).
    live: usize,
}

impl Ordered {
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
        let new_expiry = slot.as_ref().map_or(NO_EXPIRY, |s| s.expires_at);
        let new_live = slot.is_some();
        let version = Version { lsn, slot };
        let (previous, needs_gc) = if let Some(chain) = self.map.get_mut(&**key) {
            let was_dirty = chain.needs_gc();
            let old = std::mem::replace(&mut chain.head, version);
            let previous = old.slot.clone();
            if !open.is_empty() {
                chain.older.push(old);
            }
            if chain.prune(open) {
                self.map.remove(&**key);
                (previous, false)
            } else {
                (previous, !was_dirty && chain.needs_gc())
            }
        } else {
            // A removal of an absent key needs no marker: every snapshot already misses it.
            if new_live {
                self.map.insert(Arc::clone(key), Chain { head: version, older: Vec::new() });
            }
            (None, false)
        };
        let old_expiry = previous.as_ref().map_or(NO_EXPIRY, |s| s.expires_at);
        if old_expiry != NO_EXPIRY {
            self.expiring.remove(&(old_expiry, Arc::clone(key)));
        }
        if new_expiry != NO_EXPIRY {
            self.expiring.insert((new_expiry, Arc::clone(key)));
        }
        match (previous.is_some(), new_live) {
            (false, true) => self.live += 1,
            (true, false) => self.live -= 1,
            _ => {}
        }
        needs_gc
    }

    /// Re-prunes `key` against the open snapshots; returns whether it still needs a later visit.
    pub(crate) fn collect(&mut self, key: &[u8], open: &[u64]) -> bool {
        let Some(chain) = self.map.get_mut(key) else { return false };
        if chain.prune(open) {
            self.map.remove(key);
            return false;
        }
        chain.needs_gc()
    }

    /// The keys whose newest version is live, in order (used to clear a namespace).
    pub(crate) fn live_keys(&self) -> Vec<Arc<[u8]>> {
        self.map.iter().filter(|(_, c)| c.head.slot.is_some()).map(|(k, _)| Arc::clone(k)).collect()
    }

    /// The keys starting with `prefix` whose newest version is live (expired ones included).
    pub(crate) fn keys_with_prefix(&self, prefix: &[u8]) -> Vec<Arc<[u8]>> {
        self.map
            .range::<[u8], _>((std::ops::Bound::Included(prefix), std::ops::Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(_, c)| c.head.slot.is_some())
            .map(|(k, _)| Arc::clone(k))
            .collect()
    }

    /// Drops everything at once; only valid when no snapshot is open.
    pub(crate) fn reset(&mut self) {
        self.map.clear();
        self.expiring.clear();
        self.live = 0;
    }

    /// Live keys that are not expired at `now`.
    pub(crate) fn len(&self, now: u64) -> usize {
        self.live.saturating_sub(self.expired_count(now))
    }

    fn expired_count(&self, now: u64) -> usize {
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

    /// Appends to `out` up to `limit` entries visible at `snapshot` and unexpired at `now`, in
    /// ascending key order from `lower` to `upper`. Returns whether the range was exhausted.
    pub(crate) fn scan_forward(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        snapshot: u64,
        now: u64,
        limit: usize,
        out: &mut Vec<Entry>,
    ) -> bool {
        if is_empty_range(lower, upper) {
            return true;
        }
        let mut taken = 0;
        for (key, chain) in self.map.range::<[u8], _>((lower, upper)) {
            if taken == limit {
                return false;
            }
            if let Some(slot) = chain.visible(snapshot).filter(|s| !s.is_expired(now)) {
                out.push((Arc::clone(key), Arc::clone(&slot.value)));
                taken += 1;
            }
        }
        true
    }

    /// Like [`scan_forward`](Self::scan_forward) but in descending key order.
    pub(crate) fn scan_backward(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        snapshot: u64,
        now: u64,
        limit: usize,
        out: &mut Vec<Entry>,
    ) -> bool {
        if is_empty_range(lower, upper) {
            return true;
        }
        let mut taken = 0;
        for (key, chain) in self.map.range::<[u8], _>((lower, upper)).rev() {
            if taken == limit {
                return false;
            }
            if let Some(slot) = chain.visible(snapshot).filter(|s| !s.is_expired(now)) {
                out.push((Arc::clone(key), Arc::clone(&slot.value)));
                taken += 1;
            }
        }
        true
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

    fn slot(v: &str) -> Option<Slot> {
        let value: Arc<[u8]> = Arc::from(v.as_bytes());
        (!value.is_empty()).then_some(Slot { value, expires_at: NO_EXPIRY })
    }

    fn scan(o: &Ordered, snapshot: u64) -> Vec<(String, String)> {
        let mut out = Vec::new();
        o.scan_forward(Bound::Unbounded, Bound::Unbounded, snapshot, 0, usize::MAX, &mut out);
        out.into_iter()
            .map(|(k, v)| {
                (String::from_utf8(k.to_vec()).unwrap(), String::from_utf8(v.to_vec()).unwrap())
            })
            .collect()
    }

    #[test]
    fn without_snapshots_only_the_newest_version_is_kept() {
        let mut o = Ordered::default();
        o.write(&key("a"), slot("1"), 1, &[]);
        o.write(&key("a"), slot("2"), 2, &[]);
        assert!(o.map.get(&b"a"[..]).unwrap().older.is_empty());
        o.write(&key("a"), None, 3, &[]);
        assert!(o.map.is_empty(), "a removal without snapshots leaves nothing behind");
        assert_eq!(o.live, 0);
    }

    #[test]
    fn a_snapshot_keeps_seeing_the_versions_of_its_lsn() {
        let mut o = Ordered::default();
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
        assert_eq!(o.live, 1);
    }

    #[test]
    fn versions_between_open_snapshots_that_none_can_see_are_dropped() {
        let mut o = Ordered::default();
        o.write(&key("a"), slot("1"), 1, &[]);
        // A snapshot at 1 stays open while the key is rewritten many times.
        for lsn in 2..100 {
            o.write(&key("a"), slot(&lsn.to_string()), lsn, &[1]);
        }
        let chain = o.map.get(&b"a"[..]).unwrap();
        assert_eq!(chain.older.len(), 1, "only the version snapshot 1 sees is kept");
        assert_eq!(scan(&o, 1), vec![("a".into(), "1".into())]);
        // A second snapshot at 50 keeps the version it sees too.
        o.write(&key("a"), slot("x"), 100, &[1, 99]);
        assert_eq!(o.map.get(&b"a"[..]).unwrap().older.len(), 2);
        assert_eq!(scan(&o, 99), vec![("a".into(), "99".into())]);
        assert_eq!(scan(&o, 100), vec![("a".into(), "x".into())]);
    }

    #[test]
    fn expired_entries_are_counted_out_of_len_and_hidden_from_scans() {
        let mut o = Ordered::default();
        let expiring = Some(Slot { value: Arc::from(&b"v"[..]), expires_at: 100 });
        o.write(&key("a"), expiring, 1, &[]);
        o.write(&key("b"), slot("v"), 2, &[]);
        assert_eq!(o.len(99), 2);
        assert_eq!(o.len(100), 1);
        let mut out = Vec::new();
        o.scan_forward(Bound::Unbounded, Bound::Unbounded, 2, 100, 10, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(o.expired_keys(100, 10), vec![key("a")]);
        // Overwriting without a TTL takes the key out of the expiry index.
        o.write(&key("a"), slot("w"), 3, &[]);
        assert!(o.expired_keys(u64::MAX, 10).is_empty());
    }

    #[test]
    fn inverted_and_degenerate_ranges_are_empty_not_a_panic() {
        let mut o = Ordered::default();
        o.write(&key("b"), slot("b"), 1, &[]);
        let mut out = Vec::new();
        for (lo, hi) in [
            (Bound::Included(&b"d"[..]), Bound::Excluded(&b"a"[..])),
            (Bound::Excluded(&b"b"[..]), Bound::Excluded(&b"b"[..])),
            (Bound::Included(&b"b"[..]), Bound::Excluded(&b"b"[..])),
            (Bound::Excluded(&b"b"[..]), Bound::Included(&b"b"[..])),
        ] {
            assert!(o.scan_forward(lo, hi, 9, 0, 10, &mut out));
            assert!(o.scan_backward(lo, hi, 9, 0, 10, &mut out));
        }
        assert!(out.is_empty());
        o.scan_forward(Bound::Included(b"b"), Bound::Included(b"b"), 9, 0, 10, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn scans_stop_at_the_limit_and_report_whether_the_range_is_exhausted() {
        let mut o = Ordered::default();
        for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
            o.write(&key(k), slot(k), i as u64 + 1, &[]);
        }
        let mut out = Vec::new();
        assert!(!o.scan_forward(Bound::Unbounded, Bound::Unbounded, 9, 0, 2, &mut out));
        assert_eq!(out.len(), 2);
        out.clear();
        assert!(o.scan_backward(Bound::Included(b"b"), Bound::Excluded(b"d"), 9, 0, 5, &mut out));
        assert_eq!(
            out.iter().map(|(k, _)| k.to_vec()).collect::<Vec<_>>(),
            vec![b"c".to_vec(), b"b".to_vec()]
        );
    }
}
