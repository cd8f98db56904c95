//! [`FaultStorage`]: a test-only, in-memory implementation of the I/O seam that injects the
//! failures a real disk and kernel produce, deterministically from a seed.
//!
//! # What it models
//!
//! * **Files** are inodes with two images: the *volatile* image (what reads see: the page cache)
//!   and the *durable* image (what survives power loss). Every `write_at` and `set_len` is
//!   applied to the volatile image and remembered as *pending* until the next successful
//!   `sync_data`/`sync_all` of that file, which applies the pending changes to the durable one.
//! * **Names** (create, rename, remove) change the volatile directory at once and become durable
//!   only at the next `sync_dir` of the directory that holds them. An open handle keeps its
//!   inode even after the name is removed or replaced (POSIX semantics).
//! * **Failing I/O** ([`FaultStorage::fail_at`]): every call through the seam (open, exists,
//!   rename, remove, `sync_dir`, lock, `read_at`, `write_at`, `set_len`, len, `sync_data`, `sync_all`) is
//!   numbered from 1 ([`FaultStorage::io_count`]); the chosen call fails once or that call and
//!   every later one fail ("the process died"), with `EIO` or `ENOSPC`. A failed call has no
//!   effect, except a failed sync, which models Linux after a write-back error: the pending
//!   writes stay in the volatile image but are forgotten as pending, so a retried sync
//!   "succeeds" without making them durable.
//! * **No space** ([`FaultStorage::set_capacity`]): a write that would grow the total volatile
//!   size of all files past the capacity fails with `ENOSPC` and has no effect.
//! * **Power loss** ([`FaultStorage::crash`]): returns a new storage holding what a machine would
//!   find after rebooting: the durable image of each file, then each pending write, in order,
//!   independently kept whole, dropped, torn (only a prefix up to a 512-byte sector boundary
//!   inside the write is kept) or replaced by garbage of the same length, and each pending
//!   `set_len` kept or dropped; each pending name change is independently kept or lost. The
//!   choices come from the seed and the [`CrashMode`]. Locks are not carried over.
//!
//! Not modelled: writes reordered *across* a sync (a sync is a full barrier), bit rot of
//! durable data (tests flip bits themselves), and partial success of a failed `write_at`.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::mem::{read_vec, write_vec};
use super::{FileId, LockGuard, LockMode, LockTable, Storage, StorageFile, lock_held};

/// The sector size at which a pending write may be torn.
const SECTOR: u64 = 512;

/// The error an injected failure returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// `EIO`: the device failed.
    Io,
    /// `ENOSPC`: the device is full.
    NoSpace,
}

/// How [`FaultStorage::crash`] treats each pending (unsynced) write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CrashMode {
    /// Each write independently kept, dropped, torn or garbled, from the seed.
    Random,
    /// Every pending write and name change survives (a process crash).
    KeepAll,
    /// Every pending write and name change is lost.
    DropAll,
    /// Every pending write is torn at a sector boundary; name changes are kept.
    TearAll,
    /// Every pending write is replaced by garbage; name changes are kept.
    GarbageAll,
}

impl CrashMode {
    /// Every mode, for tests that crash each way in turn.
    pub(crate) const ALL: [CrashMode; 5] = [
        CrashMode::KeepAll,
        CrashMode::DropAll,
        CrashMode::TearAll,
        CrashMode::GarbageAll,
        CrashMode::Random,
    ];
}

/// What one numbered I/O call was, for tests that crash at chosen kinds of call
/// ([`FaultStorage::io_kinds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IoKind {
    /// `open_file`, which may create the file (a name change).
    Open,
    /// `exists`.
    Exists,
    /// `rename` (a name change).
    Rename,
    /// `remove` (a name change).
    Remove,
    /// `sync_dir`: makes name changes durable.
    SyncDir,
    /// `lock`.
    Lock,
    /// `read_at`.
    Read,
    /// `write_at`.
    Write,
    /// `set_len`.
    SetLen,
    /// `len`.
    Len,
    /// `sync_data` or `sync_all`: makes a file's writes durable.
    Sync,
}

