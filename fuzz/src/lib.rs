//! The typed-layer fuzz targets' bodies; the engine targets call `emdb_core::fuzz_api`.

mod typed;

pub use typed::{typed_key, value_header};
