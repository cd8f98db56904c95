//! The raw byte engine of emdb.
//!
//! This crate is re-exported by the `emdb` facade; most users depend on `emdb` instead.

mod batch;
mod error;

pub use error::{BoxError, Error, Result};
