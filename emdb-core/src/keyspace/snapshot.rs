//! The registry of open read snapshots: which commit LSNs some iterator still reads at, so that
//! the writer keeps exactly the versions those iterators can see, and which tree roots they pin,
//! so that a checkpoint does not reuse the pages under them.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::RwLock;

use super::persist::TreeSnap;
use super::{Keyspace, Memtable, NsState};

/// The LSNs of open snapshots, with how many readers hold each, and the tree roots they pin.
///
/// The registry lives behind a mutex that the writer holds from the moment it reads the open
/// snapshots until the commit is published, so a snapshot is registered either before that read
/// (and its versions are kept) or after the commit is visible (and it reads the commit). A
/// checkpoint swaps the current tree root (and the memtables) under the same mutex.
#[derive(Debug, Default)]
pub(crate) struct Snapshots {
    open: Counts,
    /// Bumped whenever the set of open LSNs changes, so garbage collection knows when to rerun.
    generation: u64,
    /// The current durable tree (none in memory).
    tree: Option<Arc<TreeSnap>>,
    /// Meta sequences of the tree roots open snapshots read, with how many readers hold each.
    pinned: Counts,
}

/// Keys with how many holders each, ascending: a handful of entries (one per distinct open LSN
/// or pinned root), in a vector so that registering and releasing a reader (every short range
/// does both) allocates nothing once it has grown, where a map allocates and frees a node.
#[derive(Debug, Default)]
struct Counts(Vec<(u64, usize)>);

impl Counts {
    /// Counts one more holder of `key`; returns whether it had none.
    fn add(&mut self, key: u64) -> bool {
        match self.0.binary_search_by_key(&key, |&(k, _)| k) {
            Ok(i) => {
                if let Some((_, count)) = self.0.get_mut(i) {
                    *count += 1;
                }
                false
            }
            Err(i) => {
                self.0.insert(i, (key, 1));
                true
            }
        }
    }

    /// Counts one holder of `key` less; returns whether it has none left.
    fn remove(&mut self, key: u64) -> bool {
        let Ok(i) = self.0.binary_search_by_key(&key, |&(k, _)| k) else { return false };
        let Some((_, count)) = self.0.get_mut(i) else { return false };
        *count = count.saturating_sub(1);
        if *count > 0 {
            return false;
        }
        self.0.remove(i);
        true
    }

    /// The keys with holders, ascending.
    fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.iter().map(|&(k, _)| k)
    }
}

impl Snapshots {
    /// Records a reader at `lsn`; returns the tree it reads beneath the memtable (pinned).
    pub(crate) fn register(&mut self, lsn: u64) -> Option<Arc<TreeSnap>> {
        if self.open.add(lsn) {
            self.generation += 1;
        }
        if let Some(tree) = &self.tree {
            self.pinned.add(tree.seq);
        }
        self.tree.clone()
    }

    /// Forgets one reader at `lsn` that pinned the tree of sequence `seq`.
    pub(crate) fn release(&mut self, lsn: u64, seq: Option<u64>) {
        if self.open.remove(lsn) {
            self.generation += 1;
        }
        if let Some(seq) = seq {
            self.pinned.remove(seq);
        }
    }

    /// The LSNs of the open snapshots, ascending (empty when none is open).
    pub(crate) fn open_lsns(&self) -> Vec<u64> {
        self.open.keys().collect()
    }

    /// A number that changes whenever [`open_lsns`](Self::open_lsns) does.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// The current tree.
    pub(crate) fn tree(&self) -> Option<&Arc<TreeSnap>> {
        self.tree.as_ref()
    }

    /// Makes `tree` the one new readers read.
    pub(crate) fn set_tree(&mut self, tree: Arc<TreeSnap>) {
        self.tree = Some(tree);
    }

    /// The oldest tree sequence a reader still reads, or `current` when none pins an older one.
    pub(crate) fn oldest_pinned(&self, current: u64) -> u64 {
        self.pinned.keys().next().unwrap_or(current).min(current)
    }
}

impl Keyspace {
    /// Registers a read snapshot of namespace `ns` at the newest published commit: its LSN, the
    /// tree root it sits on (pinned, so the pages stay) and the memtable above that root.
    pub(crate) fn snapshot(self: &Arc<Self>, ns: &NsState) -> (SnapshotGuard, View) {
        let mut snapshots = self.snapshots.lock();
        let lsn = self.committed.load(Ordering::Acquire);
        self.register(&mut snapshots, lsn, ns)
    }

    /// Registers a read snapshot of each namespace of `namespaces` at one commit: under one
    /// hold of the snapshot registry lock, which every commit publishes under, so no commit
    /// falls between them.
    pub(crate) fn snapshots_of(
        self: &Arc<Self>,
        namespaces: &[&NsState],
    ) -> Vec<(SnapshotGuard, View)> {
        let mut snapshots = self.snapshots.lock();
        let lsn = self.committed.load(Ordering::Acquire);
        namespaces.iter().map(|ns| self.register(&mut snapshots, lsn, ns)).collect()
    }

    /// Registers a snapshot of `ns` at `lsn` (the caller holds the registry lock).
    fn register(
        self: &Arc<Self>,
        snapshots: &mut Snapshots,
        lsn: u64,
        ns: &NsState,
    ) -> (SnapshotGuard, View) {
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

/// What a reader of one namespace sees: the commits up to `lsn`, as the tree at `tree` (none in
/// memory) overlaid by the memtable `mem`.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) lsn: u64,
    pub(crate) tree: Option<Arc<TreeSnap>>,
    pub(crate) mem: Arc<RwLock<Memtable>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_lsns_are_sorted_and_count_duplicates_and_the_generation_tracks_changes() {
        let mut s = Snapshots::default();
        assert!(s.open_lsns().is_empty());
        s.register(5);
        s.register(3);
        let g = s.generation();
        s.register(3);
        assert_eq!(s.generation(), g, "a second reader at the same LSN changes nothing");
        assert_eq!(s.open_lsns(), [3, 5]);
        s.release(3, None);
        assert_eq!(s.open_lsns(), [3, 5]);
        s.release(3, None);
        assert_eq!(s.open_lsns(), [5]);
        assert!(s.generation() > g);
        s.release(5, None);
        s.release(5, None);
        assert!(s.open_lsns().is_empty());
    }

    #[test]
    fn readers_pin_the_tree_they_read_until_they_are_released() {
        let mut s = Snapshots::default();
        let tree = |seq| Arc::new(TreeSnap::for_test(seq));
        s.set_tree(tree(4));
        assert_eq!(s.oldest_pinned(4), 4);
        let t = s.register(10).unwrap();
        s.set_tree(tree(5));
        assert_eq!(s.oldest_pinned(5), 4);
        s.release(10, Some(t.seq));
        assert_eq!(s.oldest_pinned(5), 5);
    }
}
