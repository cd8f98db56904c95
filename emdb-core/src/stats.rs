//! [`Stats`]: what [`Emdb::stats`](crate::Emdb::stats) reports about a database.

use std::time::SystemTime;

use crate::progress::Progress;

/// A snapshot of a database's size and state, from [`Emdb::stats`](crate::Emdb::stats).
///
/// File figures are zero for an in-memory database.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Live (unexpired) entries over every namespace, the default one included.
    pub live_records: u64,
    /// Heap bytes of the point index's tables over every namespace: an entry per key of the
    /// file (about 20 bytes each), or, under a
    /// [`memory_budget`](crate::EmdbBuilder::memory_budget), per key read lately; and every
    /// key written since the last checkpoint (whose value bytes the memtable shares).
    pub index_bytes: u64,
    /// Point lookups (`get`, `contains_key`, `ttl`, and the reads of writes that learn what a
    /// key held) the index answered since the database was opened.
    pub index_hits: u64,
    /// Point lookups that found no entry and descended the B+tree instead: under a memory
    /// budget, those of keys outside the working set; otherwise only while the index is being
    /// built after an open. The hit rate is `index_hits / (index_hits + index_misses)`.
    pub index_misses: u64,
    /// The size of the page file in bytes.
    pub file_bytes: u64,
    /// The bytes of write-ahead log frames (the file may be up to 64 KiB longer: zeros written
    /// ahead of small frames so that durable commits overwrite space the file already has).
    pub wal_bytes: u64,
    /// Pages of the page file that are free for reuse.
    pub free_pages: u64,
    /// Bytes of values that died in value pages since the file was created or last compacted
    /// (recorded in the file; pages freed since by automatic reclamation do not lower it).
    pub dead_value_bytes: u64,
    /// Bytes of the value pages in use that hold no live value (dead values and unused page
    /// tails): what [`AutoReclaim`](crate::AutoReclaim) frees over the next checkpoints, or
    /// [`Emdb::compact`](crate::Emdb::compact) at once. Counted in memory from the tree when
    /// the database is opened (a page without any live value by then, left by
    /// [`AutoReclaim::Off`](crate::AutoReclaim::Off), is not counted again).
    pub reclaimable_bytes: u64,
    /// Levels of the durable B+tree: 0 when empty, 1 when its root is a leaf.
    pub tree_height: u32,
    /// The file format version of the durable meta page (see docs/design.md, *Version
    /// history*): the newest this program writes once the file has taken a commit or a
    /// checkpoint, an older one for a file opened and not written since.
    pub format_version: u32,
    /// The LSN the page file holds every commit up to (0 before the first checkpoint).
    pub last_checkpoint_lsn: u64,
    /// When this handle last checkpointed (`None` if it has not yet).
    pub last_checkpoint_time: Option<SystemTime>,
    /// The LSN of the newest commit.
    pub last_lsn: u64,
    /// The long operation running now, as it last reported its progress (see
    /// [`Operation`](crate::Operation)): a compaction, a backup, an integrity check or the
    /// build of a typed table's new secondary index. Each holds the writer lock, so at most one
    /// runs at a time; `None` when none does. The same reports go to the callback of
    /// [`EmdbBuilder::on_progress`](crate::EmdbBuilder::on_progress), if one is set.
    pub running: Option<Progress>,
}
