//! Typed tables for emdb: `Table<K, V, C>` over serde, an order-preserving key encoding and
//! pluggable value codecs.
#![forbid(unsafe_code)]