impl IoKind {
    /// Whether the call changes a file or a name (what a crash right before it can lose).
    pub(crate) fn mutates(self) -> bool {
        matches!(
            self,
            IoKind::Open | IoKind::Rename | IoKind::Remove | IoKind::Write | IoKind::SetLen
        )
    }

    /// Whether the call makes earlier changes durable (a sync point).
    pub(crate) fn syncs(self) -> bool {
        matches!(self, IoKind::Sync | IoKind::SyncDir)
    }
}

/// One change to a file not yet made durable.
#[derive(Debug, Clone)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

/// One file.
#[derive(Debug, Clone, Default)]
struct Inode {
    durable: Vec<u8>,
    volatile: Vec<u8>,
    pending: Vec<Pending>,
}

/// One change to the directory not yet made durable.
#[derive(Debug, Clone)]
enum NameOp {
    Link(PathBuf, usize),
    Unlink(PathBuf),
    /// A rename, which a crash keeps or drops whole (POSIX file systems make a rename atomic:
    /// after a crash the file has its old name or its new one, never none).
    Rename {
        from: PathBuf,
        to: PathBuf,
        id: usize,
    },
}

impl NameOp {
    /// The path whose directory must be synced to make the operation durable (a rename's
    /// target: every rename here stays within one directory).
    fn path(&self) -> &Path {
        match self {
            NameOp::Link(p, _) | NameOp::Unlink(p) | NameOp::Rename { to: p, .. } => p,
        }
    }
}

/// A planned failure.
#[derive(Debug, Clone, Copy)]
struct FailPlan {
    at: u64,
    forever: bool,
    kind: FaultKind,
    /// The machine is off from call `at` on: a failing sync does not even forget the pending
    /// writes, so they stay pending for [`FaultStorage::crash`] to keep, drop, tear or garble.
    off: bool,
}

#[derive(Debug, Default)]
struct State {
    rng: u64,
    inodes: Vec<Inode>,
    names: HashMap<PathBuf, usize>,
    durable_names: HashMap<PathBuf, usize>,
    pending_names: Vec<NameOp>,
    /// The inodes locked.
    locks: LockTable<usize>,
    io_count: u64,
    /// The kind of every I/O call so far, in order (call `n` at index `n - 1`).
    kinds: Vec<IoKind>,
    fail: Option<FailPlan>,
    capacity: Option<u64>,
    /// Renames over an existing name fail, as on Windows over a file that is open.
    refuse_replacing: bool,
    sync_delay: Option<std::time::Duration>,
    syncs: u64,
}

impl State {
    /// splitmix64: small, fast and good enough to pick faults.
    fn next(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Counts one I/O of `kind` and fails it when the plan says so.
    fn tick(&mut self, kind: IoKind) -> io::Result<()> {
        self.io_count += 1;
        self.kinds.push(kind);
        match self.fail {
            Some(plan) if self.io_count == plan.at || (plan.forever && self.io_count > plan.at) => {
                Err(match plan.kind {
                    FaultKind::Io => io::Error::other("injected I/O failure"),
                    FaultKind::NoSpace => no_space(),
                })
            }
            _ => Ok(()),
        }
    }

    fn inode(&mut self, id: usize) -> io::Result<&mut Inode> {
        self.inodes.get_mut(id).ok_or_else(|| io::Error::other("stale inode"))
    }

    fn volatile_size(&self) -> u64 {
        self.inodes.iter().map(|i| i.volatile.len() as u64).sum()
    }

    /// Refuses growth of file `id` to `new_len` when it breaks the capacity.
    fn check_space(&self, id: usize, new_len: u64) -> io::Result<()> {
        let Some(cap) = self.capacity else { return Ok(()) };
        let cur = self.inodes.get(id).map_or(0, |i| i.volatile.len() as u64);
        if new_len > cur && self.volatile_size() + (new_len - cur) > cap {
            return Err(no_space());
        }
        Ok(())
    }
}

fn no_space() -> io::Error {
    io::Error::new(io::ErrorKind::StorageFull, "injected: no space left on device")
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{} not found", path.display()))
}

/// A fault-injecting in-memory storage; see the module documentation for what it models.
/// Clones share the same state.
#[derive(Debug, Clone)]
pub(crate) struct FaultStorage {
    state: Arc<Mutex<State>>,
}

impl FaultStorage {
    /// An empty storage whose random choices derive from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        let state = State { rng: seed, ..State::default() };
        FaultStorage { state: Arc::new(Mutex::new(state)) }
    }

