//! The redb adapter: one table of byte keys and values in one file.

use std::ops::Range;
use std::path::Path;

use redb::{
    Database, Durability as RedbDurability, ReadOnlyTable, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition,
};

use crate::Records;
use crate::engine::{BenchResult, Compaction, Durability, Engine, OpenError, Reader};
use crate::engines::CACHE_BYTES;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("bench");

/// The database file inside the benchmark directory.
const FILE: &str = "redb.db";

/// At most this many passes of `Database::compact`, which returns `true` while it made progress.
const MAX_COMPACTION_PASSES: usize = 16;

/// redb with its file in the benchmark directory and a cache of [`CACHE_BYTES`].
#[derive(Debug)]
pub struct RedbEngine {
    db: Database,
}

impl RedbEngine {
    fn commit(
        &self,
        durability: Durability,
        f: impl FnOnce(&mut redb::Table<'_, &'static [u8], &'static [u8]>) -> BenchResult<()>,
    ) -> BenchResult<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(match durability {
            Durability::Durable => RedbDurability::Immediate,
            Durability::NonDurable => RedbDurability::None,
        })?;
        {
            let mut table = txn.open_table(TABLE)?;
            f(&mut table)?;
        }
        txn.commit()?;
        Ok(())
    }
}

impl Engine for RedbEngine {
    const NAME: &'static str = "redb";
    const DURABLE: &'static str = "`Durability::Immediate` (the default)";
    const NON_DURABLE: &'static str = "`Durability::None`";

    const READ_MODIFY_WRITE: &'static str = "one write transaction (`get`, then `insert`)";

    type Reader<'a> = ReadOnlyTable<&'static [u8], &'static [u8]>;

    fn open(dir: &Path) -> Result<Self, OpenError> {
        let db = Database::builder().set_cache_size(CACHE_BYTES).create(dir.join(FILE))?;
        let txn = db.begin_write()?;
        txn.open_table(TABLE)?;
        txn.commit()?;
        Ok(RedbEngine { db })
    }

    fn write(
        &self,
        records: &Records,
        indices: Range<u64>,
        durability: Durability,
    ) -> BenchResult<()> {
        self.commit(durability, |table| {
            records.try_for_each(indices, |k, v| table.insert(k, v).map(drop))?;
            Ok(())
        })
    }

    fn remove(
        &self,
        records: &Records,
        indices: Range<u64>,
        durability: Durability,
    ) -> BenchResult<()> {
        self.commit(durability, |table| {
            records.try_for_each_key(indices, |k| table.remove(k).map(drop))?;
            Ok(())
        })
    }

    fn put(&self, key: &[u8], value: &[u8], durability: Durability) -> BenchResult<()> {
        self.commit(durability, |table| {
            table.insert(key, value)?;
            Ok(())
        })
    }

    fn read_modify_write(
        &self,
        key: &[u8],
        durability: Durability,
        modify: &mut dyn FnMut(&[u8], &mut Vec<u8>),
    ) -> BenchResult<bool> {
        let mut found = false;
        self.commit(durability, |table| {
            let mut new = Vec::new();
            if let Some(old) = table.get(key)? {
                modify(old.value(), &mut new);
                found = true;
            }
            if found {
                table.insert(key, new.as_slice())?;
            }
            Ok(())
        })?;
        Ok(found)
    }

    fn reader(&self) -> BenchResult<Self::Reader<'_>> {
        Ok(self.db.begin_read()?.open_table(TABLE)?)
    }

    fn compact(&mut self) -> BenchResult<Compaction> {
        for _ in 0..MAX_COMPACTION_PASSES {
            if !self.db.compact()? {
                break;
            }
        }
        Ok(Compaction::Done)
    }
}

impl Reader for ReadOnlyTable<&'static [u8], &'static [u8]> {
    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> BenchResult<bool> {
        // The trait method borrows the table; the inherent `get` would clone an `Arc` per call.
        match ReadableTable::get(self, key)? {
            Some(guard) => {
                out.clear();
                out.extend_from_slice(guard.value());
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
        for entry in ReadableTable::range(self, from..)?.take(n) {
            let (key, value) = entry?;
            visit(key.value(), value.value());
            seen += 1;
        }
        Ok(seen)
    }

    // Inline in every adapter: a count takes about a nanosecond, so whether the harness's loop
    // calls it or inlines it would otherwise decide the comparison.
    #[inline]
    fn len(&mut self) -> BenchResult<u64> {
        Ok(ReadableTableMetadata::len(self)?)
    }
}
