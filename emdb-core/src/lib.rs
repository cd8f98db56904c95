//! The raw byte engine of emdb: keys and values are bytes, grouped into namespaces and dotted
//! groups, with TTL and closure transactions.
//!
//! Most users depend on the `emdb` facade, which re-exports this crate next to the typed layer.
//!
//! # Layers
//!
//! [`Emdb`] (the API) → `keyspace` (the committed state: per namespace a 32-shard point index and
//! an ordered versioned map, one writer, a snapshot registry) → the batch of operations that one
//! commit applies atomically.
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

mod batch;
mod builder;
mod clock;
mod db;
mod error;
mod focus;
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
#[cfg(test)]
mod open_close_tests;
#[allow(dead_code)] // wired into the keyspace by the persistence step
mod page;
mod prefetch;
mod progress;
mod snapshot;
mod stats;
// How far the long test sweeps go (`EMDB_TESTS`); shared with the integration tests.
#[cfg(test)]
mod test_depth;
#[allow(dead_code)] // wired into the keyspace by the persistence step
mod tree;
mod ttl;
mod txn;
mod wal;

pub use builder::{AutoReclaim, EmdbBuilder, FlushPolicy};
pub use clock::{Clock, ManualClock, SystemClock};
pub use db::Emdb;
pub use error::{BoxError, Error, Result};
pub use focus::{Focus, GROUP_SEPARATOR};
pub use integrity::IntegrityReport;
pub use iter::{Iter, Keys};
pub use limits::{MAX_KEY_LEN, MAX_VALUE_LEN};
pub use namespace::Namespace;
pub use progress::{Operation, Progress};
pub use snapshot::Snapshot;
pub use stats::Stats;
pub use ttl::Ttl;
pub use txn::{Transaction, TxNamespace};
