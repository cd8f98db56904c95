//! Typed tables for emdb: `Table<K, V, C>` over serde, an order-preserving key encoding and
//! pluggable value codecs.
//!
//! * [`key`] encodes keys so that their bytes sort like the values ([`key::encode`],
//!   [`key::decode`]).
//! * [`Codec`] and its markers [`Postcard`] (the default), [`Bincode`] and [`Json`] encode values.
//! * [`write_header`] and [`read_header`] frame every stored value with its codec id and schema
//!   version.
#![forbid(unsafe_code)]

mod codec;
mod header;
pub mod key;

pub use codec::{Bincode, Codec, Json, Postcard, codec_name};
pub use header::{Header, MAX_HEADER_LEN, read_header, write_header};
