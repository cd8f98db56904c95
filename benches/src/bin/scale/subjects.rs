//! The databases the scale benchmark measures, behind one small interface ([`Subject`]): emdb
//! through its public API (with or without a memory budget), LMDB through heed, and redb. Each
//! is opened the way a restarted application opens it, so a reopen writes nothing.

use std::ops::{Bound, Range};
use std::path::Path;

use emdb::{Emdb, FlushPolicy};
use emdb_benches::Records;
use emdb_benches::engines::CACHE_BYTES;
use heed::types::Bytes;
use heed::{EnvOpenOptions, WithTls};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::{AnyResult, KEY_LEN, RANGE_LEN};

/// One open database under test. Every write is one durable commit; reads check that every
/// key is present and its value has the written length, and return the sum of the values' first
/// bytes for the caller to compare with the written ones.
pub(crate) trait Subject: Sized + Sync {
    /// Opens the database in `dir`, creating it in an empty directory, set up for durable
    /// commits. `budget` is emdb's memory budget (`None`: emdb's default; peers ignore it).
    fn open(dir: &Path, budget: Option<u64>) -> AnyResult<Self>;

    /// Inserts the records `indices` in one durable write transaction.
    fn write(&self, records: &Records, indices: Range<u64>) -> AnyResult<()>;

    /// Gets the records `indices` (a peer in one read transaction; emdb with the handle's owned
    /// `get`).
    fn get_each(&self, records: &Records, indices: &[u64]) -> AnyResult<u64>;

    /// Reads up to [`RANGE_LEN`] entries in key order from the key of each record in `starts`
    /// (a peer in one read transaction) through the engine's iterator; returns the number read.
    fn scan_each(&self, records: &Records, starts: &[u64]) -> AnyResult<u64>;

    /// emdb's point-index figures; `None` for the peers.
    fn index_stats(&self) -> AnyResult<Option<IndexStats>> {
        Ok(None)
    }

    /// Closes the database and waits until its files are released.
    fn close(self) -> AnyResult<()>;
}

/// The point-index fields of `emdb::Stats`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IndexStats {
    pub(crate) bytes: u64,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
}

/// Checks one value read for record `index` and returns its first byte.
fn check_value(records: &Records, index: u64, value: Option<&[u8]>) -> AnyResult<u64> {
    let value = value.ok_or_else(|| format!("record {index} is missing"))?;
    if value.len() != records.value_len() {
        return Err(format!("record {index} has a value of {} bytes", value.len()).into());
    }
    Ok(u64::from(value.first().copied().unwrap_or(0)))
}

/// Checks that a range read from record `index` started at its key.
fn check_range_start(index: u64, first_key_matches: Option<bool>) -> AnyResult<()> {
    match first_key_matches {
        Some(true) => Ok(()),
        _ => Err(format!("a range read from record {index} did not start at it").into()),
    }
}

// ---------------------------------------------------------------------------------------------
// emdb, through its public API.

/// The emdb file inside the engine's directory (emdb adds `.wal` and `.lock` sidecars).
const EMDB_FILE: &str = "emdb.db";

pub(crate) struct EmdbSubject {
    db: Emdb,
}

impl Subject for EmdbSubject {
    fn open(dir: &Path, budget: Option<u64>) -> AnyResult<Self> {
        let builder = match budget {
            Some(bytes) => Emdb::builder().memory_budget(bytes),
            None => Emdb::builder(),
        };
        let db =
            builder.path(dir.join(EMDB_FILE)).flush_policy(FlushPolicy::OnEachWrite).build()?;
        Ok(EmdbSubject { db })
    }

    fn write(&self, records: &Records, indices: Range<u64>) -> AnyResult<()> {
        self.db.transaction(|tx| records.try_for_each(indices, |k, v| tx.insert(k, v)))?;
        Ok(())
    }

    fn get_each(&self, records: &Records, indices: &[u64]) -> AnyResult<u64> {
        let mut key = Vec::with_capacity(KEY_LEN);
        let mut sum = 0;
        for &index in indices {
            records.fill_key(index, &mut key);
            sum += check_value(records, index, self.db.get(&key)?.as_deref())?;
        }
        Ok(sum)
    }

    fn scan_each(&self, records: &Records, starts: &[u64]) -> AnyResult<u64> {
        let mut key = Vec::with_capacity(KEY_LEN);
        let mut seen = 0;
        for &index in starts {
            records.fill_key(index, &mut key);
            let range = (Bound::Included(key.as_slice()), Bound::Unbounded);
            let mut first_key_matches = None;
            for entry in self.db.range::<[u8], _>(range)?.take(RANGE_LEN) {
                let (k, v) = entry?;
                first_key_matches.get_or_insert(k == key);
                std::hint::black_box(v);
                seen += 1;
            }
            check_range_start(index, first_key_matches)?;
        }
        Ok(seen)
    }

    fn index_stats(&self) -> AnyResult<Option<IndexStats>> {
        let stats = self.db.stats()?;
        Ok(Some(IndexStats {
            bytes: stats.index_bytes,
            hits: stats.index_hits,
            misses: stats.index_misses,
        }))
    }

