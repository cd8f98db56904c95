//! [`IntegrityReport`]: what [`Emdb::check_integrity`](crate::Emdb::check_integrity) found in a
//! healthy database.

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
}
