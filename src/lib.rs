//! emdb: an embedded database for Rust.
//!
//! emdb runs inside your process: no server, no network, no schema language. It stores bytes
//! under bytes in ordered namespaces, with closure transactions, a time-to-live on any entry and
//! dotted-prefix groups; on top of that byte engine, typed tables store plain Rust structs
//! through serde, and derive macros name their table and key. One process opens a database at a
//! time; inside it, the handle is `Send + Sync` and cheap to clone.
//!
//! This crate is the facade: it re-exports `emdb-core` (the byte engine), `emdb-typed` (typed
//! tables and codecs) and `emdb-derive` (the derives), so `use emdb::...` is all you need.
//!
//! # A first database
//!
//! ```
//! use emdb::Emdb;
//!
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("app.emdb");
//! let db = Emdb::open(&path)?;                 // creates app.emdb (and its sidecars) if missing
//! db.insert("user:1", "alice")?;               // durable when it returns (the default policy)
//! assert_eq!(db.get("user:1")?, Some(b"alice".to_vec()));
//! for item in db.prefix("user:")? {            // ordered reads: iter, range, prefix, keys
//!     let (key, value) = item?;
//!     assert_eq!((key, value), (b"user:1".to_vec(), b"alice".to_vec()));
//! }
//! db.close()?;                                 // or drop it; close reports what drop cannot
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Emdb::open_in_memory`] gives the same API without files, for tests and caches.
//!
//! # The files on disk
//!
//! A database at path `x` is three files side by side:
//!
//! | file | what it holds | lifetime |
//! | --- | --- | --- |
//! | `x` | the page file: a copy-on-write B+tree of 4 KiB pages, two meta pages, values packed many to a page | the database itself; an existing empty file becomes a new database |
//! | `x.wal` | the write-ahead log: one checksummed frame per commit since the last checkpoint | folded into `x` by each checkpoint; a log deleted after a clean close loses nothing |
//! | `x.lock` | the process id of the writer, to name it in [`Error::Locked`] | while a writer has the database open |
//!
//! The lock itself is on the page file: a second opener, in this process or another, through
//! any name of the file, gets [`Error::Locked`]. Any number of
//! [read-only handles](EmdbBuilder::read_only) may share a file that no writer has open. Copy
//! a database with [`Emdb::backup_to`] while it is in use, and shrink its file with
//! [`Emdb::compact`]; `docs/design.md` describes the format byte by byte.
//!
//! # Durability
//!
//! A commit is appended to the log; [`FlushPolicy`] says when the log reaches the disk:
//! [`OnEachWrite`](FlushPolicy::OnEachWrite) (the default: durable when the call returns; threads
//! committing at once share one `fdatasync`), [`EveryN(n)`](FlushPolicy::EveryN),
//! [`Interval(d)`](FlushPolicy::Interval) or [`Manual`](FlushPolicy::Manual) (durable after
//! [`Emdb::flush`]). Under every policy a process crash loses nothing committed, and after a
//! power loss the database opens holding a prefix of the commits, never half a transaction.
//! Checkpoints ([`Emdb::checkpoint`], automatic past a log size, and on close) write the
//! changes into the page file.
//!
//! ```
//! use emdb::{Emdb, FlushPolicy};
//!
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("events.emdb");
//! let db = Emdb::builder().path(&path).flush_policy(FlushPolicy::Manual).build()?;
//! for i in 0..1_000u32 {
//!     db.insert(i.to_be_bytes(), "event")?;    // in the log, not yet synced
//! }
//! db.flush()?;                                 // one fdatasync: all 1,000 are durable
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Transactions
//!
//! [`Emdb::transaction`] runs a closure alone (one writer at a time) that reads its own writes,
//! may span namespaces, and commits atomically when it returns `Ok`; an `Err` or a panic
//! leaves no trace. For many reads that must agree, [`Emdb::snapshot`] gives a read view.
//!
//! ```
//! use emdb::{Emdb, Error};
//!
//! let db = Emdb::open_in_memory();
//! db.insert("alice", "100")?;
//! db.transaction::<_, ()>(|tx| {
//!     tx.insert("alice", "70")?;
//!     tx.insert("bob", "30")?;
//!     Ok(())
//! })?;
//! let refused = db.transaction::<_, ()>(|tx| {
//!     tx.insert("alice", "0")?;
//!     Err(Error::TransactionAborted("insufficient funds"))
//! });
//! assert!(refused.is_err());
//! assert_eq!(db.get("alice")?, Some(b"70".to_vec()));
//! # Ok::<(), Error>(())
//! ```
//!
//! # Typed tables
//!
//! A [`Table<K, V, C>`](Table) stores serde types. Keys go through an order-preserving encoding
//! ([`key`]), so iteration follows `Ord` of `K`; values go through a codec: [`Postcard`] (the
//! default, always built), `Bincode` and `Json` (cargo features `bincode` and `json`, on by
//! default). Each table has a namespace of its own, and its codec and the shapes of its key and
//! value types are recorded and checked on every open ([`Error::TableTypeMismatch`]). Keys and
//! values own their data ([`TableKey`], [`TableValue`]): use `String`, not `&str`, and a
//! `Table<&str, V>` fails to compile with an error that says so ([`owned`]).
//!
//! ```
//! use emdb::{Emdb, Table};
//!
//! let db = Emdb::open_in_memory();
//! let scores = Table::<i64, String>::open(&db, "scores")?;
//! scores.insert(&-5, &"minus five".to_owned())?;
//! scores.insert(&3, &"three".to_owned())?;
//! assert_eq!(scores.range(..=-5)?.count(), 1);        // i64 order, not byte order
//! assert_eq!(scores.get(&3)?, Some("three".to_owned()));
//! # Ok::<(), emdb::Error>(())
//! ```
//!
//! With the `derive` feature (on by default), `#[derive(Record)]` names a struct's table, key,
//! codec and schema version; `Record` documents how a struct evolves across versions.
//!
//! ```
//! # #[cfg(feature = "derive")] {
//! use emdb::{Emdb, Record};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize, Record)]
//! #[emdb(table = "users")]
//! struct User {
//!     #[emdb(key)]
//!     id: u64,
//!     name: String,
//! }
//!
//! let db = Emdb::open_in_memory();
//! let users = User::table(&db)?;
//! users.put(&User { id: 1, name: "Ada".into() })?;    // stored under its own key
//! assert_eq!(users.get(&1)?.map(|u| u.name), Some("Ada".to_owned()));
//! # }
//! # Ok::<(), emdb::Error>(())
//! ```
//!
//! # Groups
//!
//! Keys with dots form groups: [`Emdb::group`] reads every key under `product.` at any depth as
//! a range scan (its cost follows the group, not the database), [`Emdb::delete_group`] removes
//! them in one atomic commit, and [`Emdb::focus`] is a cheap handle on the keys under a prefix.
//! `#[derive(Group)]` stores a struct as one entry per field under such a prefix.
//!
//! ```
//! use emdb::Emdb;
//!
//! let db = Emdb::open_in_memory();
//! db.insert("product.phone.name", "Phone X")?;
//! db.insert("product.phone.price", "799")?;
//! db.insert("product.tablet.name", "Tab")?;
//! assert_eq!(db.group("product.phone")?.count(), 2);
//! assert_eq!(db.group("product")?.count(), 3);
//! assert_eq!(db.delete_group("product.phone")?, 2);
//! # Ok::<(), emdb::Error>(())
//! ```
//!
//! # TTL
//!
//! Any entry can expire: [`Ttl::After`] sets a lifetime, [`EmdbBuilder::default_ttl`] one for
//! every plain insert. An expired entry is invisible to every read at once (`get`, `len`,
//! iterators, groups, transactions), and [`Emdb::purge_expired`] reclaims its space. The clock
//! can be replaced ([`ManualClock`]) for tests.
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use emdb::{Emdb, ManualClock, Ttl};
//!
//! let clock = ManualClock::new(1_000_000);
//! let db = Emdb::builder().clock(Arc::new(clock.clone())).build()?;
//! db.insert_with_ttl("session", "token", Ttl::After(Duration::from_secs(30)))?;
//! clock.advance(Duration::from_secs(31));
//! assert_eq!(db.get("session")?, None);
//! assert_eq!(db.purge_expired()?, 1);
//! # Ok::<(), emdb::Error>(())
//! ```
//!
//! # Errors
//!
//! Every fallible call returns [`Result`], whose error is one `#[non_exhaustive]` [`Error`]
//! enum; each variant carries what the caller needs to act and a message that says what to do.
//! The ones to expect:
//!
//! | variant | when |
//! | --- | --- |
//! | [`Error::Locked`] | another handle (this process or another) has the database open for writing |
//! | [`Error::KeyTooLarge`], [`Error::ValueTooLarge`] | a key over [`MAX_KEY_LEN`] (1 KiB) or a value over [`MAX_VALUE_LEN`] (256 MiB); nothing was written |
//! | [`Error::Io`] | the file system failed (with the path); a failed sync also poisons the handle |
//! | [`Error::Poisoned`] | an earlier write or sync failed: the log holds every commit, reopen to recover |
//! | [`Error::Corruption`], [`Error::NotAnEmdbFile`] | a damaged file (with its path and offset), or a file of another program |
//! | [`Error::ForeignLog`], [`Error::StaleLog`], [`Error::LogMissing`] | a `.wal` that does not belong with the page file; nothing was changed |
//! | [`Error::TableTypeMismatch`], [`Error::SchemaChanged`] | a typed table opened with other types than it was created with |
//! | [`Error::Encode`], [`Error::Decode`] | a codec failed on a value (with the table and key) |
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `derive` | on | `#[derive(Record)]`, `#[derive(Group)]`, `#[derive(GroupFields)]` (builds `syn`) |
//! | `json` | on | the `Json` codec, and `TableInfo::decode_key`/`decode_value` (builds `serde_json`) |
//! | `bincode` | on | the `Bincode` codec (builds `bincode`) |
//!
//! # Where to go next
//!
//! * [`Emdb`]: every method of the raw API; [`EmdbBuilder`]: every setting.
//! * [`Table`]: typed tables, their storage layout and schema evolution; [`Record`](trait@Record) and
//!   [`Group`](trait@Group): the derives.
//! * The README: when to pick emdb and when not, the examples (`cargo run --example quickstart`),
//!   benchmarks against redb, LMDB, sled, fjall and `RocksDB`, and what the test suites check.
//! * `docs/design.md` (the file format and the protocols) and `docs/BENCH.md` (every measurement).
#![forbid(unsafe_code)]

