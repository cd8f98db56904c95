//! The LMDB adapter, through heed: the unnamed database of one environment.
//!
//! LMDB syncs on every commit by default; non-durable phases switch the environment's `NO_SYNC`
//! flag on for their commits. Compaction is LMDB's compacting copy (`mdb_env_copy2` with
//! `MDB_CP_COMPACT`) swapped in for the data file, as redb's benchmark does it.

use std::ops::{Bound, Range};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use heed::types::Bytes;
use heed::{CompactionOption, Env, EnvFlags, EnvOpenOptions, FlagSetMode, RoTxn, WithTls};

use crate::Records;
use crate::engine::{BenchResult, Compaction, Durability, Engine, OpenError, Reader};

/// The largest the data file may grow (LMDB reserves this much address space, not memory).
const MAP_SIZE: usize = 64 << 30;
/// LMDB's data file, and where its compacted copy is written first.
const DATA_FILE: &str = "data.mdb";
const COMPACTED_FILE: &str = "data.compacted.mdb";

type Db = heed::Database<Bytes, Bytes>;

/// An LMDB environment in the benchmark directory.
#[derive(Debug)]
pub struct HeedEngine {
    /// `None` only while compaction swaps the data file.
    env: Option<Env>,
    db: Db,
    dir: PathBuf,
    /// Whether `NO_SYNC` is set; the lock also makes `set_flags` single-threaded, as LMDB requires.
    no_sync: Mutex<bool>,
}

fn open_env(dir: &Path) -> Result<(Env, Db), OpenError> {
    let mut options = EnvOpenOptions::new();
    options.map_size(MAP_SIZE);
    // SAFETY: the environment lives in a directory of its own, which no other process and no
    // other `Env` of this process opens while it is open (compaction and reopening close it and
    // wait for it to close first); no flag is set that disables LMDB's locking.
    let env = unsafe { options.open(dir) }?;
    let mut txn = env.write_txn()?;
    let db = env.create_database(&mut txn, None)?;
    txn.commit()?;
    Ok((env, db))
}

impl HeedEngine {
    fn env(&self) -> BenchResult<&Env> {
        self.env.as_ref().ok_or_else(|| "the LMDB environment is closed".into())
    }

    fn commit(
        &self,
        durability: Durability,
        f: impl FnOnce(&mut heed::RwTxn<'_>) -> BenchResult<()>,
    ) -> BenchResult<()> {
        let env = self.env()?;
        let want_no_sync = durability == Durability::NonDurable;
        let mut no_sync = self.no_sync.lock().unwrap_or_else(PoisonError::into_inner);
        if *no_sync != want_no_sync {
            let mode = if want_no_sync { FlagSetMode::Enable } else { FlagSetMode::Disable };
            // SAFETY: `NO_SYNC` only weakens durability, which is what a non-durable phase asks
            // for; the mutex held here makes this the only thread calling `set_flags`.
            unsafe { env.set_flags(EnvFlags::NO_SYNC, mode) }?;
            *no_sync = want_no_sync;
        }
        let mut txn = env.write_txn()?;
        f(&mut txn)?;
        txn.commit()?;
        Ok(())
    }
}

impl Engine for HeedEngine {
    const NAME: &'static str = "lmdb";
    const DURABLE: &'static str = "default flags (LMDB syncs data and meta page on commit)";
    const NON_DURABLE: &'static str = "`EnvFlags::NO_SYNC` set for the phase";

    const READ_MODIFY_WRITE: &'static str = "one write transaction (`get`, then `put`)";

    type Reader<'a> = HeedReader<'a>;

    fn open(dir: &Path) -> Result<Self, OpenError> {
        let (env, db) = open_env(dir)?;
        Ok(HeedEngine { env: Some(env), db, dir: dir.to_path_buf(), no_sync: Mutex::new(false) })
    }

    fn write(
        &self,
        records: &Records,
        indices: Range<u64>,
        durability: Durability,
    ) -> BenchResult<()> {
        let db = self.db;
        self.commit(durability, |txn| Ok(records.try_for_each(indices, |k, v| db.put(txn, k, v))?))
    }

    fn remove(
        &self,
        records: &Records,
        indices: Range<u64>,
        durability: Durability,
    ) -> BenchResult<()> {
        let db = self.db;
        self.commit(durability, |txn| {
            Ok(records.try_for_each_key(indices, |k| db.delete(txn, k).map(drop))?)
        })
    }

    fn put(&self, key: &[u8], value: &[u8], durability: Durability) -> BenchResult<()> {
        let db = self.db;
        self.commit(durability, |txn| Ok(db.put(txn, key, value)?))
    }

    fn read_modify_write(
        &self,
        key: &[u8],
        durability: Durability,
        modify: &mut dyn FnMut(&[u8], &mut Vec<u8>),
    ) -> BenchResult<bool> {
        let db = self.db;
        let mut found = false;
        self.commit(durability, |txn| {
            let mut new = Vec::new();
            if let Some(old) = db.get(txn, key)? {
                modify(old, &mut new);
                found = true;
            }
            if found {
                db.put(txn, key, &new)?;
            }
            Ok(())
        })?;
        Ok(found)
    }

    fn reader(&self) -> BenchResult<HeedReader<'_>> {
        Ok(HeedReader { txn: self.env()?.read_txn()?, db: self.db })
    }

    fn compact(&mut self) -> BenchResult<Compaction> {
        let env = self.env.take().ok_or("the LMDB environment is closed")?;
        let copy = env.copy_to_path(self.dir.join(COMPACTED_FILE), CompactionOption::Enabled)?;
        copy.sync_all()?;
        drop(copy);
        env.prepare_for_closing().wait();
        std::fs::rename(self.dir.join(COMPACTED_FILE), self.dir.join(DATA_FILE))?;
        let (env, db) = open_env(&self.dir)?;
        self.env = Some(env);
        self.db = db;
        *self.no_sync.get_mut().unwrap_or_else(PoisonError::into_inner) = false;
        Ok(Compaction::Done)
    }

    fn close(mut self) -> BenchResult<()> {
        if let Some(env) = self.env.take() {
            env.prepare_for_closing().wait();
        }
        Ok(())
    }
}

/// A read transaction on the LMDB environment.
pub struct HeedReader<'a> {
    txn: RoTxn<'a, WithTls>,
    db: Db,
}

impl Reader for HeedReader<'_> {
    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> BenchResult<bool> {
        match self.db.get(&self.txn, key)? {
            Some(value) => {
                out.clear();
                out.extend_from_slice(value);
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
        let range = (Bound::Included(from), Bound::Unbounded);
        let mut seen = 0;
        for entry in self.db.range(&self.txn, &range)?.take(n) {
            let (key, value) = entry?;
            visit(key, value);
            seen += 1;
        }
        Ok(seen)
    }

    // Inline in every adapter: a count takes about a nanosecond, so whether the harness's loop
    // calls it or inlines it would otherwise decide the comparison.
    #[inline]
    fn len(&mut self) -> BenchResult<u64> {
        Ok(self.db.len(&self.txn)?)
    }
}
