//! Typed tables for emdb: `Table<K, V, C>` over serde, an order-preserving key encoding and
//! pluggable value codecs.
//!
//! * [`key`] encodes keys so that their bytes sort like the values ([`key::encode`],
//!   [`key::decode`]).
//! * [`Codec`] and its markers [`Postcard`] (the default), [`Bincode`] and [`Json`] encode values.
//! * [`write_header`] and [`read_header`] frame every stored value with its codec id and schema
//!   version.
//! * [`Record`] describes a struct stored whole in a typed table (`#[derive(Record)]`).
//! * [`Group`] and [`GroupFields`] store a struct as one raw entry per field under a dotted
//!   prefix (`#[derive(Group)]`, `#[derive(GroupFields)]`), with a typed [`FieldFocus`] per field.
#![forbid(unsafe_code)]

mod codec;
mod group;
mod header;
pub mod key;
mod record;

pub use codec::{Bincode, Codec, Json, Postcard, codec_name};
pub use group::{FieldFocus, FieldReader, FieldWriter, Group, GroupFields, GroupIter, GroupPath};
pub use header::{Header, MAX_HEADER_LEN, read_header, write_header};
pub use record::Record;