    /// How many I/O calls have been made so far.
    pub(crate) fn io_count(&self) -> u64 {
        self.state.lock().io_count
    }

    /// The kind of every I/O call made so far: call `n` (as [`fail_at`](Self::fail_at) numbers
    /// them) is at index `n - 1`.
    pub(crate) fn io_kinds(&self) -> Vec<IoKind> {
        self.state.lock().kinds.clone()
    }

    /// Makes the I/O call numbered `at` fail with `kind`, and when `forever` every later one too.
    pub(crate) fn fail_at(&self, at: u64, forever: bool, kind: FaultKind) {
        self.state.lock().fail = Some(FailPlan { at, forever, kind, off: false });
    }

    /// Makes the I/O call numbered `at` and every later one fail without any effect, as if the
    /// power went off right before call `at`: take [`crash`](Self::crash) afterwards to see what
    /// the disk holds. Unlike [`fail_at`](Self::fail_at), a sync at or after `at` leaves the
    /// pending writes pending.
    pub(crate) fn power_off_at(&self, at: u64) {
        self.state.lock().fail =
            Some(FailPlan { at, forever: true, kind: FaultKind::Io, off: true });
    }

    /// Removes any planned failure.
    pub(crate) fn clear_faults(&self) {
        self.state.lock().fail = None;
    }

    /// Makes every file sync take `delay` (outside the storage's lock), as a disk would.
    pub(crate) fn set_sync_delay(&self, delay: Option<std::time::Duration>) {
        self.state.lock().sync_delay = delay;
    }

    /// How many file syncs have been made.
    pub(crate) fn sync_count(&self) -> u64 {
        self.state.lock().syncs
    }

    /// Makes every rename over an existing name fail with `PermissionDenied`, as Windows
    /// refuses to rename over a file that is open (this storage and its crashed copies).
    pub(crate) fn refuse_replacing_renames(&self) {
        self.state.lock().refuse_replacing = true;
    }

    /// The total size of all files now (what [`set_capacity`](Self::set_capacity) limits).
    pub(crate) fn used_bytes(&self) -> u64 {
        self.state.lock().volatile_size()
    }

    /// Limits the total size of all files to `bytes` (`None`: unlimited).
    pub(crate) fn set_capacity(&self, bytes: Option<u64>) {
        self.state.lock().capacity = bytes;
    }

    /// The storage a machine would find after losing power now; see the module documentation.
    pub(crate) fn crash(&self, seed: u64, mode: CrashMode) -> FaultStorage {
        let old = self.state.lock();
        let mut st = State {
            rng: seed ^ 0x5851_f42d_4c95_7f2d,
            refuse_replacing: old.refuse_replacing,
            ..State::default()
        };
        st.durable_names.clone_from(&old.durable_names);
        for op in &old.pending_names {
            let keep = match mode {
                CrashMode::Random => st.next().is_multiple_of(2),
                CrashMode::DropAll => false,
                CrashMode::KeepAll | CrashMode::TearAll | CrashMode::GarbageAll => true,
            };
            if keep {
                apply_name(&mut st.durable_names, op);
            }
        }
        st.names.clone_from(&st.durable_names);
        for inode in &old.inodes {
            let mut image = inode.durable.clone();
            for p in &inode.pending {
                let choice = match mode {
                    CrashMode::Random => st.next() % 4,
                    CrashMode::KeepAll => 0,
                    CrashMode::DropAll => 1,
                    CrashMode::TearAll => 2,
                    CrashMode::GarbageAll => 3,
                };
                match p {
                    Pending::SetLen(len) => {
                        if choice != 1 {
                            image.resize(usize::try_from(*len).unwrap_or(usize::MAX), 0);
                        }
                    }
                    Pending::Write { offset, data } => {
                        let kept: Vec<u8> = match choice {
                            0 => data.clone(),
                            1 => continue,
                            2 => {
                                let end = offset + data.len() as u64;
                                let first = offset.div_ceil(SECTOR) * SECTOR;
                                let sectors = end.saturating_sub(first) / SECTOR;
                                let cut = first + SECTOR * (st.next() % (sectors + 1));
                                let keep = usize::try_from(cut.min(end).saturating_sub(*offset))
                                    .unwrap_or(0);
                                data.get(..keep).unwrap_or_default().to_vec()
                            }
                            _ => (0..data.len()).map(|_| st.next().to_le_bytes()[0]).collect(),
                        };
                        // Writes in memory cannot fail except for absurd offsets.
                        let _ = write_vec(&mut image, &kept, *offset);
                    }
                }
            }
            st.inodes.push(Inode { durable: image.clone(), volatile: image, pending: Vec::new() });
        }
        FaultStorage { state: Arc::new(Mutex::new(st)) }
    }

