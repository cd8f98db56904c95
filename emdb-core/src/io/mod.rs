//! The I/O seam: the one small trait through which every file and directory operation of the
//! engine passes (the page file, its log, the lock on the page file and the files compaction
//! and backup write), with a real, an in-memory and a fault-injecting implementation.
//!
//! Errors at this level are plain [`std::io::Error`]s; the layers above attach the file path and
//! turn them into [`crate::Error`].

#[cfg(any(test, feature = "fault-injection"))]
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "the `fault-injection` feature uses only part of it")
)]
pub(crate) mod fault;
mod file;
#[cfg(any(test, feature = "fuzzing", feature = "fault-injection"))]
#[cfg_attr(
    not(any(test, feature = "fuzzing")),
    allow(dead_code, reason = "the `fault-injection` feature uses only its buffer helpers")
)]
mod mem;
mod platform;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) use file::FileStorage;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use mem::MemStorage;

/// A read-only memory mapping of a whole file, shared between readers.
pub(crate) type SharedMap = Arc<memmap2::Mmap>;

/// A directory of files: open, rename, remove, sync the directory, and lock.
pub(crate) trait Storage: Send + Sync + fmt::Debug {
    /// Opens the file at `path` for reading and writing. When `create` is true a missing file is
    /// created empty (the caller must [`sync_dir`](Storage::sync_dir) to make the creation
    /// durable); otherwise a missing file is an error of kind [`io::ErrorKind::NotFound`].
    fn open_file(&self, path: &Path, create: bool) -> io::Result<Box<dyn StorageFile>>;

    /// Opens the existing file at `path` for reading only: no write access to the file is
    /// needed (a read-only file, a read-only mount, a file of another owner), and writes
    /// through the handle fail.
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;

    /// Whether a file exists at `path`.
    fn exists(&self, path: &Path) -> io::Result<bool>;

    /// Atomically renames `from` to `to`, replacing `to` if it exists. Durable only after a
    /// [`sync_dir`](Storage::sync_dir) of the directory.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes the file at `path`. Durable only after a [`sync_dir`](Storage::sync_dir).
    fn remove(&self, path: &Path) -> io::Result<()>;

    /// Makes the creations, renames and removals of files in `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;

    /// Atomically gives the file at `from` the name `to`, unless `to` exists: then nothing
    /// changes and the error is of kind [`io::ErrorKind::AlreadyExists`]. Durable only after a
    /// [`sync_dir`](Storage::sync_dir) of the directory.
    fn rename_noreplace(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Takes an advisory lock on the file at `path` itself, not on its name: every name of the
    /// file (links, other spellings of the path) meets the same lock. An exclusive lock
    /// excludes every other lock, a shared one only exclusive ones; a locker that is excluded,
    /// in this process or another, gets an error of kind [`io::ErrorKind::WouldBlock`]; a
    /// missing file is [`io::ErrorKind::NotFound`]. The lock stays with the file when it is
    /// renamed and is released when the guard is dropped.
    fn lock(&self, path: &Path, mode: LockMode) -> io::Result<LockGuard>;

    /// The identity of the file at `path` (links resolved), or `None` when there is none.
    fn identity(&self, path: &Path) -> io::Result<Option<FileId>>;

    /// The path the file at `path` is found at once every symbolic link is followed, made
    /// absolute: the name the database works under (its sidecars sit beside it, compaction
    /// replaces it). A missing file resolves to its resolved directory and its own name.
    fn resolve(&self, path: &Path) -> io::Result<PathBuf>;

    /// Gives the file at `to` the permission bits and, where this process may set them, the
    /// owner and group of the file at `from`: a file that replaces or copies a database keeps
    /// who may read it.
    fn copy_permissions(&self, from: &Path, to: &Path) -> io::Result<()>;
}

/// How a file is locked by [`Storage::lock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockMode {
    /// The one writer: no other lock.
    Exclusive,
    /// A reader: other readers, but no writer.
    Shared,
}

/// The locks of the in-memory storages: per file, one exclusive holder or any number of
/// shared ones.
#[cfg(any(test, feature = "fuzzing", feature = "fault-injection"))]
#[derive(Debug)]
pub(crate) struct LockTable<K> {
    held: std::collections::HashMap<K, usize>,
}

#[cfg(any(test, feature = "fuzzing", feature = "fault-injection"))]
impl<K> Default for LockTable<K> {
    fn default() -> Self {
        LockTable { held: std::collections::HashMap::new() }
    }
}

#[cfg(any(test, feature = "fuzzing", feature = "fault-injection"))]
impl<K: std::hash::Hash + Eq> LockTable<K> {
    /// The count that marks an exclusive holder.
    const EXCLUSIVE: usize = usize::MAX;

