//! Crash and fault tests of the whole engine through the fault-injecting I/O seam: group commit,
//! poisoning, a sweep that fails every I/O of a workload once and forever, power loss after it
//! with every damage mode, and a second crash during recovery. Every reopen must give the state
//! after some prefix of the attempted commits that holds every commit acknowledged durable.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::db::Emdb;
use crate::error::Error;
use crate::io::fault::{CrashMode, FaultKind, FaultStorage};
use crate::keyspace::FlushPolicy;
use crate::test_depth;

pub(super) const DB: &str = "/db/data";
/// Transactions of the workload; a checkpoint runs after each count in [`CHECKPOINT_AFTER`] of
/// them. The later two reclaim value pages: they free the pages whose values the transactions
/// since overwrote, move the live values of mostly dead ones, and reuse freed pages.
pub(super) const TXNS: usize = 30;
const CHECKPOINT_AFTER: [usize; 3] = [14, 22, 27];

pub(super) type State = BTreeMap<Vec<u8>, Vec<u8>>;

thread_local! {
    /// The memory budget [`open`] gives the database on this test's thread (`None`: none).
    static BUDGET: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

pub(super) fn open(fs: &FaultStorage) -> crate::Result<Emdb> {
    let builder = Emdb::builder()
        .path(DB)
        .flush_policy(FlushPolicy::OnEachWrite)
        .checkpoint_wal_bytes(u64::MAX);
    let builder = match BUDGET.get() {
        Some(bytes) => builder.memory_budget(bytes),
        None => builder,
    };
    builder.build_on(Arc::new(fs.clone()))
}

/// The writes of transaction `t`: three keys, one of them removed every fourth time, values
/// of three sizes (inline, packed, overflow). Transaction 0 also writes twelve packed values
/// that fill two value pages, and transaction 16 removes eight of them, so that the checkpoint
/// after it moves the survivors and frees both pages.
fn txn(t: usize) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let mut writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..3)
        .map(|j| {
            let key = format!("k{}", (t * 3 + j * 7) % 11).into_bytes();
            let size = [3usize, 500, 5000][(t + j) % 3];
            let byte = u8::try_from(t % 251).unwrap_or(0);
            let value = (t % 4 != 3 || j != 0).then(|| vec![byte; size]);
            (key, value)
        })
        .collect();
    let packed = |p: u8| format!("p{p:02}").into_bytes();
    match t {
        0 => writes.extend((0..12u8).map(|p| (packed(p), Some(vec![p; 600])))),
        16 => writes.extend([0, 1, 2, 3, 5, 6, 7, 8].map(|p| (packed(p), None))),
        _ => {}
    }
    writes
}

/// The state after the first `n` transactions.
pub(super) fn state_after(n: usize) -> State {
    let mut s = State::new();
    for t in 0..n {
        for (k, v) in txn(t) {
            match v {
                Some(v) => s.insert(k, v),
                None => s.remove(&k),
            };
        }
    }
    s
}

pub(super) fn read_state(db: &Emdb) -> crate::Result<State> {
    db.iter()?.collect()
}

/// Runs the workload until the first error. Returns how many transactions were attempted and
/// how many were acknowledged (returned `Ok`). The handle is dropped (which checkpoints) only
/// after the storage was crashed: the process "dies" at the failure.
fn workload(fs: &FaultStorage) -> (usize, usize) {
    let (attempted, acked, db) = workload_open(fs);
    std::mem::forget(db);
    (attempted, acked)
}

fn workload_open(fs: &FaultStorage) -> (usize, usize, Option<Emdb>) {
    let Ok(db) = open(fs) else { return (0, 0, None) };
    let (a, b) = run_txns(&db);
    (a, b, Some(db))
}

