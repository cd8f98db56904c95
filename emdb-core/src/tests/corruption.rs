//! Damaged media: every bit of both meta pages, every truncation of the log, byte flips in the
//! log and in data pages, zero-filled and garbage tails appended to the page file and to the
//! log, and cyclic and out-of-range child pointers (with a valid checksum, so that the pointer
//! checks are what must catch them).
//!
//! Every case is classified: a clean error (`Corruption` or `NotAnEmdbFile`, from the open, a
//! read or `check_integrity`), a torn log tail cut back to a whole frame (a proper prefix of the
//! log's commits), an earlier valid state, or no visible change. Each suite prints its counts
//! per class and asserts that no case panicked (each runs under `catch_unwind`), gave a value the
//! model does not have, failed with another error, or hung (each suite runs under a watchdog).

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use super::crash::{DB, State, TXNS, open, read_state, run_txns, state_after};
use crate::error::Error;
use crate::io::fault::{CrashMode, FaultStorage};
use crate::page::branch::Branch;
use crate::page::meta;
use crate::page::{PAGE_SIZE, PageId, new_page, seal};
use crate::test_depth;

/// How one damaged case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// `Error::Corruption` or `Error::NotAnEmdbFile`, from the open, a read or the check.
    CleanError,
    /// The log's torn tail was cut: the state after a proper prefix of its commits.
    TornTailCut,
    /// The state of an earlier checkpoint.
    EarlierState,
    /// Everything reads as before, and `check_integrity` passes.
    NoVisibleChange,
    /// Failures: an error that is not a clear one, a wrong or lost value, a panic.
    OtherError,
    WrongValue,
    Panic,
    Hang,
}

impl Outcome {
    fn is_failure(self) -> bool {
        matches!(self, Outcome::OtherError | Outcome::WrongValue | Outcome::Panic | Outcome::Hang)
    }

    /// The outcome of an error: clean, or not.
    fn of_error(e: &Error) -> Outcome {
        if matches!(e, Error::Corruption { .. } | Error::NotAnEmdbFile { .. }) {
            Outcome::CleanError
        } else {
            Outcome::OtherError
        }
    }
}

/// The outcomes of one suite, by class.
struct Tally {
    suite: &'static str,
    counts: BTreeMap<Outcome, u64>,
    /// The first few failing cases, for the report.
    failures: Vec<String>,
}

impl Tally {
    fn new(suite: &'static str) -> Self {
        Tally { suite, counts: BTreeMap::new(), failures: Vec::new() }
    }

    /// Runs one case under `catch_unwind` and counts its outcome.
    fn case(&mut self, what: impl fmt::Display, f: impl FnOnce() -> Outcome) -> Outcome {
        let outcome = catch_unwind(AssertUnwindSafe(f)).unwrap_or(Outcome::Panic);
        *self.counts.entry(outcome).or_default() += 1;
        if outcome.is_failure() && self.failures.len() < 5 {
            self.failures.push(format!("{what}: {outcome:?}"));
        }
        outcome
    }

    fn count(&self, o: Outcome) -> u64 {
        self.counts.get(&o).copied().unwrap_or(0)
    }

    /// Prints the counts and asserts that no case failed and every outcome is in `allowed`.
    fn finish(&self, allowed: &[Outcome]) {
        let total: u64 = self.counts.values().sum();
        let classes: Vec<String> =
            self.counts.iter().map(|(o, n)| format!("{n} {}", label(*o))).collect();
        eprintln!("{}: {total} cases: {}", self.suite, classes.join(", "));
        for o in [Outcome::Panic, Outcome::Hang, Outcome::WrongValue, Outcome::OtherError] {
            assert_eq!(self.count(o), 0, "{}: {:?} cases: {:?}", self.suite, o, self.failures);
        }
        for o in self.counts.keys() {
            assert!(allowed.contains(o), "{}: {o:?} is not an allowed outcome here", self.suite);
        }
        assert!(total > 0, "{}: no case ran", self.suite);
    }
}