    /// Takes a lock on `key` in `mode`; false when it is excluded.
    pub(crate) fn try_lock(&mut self, key: K, mode: LockMode) -> bool {
        let held = self.held.entry(key).or_insert(0);
        match mode {
            LockMode::Exclusive if *held == 0 => *held = Self::EXCLUSIVE,
            LockMode::Shared if *held != Self::EXCLUSIVE => *held += 1,
            _ => return false,
        }
        true
    }

    /// Releases a lock on `key` taken in `mode`.
    pub(crate) fn unlock(&mut self, key: &K, mode: LockMode) {
        let Some(held) = self.held.get_mut(key) else { return };
        match mode {
            LockMode::Exclusive => *held = 0,
            LockMode::Shared => *held = held.saturating_sub(1),
        }
        if *held == 0 {
            self.held.remove(key);
        }
    }
}

/// What identifies a file whatever its name: the device and inode of a real file, a number of
/// its own for an in-memory one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FileId {
    /// The device (0 for in-memory files).
    pub(crate) device: u64,
    /// The file on the device.
    pub(crate) file: u64,
}

/// One open file: positioned reads and writes, length, and the two kinds of sync.
pub(crate) trait StorageFile: Send + Sync + fmt::Debug {
    /// Fills `buf` from the bytes at `offset`; reading past the end is an error of kind
    /// [`io::ErrorKind::UnexpectedEof`].
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;

    /// Writes all of `buf` at `offset`, growing the file when needed.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;

    /// Truncates or extends (with zeros) the file to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()>;

    /// The current length of the file in bytes.
    fn len(&self) -> io::Result<u64>;

    /// Makes the written data (and the length) durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;

    /// Makes the written data and all metadata durable (`fsync`).
    fn sync_all(&self) -> io::Result<()>;

    /// A read-only memory mapping of the first `len` bytes of the file (its whole length, which
    /// the caller knows), when the implementation supports one. The default supports none.
    fn map_readonly(&self, len: u64) -> io::Result<Option<SharedMap>> {
        let _ = len;
        Ok(None)
    }
}

/// A stand-in for a file that does not exist, read-only: it is empty, and writes fail (a
/// read-only database whose log is missing replays nothing and creates nothing).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoFile;

impl StorageFile for NoFile {
    fn read_at(&self, buf: &mut [u8], _offset: u64) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        Err(io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the file"))
    }

    fn write_at(&self, _buf: &[u8], _offset: u64) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::PermissionDenied, "the file is opened read-only"))
    }

    fn set_len(&self, _len: u64) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::PermissionDenied, "the file is opened read-only"))
    }

    fn len(&self) -> io::Result<u64> {
        Ok(0)
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        Ok(())
    }
}

/// Holds a lock taken by [`Storage::lock`]; dropping it releases the lock.
pub(crate) struct LockGuard {
    /// What to release; dropped with the guard.
    _inner: Box<dyn Send + Sync>,
    /// The locked file.
    identity: FileId,
}

impl LockGuard {
    /// Wraps whatever keeps the lock on the file `identity` held until it is dropped.
    fn new(identity: FileId, inner: Box<dyn Send + Sync>) -> Self {
        LockGuard { _inner: inner, identity }
    }

    /// The locked file.
    pub(crate) fn identity(&self) -> FileId {
        self.identity
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").field("identity", &self.identity).finish_non_exhaustive()
    }
}

/// The error a locker gets when the lock is held.
fn lock_held(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::WouldBlock, format!("{} is locked", path.display()))
}

/// The path of a sidecar file: `path` with `suffix` appended (`db` → `db.wal`).
pub(crate) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The name the file replaced by [`replace`] has until it is removed: `<to>.replaced`.
pub(crate) fn replaced_path(to: &Path) -> PathBuf {
    sidecar(to, ".replaced")
}

/// Makes the file at `from` the file at `to`, replacing the file there: after a crash, `to`
/// names the old file or the new one, each whole, or (see below) neither, with the old one at
/// `<to>.replaced`. Durable after a [`sync_dir`](Storage::sync_dir) of the directory.
///
/// One atomic rename where the system allows it. Where a file that is open cannot be renamed
/// over (Windows, whose rename of `from` over `to` is refused while `to` has handles), in two
/// steps: the old file is renamed to `<to>.replaced` (an open file can be renamed), then the
/// new one to `to`, then `<to>.replaced` is removed (on Windows it goes when its last handle
/// closes). A crash between the two renames leaves no file at `to`;
/// [`Store::open`](crate::tree::store::Store::open) then renames `<to>.replaced` back.
pub(crate) fn replace(storage: &dyn Storage, from: &Path, to: &Path) -> io::Result<()> {
    match storage.rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            let old = replaced_path(to);
            storage.rename(to, &old)?;
            if let Err(e) = storage.rename(from, to) {
                // Put the old file back: `to` is what it was.
                let _ = storage.rename(&old, to);
                return Err(e);
            }
            let _ = storage.remove(&old);
            Ok(())
        }
        other => other,
    }
}

