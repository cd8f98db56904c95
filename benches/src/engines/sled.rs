//! The sled adapter: the default tree of one sled database.
//!
//! sled has no per-commit durability setting: a batch is applied atomically and written out by a
//! background flush (every 500 ms by default). Durable phases call `Db::flush` after each batch,
//! which returns once everything written so far is on disk. sled 0.34 has no compaction call.

use std::ops::Range;
use std::path::Path;

use crate::Records;
use crate::engine::{BenchResult, Compaction, Durability, Engine, OpenError, Reader};
use crate::engines::CACHE_BYTES;

/// A sled database in the benchmark directory with a cache of [`CACHE_BYTES`].
#[derive(Debug)]
pub struct SledEngine {
    db: sled::Db,
}

impl SledEngine {
    fn apply(&self, batch: sled::Batch, durability: Durability) -> BenchResult<()> {
        self.db.apply_batch(batch)?;
        if durability == Durability::Durable {
            self.db.flush()?;
        }
        Ok(())
    }
}

impl Engine for SledEngine {
    const NAME: &'static str = "sled";
    const DURABLE: &'static str = "`Db::flush()` after the batch";
    const NON_DURABLE: &'static str = "no flush (sled's background flush, every 500 ms)";

    const READ_MODIFY_WRITE: &'static str =
        "`Tree::fetch_and_update` (atomic: a compare-and-swap loop that retries under contention)";

    type Reader<'a> = &'a sled::Db;

    fn open(dir: &Path) -> Result<Self, OpenError> {
        let db = sled::Config::new().path(dir).cache_capacity(CACHE_BYTES as u64).open()?;
        Ok(SledEngine { db })
    }

    fn write(
        &self,
        records: &Records,
        indices: Range<u64>,
        durability: Durability,
    ) -> BenchResult<()> {
        let mut batch = sled::Batch::default();
        records.try_for_each(indices, |k, v| {
            batch.insert(k, v);
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
        let mut batch = sled::Batch::default();
        records.try_for_each_key(indices, |k| {
            batch.remove(k);
            Ok::<(), std::convert::Infallible>(())
        })?;
        self.apply(batch, durability)
    }

    fn put(&self, key: &[u8], value: &[u8], durability: Durability) -> BenchResult<()> {
        self.db.insert(key, value)?;
        if durability == Durability::Durable {
            self.db.flush()?;
        }
        Ok(())
    }

    fn read_modify_write(
        &self,
        key: &[u8],
        durability: Durability,
        modify: &mut dyn FnMut(&[u8], &mut Vec<u8>),
    ) -> BenchResult<bool> {
        let old = self.db.fetch_and_update(key, |old| {
            old.map(|old| {
                let mut new = Vec::with_capacity(old.len());
                modify(old, &mut new);
                new
            })
        })?;
        if durability == Durability::Durable {
            self.db.flush()?;
        }
        Ok(old.is_some())
    }

    fn reader(&self) -> BenchResult<&sled::Db> {
        Ok(&self.db)
    }

    fn compact(&mut self) -> BenchResult<Compaction> {
        Ok(Compaction::Unsupported("sled 0.34 has no compaction call"))
    }

    fn close(self) -> BenchResult<()> {
        self.db.flush()?;
        drop(self.db);
        Ok(())
    }
}

impl Reader for &sled::Db {
    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> BenchResult<bool> {
        match sled::Tree::get(self, key)? {
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
        for entry in self.range(from..).take(n) {
            let (key, value) = entry?;
            visit(&key, &value);
            seen += 1;
        }
        Ok(seen)
    }

    // Inline in every adapter: a count takes about a nanosecond, so whether the harness's loop
    // calls it or inlines it would otherwise decide the comparison.
    #[inline]
    fn len(&mut self) -> BenchResult<u64> {
        Ok(sled::Tree::len(self) as u64)
    }
}