fn label(o: Outcome) -> &'static str {
    match o {
        Outcome::CleanError => "clean errors",
        Outcome::TornTailCut => "torn tails cut",
        Outcome::EarlierState => "earlier valid states",
        Outcome::NoVisibleChange => "no visible change",
        Outcome::OtherError => "OTHER ERRORS",
        Outcome::WrongValue => "WRONG VALUES",
        Outcome::Panic => "PANICS",
        Outcome::Hang => "HANGS",
    }
}

/// Runs `f` on a thread of its own; `None` when it does not finish within `limit` (a damaged
/// file must never make the engine loop; the stuck thread is left behind). A panic in `f` is
/// passed on.
fn with_watchdog<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(v)) => {
            let _ = worker.join();
            Some(v)
        }
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => None,
    }
}

/// Runs a whole suite under the watchdog.
fn suite(what: &str, f: impl FnOnce() + Send + 'static) {
    assert!(with_watchdog(SUITE_LIMIT, f).is_some(), "{what}: hung for {SUITE_LIMIT:?}");
}

/// The time a whole suite may take in a debug build before the watchdog calls it a hang.
const SUITE_LIMIT: Duration = Duration::from_secs(300);

fn wal_path() -> PathBuf {
    PathBuf::from(format!("{DB}.wal"))
}

/// A database with two checkpoints (both meta pages in use) and the last transactions only in
/// the log. Returns the storage and how many transactions were checkpointed.
fn base() -> (FaultStorage, usize) {
    let fs = FaultStorage::new(3);
    let db = open(&fs).unwrap_or_else(|e| panic!("{e}"));
    let (_, acked) = run_txns(&db);
    assert_eq!(acked, TXNS);
    db.checkpoint().unwrap_or_else(|e| panic!("{e}"));
    std::mem::forget(db);
    (fs.crash(0, CrashMode::KeepAll), TXNS)
}

/// Adds `extra` more transactions that stay in the log.
/// Commits `extra` more small transactions into the log and returns the offset after its last
/// frame (the file goes on with zeros written ahead).
fn with_log_tail(fs: &FaultStorage, extra: usize) -> usize {
    let db = open(fs).unwrap_or_else(|e| panic!("{e}"));
    for t in 0..extra {
        let key = format!("tail{t}");
        db.insert(&key, [u8::try_from(t).unwrap_or(0); 40]).unwrap_or_else(|e| panic!("{e}"));
    }
    let end = db.stats().map_or_else(|e| panic!("{e}"), |s| s.wal_bytes);
    std::mem::forget(db);
    usize::try_from(end).unwrap_or(usize::MAX)
}

/// Every offset up to `end` (the frames), then a sample of the zeroed space ahead up to `len`.
fn log_offsets(end: usize, len: usize) -> impl Iterator<Item = usize> {
    (0..end).chain((end..len).step_by(509))
}

fn tail_state(extra: usize) -> State {
    let mut s = state_after(TXNS);
    for t in 0..extra {
        s.insert(format!("tail{t}").into_bytes(), vec![u8::try_from(t).unwrap_or(0); 40]);
    }
    s
}

/// Opens a copy of `fs` with `path` replaced by `bytes`; returns the state read after a clean
/// `check_integrity`, or the first error.
fn open_damaged(fs: &FaultStorage, path: &Path, bytes: Vec<u8>) -> crate::Result<State> {
    let copy = fs.crash(0, CrashMode::KeepAll);
    copy.set_file_bytes(path, bytes);
    let db = open(&copy)?;
    db.check_integrity()?;
    read_state(&db)
}

/// Classifies the result of [`open_damaged`] against the newest state and a list of prefix
/// states of the log (`prefixes`, oldest first, the newest last) and earlier checkpoints.
fn classify(result: &crate::Result<State>, prefixes: &[State], earlier: &[State]) -> Outcome {
    match result {
        Err(e) => Outcome::of_error(e),
        Ok(state) if prefixes.last() == Some(state) => Outcome::NoVisibleChange,
        Ok(state) if prefixes.contains(state) => Outcome::TornTailCut,
        Ok(state) if earlier.contains(state) => Outcome::EarlierState,
        Ok(_) => Outcome::WrongValue,
    }
}

