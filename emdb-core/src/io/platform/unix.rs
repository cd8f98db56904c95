//! Unix: `pread`/`pwrite`, device and inode, `flock`, `fsync` of the directory, `chown`.

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use crate::io::{FileId, LockMode};

/// Fills `buf` from `offset`; past the end is [`io::ErrorKind::UnexpectedEof`].
#[inline]
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    file.read_exact_at(buf, offset)
}

/// Writes all of `buf` at `offset`.
#[inline]
pub(crate) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    file.write_all_at(buf, offset)
}

fn id(meta: &Metadata) -> FileId {
    FileId { device: meta.dev(), file: meta.ino() }
}

/// The identity of an open file.
pub(crate) fn file_id(file: &File) -> io::Result<FileId> {
    Ok(id(&file.metadata()?))
}

/// The identity of the file at `path` (links followed).
pub(crate) fn path_id(path: &Path) -> io::Result<FileId> {
    Ok(id(&std::fs::metadata(path)?))
}

/// The absolute path of `path` with every link followed.
pub(crate) fn canonicalize(path: &Path) -> io::Result<std::path::PathBuf> {
    std::fs::canonicalize(path)
}

/// Takes an advisory lock (`flock`) on `file`'s open file description, without waiting.
pub(crate) fn try_lock(file: &File, mode: LockMode) -> Result<(), std::fs::TryLockError> {
    match mode {
        LockMode::Exclusive => file.try_lock(),
        LockMode::Shared => file.try_lock_shared(),
    }
}

/// Renames `from` to `to` unless a file is there ([`io::ErrorKind::AlreadyExists`]): a hard
/// link is never made over an existing name, and the old name goes once it is made.
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => std::fs::remove_file(from),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        // A file system without hard links: check, then rename (the check and the rename are
        // two steps there).
        Err(_) if to.symlink_metadata().is_ok() => Err(already_exists(to)),
        Err(_) => std::fs::rename(from, to),
    }
}

/// The error of a rename onto an existing name.
fn already_exists(to: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, format!("{} exists", to.display()))
}

/// Makes the creations, renames and removals in `dir` durable (`fsync` of the directory).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Gives `to` the owner and group of `from` where this process may (a privileged one may give
/// a file away; anyone may keep their own).
pub(crate) fn copy_owner(from: &Metadata, to: &Path) -> io::Result<()> {
    match std::os::unix::fs::chown(to, Some(from.uid()), Some(from.gid())) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
        other => other,
    }
}
