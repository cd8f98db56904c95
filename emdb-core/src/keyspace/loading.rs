//! The point index of a database opened after a clean close, built in the background.
//!
//! A database whose log holds no frame past its checkpoint (every clean close leaves it so) is
//! exactly its tree. Open then returns without reading the tree's leaves: a background thread
//! (one of the process's builder threads, reused across opens) scans them and fills every
//! namespace's index, expiry index and live count ([`fill_indexes`]), while
//!
//! * point reads (`get`, `contains_key`, `ttl`, `expires_at`) that find no index entry descend
//!   the tree from the root their shard holds (the index is not complete yet);
//! * commits go ahead: what they read of the tree (what a key held, to count the change) they
//!   find the same way, and the build counts the tree's keys apart from their changes;
//! * what needs the complete counts or changes the tree (`len`, `stats`, `check_integrity`,
//!   `purge_expired`, clearing a namespace, checkpoints, compaction, backups) waits for the
//!   build; a commit whose log passes the checkpoint threshold waits in its checkpoint;
//! * ordered reads need no index at all (memtable and tree).
//!
//! No checkpoint can happen before the build ends, so the tree it reads and the tree reads
//! descend are the tree the database was opened on. A build that finds a damaged page leaves
//! the handle readable (reads meet the damage where it is) and makes every operation that waits
//! for the index report it. A handle dropped during the build stops it and writes no closing
//! checkpoint: the commits made since the open stay in the log, replayed by the next open.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::NsState;
use super::index::{KeyPlace, SHARDS};
use super::tree_key::{self, CATALOG};
use crate::batch::{ExpiresAt, NO_EXPIRY, NsId};
use crate::error::{Error, Result};
use crate::page::PageId;
use crate::page::file::PageFile;
use crate::page::value::ValueRef;
use crate::tree::reclaim::LiveValues;
use crate::tree::{TreeRoot, scan_leaves};

const BUILDING: u8 = 0;
const READY: u8 = 1;
const FAILED: u8 = 2;

/// The state of a background index build.
#[derive(Debug)]
pub(crate) struct Loading {
    state: AtomicU8,
    /// Why the build failed, to report to everyone who waits for it; `done` waits on it.
    failure: Mutex<Option<Failure>>,
    done: Condvar,
    /// Set when the handle is dropped: the build stops at the next leaf.
    cancel: AtomicBool,
    /// The live values per value page the build counted, until the store takes them.
    live: Mutex<Option<LiveValues>>,
    /// A test holds the build at its start until released.
    #[cfg(test)]
    pub(crate) hold: Option<Arc<IndexBuildGate>>,
}

/// A failed build's error, kept so that each waiter gets its own copy.
#[derive(Debug, Clone)]
enum Failure {
    Corruption { path: PathBuf, offset: u64, detail: String },
    Io { path: PathBuf, kind: std::io::ErrorKind, message: String },
    Other(String),
}

impl Failure {
    fn of(e: &Error) -> Failure {
        match e {
            Error::Corruption { path, offset, detail } => {
                Failure::Corruption { path: path.clone(), offset: *offset, detail: detail.clone() }
            }
            Error::Io { path, source } => {
                Failure::Io { path: path.clone(), kind: source.kind(), message: source.to_string() }
            }
            other => Failure::Other(other.to_string()),
        }
    }

    fn error(&self) -> Error {
        match self.clone() {
            Failure::Corruption { path, offset, detail } => {
                Error::Corruption { path, offset, detail }
            }
            Failure::Io { path, kind, message } => {
                Error::Io { path, source: std::io::Error::new(kind, message) }
            }
            Failure::Other(detail) => {
                Error::Internal { detail: format!("the index rebuild failed: {detail}") }
            }
        }
    }
}

/// Holds a background build at its start until [`release`](Self::release)d (tests only).
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct IndexBuildGate {
    open: Mutex<bool>,
    cv: Condvar,
}

#[cfg(test)]
impl IndexBuildGate {
    pub(crate) fn release(&self) {
        *self.open.lock() = true;
        self.cv.notify_all();
    }

    fn wait(&self) {
        let mut open = self.open.lock();
        while !*open {
            self.cv.wait(&mut open);
        }
    }
}

