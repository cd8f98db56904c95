//! [`FileStorage`]: the I/O seam over real files (`std::fs`, positioned I/O, `File::try_lock`,
//! and the one read-only memory mapping of emdb).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use super::{LockGuard, SharedMap, Storage, StorageFile, lock_held};

/// The storage of real files in the operating system's file systems.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FileStorage;

/// An open real file.
#[derive(Debug)]
struct RealFile {
    file: File,
}

impl Storage for FileStorage {
    fn open_file(&self, path: &Path, create: bool) -> io::Result<Box<dyn StorageFile>> {
        let file = OpenOptions::new().read(true).write(true).create(create).open(path)?;
        Ok(Box::new(RealFile { file }))
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn lock(&self, path: &Path) -> io::Result<LockGuard> {
        let file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(LockGuard::new(path, Box::new(file))),
            Err(std::fs::TryLockError::WouldBlock) => Err(lock_held(path)),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

impl StorageFile for RealFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(buf, offset)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    fn map_readonly(&self, len: u64) -> io::Result<Option<SharedMap>> {
        let Ok(len) = usize::try_from(len) else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "file too large to map"));
        };
        if len == 0 {
            // A zero-length mapping is an error on some platforms and useless everywhere.
            return Ok(None);
        }
        // SAFETY: `Mmap::map` is unsafe because the mapped bytes may change, or vanish (SIGBUS),
        // when the file is modified or truncated behind the mapping. emdb upholds, for the page
        // file it maps:
        // - it is the only writer: the database holds the exclusive lock on `<path>.lock` for as
        //   long as any mapping lives, and other programs modifying a locked database file are
        //   outside the contract (docs/design.md, "What is assumed of the disk");
        // - it never shrinks the page file while it is open (compaction writes a new file), so
        //   no mapped byte disappears;
        // - pages are copy-on-write: a page is written only while it is unreachable from every
        //   root a reader can hold (the allocator reuses a freed page only once no reader pins an
        //   older root), so bytes a reader looks at through the map never change under it.
        // - `len` is the file's length as the database last learned or made it, and the file
        //   never shrinks below it while the database is open.
        // Bytes read through the map are checksummed like any other page before they are used.
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(&self.file)? };
        Ok(Some(Arc::new(map)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_readonly_map_shows_the_file_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let f = FileStorage.open_file(&dir.path().join("m"), true).unwrap();
        assert!(f.map_readonly(0).unwrap().is_none());
        f.write_at(b"mapped", 0).unwrap();
        let map = f.map_readonly(6).unwrap().unwrap();
        assert_eq!(&map[..], b"mapped");
    }

    #[test]
    fn a_lock_held_by_another_handle_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("db.lock");
        let g = FileStorage.lock(&p).unwrap();
        let err = FileStorage.lock(&p).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(g);
        assert!(FileStorage.lock(&p).is_ok());
    }
}
