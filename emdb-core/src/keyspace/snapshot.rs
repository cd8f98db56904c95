//! The registry of open read snapshots: which commit LSNs some iterator still reads at, so that
//! the writer keeps exactly the versions those iterators can see.

use std::collections::BTreeMap;

/// The LSNs of open snapshots, with how many readers hold each.
///
/// The registry lives behind a mutex that the writer holds from the moment it reads the open
/// snapshots until the commit is published, so a snapshot is registered either before that read
/// (and its versions are kept) or after the commit is visible (and it reads the commit).
#[derive(Debug, Default)]
pub(crate) struct Snapshots {
    open: BTreeMap<u64, usize>,
    /// Bumped whenever the set of open LSNs changes, so garbage collection knows when to rerun.
    generation: u64,
}

impl Snapshots {
    /// Records a reader at `lsn`.
    pub(crate) fn register(&mut self, lsn: u64) {
        let count = self.open.entry(lsn).or_insert(0);
        if *count == 0 {
            self.generation += 1;
        }
        *count += 1;
    }

    /// Forgets one reader at `lsn`.
    pub(crate) fn release(&mut self, lsn: u64) {
        if let Some(count) = self.open.get_mut(&lsn) {
            *count -= 1;
            if *count == 0 {
                self.open.remove(&lsn);
                self.generation += 1;
            }
        }
    }

    /// The LSNs of the open snapshots, ascending (empty when none is open).
    pub(crate) fn open_lsns(&self) -> Vec<u64> {
        self.open.keys().copied().collect()
    }

    /// A number that changes whenever [`open_lsns`](Self::open_lsns) does.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
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
        s.release(3);
        assert_eq!(s.open_lsns(), [3, 5]);
        s.release(3);
        assert_eq!(s.open_lsns(), [5]);
        assert!(s.generation() > g);
        s.release(5);
        s.release(5);
        assert!(s.open_lsns().is_empty());
    }
}