    /// The volatile bytes of the file at `path`, for tests that damage files.
    pub(crate) fn file_bytes(&self, path: &Path) -> Option<Vec<u8>> {
        let st = self.state.lock();
        let id = *st.names.get(path)?;
        st.inodes.get(id).map(|i| i.volatile.clone())
    }

    /// Replaces the bytes of the file at `path`, durably, for tests that damage files.
    pub(crate) fn set_file_bytes(&self, path: &Path, bytes: Vec<u8>) {
        let mut st = self.state.lock();
        if let Some(&id) = st.names.get(path)
            && let Some(inode) = st.inodes.get_mut(id)
        {
            *inode = Inode { durable: bytes.clone(), volatile: bytes, pending: Vec::new() };
        }
    }
}

fn apply_name(names: &mut HashMap<PathBuf, usize>, op: &NameOp) {
    match op {
        NameOp::Link(p, id) => {
            names.insert(p.clone(), *id);
        }
        NameOp::Unlink(p) => {
            names.remove(p);
        }
        NameOp::Rename { from, to, id } => {
            names.remove(from);
            names.insert(to.clone(), *id);
        }
    }
}

/// An open file of a [`FaultStorage`].
#[derive(Debug)]
struct FaultFile {
    state: Arc<Mutex<State>>,
    inode: usize,
}

/// Releases a fault-storage lock when dropped.
struct FaultLock {
    state: Arc<Mutex<State>>,
    inode: usize,
    mode: LockMode,
}

impl Drop for FaultLock {
    fn drop(&mut self) {
        self.state.lock().locks.unlock(&self.inode, self.mode);
    }
}

fn inode_id(inode: usize) -> FileId {
    FileId { device: 0, file: inode as u64 }
}

impl Storage for FaultStorage {
    fn open_file(&self, path: &Path, create: bool) -> io::Result<Box<dyn StorageFile>> {
        let mut st = self.state.lock();
        st.tick(IoKind::Open)?;
        let inode = match st.names.get(path) {
            Some(&id) => id,
            None if create => {
                let id = st.inodes.len();
                st.inodes.push(Inode::default());
                st.names.insert(path.to_path_buf(), id);
                st.pending_names.push(NameOp::Link(path.to_path_buf(), id));
                id
            }
            None => return Err(not_found(path)),
        };
        Ok(Box::new(FaultFile { state: Arc::clone(&self.state), inode }))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        self.open_file(path, false)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        let mut st = self.state.lock();
        st.tick(IoKind::Exists)?;
        Ok(st.names.contains_key(path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick(IoKind::Rename)?;
        if st.refuse_replacing && st.names.contains_key(to) {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, "the target is open"));
        }
        let id = st.names.remove(from).ok_or_else(|| not_found(from))?;
        st.names.insert(to.to_path_buf(), id);
        st.pending_names.push(NameOp::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            id,
        });
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick(IoKind::Remove)?;
        st.names.remove(path).ok_or_else(|| not_found(path))?;
        st.pending_names.push(NameOp::Unlink(path.to_path_buf()));
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick(IoKind::SyncDir)?;
        let ops = std::mem::take(&mut st.pending_names);
        for op in ops {
            if super::parent_dir(op.path()) == dir {
                apply_name(&mut st.durable_names, &op);
            } else {
                st.pending_names.push(op);
            }
        }
        Ok(())
    }

    fn rename_noreplace(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick(IoKind::Rename)?;
        if st.names.contains_key(to) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "target exists"));
        }
        let id = st.names.remove(from).ok_or_else(|| not_found(from))?;
        st.names.insert(to.to_path_buf(), id);
        st.pending_names.push(NameOp::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            id,
        });
        Ok(())
    }

    fn lock(&self, path: &Path, mode: LockMode) -> io::Result<LockGuard> {
        let mut st = self.state.lock();
        st.tick(IoKind::Lock)?;
        let inode = *st.names.get(path).ok_or_else(|| not_found(path))?;
        if !st.locks.try_lock(inode, mode) {
            return Err(lock_held(path));
        }
        let held = FaultLock { state: Arc::clone(&self.state), inode, mode };
        Ok(LockGuard::new(inode_id(inode), Box::new(held)))
    }

    fn identity(&self, path: &Path) -> io::Result<Option<FileId>> {
        Ok(self.state.lock().names.get(path).copied().map(inode_id))
    }

    fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
        Ok(path.to_path_buf())
    }

    fn copy_permissions(&self, _from: &Path, _to: &Path) -> io::Result<()> {
        Ok(())
    }
}

