//! [`Engine`]: the small interface the comparative harness drives every database through, with
//! the durability levels and the on-disk size measure they share.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use crate::Records;

/// Any error of an engine or of the harness around it.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// A result with a [`BenchError`].
pub type BenchResult<T> = Result<T, BenchError>;

/// The durability a write phase asks for. Each engine documents the setting it maps these to in
/// [`Engine::DURABLE`] and [`Engine::NON_DURABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The commit survives a power loss once it returns (an `fdatasync` or equivalent).
    Durable,
    /// The commit survives a crash of the process but may be lost on a power loss.
    NonDurable,
}

/// Why an engine could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// This build of the engine cannot run the benchmark at all (for example, emdb before its
    /// persistent engine is wired in). The harness reports it and goes on with the other engines.
    Unavailable(String),
    /// Opening failed for another reason.
    Failed(BenchError),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Unavailable(reason) => write!(f, "unavailable: {reason}"),
            OpenError::Failed(error) => write!(f, "open failed: {error}"),
        }
    }
}

impl From<OpenError> for BenchError {
    fn from(error: OpenError) -> Self {
        match error {
            OpenError::Unavailable(reason) => format!("unavailable: {reason}").into(),
            OpenError::Failed(error) => error,
        }
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for OpenError {
    fn from(error: E) -> Self {
        OpenError::Failed(Box::new(error))
    }
}

/// What a call to [`Engine::compact`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compaction {
    /// The engine rewrote its files.
    Done,
    /// The engine has no compaction call; the reason is printed in the results.
    Unsupported(&'static str),
}

/// A database the comparative harness can measure. One value is one open database in one
/// directory; the harness is generic over the engine, so nothing is dispatched dynamically.
///
/// Every write is one atomic commit. Reads go through a [`Reader`], which is the engine's read
/// transaction or snapshot where it has one, opened once per phase and per thread.
pub trait Engine: Sized + Sync {
    /// The name in the results, such as `"redb"`.
    const NAME: &'static str;
    /// The engine's setting for [`Durability::Durable`] commits, as printed in the results.
    const DURABLE: &'static str;
    /// The engine's setting for [`Durability::NonDurable`] commits, as printed in the results.
    const NON_DURABLE: &'static str;

    /// A read view: a read transaction, a snapshot, or the handle itself.
    type Reader<'a>: Reader
    where
        Self: 'a;

    /// Opens (or creates) the database in the empty or previously used directory `dir`, set up
    /// for [`Durability::Durable`] writes.
    ///
    /// # Errors
    /// [`OpenError::Unavailable`] if this build of the engine cannot run at all.
    fn open(dir: &Path) -> Result<Self, OpenError>;

    /// Called, untimed, before each write phase with the durability its writes ask for. Engines
    /// whose durability is fixed when they are opened reopen here; the others do nothing.
    ///
    /// # Errors
    /// I/O errors of a reopen.
    fn prepare(&mut self, durability: Durability) -> BenchResult<()> {
        let _ = durability;
        Ok(())
    }

    /// Inserts the records `indices` of `records` as one atomic commit with `durability`.
    ///
    /// # Errors
    /// The engine's write errors.
    fn write(
        &self,
        records: &Records,
        indices: Range<u64>,
        durability: Durability,
    ) -> BenchResult<()>;

    /// Removes the keys of the records `indices` as one atomic commit with `durability`.
    ///
    /// # Errors
    /// The engine's write errors.
    fn remove(
        &self,
        records: &Records,
        indices: Range<u64>,
        durability: Durability,
    ) -> BenchResult<()>;

    /// How [`read_modify_write`](Self::read_modify_write) runs, as printed in the results:
    /// in one write transaction, or as a read followed by a separate write.
    const READ_MODIFY_WRITE: &'static str;

    /// Writes `value` under `key`, inserting or replacing it, as one atomic commit with
    /// `durability`. Like every write it takes `&self`, so that client threads share one engine
    /// and each adapter brings its engine's own concurrency for writers.
    ///
    /// # Errors
    /// The engine's write errors.
    fn put(&self, key: &[u8], value: &[u8], durability: Durability) -> BenchResult<()>;

    /// Reads `key` and, if it is present, writes under it the value `modify` makes from the old
    /// one (`modify(old, new)` fills `new`, which starts empty), with `durability`: in one write
    /// transaction where the engine has one ([`READ_MODIFY_WRITE`](Self::READ_MODIFY_WRITE)
    /// says). Returns whether the key was present; nothing is written if it was not.
    ///
    /// # Errors
    /// The engine's read and write errors.
    fn read_modify_write(
        &self,
        key: &[u8],
        durability: Durability,
        modify: &mut dyn FnMut(&[u8], &mut Vec<u8>),
    ) -> BenchResult<bool>;

    /// One point read of everything committed so far, the way a caller reads one key: copies
    /// the value of `key` into `out` and returns whether the key was present. By default a
    /// [`reader`](Self::reader) opened for this one read; engines that read without a read
    /// transaction (through the handle) override it.
    ///
    /// # Errors
    /// The engine's read errors.
    fn get(&self, key: &[u8], out: &mut Vec<u8>) -> BenchResult<bool> {
        self.reader()?.get(key, out)
    }

    /// A read view of everything committed so far.
    ///
    /// # Errors
    /// The engine's errors opening a read transaction.
    fn reader(&self) -> BenchResult<Self::Reader<'_>>;

    /// Rewrites the database without the space freed by removals, if the engine can.
    ///
    /// # Errors
    /// The engine's I/O errors.
    fn compact(&mut self) -> BenchResult<Compaction>;

    /// Closes the database and waits until its files are released, so that it can be reopened.
    ///
    /// # Errors
    /// The engine's errors while closing.
    fn close(self) -> BenchResult<()> {
        drop(self);
        Ok(())
    }
}

/// Reads through one read view of an [`Engine`].
pub trait Reader {
    /// Copies the value of `key` into `out` (replacing its contents) and returns whether the key
    /// was present. Every engine pays one copy of the value, as a caller who keeps it would.
    ///
    /// # Errors
    /// The engine's read errors.
    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> BenchResult<bool>;

    /// Calls `visit` on at most `n` entries in key order, starting at the first key `>= from`;
    /// returns how many it visited.
    ///
    /// # Errors
    /// The engine's read errors.
    fn scan(
        &mut self,
        from: &[u8],
        n: usize,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> BenchResult<usize>;

    /// The number of entries.
    ///
    /// # Errors
    /// The engine's read errors.
    fn len(&mut self) -> BenchResult<u64>;

    /// Whether there are no entries.
    ///
    /// # Errors
    /// The engine's read errors.
    fn is_empty(&mut self) -> BenchResult<bool> {
        Ok(self.len()? == 0)
    }
}

/// The space the files under `dir` take on disk: allocated blocks, as `du` counts them, which
/// for sparse or preallocated files differs from their length.
///
/// # Errors
/// I/O errors walking the directory.
pub fn size_on_disk(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() { size_on_disk(&entry.path())? } else { meta.blocks() * 512 };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_on_disk_counts_files_in_subdirectories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a"), vec![1u8; 10_000]).unwrap();
        std::fs::write(dir.path().join("sub/b"), vec![1u8; 10_000]).unwrap();
        let size = size_on_disk(dir.path()).unwrap();
        assert!(size >= 20_000, "{size}");
    }
}
