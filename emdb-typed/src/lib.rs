//! Typed tables for emdb: `Table<K, V, C>` over serde, an order-preserving key encoding and
//! pluggable value codecs.
//!
//! * [`Table`] stores keys of type `K` and values of type `V` with codec `C` in a core namespace
//!   of its own; [`TableIter`] iterates it in key order and [`TxTable`] uses it inside a
//!   transaction. [`Record`] lets a value type name its table and key.
//! * [`Index`] is a secondary index: a name and a key function over rows, [`Unique`] or
//!   [`NonUnique`]; declared with [`TableOptions::index`] (or `#[emdb(index)]`), queried with
//!   [`Table::get_by`], [`Table::find_by`] and [`Table::range_by`] ([`IndexIter`]), its entries
//!   kept in the core namespace `emdb.index.<table>` in the row's commit and proved by
//!   `Emdb::check_integrity`.
//! * [`key`] encodes keys so that their bytes sort like the values ([`key::encode`],
//!   [`key::decode`]); [`key::KeyRange`] and [`key::BoundedBy`] say which ranges and bound types
//!   a table's [`range`](Table::range) takes.
//! * [`TableKey`] and [`TableValue`] ([`owned`]) are the bounds on a table's key and value types:
//!   any serde type that owns its data; a borrowed one's compile error names the fix.
//! * [`Codec`] and its markers [`Postcard`] (the default), `Bincode` and `Json` (cargo features
//!   `bincode` and `json`, on by default) encode values.
//! * [`write_header`] and [`read_header`] frame every stored value with its codec id and schema
//!   version.
//! * [`TableInfo`] reads what the catalog records about a table (codec, key and value types of
//!   every schema version, secondary indexes) without its Rust types, and shows its stored keys
//!   and values as JSON.
//! * [`Record`] describes a struct stored whole in a typed table (`#[derive(Record)]`).
//! * [`Group`] and [`GroupFields`] store a struct as one raw entry per field under a dotted
//!   prefix (`#[derive(Group)]`, `#[derive(GroupFields)]`), with a typed [`FieldFocus`] per field.
//!
//! Core namespace names that start with `emdb.` are reserved for this crate: table `users` lives
//! in `emdb.table.users`, its index entries in `emdb.index.users`, and the catalog of tables in
//! `emdb.tables` (see
//! [`Table`'s storage layout](Table#storage-layout-the-escape-hatch)).
//!
//! # Examples
//!
//! ```
//! use emdb::{Emdb, Table};
//!
//! let db = Emdb::open_in_memory();
//! let scores = Table::<i64, String>::open(&db, "scores")?;
//! scores.insert(&-3, &"low".to_owned())?;
//! scores.insert(&10, &"high".to_owned())?;
//! assert_eq!(scores.first()?, Some((-3, "low".to_owned())));
//! # Ok::<(), emdb::Error>(())
//! ```
#![forbid(unsafe_code)]

mod catalog;
mod codec;
mod conditional;
mod dynamic;
mod group;
mod header;
mod index;
mod index_query;
mod info;
mod iter;
pub mod key;
pub mod owned;
mod record;
mod schema;
mod shape;
mod snapshot;
mod store;
mod table;
mod tx;
mod tx_range;
mod watch;

pub use catalog::{CATALOG_NAMESPACE, MAX_TABLE_NAME_LEN, TABLE_NAMESPACE_PREFIX};
#[cfg(feature = "bincode")]
pub use codec::Bincode;
#[cfg(feature = "json")]
pub use codec::Json;
pub use codec::{Codec, Postcard, codec_name};
pub use group::{FieldFocus, FieldReader, FieldWriter, Group, GroupFields, GroupIter, GroupPath};
pub use header::{Header, MAX_HEADER_LEN, read_header, write_header};
pub use index::{
    INDEX_NAMESPACE_PREFIX, Index, IndexIter, IsUnique, NonUnique, Unique, Uniqueness,
};
pub use info::TableInfo;
pub use iter::TableIter;
pub use owned::{TableKey, TableValue};
pub use record::Record;
pub use snapshot::TableSnapshot;
pub use table::{Table, TableOptions};
pub use tx::TxTable;
pub use tx_range::TxTableIter;
pub use watch::TableEvent;