impl StorageFile for FaultFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick(IoKind::Read)?;
        read_vec(&st.inode(self.inode)?.volatile, buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick(IoKind::Write)?;
        st.check_space(self.inode, offset.saturating_add(buf.len() as u64))?;
        let inode = st.inode(self.inode)?;
        write_vec(&mut inode.volatile, buf, offset)?;
        inode.pending.push(Pending::Write { offset, data: buf.to_vec() });
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick(IoKind::SetLen)?;
        st.check_space(self.inode, len)?;
        let n = usize::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "length too large"))?;
        let inode = st.inode(self.inode)?;
        inode.volatile.resize(n, 0);
        inode.pending.push(Pending::SetLen(len));
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        let mut st = self.state.lock();
        st.tick(IoKind::Len)?;
        Ok(st.inode(self.inode)?.volatile.len() as u64)
    }

    fn sync_data(&self) -> io::Result<()> {
        let delay = self.state.lock().sync_delay;
        if let Some(d) = delay {
            std::thread::sleep(d);
        }
        let mut st = self.state.lock();
        st.syncs += 1;
        let result = st.tick(IoKind::Sync);
        if result.is_err() && st.fail.is_some_and(|plan| plan.off) {
            return result;
        }
        let inode = st.inode(self.inode)?;
        let pending = std::mem::take(&mut inode.pending);
        // After a failed write-back the kernel marks the pages clean anyway: the pending
        // writes are forgotten without reaching the durable image, and a later sync that
        // "succeeds" does not bring them back.
        if result.is_ok() {
            for p in pending {
                match p {
                    Pending::Write { offset, data } => {
                        write_vec(&mut inode.durable, &data, offset)?;
                    }
                    Pending::SetLen(len) => {
                        inode.durable.resize(usize::try_from(len).unwrap_or(usize::MAX), 0);
                    }
                }
            }
        }
        result
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(s: &FaultStorage, p: &Path) -> Vec<u8> {
        let f = s.open_file(p, false).unwrap();
        let mut buf = vec![0; usize::try_from(f.len().unwrap()).unwrap()];
        f.read_at(&mut buf, 0).unwrap();
        buf
    }

    #[test]
    fn synced_writes_survive_a_crash_and_unsynced_ones_may_not() {
        let s = FaultStorage::new(1);
        let p = Path::new("/d/f");
        let f = s.open_file(p, true).unwrap();
        s.sync_dir(Path::new("/d")).unwrap();
        f.write_at(&[1; 1024], 0).unwrap();
        f.sync_data().unwrap();
        f.write_at(&[2; 1024], 0).unwrap();
        assert_eq!(read_all(&s.crash(0, CrashMode::DropAll), p), vec![1; 1024]);
        assert_eq!(read_all(&s.crash(0, CrashMode::KeepAll), p), vec![2; 1024]);
        let torn = read_all(&s.crash(3, CrashMode::TearAll), p);
        let twos = torn.iter().take_while(|&&b| b == 2).count();
        assert_eq!(twos % 512, 0);
        assert!(torn.get(twos..).unwrap().iter().all(|&b| b == 1));
        let garbage = read_all(&s.crash(3, CrashMode::GarbageAll), p);
        assert_ne!(garbage, vec![1; 1024]);
        assert_ne!(garbage, vec![2; 1024]);
    }

    #[test]
    fn a_create_without_a_directory_sync_vanishes_in_a_crash() {
        let s = FaultStorage::new(1);
        let p = Path::new("/d/new");
        let f = s.open_file(p, true).unwrap();
        f.write_at(b"data", 0).unwrap();
        f.sync_all().unwrap();
        assert!(!s.crash(0, CrashMode::DropAll).exists(p).unwrap());
        s.sync_dir(Path::new("/d")).unwrap();
        assert!(s.crash(0, CrashMode::DropAll).exists(p).unwrap());
    }

    #[test]
    fn the_nth_io_fails_once_or_forever() {
        let s = FaultStorage::new(1);
        let f = s.open_file(Path::new("f"), true).unwrap();
        let n = s.io_count();
        s.fail_at(n + 2, false, FaultKind::Io);
        f.write_at(b"a", 0).unwrap();
        assert!(f.write_at(b"b", 0).is_err());
        f.write_at(b"c", 0).unwrap();
        s.fail_at(s.io_count() + 1, true, FaultKind::NoSpace);
        assert_eq!(f.sync_data().unwrap_err().kind(), io::ErrorKind::StorageFull);
        assert!(f.len().is_err());
        s.clear_faults();
        assert_eq!(f.len().unwrap(), 1);
    }

    #[test]
    fn a_failed_sync_forgets_the_pending_writes_so_a_retry_lies() {
        let s = FaultStorage::new(1);
        let p = Path::new("/f");
        let f = s.open_file(p, true).unwrap();
        s.sync_dir(Path::new("/")).unwrap();
        f.write_at(b"lost", 0).unwrap();
        s.fail_at(s.io_count() + 1, false, FaultKind::Io);
        assert!(f.sync_data().is_err());
        f.sync_data().unwrap();
        assert_eq!(read_all(&s, p), b"lost");
        assert!(read_all(&s.crash(0, CrashMode::KeepAll), p).is_empty());
    }

    #[test]
    fn after_a_power_off_a_sync_keeps_its_writes_pending_and_calls_are_numbered_by_kind() {
        let s = FaultStorage::new(1);
        let p = Path::new("/f");
        let f = s.open_file(p, true).unwrap();
        s.sync_dir(Path::new("/")).unwrap();
        f.write_at(b"pending", 0).unwrap();
        s.power_off_at(s.io_count() + 1);
        assert!(f.sync_data().is_err());
        assert!(f.write_at(b"lost", 0).is_err());
        assert_eq!(read_all(&s.crash(0, CrashMode::KeepAll), p), b"pending");
        assert!(read_all(&s.crash(0, CrashMode::DropAll), p).is_empty());
        let kinds = s.io_kinds();
        assert_eq!(
            kinds,
            [IoKind::Open, IoKind::SyncDir, IoKind::Write, IoKind::Sync, IoKind::Write]
        );
        assert_eq!(kinds.iter().filter(|k| k.mutates()).count(), 3);
        assert_eq!(kinds.iter().filter(|k| k.syncs()).count(), 2);
    }

    #[test]
    fn writes_past_the_capacity_fail_with_no_space() {
        let s = FaultStorage::new(1);
        s.set_capacity(Some(100));
        let f = s.open_file(Path::new("f"), true).unwrap();
        f.write_at(&[0; 100], 0).unwrap();
        assert_eq!(f.write_at(&[0; 1], 100).unwrap_err().kind(), io::ErrorKind::StorageFull);
        f.write_at(&[1; 10], 0).unwrap();
    }
}