#[test]
fn flipping_any_bit_of_either_meta_page_is_a_clear_error_or_a_valid_state() {
    suite("meta flips", || {
        let (fs, _) = base();
        let good = fs.file_bytes(Path::new(DB)).unwrap_or_default();
        let newest = [state_after(TXNS)];
        let earlier: Vec<State> = (0..TXNS).map(state_after).collect();
        let mut t = Tally::new("meta page bit flips");
        // Every bit in a full run, every 17th (all bit positions in a byte) in a short one.
        let stride = test_depth::stride(17);
        for bit in (0..2 * PAGE_SIZE * 8).step_by(stride) {
            let mut bytes = good.clone();
            if let Some(b) = bytes.get_mut(bit / 8) {
                *b ^= 1 << (bit % 8);
            }
            t.case(format_args!("bit {bit}"), || {
                classify(&open_damaged(&fs, Path::new(DB), bytes), &newest, &earlier)
            });
        }
        t.finish(&[Outcome::CleanError, Outcome::NoVisibleChange, Outcome::EarlierState]);
        // A flip in the older slot leaves the newest state; one in the newest slot makes the
        // older one win, which the log (reset by the newest checkpoint) no longer fits.
        assert!(t.count(Outcome::NoVisibleChange) >= (PAGE_SIZE * 8 / stride) as u64);
        assert!(t.count(Outcome::CleanError) > 0);
    });
}

#[test]
fn truncating_the_log_anywhere_leaves_a_prefix_of_its_commits() {
    suite("log truncation", || {
        let (fs, _) = base();
        let end = with_log_tail(&fs, 12);
        let log = fs.file_bytes(&wal_path()).unwrap_or_default();
        assert!(log.len() > end, "no zeroed space ahead of the frames");
        let prefixes: Vec<State> = (0..=12).map(tail_state).collect();
        let mut found = std::collections::BTreeSet::new();
        let mut t = Tally::new("log truncations");
        for len in log_offsets(end, log.len()).chain([log.len()]) {
            let bytes = log.get(..len).unwrap_or_default().to_vec();
            t.case(format_args!("truncated at {len}"), || {
                let r = open_damaged(&fs, &wal_path(), bytes);
                if let Ok(state) = &r
                    && let Some(n) = prefixes.iter().position(|p| p == state)
                {
                    found.insert(n);
                }
                classify(&r, &prefixes, &[])
            });
        }
        t.finish(&[Outcome::TornTailCut, Outcome::NoVisibleChange]);
        assert_eq!(found.len(), 13, "every frame boundary gives its own prefix");
    });
}

#[test]
fn byte_flips_in_the_log_are_a_clear_error_or_a_prefix() {
    suite("log flips", || {
        let (fs, _) = base();
        let end = with_log_tail(&fs, 12);
        let log = fs.file_bytes(&wal_path()).unwrap_or_default();
        let prefixes: Vec<State> = (0..=12).map(tail_state).collect();
        let mut t = Tally::new("log byte flips");
        for at in log_offsets(end, log.len()) {
            let mut bytes = log.clone();
            if let Some(b) = bytes.get_mut(at) {
                *b ^= 0x5a;
            }
            t.case(format_args!("flip at {at}"), || {
                classify(&open_damaged(&fs, &wal_path(), bytes), &prefixes, &[])
            });
        }
        t.finish(&[Outcome::CleanError, Outcome::TornTailCut, Outcome::NoVisibleChange]);
        assert!(t.count(Outcome::TornTailCut) > 0 && t.count(Outcome::CleanError) > 0);
    });
}

