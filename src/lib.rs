//! emdb: an embedded database for Rust.
//!
//! emdb runs inside your process: no server, no network. Keys and values are bytes in the raw API
//! ([`Emdb`]), and plain Rust structs through typed tables. This crate re-exports the layers:
//! `emdb-core` (the byte engine), `emdb-typed` (typed tables) and `emdb-derive` (derive macros).
//!
//! ```
//! use emdb::Emdb;
//!
//! let db = Emdb::open_in_memory();
//! db.insert("name", "emdb")?;
//! assert_eq!(db.get("name")?, Some(b"emdb".to_vec()));
//! # Ok::<(), emdb::Error>(())
//! ```
//!
//! Typed tables store serde types; the key's [`Ord`] is the table's order:
//!
//! ```
//! use emdb::{Emdb, Table};
//!
//! let db = Emdb::open_in_memory();
//! let scores = Table::<i64, String>::open(&db, "scores")?;
//! scores.insert(&-5, &"minus five".to_owned())?;
//! scores.insert(&3, &"three".to_owned())?;
//! assert_eq!(scores.range(..=-5)?.count(), 1);
//! # Ok::<(), emdb::Error>(())
//! ```
#![forbid(unsafe_code)]

pub use emdb_core::{
    AutoReclaim, BoxError, Clock, Commit, CompareAndSwapError, DEFAULT_WATCH_CAPACITY, Emdb,
    EmdbBuilder, Error, FlushPolicy, Focus, GROUP_SEPARATOR, IntegrityReport, Iter, Keys,
    MAX_KEY_LEN, MAX_VALUE_LEN, ManualClock, Namespace, Operation, Progress, RawEvent, Result,
    SEQUENCE_NAMESPACE, Sequence, Snapshot, Stats, SystemClock, Transaction, Ttl, TxIter,
    TxNamespace, Watcher,
};
pub use emdb_derive::{Group, GroupFields, Record};
pub use emdb_typed::{
    Bincode, CATALOG_NAMESPACE, Codec, FieldFocus, FieldReader, FieldWriter, Group, GroupFields,
    GroupIter, GroupPath, Header, INDEX_NAMESPACE_PREFIX, Index, IndexIter, IsUnique, Json,
    MAX_TABLE_NAME_LEN, NonUnique, Postcard, Record, TABLE_NAMESPACE_PREFIX, Table, TableInfo,
    TableIter, TableOptions, TxTable, Unique, Uniqueness, codec_name, key, read_header,
    write_header,
};

/// The README's code blocks, compiled and run as doctests so they never rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
