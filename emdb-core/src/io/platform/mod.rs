//! The calls real files need that differ between operating systems: positioned reads and
//! writes, a file's identity, the advisory lock, a rename that does not replace, the directory
//! sync and a file's owner. Each platform file implements the same functions; nothing else in
//! emdb names a platform.

#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

#[cfg(unix)]
pub(crate) use unix::{
    canonicalize, copy_owner, file_id, path_id, read_exact_at, rename_noreplace, sync_dir,
    try_lock, write_all_at,
};
#[cfg(windows)]
pub(crate) use windows::{
    canonicalize, copy_owner, file_id, path_id, read_exact_at, rename_noreplace, sync_dir,
    try_lock, write_all_at,
};

#[cfg(not(any(unix, windows)))]
compile_error!(
    "emdb's file storage supports Unix (Linux, macOS, the BSDs) and Windows; on this target only \
     in-memory databases could work, and none is built"
);
