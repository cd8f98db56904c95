//! Windows: positioned `ReadFile`/`WriteFile`, volume serial number and file index,
//! `LockFileEx` on a byte range no data uses, no directory sync, no owner change.
//!
//! Windows locks are mandatory for the bytes they cover, also against other handles of the
//! same process. The lock therefore covers one byte far past any data ([`LOCK_OFFSET`]), which
//! no read or write ever touches: every handle of the file (the page file's own, a reader's
//! mapping) goes on working, while every locker meets the lock.

use std::fs::{File, Metadata};
use std::io;
use std::os::windows::fs::FileExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;

use windows_sys::Win32::Foundation::ERROR_LOCK_VIOLATION;
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, GetFileInformationByHandle, LOCKFILE_EXCLUSIVE_LOCK,
    LOCKFILE_FAIL_IMMEDIATELY, LockFileEx,
};
use windows_sys::Win32::System::IO::OVERLAPPED;

use crate::io::{FileId, LockMode};

/// Where the lock byte is: 2^62, far past any file emdb writes (the page file's pages are
/// numbered by `u64`, but a file system holds less than an exabyte).
const LOCK_OFFSET: u64 = 1 << 62;

/// Fills `buf` from `offset`; past the end is [`io::ErrorKind::UnexpectedEof`].
pub(crate) fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"));
            }
            Ok(n) => {
                buf = buf.get_mut(n..).unwrap_or_default();
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` at `offset`.
pub(crate) fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.seek_write(buf, offset) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "wrote nothing")),
            Ok(n) => {
                buf = buf.get(n..).unwrap_or_default();
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Renames `from` to `to` unless a file is there ([`io::ErrorKind::AlreadyExists`]): a check,
/// then a rename. Not a hard link and a removal, as on Unix: a name removed while a handle
/// opened through it is open (the lock a new file is created under) stays until that handle is
/// closed, so a page file created through `<path>.init` would keep that second name for as long
/// as it is open, and the next file created through `<path>.init` (the next compaction of the
/// same handle) would meet it. The two steps race only with a creator that does not hold the
/// `.init` lock, which emdb never is.
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    if to.symlink_metadata().is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists", to.display()),
        ));
    }
    std::fs::rename(from, to)
}

/// The identity of an open file: its volume's serial number and its index on the volume.
pub(crate) fn file_id(file: &File) -> io::Result<FileId> {
    // SAFETY: the structure is plain data that the call fills; all-zero bytes are a valid
    // value of it.
    #[expect(unsafe_code, reason = "all-zero bytes are a valid value of this plain structure")]
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is open for as long as `file` is borrowed, and `info` is a valid,
    // writable structure of the type the call expects.
    #[expect(unsafe_code, reason = "an open handle and a writable structure of the right type")]
    let ok = unsafe { GetFileInformationByHandle(file.as_raw_handle(), &raw mut info) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(FileId {
        device: u64::from(info.dwVolumeSerialNumber),
        file: (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow),
    })
}

/// The identity of the file at `path` (links followed).
pub(crate) fn path_id(path: &Path) -> io::Result<FileId> {
    file_id(&File::open(path)?)
}

/// The absolute path of `path` with every link followed, in the plain form (`C:\\…`) unless
/// only the verbatim one (`\\?\C:\\…`) can name it (a path past 260 characters). Where the
/// system cannot tell the final path of an existing file (Wine past 260 characters answers
/// `ERROR_MORE_DATA`), the absolute path as given: the lock is the file's own either way.
pub(crate) fn canonicalize(path: &Path) -> io::Result<std::path::PathBuf> {
    match dunce::canonicalize(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound && path.exists() => std::path::absolute(path),
        other => other,
    }
}

/// Takes a lock on the lock byte of `file` (exclusive or shared), without waiting. The lock
/// belongs to this handle and goes when it is closed.
pub(crate) fn try_lock(file: &File, mode: LockMode) -> Result<(), std::fs::TryLockError> {
    let mut flags = LOCKFILE_FAIL_IMMEDIATELY;
    if mode == LockMode::Exclusive {
        flags |= LOCKFILE_EXCLUSIVE_LOCK;
    }
    // SAFETY: all-zero bytes are a valid OVERLAPPED; the offset fields are then set.
    #[expect(unsafe_code, reason = "all-zero bytes are a valid OVERLAPPED")]
    let mut at: OVERLAPPED = unsafe { std::mem::zeroed() };
    #[expect(clippy::cast_possible_truncation, reason = "the two halves of the offset")]
    {
        at.Anonymous.Anonymous.Offset = LOCK_OFFSET as u32;
        at.Anonymous.Anonymous.OffsetHigh = (LOCK_OFFSET >> 32) as u32;
    }
    // SAFETY: the handle is open for as long as `file` is borrowed; `at` outlives the call,
    // which completes before returning (the handle is synchronous).
    #[expect(unsafe_code, reason = "an open handle; `at` outlives the synchronous call")]
    let ok = unsafe { LockFileEx(file.as_raw_handle(), flags, 0, 1, 0, &raw mut at) };
    if ok != 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == i32::try_from(ERROR_LOCK_VIOLATION).ok() {
        Err(std::fs::TryLockError::WouldBlock)
    } else {
        Err(std::fs::TryLockError::Error(e))
    }
}

/// Windows has no directory sync: a file's creation, rename or removal is made durable by the
/// file system's own journal (NTFS logs metadata changes), which `FlushFileBuffers` of the
/// files involved flushes with them. Nothing to do.
#[expect(clippy::unnecessary_wraps, reason = "the same signature as on Unix, where it can fail")]
pub(crate) fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Windows files have no Unix owner to copy; their access control list is inherited from the
/// directory, as for any new file.
#[expect(clippy::unnecessary_wraps, reason = "the same signature as on Unix, where it can fail")]
pub(crate) fn copy_owner(_from: &Metadata, _to: &Path) -> io::Result<()> {
    Ok(())
}
