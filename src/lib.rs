//! emdb: an embedded database for Rust.
#![forbid(unsafe_code)]

pub use emdb_core::*;
