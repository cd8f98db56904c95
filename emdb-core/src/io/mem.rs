//! [`MemStorage`]: the I/O seam over files that live in memory only (the in-memory mode and
//! tests). Syncs do nothing; everything is lost when the storage is dropped.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::{FileId, LockGuard, LockMode, LockTable, Storage, StorageFile, lock_held};

/// The bytes of one in-memory file, shared by every handle open on it.
type Bytes = Arc<RwLock<Vec<u8>>>;

/// A directory of in-memory files. Clones share the same files.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemStorage {
    files: Arc<Mutex<HashMap<PathBuf, Bytes>>>,
    locks: Arc<Mutex<LockTable<FileId>>>,
}

impl MemStorage {
    /// An empty storage.
    pub(crate) fn new() -> Self {
        Self::default()
    }
}

/// An open in-memory file.
#[derive(Debug)]
struct MemFile {
    bytes: Bytes,
}

/// Releases an in-memory lock when dropped.
struct MemLock {
    locks: Arc<Mutex<LockTable<FileId>>>,
    identity: FileId,
    mode: LockMode,
}

impl Drop for MemLock {
    fn drop(&mut self) {
        self.locks.lock().unlock(&self.identity, self.mode);
    }
}

/// An in-memory file's identity: where its bytes live.
fn mem_id(bytes: &Bytes) -> FileId {
    FileId { device: 0, file: Arc::as_ptr(bytes) as usize as u64 }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{} not found", path.display()))
}

impl Storage for MemStorage {
    fn open_file(&self, path: &Path, create: bool) -> io::Result<Box<dyn StorageFile>> {
        let mut files = self.files.lock();
        let bytes = match files.get(path) {
            Some(b) => Arc::clone(b),
            None if create => Arc::clone(files.entry(path.to_path_buf()).or_default()),
            None => return Err(not_found(path)),
        };
        Ok(Box::new(MemFile { bytes }))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        self.open_file(path, false)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        Ok(self.files.lock().contains_key(path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut files = self.files.lock();
        let bytes = files.remove(from).ok_or_else(|| not_found(from))?;
        files.insert(to.to_path_buf(), bytes);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.files.lock().remove(path).map(drop).ok_or_else(|| not_found(path))
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }

    fn rename_noreplace(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut files = self.files.lock();
        if files.contains_key(to) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "target exists"));
        }
        let bytes = files.remove(from).ok_or_else(|| not_found(from))?;
        files.insert(to.to_path_buf(), bytes);
        Ok(())
    }

    fn lock(&self, path: &Path, mode: LockMode) -> io::Result<LockGuard> {
        let identity = self.identity(path)?.ok_or_else(|| not_found(path))?;
        if !self.locks.lock().try_lock(identity, mode) {
            return Err(lock_held(path));
        }
        let held = MemLock { locks: Arc::clone(&self.locks), identity, mode };
        Ok(LockGuard::new(identity, Box::new(held)))
    }

    fn identity(&self, path: &Path) -> io::Result<Option<FileId>> {
        Ok(self.files.lock().get(path).map(mem_id))
    }

    fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
        Ok(path.to_path_buf())
    }

    fn copy_permissions(&self, _from: &Path, _to: &Path) -> io::Result<()> {
        Ok(())
    }
}

/// Converts a file offset to a memory index, refusing offsets this machine cannot address.
pub(super) fn mem_index(offset: u64, len: usize) -> io::Result<(usize, usize)> {
    let start = usize::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
    let end = start
        .checked_add(len)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
    Ok((start, end))
}

/// Reads `buf.len()` bytes at `offset` of `data`.
pub(super) fn read_vec(data: &[u8], buf: &mut [u8], offset: u64) -> io::Result<()> {
    let (start, end) = mem_index(offset, buf.len())?;
    let src = data.get(start..end).ok_or_else(|| {
        io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the file")
    })?;
    buf.copy_from_slice(src);
    Ok(())
}

/// Writes `buf` at `offset` of `data`, growing it with zeros when needed.
pub(super) fn write_vec(data: &mut Vec<u8>, buf: &[u8], offset: u64) -> io::Result<()> {
    let (start, end) = mem_index(offset, buf.len())?;
    if data.len() < end {
        data.resize(end, 0);
    }
    if let Some(dst) = data.get_mut(start..end) {
        dst.copy_from_slice(buf);
    }
    Ok(())
}

impl StorageFile for MemFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        read_vec(&self.bytes.read(), buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        write_vec(&mut self.bytes.write(), buf, offset)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let (len, _) = mem_index(len, 0)?;
        self.bytes.write().resize(len, 0);
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.bytes.read().len() as u64)
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_of_a_mem_storage_share_their_files() {
        let s = MemStorage::new();
        let t = s.clone();
        s.open_file(Path::new("f"), true).unwrap().write_at(b"x", 0).unwrap();
        assert!(t.exists(Path::new("f")).unwrap());
    }
}