/// The directory that holds `path`, for [`Storage::sync_dir`].
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::fault::FaultStorage;
    use super::*;

    /// Runs the same contract checks against any storage.
    #[expect(clippy::many_single_char_names, reason = "files a, b and handles f, g, r")]
    pub(crate) fn storage_contract(storage: &dyn Storage, dir: &Path) {
        let a = dir.join("a");
        let b = dir.join("b");
        assert!(!storage.exists(&a).unwrap());
        assert_eq!(storage.open_file(&a, false).unwrap_err().kind(), io::ErrorKind::NotFound);
        let f = storage.open_file(&a, true).unwrap();
        storage.sync_dir(dir).unwrap();
        assert!(storage.exists(&a).unwrap());
        assert_eq!(f.len().unwrap(), 0);
        f.write_at(b"hello", 3).unwrap();
        assert_eq!(f.len().unwrap(), 8);
        let mut buf = [0xffu8; 8];
        f.read_at(&mut buf, 0).unwrap();
        assert_eq!(&buf, b"\0\0\0hello");
        let mut past = [0u8; 4];
        assert_eq!(f.read_at(&mut past, 6).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        f.set_len(4).unwrap();
        assert_eq!(f.len().unwrap(), 4);
        f.sync_data().unwrap();
        f.sync_all().unwrap();
        drop(f);
        storage.rename(&a, &b).unwrap();
        assert!(!storage.exists(&a).unwrap());
        let g = storage.open_file(&b, false).unwrap();
        let mut four = [0u8; 4];
        g.read_at(&mut four, 0).unwrap();
        assert_eq!(&four, b"\0\0\0h");
        drop(g);
        storage.remove(&b).unwrap();
        assert!(!storage.exists(&b).unwrap());
        assert_eq!(storage.identity(&b).unwrap(), None);

        // The lock is the file's, and moves with it.
        let db = dir.join("db");
        let moved = dir.join("moved");
        let err = storage.lock(&db, LockMode::Exclusive).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        drop(storage.open_file(&db, true).unwrap());
        let guard = storage.lock(&db, LockMode::Exclusive).unwrap();
        assert_eq!(storage.identity(&db).unwrap(), Some(guard.identity()));
        for mode in [LockMode::Exclusive, LockMode::Shared] {
            assert_eq!(storage.lock(&db, mode).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        }
        storage.rename(&db, &moved).unwrap();
        let err = storage.lock(&moved, LockMode::Exclusive).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(guard);
        // Readers share; a writer waits for all of them.
        let r1 = storage.lock(&moved, LockMode::Shared).unwrap();
        let r2 = storage.lock(&moved, LockMode::Shared).unwrap();
        let err = storage.lock(&moved, LockMode::Exclusive).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(r1);
        let err = storage.lock(&moved, LockMode::Exclusive).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(r2);
        let again = storage.lock(&moved, LockMode::Exclusive).unwrap();
        drop(again);
        // A read-only handle reads.
        let r = storage.open_read(&moved).unwrap();
        assert_eq!(r.len().unwrap(), 0);
        assert_eq!(storage.open_read(&a).unwrap_err().kind(), io::ErrorKind::NotFound);

        // A rename that must not replace.
        drop(storage.open_file(&a, true).unwrap());
        let before = storage.identity(&moved).unwrap();
        let err = storage.rename_noreplace(&a, &moved).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(storage.identity(&moved).unwrap(), before);
        assert!(storage.exists(&a).unwrap());
        let ident = storage.identity(&a).unwrap();
        storage.rename_noreplace(&a, &b).unwrap();
        assert!(!storage.exists(&a).unwrap());
        assert_eq!(storage.identity(&b).unwrap(), ident);
    }

    #[test]
    fn file_storage_keeps_the_storage_contract() {
        let dir = tempfile::tempdir().unwrap();
        storage_contract(&FileStorage, dir.path());
    }

    #[test]
    fn mem_storage_keeps_the_storage_contract() {
        storage_contract(&MemStorage::new(), Path::new("/mem"));
    }

    #[test]
    fn fault_storage_without_faults_keeps_the_storage_contract() {
        storage_contract(&FaultStorage::new(7), Path::new("/mem"));
    }

    #[test]
    fn sidecar_appends_a_suffix_to_the_file_name() {
        assert_eq!(sidecar(Path::new("/x/db"), ".wal"), PathBuf::from("/x/db.wal"));
        assert_eq!(parent_dir(Path::new("db")), Path::new("."));
        assert_eq!(parent_dir(Path::new("/x/db")), Path::new("/x"));
    }
}