impl Loading {
    /// Starts building the indexes of `namespaces` from the tree at `root` of `file`, which
    /// holds `entries` entries (the meta page's count).
    ///
    /// # Errors
    /// The error of spawning the thread (the caller then builds the indexes itself).
    pub(crate) fn start(
        namespaces: Vec<Arc<NsState>>,
        file: Arc<PageFile>,
        root: TreeRoot,
        entries: u64,
        #[cfg(test)] hold: Option<Arc<IndexBuildGate>>,
    ) -> std::io::Result<Arc<Loading>> {
        let loading = Arc::new(Loading {
            state: AtomicU8::new(BUILDING),
            failure: Mutex::new(None),
            done: Condvar::new(),
            cancel: AtomicBool::new(false),
            live: Mutex::new(None),
            #[cfg(test)]
            hold,
        });
        for ns in &namespaces {
            ns.stats.mark_building();
        }
        let this = Arc::clone(&loading);
        let building = namespaces.clone();
        let spawned = BUILDERS.run(Box::new(move || {
            #[cfg(test)]
            if let Some(gate) = &this.hold {
                gate.wait();
            }
            let r = catch_unwind(AssertUnwindSafe(|| {
                let live = fill_indexes(&namespaces, &file, root, entries, &this.cancel)?;
                *this.live.lock() = Some(live);
                Ok(())
            }))
            .unwrap_or_else(|_| Err(Error::Internal { detail: "the index build panicked".into() }));
            if r.is_ok() {
                // The counts are complete: `len()` reads them without waiting from here on (a
                // failed build leaves the flag, and `len()` reports the failure).
                for ns in &namespaces {
                    ns.stats.mark_built();
                }
            }
            // Everything the build held goes before the handle learns it ended.
            drop((namespaces, file));
            this.finish(&r);
        }));
        if let Err(e) = spawned {
            // The caller builds the indexes itself.
            for ns in &building {
                ns.stats.mark_built();
            }
            return Err(e);
        }
        Ok(loading)
    }

    fn finish(&self, r: &Result<()>) {
        let mut failure = self.failure.lock();
        match r {
            Ok(()) => self.state.store(READY, Ordering::Release),
            Err(e) => {
                *failure = Some(Failure::of(e));
                self.state.store(FAILED, Ordering::Release);
            }
        }
        self.done.notify_all();
    }

    /// The live values per value page counted by a build that completed, once.
    pub(crate) fn take_live_values(&self) -> Option<LiveValues> {
        self.live.lock().take()
    }

    /// Whether the indexes are complete (then they are what point reads use).
    #[inline]
    pub(crate) fn is_ready(&self) -> bool {
        self.state.load(Ordering::Acquire) == READY
    }

    /// Waits for the build to end.
    ///
    /// # Errors
    /// The error that stopped the build (a damaged page, an I/O error).
    #[cold]
    pub(crate) fn wait(&self) -> Result<()> {
        if self.is_ready() {
            return Ok(());
        }
        let mut failure = self.failure.lock();
        while self.state.load(Ordering::Acquire) == BUILDING {
            self.done.wait(&mut failure);
        }
        failure.as_ref().map_or(Ok(()), |f| Err(f.error()))
    }

    /// Stops the build (at its next leaf) and waits until it let go of the database: the
    /// handle is closing.
    pub(crate) fn stop(&self) {
        self.cancel.store(true, Ordering::Release);
        #[cfg(test)]
        if let Some(gate) = &self.hold {
            gate.release();
        }
        // A stopped build ends as failed or done; either way nothing is left to report.
        let _ = self.wait();
    }
}

/// One index build, run on a builder thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The threads that run index builds. A thread that finished a build waits a while for the
/// next one, so a process that closes and reopens a database (or opens several in turn) starts
/// no new thread for each: a spawn costs about a third of a lazy open.
struct Builders {
    /// The idle threads' mailboxes, the most recently idle last.
    idle: Mutex<Vec<Arc<Mailbox>>>,
    /// How long an idle thread waits for another build before it ends.
    idle_for: Duration,
}

/// Where an idle builder thread waits for its next job. Each thread keeps its own for its
/// whole life, so handing over a build allocates nothing.
#[derive(Default)]
struct Mailbox {
    job: Mutex<Option<Job>>,
    arrived: Condvar,
}

static BUILDERS: Builders = Builders::new(Duration::from_secs(30));

impl Builders {
    const fn new(idle_for: Duration) -> Self {
        Builders { idle: Mutex::new(Vec::new()), idle_for }
    }

    /// Runs `job` on an idle builder thread, or on a new one when none is idle.
    ///
    /// # Errors
    /// The error of spawning a thread (the job is then dropped unrun).
    fn run(&'static self, job: Job) -> std::io::Result<()> {
        // A mailbox leaves the idle list only here or when its thread ends, so the one popped
        // belongs to a thread that waits for it and will take the job. (The list's lock is let
        // go first: a thread whose wait ran out holds its mailbox and then takes the list's.)
        let popped = self.idle.lock().pop();
        if let Some(mailbox) = popped {
            *mailbox.job.lock() = Some(job);
            mailbox.arrived.notify_one();
            return Ok(());
        }
        std::thread::Builder::new()
            .name("emdb-index".into())
            .spawn(move || self.serve(job))
            .map(drop)
    }