pub use emdb_core::{
    AutoReclaim, BoxError, Clock, Commit, CompareAndSwapError, DEFAULT_WATCH_CAPACITY, Emdb,
    EmdbBuilder, Error, FlushPolicy, Focus, GROUP_SEPARATOR, IntegrityReport, Iter, Keys,
    MAX_KEY_LEN, MAX_VALUE_LEN, ManualClock, Namespace, Operation, Progress, RawEvent, Result,
    SEQUENCE_NAMESPACE, Sequence, Snapshot, Stats, SystemClock, Transaction, Ttl, TxIter,
    TxNamespace, Watcher,
};
#[cfg(feature = "derive")]
pub use emdb_derive::{Group, GroupFields, Record};
#[cfg(feature = "bincode")]
pub use emdb_typed::Bincode;
#[cfg(feature = "json")]
pub use emdb_typed::Json;
pub use emdb_typed::{
    CATALOG_NAMESPACE, Codec, FieldFocus, FieldReader, FieldWriter, Group, GroupFields, GroupIter,
    GroupPath, Header, INDEX_NAMESPACE_PREFIX, Index, IndexIter, IsUnique, MAX_TABLE_NAME_LEN,
    NonUnique, Postcard, Record, TABLE_NAMESPACE_PREFIX, Table, TableEvent, TableInfo, TableIter,
    TableKey, TableOptions, TableSnapshot, TableValue, TxTable, TxTableIter, Unique, Uniqueness,
    codec_name, key, owned, read_header, write_header,
};

/// The README's code blocks, compiled and run as doctests so they never rot (with the default
/// features: they use the derives and every codec).
#[cfg(all(doctest, feature = "derive", feature = "bincode", feature = "json"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