    fn close(self) -> AnyResult<()> {
        Ok(self.db.close()?)
    }
}

// ---------------------------------------------------------------------------------------------
// LMDB, through heed: the unnamed database of one environment, default flags (every commit
// syncs).

/// The largest the data file may grow (LMDB reserves this much address space, not memory).
const LMDB_MAP_SIZE: usize = 64 << 30;

pub(crate) struct LmdbSubject {
    env: heed::Env<WithTls>,
    db: heed::Database<Bytes, Bytes>,
}

impl Subject for LmdbSubject {
    fn open(dir: &Path, _budget: Option<u64>) -> AnyResult<Self> {
        let mut options = EnvOpenOptions::new();
        options.map_size(LMDB_MAP_SIZE);
        // SAFETY: the environment lives in a directory of its own, which no other process opens
        // while this one has it open (the parent runs one child at a time, and `close` waits
        // until the environment is closed); no flag disables LMDB's locking.
        let env = unsafe { options.open(dir) }?;
        // The unnamed database always exists; opening it takes no write transaction, so a
        // reopen writes nothing.
        let rtxn = env.read_txn()?;
        let db = env.open_database(&rtxn, None)?.ok_or("LMDB has no unnamed database")?;
        rtxn.commit()?;
        Ok(LmdbSubject { env, db })
    }

    fn write(&self, records: &Records, indices: Range<u64>) -> AnyResult<()> {
        let mut wtxn = self.env.write_txn()?;
        records.try_for_each(indices, |k, v| self.db.put(&mut wtxn, k, v))?;
        wtxn.commit()?;
        Ok(())
    }

    fn get_each(&self, records: &Records, indices: &[u64]) -> AnyResult<u64> {
        let rtxn = self.env.read_txn()?;
        let mut key = Vec::with_capacity(KEY_LEN);
        let mut sum = 0;
        for &index in indices {
            records.fill_key(index, &mut key);
            sum += check_value(records, index, self.db.get(&rtxn, &key)?)?;
        }
        Ok(sum)
    }

    fn scan_each(&self, records: &Records, starts: &[u64]) -> AnyResult<u64> {
        let rtxn = self.env.read_txn()?;
        let mut key = Vec::with_capacity(KEY_LEN);
        let mut seen = 0;
        for &index in starts {
            records.fill_key(index, &mut key);
            let range = (Bound::Included(key.as_slice()), Bound::Unbounded);
            let mut first_key_matches = None;
            for entry in self.db.range(&rtxn, &range)?.take(RANGE_LEN) {
                let (k, v) = entry?;
                first_key_matches.get_or_insert(k == key.as_slice());
                std::hint::black_box(v);
                seen += 1;
            }
            check_range_start(index, first_key_matches)?;
        }
        Ok(seen)
    }

    fn close(self) -> AnyResult<()> {
        self.env.prepare_for_closing().wait();
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// redb: one table in one file, a cache of `CACHE_BYTES`, `Durability::Immediate` (the default).

const REDB_FILE: &str = "redb.db";
const REDB_TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("scale");

pub(crate) struct RedbSubject {
    db: redb::Database,
}

impl Subject for RedbSubject {
    fn open(dir: &Path, _budget: Option<u64>) -> AnyResult<Self> {
        // `create` opens the file if it exists; the table is created by the first write.
        let db =
            redb::Database::builder().set_cache_size(CACHE_BYTES).create(dir.join(REDB_FILE))?;
        Ok(RedbSubject { db })
    }

    fn write(&self, records: &Records, indices: Range<u64>) -> AnyResult<()> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(REDB_TABLE)?;
            records.try_for_each(indices, |k, v| table.insert(k, v).map(drop))?;
        }
        txn.commit()?;
        Ok(())
    }

    fn get_each(&self, records: &Records, indices: &[u64]) -> AnyResult<u64> {
        let table = self.db.begin_read()?.open_table(REDB_TABLE)?;
        let mut key = Vec::with_capacity(KEY_LEN);
        let mut sum = 0;
        for &index in indices {
            records.fill_key(index, &mut key);
            let guard = ReadableTable::get(&table, key.as_slice())?;
            sum += check_value(records, index, guard.as_ref().map(redb::AccessGuard::value))?;
        }
        Ok(sum)
    }

    fn scan_each(&self, records: &Records, starts: &[u64]) -> AnyResult<u64> {
        let table = self.db.begin_read()?.open_table(REDB_TABLE)?;
        let mut key = Vec::with_capacity(KEY_LEN);
        let mut seen = 0;
        for &index in starts {
            records.fill_key(index, &mut key);
            let mut first_key_matches = None;
            for entry in ReadableTable::range(&table, key.as_slice()..)?.take(RANGE_LEN) {
                let (k, v) = entry?;
                first_key_matches.get_or_insert(k.value() == key.as_slice());
                std::hint::black_box(v.value());
                seen += 1;
            }
            check_range_start(index, first_key_matches)?;
        }
        Ok(seen)
    }

    fn close(self) -> AnyResult<()> {
        drop(self.db);
        Ok(())
    }
}
