//! emdb through the API a user writes first: the same database and writes as the
//! [`emdb`](super::emdb) adapter, but reads through the handle itself, with owned results: `get`
//! returns a `Vec<u8>`, and a range is the standard `Iterator` of `Emdb::range`, whose items own
//! their key and value. No snapshot, no `get_into`, no borrowed `next_ref`. The harness shows it
//! beside the tuned adapter, so the cost of the plain calls is a measured row, not a footnote.

use std::ops::{Bound, Range};
use std::path::Path;

use emdb::Emdb;

use super::emdb::EmdbEngine;
use crate::Records;
use crate::engine::{BenchResult, Compaction, Durability, Engine, OpenError, Reader};

/// emdb with a file in the benchmark directory, read through the plain API.
#[derive(Debug)]
pub struct EmdbPlainEngine {
    inner: EmdbEngine,
}

impl Engine for EmdbPlainEngine {
    const NAME: &'static str = "emdb-plain";
    const DURABLE: &'static str = EmdbEngine::DURABLE;
    const NON_DURABLE: &'static str = EmdbEngine::NON_DURABLE;
    const READ_MODIFY_WRITE: &'static str = EmdbEngine::READ_MODIFY_WRITE;

    type Reader<'a> = EmdbPlainReader<'a>;

    fn open(dir: &Path) -> Result<Self, OpenError> {
        Ok(EmdbPlainEngine { inner: EmdbEngine::open(dir)? })
    }

    fn prepare(&mut self, durability: Durability) -> BenchResult<()> {
        self.inner.prepare(durability)
    }

    fn write(
        &self,
        records: &Records,
        indices: Range<u64>,
        durability: Durability,
    ) -> BenchResult<()> {
        self.inner.write(records, indices, durability)
    }

    fn remove(
        &self,
        records: &Records,
        indices: Range<u64>,
        durability: Durability,
    ) -> BenchResult<()> {
        self.inner.remove(records, indices, durability)
    }

    fn put(&self, key: &[u8], value: &[u8], durability: Durability) -> BenchResult<()> {
        self.inner.put(key, value, durability)
    }

    fn read_modify_write(
        &self,
        key: &[u8],
        durability: Durability,
        modify: &mut dyn FnMut(&[u8], &mut Vec<u8>),
    ) -> BenchResult<bool> {
        self.inner.read_modify_write(key, durability, modify)
    }

    /// The owned `Emdb::get`, its value moved into `out`.
    fn get(&self, key: &[u8], out: &mut Vec<u8>) -> BenchResult<bool> {
        self.reader()?.get(key, out)
    }

    fn reader(&self) -> BenchResult<EmdbPlainReader<'_>> {
        Ok(EmdbPlainReader { db: self.inner.handle() })
    }

    fn compact(&mut self) -> BenchResult<Compaction> {
        self.inner.compact()
    }
}

/// Reads through the database handle: every call sees the latest commit.
#[derive(Debug)]
pub struct EmdbPlainReader<'a> {
    db: &'a Emdb,
}

impl Reader for EmdbPlainReader<'_> {
    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> BenchResult<bool> {
        // The owned value a user gets, handed over as the other adapters hand theirs: moved
        // into the caller's buffer, not copied again.
        match self.db.get(key)? {
            Some(value) => {
                *out = value;
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
        for entry in self.db.range::<[u8], _>((Bound::Included(from), Bound::Unbounded))?.take(n) {
            let (key, value) = entry?;
            visit(&key, &value);
            seen += 1;
        }
        Ok(seen)
    }

    #[inline]
    fn len(&mut self) -> BenchResult<u64> {
        Ok(self.db.len()? as u64)
    }
}