    /// A builder thread: runs `job`, then each job handed to it while idle, and ends after
    /// [`idle_for`](Self::idle_for) without one.
    fn serve(&'static self, first: Job) {
        let mailbox = Arc::new(Mailbox::default());
        let mut job = first;
        loop {
            job();
            let mut slot = mailbox.job.lock();
            self.idle.lock().push(Arc::clone(&mailbox));
            let deadline = Instant::now() + self.idle_for;
            let mut promised = false;
            job = loop {
                if let Some(next) = slot.take() {
                    break next;
                }
                if promised {
                    mailbox.arrived.wait(&mut slot);
                } else if mailbox.arrived.wait_until(&mut slot, deadline).timed_out() {
                    // Still idle: leave the list and end. Gone from it: `run` popped this
                    // mailbox and is about to fill it (it waits for `slot`'s lock).
                    let mut idle = self.idle.lock();
                    let Some(at) = idle.iter().position(|m| Arc::ptr_eq(m, &mailbox)) else {
                        promised = true;
                        continue;
                    };
                    idle.swap_remove(at);
                    return;
                }
            };
        }
    }
}

/// Fills the index, expiry index and live count of every namespace of `namespaces` from one
/// sequential scan of the tree's leaves (`entries` of them, by the meta page), checking that
/// keys strictly ascend, and returns the live values per value page of every entry (the
/// catalog's included). Stops early with an error when `cancel` is set.
///
/// Commits may run meanwhile (a lazy open does not make them wait): they count their own
/// changes, each against what the tree held of its key (found by a descent), so the build adds
/// the tree's keys to the live count whatever came first, and adds a tree key's expiry to the
/// expiry index only if no commit changed the key since the open (checked under the key's
/// shard lock, which a commit holds while it counts). Each index gets a settled entry per key
/// (none under a memory budget). Counts and entries are added in chunks of [`SETTLE_CHUNK`]
/// keys, so that commits and point readers wait for one chunk at most; the indexes are marked
/// complete at the end.
///
/// # Errors
/// [`Error::Corruption`] for a damaged page, keys out of order or keys of an unknown
/// namespace; an I/O error.
pub(super) fn fill_indexes(
    namespaces: &[Arc<NsState>],
    file: &PageFile,
    root: TreeRoot,
    entries: u64,
    cancel: &AtomicBool,
) -> Result<LiveValues> {
    for ns in namespaces {
        ns.index.set_complete(false);
    }
    let mut live = LiveValues::default();
    let mut current: Option<(NsId, &NsState, Counting, Settling)> = None;
    // The previous tree key: keys must ascend, which also catches a child pointer forged to
    // another subtree of the right level (its keys repeat or go back).
    let mut previous: Vec<u8> = Vec::new();
    let bound = file.len()? / 8;
    let expected = usize::try_from(entries.min(bound)).unwrap_or(0);
    let mut finished: Vec<(&NsState, Settling)> = Vec::new();
    scan_leaves(file, root, |leaf, place, e| {
        if !previous.is_empty() && e.key <= previous.as_slice() {
            return Err(file
                .corruption(0, format!("tree keys out of order: {:?} after {previous:?}", e.key)));
        }
        if cancel.load(Ordering::Relaxed) {
            // Not damage: the handle is closing, and nothing waits for this error.
            let stopped = std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "index build stopped: the database was closed",
            );
            return Err(Error::io(file.path(), stopped));
        }
        previous.clear();
        previous.extend_from_slice(e.key);
        let Some((id, key)) = tree_key::split(e.key) else {
            return Err(file.corruption(0, "a tree key is shorter than its namespace prefix"));
        };
        if let ValueRef::Stored(loc) = e.value {
            live.add(loc);
        }
        if id == CATALOG {
            return Ok(());
        }
        if current.as_ref().is_none_or(|(at, ..)| *at != id) {
            if let Some((_, ns, counting, settling)) = current.take() {
                counting.flush(ns);
                finished.push((ns, settling));
            }
            let Some(ns) = namespaces.iter().find(|ns| ns.id == id) else {
                return Err(file.corruption(0, format!("tree keys of unknown namespace {id}")));
            };
            current = Some((id, ns, Counting::default(), Settling::new(ns, expected)));
        }
        let Some((_, ns, counting, settling)) = &mut current else { return Ok(()) };
        counting.add(ns, key, e.expires_at);
        settling.add(ns, key, leaf, place);
        Ok(())
    })?;
    if let Some((_, ns, counting, settling)) = current.take() {
        counting.flush(ns);
        finished.push((ns, settling));
    }
    let mut complete = true;
    for (ns, settling) in finished {
        complete &= settling.finish(ns);
    }
    for ns in namespaces {
        ns.index.set_complete(complete);
    }
    Ok(live)
}