/// Opens a damaged copy and reads every key of `want` and the whole iteration: any value that
/// differs is a wrong value; otherwise any clean error (at open, from the check or a read) is
/// a clean error; otherwise nothing visible changed.
fn read_all_classified(copy: &FaultStorage, want: &State) -> Outcome {
    let db = match open(copy) {
        Ok(db) => db,
        Err(e) => return Outcome::of_error(&e),
    };
    let mut worst = Outcome::NoVisibleChange;
    let mut saw = |e: &Error| {
        let o = Outcome::of_error(e);
        if worst == Outcome::NoVisibleChange || o == Outcome::OtherError {
            worst = o;
        }
    };
    if let Err(e) = db.check_integrity() {
        saw(&e);
    }
    for (k, v) in want {
        match db.get(k) {
            Ok(got) if got.as_ref() == Some(v) => {}
            Ok(_) => return Outcome::WrongValue,
            Err(e) => saw(&e),
        }
    }
    match db.iter() {
        Err(e) => saw(&e),
        Ok(iter) => {
            for item in iter {
                match item {
                    Ok((k, v)) if want.get(&k) == Some(&v) => {}
                    Ok(_) => return Outcome::WrongValue,
                    Err(e) => {
                        saw(&e);
                        break;
                    }
                }
            }
        }
    }
    worst
}

#[test]
fn random_flips_in_data_pages_never_give_a_wrong_value() {
    suite("data page flips", || {
        let (fs, _) = base();
        let good = fs.file_bytes(Path::new(DB)).unwrap_or_default();
        let want = state_after(TXNS);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut t = Tally::new("data page byte flips");
        let mut at_open = 0u64;
        for _ in 0..test_depth::pick(1_000, 10_000, 100_000) {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let data = good.len().saturating_sub(2 * PAGE_SIZE).max(1);
            let at = 2 * PAGE_SIZE + usize::try_from(seed >> 33).unwrap_or(0) % data;
            let mut bytes = good.clone();
            if let Some(b) = bytes.get_mut(at) {
                *b ^= u8::try_from((seed >> 8) & 0xff).unwrap_or(1).max(1);
            }
            let copy = fs.crash(0, CrashMode::KeepAll);
            copy.set_file_bytes(Path::new(DB), bytes);
            t.case(format_args!("flip at {at}"), || {
                if let Err(e) = open(&copy) {
                    at_open += 1;
                    return Outcome::of_error(&e);
                }
                read_all_classified(&copy, &want)
            });
        }
        t.finish(&[Outcome::CleanError, Outcome::NoVisibleChange]);
        eprintln!("data page byte flips: {at_open} of the clean errors at open");
        assert!(at_open > 0 && t.count(Outcome::CleanError) > at_open, "some caught after open");
        assert!(t.count(Outcome::NoVisibleChange) > 0, "flips in unused bytes change nothing");
    });
}

/// `n` bytes of zeros, or of garbage from `seed`.
fn tail(n: usize, garbage: bool, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if garbage { x.to_le_bytes()[0] } else { 0 }
        })
        .collect()
}

/// What a crash while a file grows leaves behind: tails of these lengths (a byte, part of a
/// sector, a sector, a page, several pages and a bit).
const TAILS: [usize; 6] = [1, 100, 512, PAGE_SIZE, 3 * PAGE_SIZE + 7, 64 * 1024];

#[test]
fn zero_filled_and_garbage_tails_on_the_page_file_and_the_log_change_nothing() {
    suite("tails", || {
        let (fs, _) = base();
        with_log_tail(&fs, 12);
        let want = tail_state(12);
        let mut t = Tally::new("zero and garbage tails");
        for path in [PathBuf::from(DB), wal_path()] {
            let good = fs.file_bytes(&path).unwrap_or_default();
            for (i, n) in TAILS.into_iter().enumerate() {
                for garbage in [false, true] {
                    let mut bytes = good.clone();
                    bytes.extend(tail(n, garbage, i as u64 + 1));
                    let what = format!(
                        "{} + {n} bytes of {}",
                        path.display(),
                        if garbage { "garbage" } else { "zeros" }
                    );
                    t.case(&what, || {
                        let copy = fs.crash(0, CrashMode::KeepAll);
                        copy.set_file_bytes(&path, bytes);
                        let read = read_all_classified(&copy, &want);
                        if read != Outcome::NoVisibleChange {
                            return read;
                        }
                        // The database keeps working past the tail: a write, a checkpoint, a
                        // compaction and a reopen keep everything.
                        let more = || -> crate::Result<State> {
                            let db = open(&copy)?;
                            db.insert("after-the-tail", [7u8; 3000])?;
                            db.checkpoint()?;
                            db.insert("after-the-checkpoint", "x")?;
                            drop(db);
                            let db = open(&copy.crash(0, CrashMode::DropAll))?;
                            db.check_integrity()?;
                            db.compact()?;
                            db.check_integrity()?;
                            read_state(&db)
                        };
                        let mut expected = want.clone();
                        expected.insert(b"after-the-tail".to_vec(), vec![7; 3000]);
                        expected.insert(b"after-the-checkpoint".to_vec(), b"x".to_vec());
                        match more() {
                            Ok(state) if state == expected => Outcome::NoVisibleChange,
                            Ok(_) => Outcome::WrongValue,
                            Err(e) => {
                                eprintln!("{what}: {e}");
                                Outcome::OtherError
                            }
                        }
                    });
                }
            }
        }
        t.finish(&[Outcome::NoVisibleChange]);
    });
}

