//! The registry of open read snapshots: which commit LSNs some iterator still reads at, so that
//! the writer keeps exactly the versions those iterators can see.

use std::collections::BTreeMap;

/// The LSNs of open snapshots, with how many readers hold each.
///
/// The registry lives behind a mutex that the writer holds from the moment it computes the
/// collection horizon until the commit is published, so a snapshot is registered either before
/// the horizon is computed (and counted in it) or after the commit is visible (and reads it).
#[derive(Debug, Default)]
pub(crate) struct Snapshots {
    open: BTreeMap<u64, usize>,
}

impl Snapshots {
    /// Records a reader at `lsn`.
    pub(crate) fn register(&mut self, lsn: u64) {
        *self.open.entry(lsn).or_insert(0) += 1;
    }

    /// Forgets one reader at `lsn`.
    pub(crate) fn release(&mut self, lsn: u64) {
        if let Some(count) = self.open.get_mut(&lsn) {
            *count -= 1;
            if *count == 0 {
                self.open.remove(&lsn);
            }
        }
    }

    /// The oldest LSN any open snapshot reads at, or `None` when none is open.
    pub(crate) fn horizon(&self) -> Option<u64> {
        self.open.keys().next().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_horizon_is_the_oldest_open_snapshot_and_counts_duplicates() {
        let mut s = Snapshots::default();
        assert_eq!(s.horizon(), None);
        s.register(5);
        s.register(3);
        s.register(3);
        assert_eq!(s.horizon(), Some(3));
        s.release(3);
        assert_eq!(s.horizon(), Some(3));
        s.release(3);
        assert_eq!(s.horizon(), Some(5));
        s.release(5);
        s.release(5);
        assert_eq!(s.horizon(), None);
    }
}