pub(super) fn run_txns(db: &Emdb) -> (usize, usize) {
    let mut acked = 0;
    for t in 0..TXNS {
        let r = db.transaction(|tx| {
            for (k, v) in txn(t) {
                match v {
                    Some(v) => tx.insert(&k, &v)?,
                    None => {
                        tx.remove(&k)?;
                    }
                }
            }
            Ok(())
        });
        if r.is_err() {
            return (t + 1, acked);
        }
        acked = t + 1;
        if CHECKPOINT_AFTER.contains(&(t + 1)) && db.checkpoint().is_err() {
            return (acked, acked);
        }
    }
    (TXNS, acked)
}

/// Opens the crashed storage and checks the prefix property; returns the prefix found.
fn check_prefix(fs: &FaultStorage, attempted: usize, acked: usize, what: &str) -> usize {
    let db = open(fs).unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
    let got = read_state(&db).unwrap_or_else(|e| panic!("{what}: read failed: {e}"));
    let found = (acked..=attempted).find(|&n| state_after(n) == got);
    let Some(n) = found else {
        panic!(
            "{what}: state is no prefix in {acked}..={attempted}: {:?}",
            got.keys().collect::<Vec<_>>()
        )
    };
    assert_eq!(db.len().unwrap_or(usize::MAX), got.len(), "{what}: len agrees with iter");
    let report = db.check_integrity().unwrap_or_else(|e| panic!("{what}: integrity check: {e}"));
    assert_eq!(report.records, got.len() as u64, "{what}: the check counts every record");
    for (k, v) in &got {
        assert_eq!(db.get(k).ok().flatten().as_ref(), Some(v), "{what}: get agrees with iter");
    }
    n
}