/// A closed database whose tree is at least three levels deep (long keys make few per page).
fn deep_tree() -> (FaultStorage, State, meta::Meta) {
    let fs = FaultStorage::new(5);
    let db = open(&fs).unwrap_or_else(|e| panic!("{e}"));
    let mut want = State::new();
    for i in 0..120u32 {
        // A long common prefix makes long separators, so few fit a branch.
        let key = format!("{}-{i:04}", "k".repeat(700)).into_bytes();
        let value = vec![u8::try_from(i % 251).unwrap_or(0); [3usize, 400, 5000][i as usize % 3]];
        db.insert(&key, &value).unwrap_or_else(|e| panic!("{e}"));
        want.insert(key, value);
    }
    db.checkpoint().unwrap_or_else(|e| panic!("{e}"));
    drop(db);
    let fs = fs.crash(0, CrashMode::KeepAll);
    let bytes = fs.file_bytes(Path::new(DB)).unwrap_or_default();
    let slots = [0, 1]
        .map(|i| meta::decode(bytes.get(i * PAGE_SIZE..(i + 1) * PAGE_SIZE).unwrap_or_default()));
    let m = meta::choose(Path::new(DB), slots).unwrap_or_else(|e| panic!("{e}"));
    assert!(m.height >= 3, "the tree should be three levels deep: {m:?}");
    (fs, want, m)
}

/// The byte offset, in the page, of the pointer to child `c` of a branch page.
fn child_offset(page: &[u8], c: usize) -> usize {
    if c == 0 {
        return crate::page::HEADER_LEN;
    }
    let b = Branch::new(page).unwrap_or_else(|e| panic!("{e}"));
    let raw = b.raw(c - 1).unwrap_or_else(|e| panic!("{e}"));
    raw.as_ptr() as usize - page.as_ptr() as usize + raw.len() - 8
}

/// `bytes` with child `c` of branch page `id` pointing at `to`, resealed (valid checksum).
fn repoint(bytes: &[u8], id: PageId, c: usize, to: PageId) -> Vec<u8> {
    let at = usize::try_from(id).unwrap_or(usize::MAX) * PAGE_SIZE;
    let mut page = new_page();
    page.copy_from_slice(bytes.get(at..at + PAGE_SIZE).unwrap_or_else(|| panic!("page {id}")));
    let off = child_offset(&page[..], c);
    page[off..off + 8].copy_from_slice(&to.to_le_bytes());
    seal(&mut page, id);
    let mut out = bytes.to_vec();
    out[at..at + PAGE_SIZE].copy_from_slice(&page[..]);
    out
}

fn branch_page(bytes: &[u8], id: PageId) -> &[u8] {
    let at = usize::try_from(id).unwrap_or(usize::MAX) * PAGE_SIZE;
    bytes.get(at..at + PAGE_SIZE).unwrap_or_else(|| panic!("page {id}"))
}

fn child(bytes: &[u8], id: PageId, c: usize) -> PageId {
    Branch::new(branch_page(bytes, id)).and_then(|b| b.child(c)).unwrap_or_else(|e| panic!("{e}"))
}

fn children(bytes: &[u8], id: PageId) -> usize {
    Branch::new(branch_page(bytes, id)).map_or(0, |b| b.children())
}