/// The keys of one namespace a build has counted but not yet added to its statistics.
#[derive(Default)]
struct Counting {
    keys: usize,
    /// The keys with an expiry among them.
    expiring: Vec<(Arc<[u8]>, ExpiresAt)>,
}

impl Counting {
    fn add(&mut self, ns: &NsState, key: &[u8], expires_at: ExpiresAt) {
        self.keys += 1;
        if expires_at != NO_EXPIRY {
            self.expiring.push((Arc::from(key), expires_at));
        }
        if self.keys >= SETTLE_CHUNK {
            std::mem::take(self).flush(ns);
        }
    }

    /// Adds the counted keys to the namespace's statistics.
    fn flush(self, ns: &NsState) {
        ns.stats.write().add_built(self.keys);
        for (key, expires_at) in self.expiring {
            ns.index.unless_recent(&key, || ns.stats.write().add_expiring(&key, expires_at));
        }
    }
}

/// Settled entries a build adds to each shard at once.
const SETTLE_CHUNK: usize = 4096;

/// The settled entries of one namespace a build has yet to add, by shard.
struct Settling {
    /// `None` under a memory budget: the build adds none.
    shards: Option<Vec<Vec<KeyPlace>>>,
    /// Every leaf could be named by an entry.
    complete: bool,
}

impl Settling {
    fn new(ns: &NsState, expected: usize) -> Self {
        let per_shard = (expected / SHARDS).min(SETTLE_CHUNK);
        let shards = ns
            .index
            .holds_every_key()
            .then(|| (0..SHARDS).map(|_| Vec::with_capacity(per_shard)).collect());
        Settling { shards, complete: true }
    }

    fn add(&mut self, ns: &NsState, key: &[u8], leaf: PageId, place: u16) {
        let Some(shards) = &mut self.shards else { return };
        let hash = ns.index.hash(key);
        let shard = hash.shard();
        if let Some(buf) = shards.get_mut(shard) {
            buf.push((hash.raw(), leaf, place));
            if buf.len() >= SETTLE_CHUNK {
                self.complete &= ns.index.add_settled(shard, buf);
                buf.clear();
            }
        }
    }

    /// Adds what is left; returns whether every key got its entry.
    fn finish(self, ns: &NsState) -> bool {
        let mut complete = self.complete;
        for (shard, buf) in self.shards.into_iter().flatten().enumerate() {
            complete &= ns.index.add_settled(shard, &buf);
        }
        complete
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Builders;

    #[test]
    fn builder_threads_are_reused_run_side_by_side_and_end_when_idle() {
        static POOL: Builders = Builders::new(Duration::from_millis(200));
        let (tx, rx) = std::sync::mpsc::channel();
        let mut threads = std::collections::HashSet::new();
        for _ in 0..20 {
            let tx = tx.clone();
            POOL.run(Box::new(move || tx.send(std::thread::current().id()).unwrap())).unwrap();
            threads.insert(rx.recv().unwrap());
            // Idle again, as after the build of a database that was then closed.
            while POOL.idle.lock().is_empty() {
                std::thread::yield_now();
            }
        }
        assert_eq!(threads.len(), 1, "one thread ran every build in turn");
        // A build that holds its thread does not hold up the next one.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let tx2 = tx.clone();
        POOL.run(Box::new(move || {
            held.recv().unwrap();
            tx2.send(std::thread::current().id()).unwrap();
        }))
        .unwrap();
        let tx3 = tx.clone();
        POOL.run(Box::new(move || tx3.send(std::thread::current().id()).unwrap())).unwrap();
        let second = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        release.send(()).unwrap();
        let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_ne!(first, second);
        // Idle threads end after the idle time, and a later build still runs.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !POOL.idle.lock().is_empty() {
            assert!(std::time::Instant::now() < deadline, "idle builders never ended");
            std::thread::sleep(Duration::from_millis(20));
        }
        POOL.run(Box::new(move || tx.send(std::thread::current().id()).unwrap())).unwrap();
        assert!(rx.recv_timeout(Duration::from_secs(10)).is_ok());
    }

    #[test]
    fn a_build_handed_over_as_the_idle_wait_runs_out_still_runs() {
        // Idle threads give up after 1 ms; builds arrive around that moment, again and again,
        // so some reach a thread whose wait has just timed out. Each must run exactly once.
        static POOL: Builders = Builders::new(Duration::from_millis(1));
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..300u64 {
            std::thread::sleep(Duration::from_micros(700 + (i * 37) % 600));
            let tx = tx.clone();
            POOL.run(Box::new(move || tx.send(i).unwrap())).unwrap();
            assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(i), "build {i} was lost");
        }
        assert!(rx.try_recv().is_err(), "a build ran twice");
    }
}
