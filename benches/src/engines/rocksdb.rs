//! The `RocksDB` adapter (cargo feature `rocksdb`): the default column family, with a block cache
//! of [`CACHE_BYTES`] and a bloom filter, as redb's benchmark configures it.
//!
//! Durable writes set `WriteOptions::set_sync(true)` (the WAL is synced before the write
//! returns); non-durable ones leave the WAL unsynced. Reads go through a snapshot.

use std::ops::Range;
use std::path::Path;

use rocksdb::{
    BlockBasedOptions, Cache, DB, Direction, IteratorMode, Options, SnapshotWithThreadMode,
    WriteBatch, WriteOptions,
};

use crate::Records;
use crate::engine::{BenchResult, Compaction, Durability, Engine, OpenError, Reader};
use crate::engines::CACHE_BYTES;

/// A `RocksDB` database in the benchmark directory.
#[derive(Debug)]
pub struct RocksdbEngine {
    db: DB,
}

impl RocksdbEngine {
    fn apply(&self, batch: WriteBatch, durability: Durability) -> BenchResult<()> {
        let mut options = WriteOptions::new();
        options.set_sync(durability == Durability::Durable);
        Ok(self.db.write_opt(batch, &options)?)
    }
}

impl Engine for RocksdbEngine {
    const NAME: &'static str = "rocksdb";
    const DURABLE: &'static str = "`WriteOptions::set_sync(true)`";
    const NON_DURABLE: &'static str = "`WriteOptions::set_sync(false)` (WAL written, not synced)";

    const READ_MODIFY_WRITE: &'static str =
        "`DB::get_pinned`, then `put_opt` (not atomic: a plain `DB` has no write transaction)";

    type Reader<'a> = SnapshotWithThreadMode<'a, DB>;

    fn open(dir: &Path) -> Result<Self, OpenError> {
        let cache = Cache::new_lru_cache(CACHE_BYTES);
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        table.set_bloom_filter(10.0, false);
        let mut options = Options::default();
        options.set_block_based_table_factory(&table);
        options.create_if_missing(true);
        options.increase_parallelism(
            std::thread::available_parallelism().map_or(1, |n| i32::try_from(n.get()).unwrap_or(1)),
        );
        Ok(RocksdbEngine { db: DB::open(&options, dir)? })
    }

    fn write(
        &self,
        records: &Records,
        indices: Range<u64>,
        durability: Durability,
    ) -> BenchResult<()> {
        let mut batch = WriteBatch::default();
        records.try_for_each(indices, |k, v| {
            batch.put(k, v);
            Ok::<(), std::convert::Infallible>(())
        })?;
        self.apply(batch, durability)
    }

    fn remove(
        &self,
        records: &Records,
        indices: Range<u64>,
        durability: Durability,
    ) -> BenchResult<()> {
        let mut batch = WriteBatch::default();
        records.try_for_each_key(indices, |k| {
            batch.delete(k);
            Ok::<(), std::convert::Infallible>(())
        })?;
        self.apply(batch, durability)
    }

    fn put(&self, key: &[u8], value: &[u8], durability: Durability) -> BenchResult<()> {
        let mut options = WriteOptions::new();
        options.set_sync(durability == Durability::Durable);
        Ok(self.db.put_opt(key, value, &options)?)
    }

    fn read_modify_write(
        &self,
        key: &[u8],
        durability: Durability,
        modify: &mut dyn FnMut(&[u8], &mut Vec<u8>),
    ) -> BenchResult<bool> {
        let Some(old) = self.db.get_pinned(key)? else { return Ok(false) };
        let mut new = Vec::with_capacity(old.len());
        modify(&old, &mut new);
        drop(old);
        self.put(key, &new, durability)?;
        Ok(true)
    }

    /// `DB::get_pinned` on the handle, which is how a caller reads one key: a snapshot per read
    /// would take the database mutex each time.
    fn get(&self, key: &[u8], out: &mut Vec<u8>) -> BenchResult<bool> {
        match self.db.get_pinned(key)? {
            Some(value) => {
                out.clear();
                out.extend_from_slice(&value);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn reader(&self) -> BenchResult<Self::Reader<'_>> {
        Ok(self.db.snapshot())
    }

    fn compact(&mut self) -> BenchResult<Compaction> {
        self.db.compact_range::<&[u8], &[u8]>(None, None);
        Ok(Compaction::Done)
    }
}

impl Reader for SnapshotWithThreadMode<'_, DB> {
    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> BenchResult<bool> {
        match self.get_pinned(key)? {
            Some(value) => {
                out.clear();
                out.extend_from_slice(&value);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn scan(
        &mut self,
        from: &[u8],
        n: usize,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> BenchResult<usize> {
        let mut seen = 0;
        for entry in self.iterator(IteratorMode::From(from, Direction::Forward)).take(n) {
            let (key, value) = entry?;
            visit(&key, &value);
            seen += 1;
        }
        Ok(seen)
    }

    /// `RocksDB` keeps no exact count: this is a full scan, like sled's and fjall's `len`.
    // Inline in every adapter: a count takes about a nanosecond, so whether the harness's loop
    // calls it or inlines it would otherwise decide the comparison.
    #[inline]
    fn len(&mut self) -> BenchResult<u64> {
        let mut n = 0;
        for entry in self.iterator(IteratorMode::Start) {
            entry?;
            n += 1;
        }
        Ok(n)
    }
}