#[test]
fn cyclic_and_out_of_range_child_pointers_are_corruption_never_a_hang() {
    let (fs, want, m) = deep_tree();
    let good = fs.file_bytes(Path::new(DB)).unwrap_or_default();
    let root = m.root;
    let mid = child(&good, root, 0);
    let last = children(&good, root) - 1;
    let eof = good.len() as u64 / PAGE_SIZE as u64;
    // (what, page, child, points at, what the error must say)
    let cases: Vec<(&str, PageId, usize, PageId, &str)> = vec![
        ("the root's first child is the root", root, 0, root, "level"),
        ("the root's last child is the root", root, last, root, "level"),
        // A middle branch's children are leaves: the type check of the page pointed at
        // refuses a branch there before its level is read.
        ("a middle branch's child is the root (its parent)", mid, 1, root, "expected Leaf"),
        ("a middle branch's child is itself", mid, 0, mid, "expected Leaf"),
        ("a child is the first page past the end", root, 0, eof, "past the end"),
        ("a child lies far past the end", mid, 1, eof + 1_000_000, "past the end"),
        ("a child's offset overflows", root, last, u64::MAX, "page id"),
        ("a child is a meta page", mid, 0, 1, "meta page"),
        ("a child is page 0", root, 0, 0, "meta page"),
    ];
    let mut t = Tally::new("cyclic and out-of-range child pointers");
    for (what, page, c, to, says) in cases {
        let bytes = repoint(&good, page, c, to);
        let copy = fs.crash(0, CrashMode::KeepAll);
        copy.set_file_bytes(Path::new(DB), bytes);
        let want = want.clone();
        t.case(what, || {
            let outcome = with_watchdog(Duration::from_secs(30), move || {
                // The open rebuilds the index from a scan of the whole tree, so it must fail;
                // were it to open, every read must be right or a clean error.
                match open(&copy) {
                    Err(Error::Corruption { path, detail, .. }) => {
                        if path == Path::new(DB) && detail.contains(says) {
                            Outcome::CleanError
                        } else {
                            eprintln!("{what}: caught by another check: {detail}");
                            Outcome::OtherError
                        }
                    }
                    Err(e) => Outcome::of_error(&e),
                    Ok(db) => {
                        // A lazy open finds the damage in the background: the reads must.
                        drop(db);
                        read_all_classified(&copy, &want)
                    }
                }
            });
            outcome.unwrap_or(Outcome::Hang)
        });
    }
    t.finish(&[Outcome::CleanError]);
}

#[test]
fn a_cross_linked_child_pointer_is_corruption_when_the_index_is_built() {
    // Two parents sharing a subtree (the root's last child pointing at its first): every
    // page is valid and at its level; the open's scan sees the shared subtree's keys come
    // round again (keys must ascend), and `check_integrity` sees a page used twice.
    let (fs, _, m) = deep_tree();
    let good = fs.file_bytes(Path::new(DB)).unwrap_or_default();
    let first = child(&good, m.root, 0);
    let last = children(&good, m.root) - 1;
    let copy = fs.crash(0, CrashMode::KeepAll);
    copy.set_file_bytes(Path::new(DB), repoint(&good, m.root, last, first));
    let checked = copy.clone();
    // The open builds the index in the background (the log is empty): the damage is reported
    // by the first operation that needs the index.
    let outcome =
        with_watchdog(Duration::from_secs(30), move || match open(&copy).and_then(|db| db.len()) {
            Err(Error::Corruption { detail, .. }) => detail,
            Err(e) => format!("another error: {e}"),
            Ok(n) => format!("opened, {n} entries"),
        });
    let detail = outcome.unwrap_or_default();
    assert!(detail.contains("tree keys out of order"), "{detail}");
    // The integrity check, run on the file directly, names the shared page.
    let file = crate::io::Storage::open_file(&checked, Path::new(DB), false)
        .unwrap_or_else(|e| panic!("{e}"));
    let file = crate::page::file::PageFile::new(DB.into(), file, false);
    match crate::tree::check::check(&file, &m) {
        Err(Error::Corruption { detail, .. }) => {
            assert_eq!(detail, "page used as Tree and as Tree");
        }
        other => panic!("the integrity check missed a shared subtree: {other:?}"),
    }
}