#[test]
fn concurrent_committers_share_syncs() {
    let fs = FaultStorage::new(1);
    fs.set_sync_delay(Some(Duration::from_millis(2)));
    let db = open(&fs).unwrap_or_else(|e| panic!("{e}"));
    let before = fs.sync_count();
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..20u32 {
                    db.insert(format!("{t}:{i}"), "v").unwrap_or_else(|e| panic!("{e}"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap_or_else(|_| panic!("a committer panicked"));
    }
    let syncs = fs.sync_count() - before;
    assert!(syncs < 160, "160 commits took {syncs} syncs: no group commit");
}

#[test]
fn a_failed_sync_poisons_the_handle_until_it_is_reopened() {
    let fs = FaultStorage::new(2);
    let db = open(&fs).unwrap_or_else(|e| panic!("{e}"));
    db.insert("a", "1").unwrap_or_else(|e| panic!("{e}"));
    // An insert under OnEachWrite is one log write and one sync: fail the sync.
    fs.fail_at(fs.io_count() + 2, false, FaultKind::Io);
    assert!(db.insert("b", "2").is_err());
    fs.clear_faults();
    assert!(matches!(db.insert("c", "3"), Err(Error::Poisoned)));
    assert!(matches!(db.flush(), Err(Error::Poisoned)));
    assert!(matches!(db.checkpoint(), Err(Error::Poisoned)));
    assert_eq!(db.get("a").unwrap_or_default(), Some(b"1".to_vec()), "reads go on");
    drop(db);
    let db = open(&fs.crash(3, CrashMode::DropAll)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(db.get("a").unwrap_or_default(), Some(b"1".to_vec()));
    assert!(db.get("c").unwrap_or_default().is_none());
    db.insert("d", "4").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn failing_every_io_once_or_forever_and_losing_power_leaves_a_durable_prefix() {
    fault_sweep();
}

/// The fault sweep under a memory budget of 4 KiB: a checkpoint at nearly every commit, and
/// most reads a descent of the tree.
#[test]
fn failing_every_io_under_a_tiny_memory_budget_leaves_a_durable_prefix() {
    BUDGET.set(Some(4096));
    fault_sweep();
}

fn fault_sweep() {
    let clean = FaultStorage::new(7);
    let (attempted, acked, db) = workload_open(&clean);
    assert_eq!((attempted, acked), (TXNS, TXNS));
    // The checkpoints of the workload reclaim: they move values and free emptied pages.
    let (moved, emptied) = db.as_ref().map_or((0, 0), |db| db.keyspace().reclaimed());
    assert!(moved > 0 && emptied > 0, "moved {moved} values, emptied {emptied} pages");
    std::mem::forget(db);
    let total = clean.io_count();
    assert!(total > 60, "the workload makes {total} I/O calls");
    let modes = CrashMode::ALL;
    let mut reopens = 0;
    // Every I/O call in a full run, every 5th in a short one.
    for n in (1..=total).step_by(test_depth::stride(5)) {
        for forever in [false, true] {
            for kind in [FaultKind::Io, FaultKind::NoSpace] {
                if kind == FaultKind::NoSpace && !forever {
                    continue;
                }
                let fs = FaultStorage::new(n);
                fs.fail_at(n, forever, kind);
                let (attempted, acked, db) = workload_open(&fs);
                for (i, mode) in modes.iter().enumerate() {
                    let seed = n * 31 + i as u64;
                    let crashed = fs.crash(seed, *mode);
                    let what = format!("io {n} forever={forever} {kind:?} then {mode:?}");
                    check_prefix(&crashed, attempted, acked, &what);
                    reopens += 1;
                }
                drop(db);
            }
        }
    }
    eprintln!(
        "fault sweep: {total} I/O calls, {reopens} crash states reopened and checked (the \
         workload moved {moved} values and emptied {emptied} value pages)"
    );
    assert!(reopens > test_depth::pick(200, 1000, 1000), "{reopens} reopen cycles");
}

#[test]
fn a_second_crash_during_recovery_still_leaves_a_durable_prefix() {
    let base = FaultStorage::new(11);
    base.fail_at(40, true, FaultKind::Io);
    let (attempted, acked) = workload(&base);
    let first = base.crash(5, CrashMode::Random);
    // Count the I/O calls of a clean recovery, then fail each of them and crash again.
    let probe = first.crash(0, CrashMode::KeepAll);
    let before = probe.io_count();
    drop(open(&probe));
    let recovery_ios = probe.io_count() - before;
    let mut reopens = 0;
    for n in 1..=recovery_ios + 2 {
        let again = first.crash(n, CrashMode::KeepAll);
        again.fail_at(again.io_count() + n, true, FaultKind::Io);
        drop(open(&again));
        for mode in [CrashMode::Random, CrashMode::DropAll, CrashMode::TearAll] {
            let what = format!("recovery io {n} then {mode:?}");
            check_prefix(&again.crash(n + 100, mode), attempted, acked, &what);
            reopens += 1;
        }
    }
    eprintln!("crash during recovery: {recovery_ios} I/O calls, {reopens} crash states checked");
}

#[test]
fn a_compaction_interrupted_at_any_io_leaves_the_old_or_the_new_file_whole() {
    compaction_crash_sweep(false);
}

/// As Windows does, the storage refuses to rename the compacted file over the open page file:
/// compaction moves the old file aside first, and an open after a crash between the two
/// renames puts it back.
#[test]
fn a_compaction_that_replaces_in_two_steps_leaves_the_old_or_the_new_file_whole() {
    compaction_crash_sweep(true);
}

fn compaction_crash_sweep(two_steps: bool) {
    let clean = FaultStorage::new(13);
    if two_steps {
        clean.refuse_replacing_renames();
    }
    let (_, acked) = workload(&clean);
    assert_eq!(acked, TXNS);
    let want = state_after(TXNS);
    let probe = clean.crash(0, CrashMode::KeepAll);
    let db = open(&probe).unwrap_or_else(|e| panic!("{e}"));
    let start = probe.io_count();
    db.compact().unwrap_or_else(|e| panic!("{e}"));
    let ios = probe.io_count() - start;
    assert_eq!(read_state(&db).unwrap_or_default(), want);
    drop(db);
    let mut reopens = 0;
    for n in 1..=ios {
        let fs = clean.crash(0, CrashMode::KeepAll);
        let db = open(&fs).unwrap_or_else(|e| panic!("{e}"));
        fs.fail_at(fs.io_count() + n, true, FaultKind::Io);
        let _ = db.compact();
        for mode in [CrashMode::Random, CrashMode::DropAll, CrashMode::KeepAll] {
            let what = format!("compaction io {n} then {mode:?}");
            let got = check_prefix(&fs.crash(n, mode), TXNS, TXNS, &what);
            assert_eq!(got, TXNS);
            reopens += 1;
        }
        drop(db);
    }
    eprintln!(
        "crash during compaction (two steps: {two_steps}): {ios} I/O calls, {reopens} crash \
         states checked"
    );
    assert!(Path::new(DB).parent().is_some());
}

/// Commits made while a compaction copies the tree (from its progress callback, on a 1 KiB
/// checkpoint threshold that they pass) are logged; power lost at any I/O of the compaction or
/// of those commits, with every damage mode, leaves the copied state plus a prefix of them that
/// holds every one acknowledged, in the old file or the new one.
#[test]
fn a_compaction_with_commits_during_it_interrupted_at_any_io_keeps_every_acked_commit() {
    for two_steps in [false, true] {
        compaction_with_commits_crash_sweep(two_steps);
    }
}

fn compaction_with_commits_crash_sweep(two_steps: bool) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    /// Commits made from the callback, one per progress report.
    const DURING: usize = 6;
    let key = |i: usize| format!("during{i}").into_bytes();
    let value = |i: usize| vec![u8::try_from(i).unwrap_or(0); 400];
    // Opens `fs` with a callback that commits during a compaction; returns the handle, the
    // slot the callback writes through, and the counts of commits attempted and acknowledged.
    let open_writing = |fs: &FaultStorage| {
        let slot: Arc<std::sync::Mutex<Option<Emdb>>> = Arc::default();
        let (attempted, acked) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (inner, tried, done) = (Arc::clone(&slot), Arc::clone(&attempted), Arc::clone(&acked));
        let db = Emdb::builder()
            .path(DB)
            .flush_policy(FlushPolicy::OnEachWrite)
            .checkpoint_wal_bytes(1024)
            .on_progress(move |_| {
                let db = inner.lock().ok().and_then(|db| db.clone());
                let i = tried.load(Ordering::Relaxed);
                // Commits stop at the first failure, as a process would.
                if let Some(db) = db
                    && i < DURING
                    && done.load(Ordering::Relaxed) == i
                {
                    tried.store(i + 1, Ordering::Relaxed);
                    if db.insert(key(i), value(i)).is_ok() {
                        done.store(i + 1, Ordering::Relaxed);
                    }
                }
            })
            .build_on(Arc::new(fs.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        if let Ok(mut s) = slot.lock() {
            *s = Some(db.clone());
        }
        (db, slot, attempted, acked)
    };
    let with_during = |n: usize| {
        let mut s = state_after(TXNS);
        s.extend((0..n).map(|i| (key(i), value(i))));
        s
    };
    let clean = FaultStorage::new(17);
    if two_steps {
        clean.refuse_replacing_renames();
    }
    let (_, acked) = workload(&clean);
    assert_eq!(acked, TXNS);
    let probe = clean.crash(0, CrashMode::KeepAll);
    let (db, slot, _, acked) = open_writing(&probe);
    let start = probe.io_count();
    db.compact().unwrap_or_else(|e| panic!("{e}"));
    let ios = probe.io_count() - start;
    assert_eq!(acked.load(Ordering::Relaxed), DURING, "every commit during it was acked");
    assert_eq!(read_state(&db).unwrap_or_default(), with_during(DURING));
    let wal = db.stats().map(|s| s.wal_bytes).unwrap_or_default();
    assert!(wal > 1024, "the commits were logged, not checkpointed ({wal} bytes of log)");
    slot.lock().map(|mut s| s.take()).unwrap_or_default();
    drop(db);
    let mut reopens = 0;
    for n in 1..=ios {
        let fs = clean.crash(0, CrashMode::KeepAll);
        let (db, slot, attempted, acked) = open_writing(&fs);
        fs.fail_at(fs.io_count() + n, true, FaultKind::Io);
        let _ = db.compact();
        let (attempted, acked) = (attempted.load(Ordering::Relaxed), acked.load(Ordering::Relaxed));
        for mode in [CrashMode::Random, CrashMode::DropAll, CrashMode::KeepAll] {
            let what = format!("compaction (two steps: {two_steps}) io {n} then {mode:?}");
            let crashed = fs.crash(n, mode);
            let reopened = open(&crashed).unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
            let got = read_state(&reopened).unwrap_or_else(|e| panic!("{what}: read: {e}"));
            assert!(
                (acked..=attempted).any(|k| with_during(k) == got),
                "{what}: not the copied state plus {acked}..={attempted} commits: {:?}",
                got.keys().collect::<Vec<_>>()
            );
            let report =
                reopened.check_integrity().unwrap_or_else(|e| panic!("{what}: check: {e}"));
            assert_eq!(report.records, got.len() as u64, "{what}");
            reopens += 1;
        }
        slot.lock().map(|mut s| s.take()).unwrap_or_default();
        drop(db);
    }
    eprintln!(
        "crash during compaction with commits (two steps: {two_steps}): {ios} I/O calls, \
         {reopens} crash states checked"
    );
}

/// A compaction of a file opened after a clean close (its log recorded empty, nothing to
/// checkpoint), with a commit during it: the new file's meta page records the log in use, so a
/// crash that then loses the log is [`Error::LogMissing`], not a silent loss of the commit.
#[test]
fn a_commit_during_the_compaction_of_a_cleanly_closed_file_is_not_lost_with_the_log() {
    use crate::io::Storage;
    let fs = FaultStorage::new(23);
    let db = open(&fs).unwrap_or_else(|e| panic!("{e}"));
    db.insert("before", "1").unwrap_or_else(|e| panic!("{e}"));
    db.close().unwrap_or_else(|e| panic!("{e}"));
    let slot: Arc<std::sync::Mutex<Option<Emdb>>> = Arc::default();
    let inner = Arc::clone(&slot);
    let db = Emdb::builder()
        .path(DB)
        .flush_policy(FlushPolicy::OnEachWrite)
        .on_progress(move |_| {
            if let Some(db) = inner.lock().ok().and_then(|mut db| db.take()) {
                db.insert("during", "2").unwrap_or_else(|e| panic!("{e}"));
            }
        })
        .build_on(Arc::new(fs.clone()))
        .unwrap_or_else(|e| panic!("{e}"));
    if let Ok(mut s) = slot.lock() {
        *s = Some(db.clone());
    }
    db.compact().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(db.get("during").ok().flatten(), Some(b"2".to_vec()));
    std::mem::forget(db);
    let crashed = fs.crash(1, CrashMode::DropAll);
    let replayed = open(&crashed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(replayed.get("during").ok().flatten(), Some(b"2".to_vec()), "replayed");
    std::mem::forget(replayed);
    let crashed = fs.crash(2, CrashMode::DropAll);
    crashed.remove(Path::new("/db/data.wal")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(open(&crashed), Err(Error::LogMissing { .. })),
        "the new file says the log is in use"
    );
}

/// A batch larger than the log threshold is not logged: the checkpoint after it writes it to
/// the page file instead. Power lost at any I/O of that commit (every damage mode) leaves the
/// state before the batch or after it, whole; once the commit returned `Ok`, after it.
#[test]
fn a_batch_checkpointed_instead_of_logged_is_all_or_nothing_at_every_crash() {
    const THRESHOLD: u64 = 16 * 1024;
    let open_small = |fs: &FaultStorage| {
        Emdb::builder()
            .path(DB)
            .flush_policy(FlushPolicy::OnEachWrite)
            .checkpoint_wal_bytes(THRESHOLD)
            .build_on(Arc::new(fs.clone()))
    };
    // Small logged commits first, then one batch of ~100 KiB (inline, packed and overflow
    // values, overwrites and removes of the earlier keys).
    let before: State = (0..20u8).map(|i| (vec![b'a', i], vec![i; 300])).collect();
    let mut after = before.clone();
    let mut big: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
    for i in 0..60u8 {
        let value = vec![i; [40usize, 900, 5000][usize::from(i % 3)]];
        big.push((vec![b'b', i], Some(value)));
    }
    for i in (0..20u8).step_by(2) {
        big.push((vec![b'a', i], if i % 4 == 0 { None } else { Some(vec![0xEE; 200]) }));
    }
    for (k, v) in &big {
        match v {
            Some(v) => after.insert(k.clone(), v.clone()),
            None => after.remove(k),
        };
    }
    let run = |fs: &FaultStorage| -> (bool, u64, u64) {
        let Ok(db) = open_small(fs) else { return (false, 0, 0) };
        for (k, v) in &before {
            if db.insert(k, v).is_err() {
                std::mem::forget(db);
                return (false, 0, 0);
            }
        }
        let start = fs.io_count();
        let acked = db
            .transaction(|tx| {
                for (k, v) in &big {
                    match v {
                        Some(v) => tx.insert(k, v)?,
                        None => drop(tx.remove(k)?),
                    }
                }
                Ok(())
            })
            .is_ok();
        let end = fs.io_count();
        std::mem::forget(db);
        (acked, start, end)
    };
    let clean = FaultStorage::new(3);
    let (acked, start, end) = run(&clean);
    assert!(acked);
    let reopened = open_small(&clean.crash(1, CrashMode::KeepAll)).unwrap();
    assert_eq!(read_state(&reopened).unwrap(), after);
    drop(reopened);
    // The log's bytes up to its last non-zero one (zeros are space written ahead).
    let logged = |log: Vec<u8>| log.iter().rposition(|&b| b != 0).map_or(0, |i| i as u64 + 1);
    let log = logged(clean.file_bytes(Path::new("/db/data.wal")).unwrap_or_default());
    assert!(log < THRESHOLD, "the batch went to the page file, not the log ({log} bytes of log)");
    let modes = CrashMode::ALL;
    let mut states = 0;
    for n in start + 1..=end + 1 {
        let fs = FaultStorage::new(n);
        fs.power_off_at(n);
        let (acked, ..) = run(&fs);
        for (i, mode) in modes.iter().enumerate() {
            let crashed = fs.crash(n * 7 + i as u64, *mode);
            let what = format!("power off at I/O {n} then {mode:?}");
            let log = logged(crashed.file_bytes(Path::new("/db/data.wal")).unwrap_or_default());
            assert!(log < THRESHOLD, "{what}: the batch reached the log");
            let db = open_small(&crashed).unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
            let got = read_state(&db).unwrap_or_else(|e| panic!("{what}: read: {e}"));
            assert!(got == after || (!acked && got == before), "{what}: a partial batch");
            let report = db.check_integrity().unwrap_or_else(|e| panic!("{what}: check: {e}"));
            assert_eq!(report.records, got.len() as u64, "{what}");
            states += 1;
        }
    }
    eprintln!("unlogged batch: {} I/O calls, {states} crash states checked", end - start);
    assert!(end - start > 5, "the commit made {} I/O calls", end - start);
}

/// A first load large enough to be applied to the empty index while a second thread syncs its
/// pages: whichever I/O call of the commit fails (once or for good), the handle shows none of
/// the batch afterwards (the index is emptied again) and the file, reopened after any kind of
/// crash, holds all of it or none; a power loss at any of those calls leaves all or none.
#[test]
fn a_first_load_applied_during_its_sync_is_all_or_nothing() {
    const N: u32 = 70_000;
    let key = |i: u32| i.to_be_bytes();
    let value = |i: u32| (u64::from(i) * 7).to_be_bytes();
    let load = |db: &Emdb| {
        db.transaction(|tx| (0..N).try_for_each(|i| tx.insert(key(i), value(i)))).is_ok()
    };
    // All of the batch or none of it, through point reads, a scan and the count.
    let all_or_none = |db: &Emdb, what: &str| -> bool {
        let probes = [0, 1, N / 2, N - 1];
        let found: Vec<bool> = probes.iter().map(|&i| db.get(key(i)).unwrap().is_some()).collect();
        let all = found.iter().all(|&f| f);
        assert!(all || found.iter().all(|&f| !f), "{what}: part of the batch: {found:?}");
        let scanned = db.keys().unwrap().count();
        assert_eq!(scanned, if all { N as usize } else { 0 }, "{what}: scan");
        if all {
            assert_eq!(db.get(key(N / 3)).unwrap(), Some(value(N / 3).to_vec()), "{what}");
        }
        all
    };
    let clean = FaultStorage::new(5);
    let db = open(&clean).unwrap();
    let start = clean.io_count();
    assert!(load(&db));
    let end = clean.io_count();
    assert!(all_or_none(&db, "clean"));
    assert_eq!(db.len().unwrap(), N as usize);
    db.check_integrity().unwrap();
    drop(db);
    let kinds = clean.io_kinds();
    let synced = |n: u64| kinds.get(usize::try_from(n - 1).unwrap()).is_some_and(|k| k.syncs());
    // The commit ends with the sync of its pages, the meta page's write and sync, and the
    // log's reset (one sync): up to the meta page's sync, a failure leaves the index empty.
    let syncs: Vec<u64> = (start + 1..=end).filter(|&n| synced(n)).collect();
    let meta_synced = syncs[syncs.len() - 2];
    // Every sync and the calls around the end of the commit, and (in a full run) a sample of
    // the page writes before them; a short run crashes each with one random damage mode.
    let sample = |n: u64| test_depth::full() && n.is_multiple_of(41);
    let last = test_depth::pick(4, 6, 6);
    let points: Vec<u64> =
        (start + 1..=end).filter(|&n| synced(n) || n + last > end || sample(n)).collect();
    let all_modes = [CrashMode::KeepAll, CrashMode::DropAll, CrashMode::Random];
    let modes = test_depth::pick(&all_modes[2..], &all_modes[..], &all_modes[..]);
    let mut states = 0;
    for &n in &points {
        for fault in [Some(false), Some(true), None] {
            let fs = FaultStorage::new(n);
            let db = open(&fs).unwrap();
            match fault {
                Some(forever) => fs.fail_at(n, forever, FaultKind::Io),
                None => fs.power_off_at(n),
            }
            let acked = load(&db);
            let what = format!("I/O {n} of {start}..{end}, fault {fault:?}");
            // Before the meta page is durable, a failed load shows none of the batch (reading
            // it needs no I/O: the index is empty again and the tree too). A later failure
            // (the log's reset) still publishes the batch, durable by then.
            if !acked && fault.is_some() && n <= meta_synced {
                assert!(!all_or_none(&db, &what), "{what}: a failed load is visible");
            }
            drop(db);
            for &mode in modes {
                let crashed = fs.crash(n * 3 + mode as u64, mode);
                let what = format!("{what} then {mode:?}");
                let db = open(&crashed).unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
                let all = all_or_none(&db, &what);
                assert!(all || !acked, "{what}: an acknowledged load was lost");
                db.check_integrity().unwrap_or_else(|e| panic!("{what}: check: {e}"));
                states += 1;
            }
        }
    }
    eprintln!(
        "first load during its sync: {} I/O calls, {} faulted, {states} crash states checked",
        end - start,
        points.len()
    );
    assert!(points.len() >= test_depth::pick(4, 8, 8), "{points:?}");
}
