//! The raw byte engine of emdb: keys and values are bytes, grouped into namespaces and dotted
//! groups, with TTL and closure transactions.
//!
//! Most users depend on the `emdb` facade, which re-exports this crate next to the typed layer.
//!
//! # Layers
//!
//! From the bottom. A module uses modules of its own layer and of the layers below, never of a
//! layer above; `.ci/layers` checks this and that no two files import each other, directly or
//! round a loop. The files of a directory module implement the type its `mod.rs` defines
//! (`impl Keyspace` is spread over `keyspace/`), so a file's use of its own `mod.rs` is not
//! counted; every other loop fails the check.
//!
//! 1. `error`, `limits`, `clock`, `progress`, `stats`, `integrity`, `os` — the error type, size
//!    limits, time, progress reports, report types, the registry of integrity checks, and the
//!    platform calls (`malloc_trim`, `madvise`, prefetch).
//! 2. `batch`, `ttl`, `group` — what a commit applies, expiry times, group prefixes.
//! 3. `io` — the storage seam: files, the memory storage and the fault-injecting storage that
//!    crash tests run on.
//! 4. `page` — the page formats: meta pages, leaves, branches, value pages, the free list.
//! 5. `wal`, `tree` — the write-ahead log; the copy-on-write B+tree and its page store.
//! 6. `keyspace` — the engine: namespaces, the point index, memtables, the one writer, commits,
//!    checkpoints, recovery, snapshots, the merge iterator (its files are listed in
//!    `keyspace/mod.rs`).
//! 7. `iter` — the public iterators over the engine's merge iterator.
//! 8. `namespace`, `conditional`, `snapshot`, `focus`, `txn`, `txn_range`, `watch`, `sequence`, `db`,
//!    `builder` — the public handles.
//! 9. `fuzz_api`, `simulated_disk`, `tests`, `test_depth` — the fuzzing entry points, the
//!    fault-injecting disk opened to the other crates' crash tests, the whole-engine tests and
//!    how far the long test sweeps go.
//!
//! # Examples
//!
//! ```
//! use emdb::Emdb;
//!
//! let db = Emdb::open_in_memory();
//! db.insert("user:1", "alice")?;
//! assert_eq!(db.get("user:1")?, Some(b"alice".to_vec()));
//! # Ok::<(), emdb::Error>(())
//! ```

#![deny(unsafe_code)]

mod batch;
mod builder;
mod clock;
mod conditional;
mod db;
mod error;
mod focus;
mod group;
// Entry points for the fuzz targets in `fuzz/`, not an API: see the module documentation.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz_api;
#[cfg(all(test, not(feature = "fuzzing")))]
#[expect(unreachable_pub, reason = "public only for the fuzz crate, with the `fuzzing` feature")]
mod fuzz_api;
mod integrity;
mod io;
mod iter;
mod keyspace;
mod limits;
mod namespace;
mod os;
mod page;
mod progress;
mod sequence;
// The fault-injecting disk for the workspace's own crash tests, not an API: see the module
// documentation.
#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub mod simulated_disk;
mod snapshot;
mod stats;
// How far the long test sweeps go (`EMDB_TESTS`); shared with the integration tests.
#[cfg(test)]
mod test_depth;
mod tree;
mod ttl;
mod txn;
mod txn_range;
mod wal;
mod watch;

#[cfg(test)]
mod tests;

pub use builder::{AutoReclaim, EmdbBuilder};
pub use clock::{Clock, ManualClock, SystemClock};
pub use conditional::CompareAndSwapError;
pub use db::Emdb;
pub use error::{BoxError, Error, Result};
pub use focus::Focus;
pub use group::GROUP_SEPARATOR;
pub use integrity::IntegrityReport;
pub use iter::{Iter, Keys};
pub use keyspace::FlushPolicy;
pub use keyspace::{Commit, RawEvent};
pub use limits::{MAX_KEY_LEN, MAX_VALUE_LEN};
pub use namespace::Namespace;
#[doc(hidden)]
pub use progress::Tracker;
pub use progress::{Operation, Progress};
pub use sequence::{SEQUENCE_NAMESPACE, Sequence};
pub use snapshot::Snapshot;
pub use stats::Stats;
pub use ttl::Ttl;
pub use txn::{Transaction, TxNamespace};
pub use txn_range::TxIter;
pub use watch::{DEFAULT_WATCH_CAPACITY, Watcher};
