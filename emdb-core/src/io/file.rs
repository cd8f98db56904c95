//! [`FileStorage`]: the I/O seam over real files (`std::fs`, positioned I/O, an advisory lock
//! on the page file itself, and the one read-only memory mapping of emdb). What differs
//! between operating systems is in [`platform`].

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::platform;
use super::{FileId, LockGuard, LockMode, SharedMap, Storage, StorageFile, lock_held};

/// How many symbolic links [`FileStorage::resolve`] follows before it gives up (as the
/// kernel's own limit, `ELOOP`).
const MAX_LINKS: usize = 40;

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

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        Ok(Box::new(RealFile { file: File::open(path)? }))
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
        platform::sync_dir(dir)
    }

    fn rename_noreplace(&self, from: &Path, to: &Path) -> io::Result<()> {
        platform::rename_noreplace(from, to)
    }

    fn lock(&self, path: &Path, mode: LockMode) -> io::Result<LockGuard> {
        // Its own descriptor, read-only: the lock (`flock` on Unix) belongs to this open file
        // description, so it is released exactly when the guard is dropped, whatever other
        // handles of the file stay open.
        let file = File::open(path)?;
        let identity = platform::file_id(&file)?;
        match platform::try_lock(&file, mode) {
            Ok(()) => Ok(LockGuard::new(identity, Box::new(file))),
            Err(std::fs::TryLockError::WouldBlock) => Err(lock_held(path)),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    fn identity(&self, path: &Path) -> io::Result<Option<FileId>> {
        match platform::path_id(path) {
            Ok(id) => Ok(Some(id)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
        let mut path = std::path::absolute(path)?;
        for _ in 0..MAX_LINKS {
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let target = std::fs::read_link(&path)?;
                    // A relative target is relative to the link's directory.
                    path = super::parent_dir(&path).join(target);
                }
                Ok(_) => return platform::canonicalize(&path),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    // A file still to be created: its directory resolved, its own name kept.
                    let name = path.file_name().ok_or_else(|| {
                        io::Error::new(io::ErrorKind::InvalidInput, "the path names no file")
                    })?;
                    return Ok(platform::canonicalize(super::parent_dir(&path))?.join(name));
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("more than {MAX_LINKS} symbolic links in a chain at {}", path.display()),
        ))
    }

    fn copy_permissions(&self, from: &Path, to: &Path) -> io::Result<()> {
        let meta = std::fs::metadata(from)?;
        std::fs::set_permissions(to, meta.permissions())?;
        platform::copy_owner(&meta, to)
    }
}

impl StorageFile for RealFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        platform::read_exact_at(&self.file, buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        platform::write_all_at(&self.file, buf, offset)
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
        // - it is the only writer: the database holds the exclusive lock on the page file for as
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
        #[expect(unsafe_code, reason = "the only writer, never shrinks, copy-on-write pages")]
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
    #[cfg(unix)]
    fn a_lock_held_by_another_handle_is_refused_through_every_name_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("db");
        std::fs::write(&p, b"x").unwrap();
        let hard = dir.path().join("hard");
        std::fs::hard_link(&p, &hard).unwrap();
        let soft = dir.path().join("soft");
        std::os::unix::fs::symlink(&p, &soft).unwrap();
        let g = FileStorage.lock(&p, LockMode::Exclusive).unwrap();
        for name in [&p, &hard, &soft] {
            for mode in [LockMode::Exclusive, LockMode::Shared] {
                let err = FileStorage.lock(name, mode).unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{}", name.display());
            }
        }
        drop(g);
        let shared = FileStorage.lock(&soft, LockMode::Shared).unwrap();
        assert!(FileStorage.lock(&hard, LockMode::Shared).is_ok());
        assert!(FileStorage.lock(&hard, LockMode::Exclusive).is_err());
        drop(shared);
        assert!(FileStorage.lock(&hard, LockMode::Exclusive).is_ok());
    }

    #[test]
    #[cfg(unix)]
    fn resolve_follows_links_and_keeps_the_name_of_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(real.join("data")).unwrap();
        std::fs::write(real.join("data/db"), b"x").unwrap();
        std::os::unix::fs::symlink("data/db", real.join("link")).unwrap();
        std::os::unix::fs::symlink(real.join("link"), real.join("link2")).unwrap();
        std::os::unix::fs::symlink("data/new", real.join("dangling")).unwrap();
        assert_eq!(FileStorage.resolve(&real.join("link2")).unwrap(), real.join("data/db"));
        assert_eq!(FileStorage.resolve(&real.join("data/../link")).unwrap(), real.join("data/db"));
        assert_eq!(FileStorage.resolve(&real.join("dangling")).unwrap(), real.join("data/new"));
        assert_eq!(FileStorage.resolve(&real.join("fresh")).unwrap(), real.join("fresh"));
        std::os::unix::fs::symlink("loop", real.join("loop")).unwrap();
        assert!(FileStorage.resolve(&real.join("loop")).is_err());
    }

    #[test]
    #[cfg(unix)]
    fn copy_permissions_carries_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"x").unwrap();
        std::fs::write(&b, b"y").unwrap();
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o600)).unwrap();
        FileStorage.copy_permissions(&a, &b).unwrap();
        assert_eq!(std::fs::metadata(&b).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
