//! [`IntegrityReport`]: what [`Emdb::check_integrity`](crate::Emdb::check_integrity) found in a
//! healthy database; and [`Checks`], the integrity checks the layers above the engine register
//! with [`Emdb::register_integrity_check`](crate::Emdb::register_integrity_check).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::Result;

/// The figures of a passed integrity check, from
/// [`Emdb::check_integrity`](crate::Emdb::check_integrity).
///
/// Page figures are those of the durable tree (the newest checkpoint) and are zero for an
/// in-memory database; record figures cover the whole database, the commits since the last
/// checkpoint included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntegrityReport {
    /// Branch and leaf pages of the durable tree.
    pub tree_pages: u64,
    /// Entries in the leaves of the durable tree (namespace catalog entries included); equal to
    /// the count in the meta page.
    pub entries: u64,
    /// Value pages at least one entry refers to.
    pub value_pages: u64,
    /// Value pages no entry refers to any more (reclaimed by [`Emdb::compact`](crate::Emdb::compact)).
    pub dead_value_pages: u64,
    /// Pages in overflow runs (values larger than half a page).
    pub overflow_pages: u64,
    /// Pages of the free-list chain.
    pub free_list_pages: u64,
    /// Free pages.
    pub free_pages: u64,
    /// Namespaces checked, the default one included.
    pub namespaces: u64,
    /// Records (live or expired but not yet purged) whose index entry was checked against the
    /// tree and the commits since the last checkpoint.
    pub records: u64,
    /// Of those, records changed since the last checkpoint (still only in the write-ahead log and
    /// in memory).
    pub uncheckpointed_records: u64,
    /// Checks registered with
    /// [`Emdb::register_integrity_check`](crate::Emdb::register_integrity_check) that ran and
    /// passed: one per typed table with secondary indexes opened on this database.
    pub registered_checks: u64,
    /// Entries those checks proved against the data they are derived from: the secondary-index
    /// entries of those tables.
    pub index_entries: u64,
}

/// An integrity check of data kept above the engine: given the database, it returns how many
/// entries it proved, or the error that describes the first disagreement.
pub(crate) type CheckFn<D> = Arc<dyn Fn(&D) -> Result<u64> + Send + Sync>;

/// The registered integrity checks of one database, by name (one per name), run in name order.
/// Generic in the handle `D` they are given, which is defined above this layer.
pub(crate) struct Checks<D>(Mutex<BTreeMap<String, CheckFn<D>>>);

impl<D> Default for Checks<D> {
    fn default() -> Self {
        Checks(Mutex::new(BTreeMap::new()))
    }
}

impl<D> fmt::Debug for Checks<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.lock().keys()).finish()
    }
}

impl<D> Checks<D> {
    /// Registers `check` under `name`, replacing the check registered under it before.
    pub(crate) fn register(&self, name: String, check: CheckFn<D>) {
        self.0.lock().insert(name, check);
    }

    /// Removes the check registered under `name`; returns whether there was one.
    pub(crate) fn unregister(&self, name: &str) -> bool {
        self.0.lock().remove(name).is_some()
    }

    /// Every registered check, in name order. The registry is not locked while they run, so a
    /// check may open what registers another.
    pub(crate) fn all(&self) -> Vec<(String, CheckFn<D>)> {
        self.0.lock().iter().map(|(name, check)| (name.clone(), Arc::clone(check))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_check_per_name_and_they_run_in_name_order() {
        fn returning(n: u64) -> CheckFn<()> {
            Arc::new(move |(): &()| -> Result<u64> { Ok(n) })
        }
        let checks: Checks<()> = Checks::default();
        checks.register("b".into(), returning(1));
        checks.register("a".into(), returning(2));
        checks.register("b".into(), returning(3));
        let ran: Vec<(String, u64)> =
            checks.all().into_iter().map(|(name, check)| (name, check(&()).unwrap_or(0))).collect();
        assert_eq!(ran, [("a".to_owned(), 2), ("b".to_owned(), 3)]);
        assert!(checks.unregister("a"));
        assert!(!checks.unregister("a"));
        assert_eq!(checks.all().len(), 1);
    }
}
