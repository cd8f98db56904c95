//! The raw byte engine of emdb.
//!
//! This crate is re-exported by the `emdb` facade; most users depend on `emdb` instead.

mod batch;
mod error;
#[allow(dead_code)] // wired into the keyspace by the persistence step
mod io;
#[allow(dead_code)] // wired into the keyspace by the persistence step
mod page;
#[allow(dead_code)] // wired into the keyspace by the persistence step
mod tree;
#[allow(dead_code)] // wired into the keyspace by the persistence step
mod wal;

pub use error::{BoxError, Error, Result};
