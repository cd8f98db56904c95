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
#![forbid(unsafe_code)]

pub use emdb_core::{
    BoxError, Clock, Emdb, EmdbBuilder, Error, FlushPolicy, Focus, GROUP_SEPARATOR, Iter, Keys,
    MAX_KEY_LEN, MAX_VALUE_LEN, ManualClock, Namespace, Result, SystemClock, Transaction, Ttl,
    TxNamespace,
};
pub use emdb_derive::{Group, GroupFields, Record};
pub use emdb_typed::{
    Bincode, Codec, FieldFocus, FieldReader, FieldWriter, Group, GroupFields, GroupIter, GroupPath,
    Json, Postcard, Record,
};

/// The README's code blocks, compiled and run as doctests so they never rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
