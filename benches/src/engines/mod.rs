//! One [`Engine`](crate::engine::Engine) adapter per database the harness compares: emdb and its
//! peers. Peers live only in this package.

pub mod emdb;
pub mod fjall;
pub mod heed;
pub mod redb;
#[cfg(feature = "rocksdb")]
pub mod rocksdb;
pub mod sled;

/// The cache each engine that has a configurable one is given (redb, sled, fjall,
/// `RocksDB`).
/// LMDB and emdb read through the operating system's page cache.
pub const CACHE_BYTES: usize = 1 << 30;
