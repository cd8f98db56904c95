//! Compaction lets writers go on: commits made while it copies the tree (from another thread,
//! or from its own progress callback) are kept across the file swap and a reopen, checkpoints
//! wait for its end, and what would wait for itself is refused with
//! [`Error::InsideCompaction`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use emdb_core::{Emdb, Error, FlushPolicy, Operation, Progress};

/// The handle a progress callback writes through, set once the database is open and taken
/// back before it is dropped (the callback lives inside the handle).
type Slot = Arc<Mutex<Option<Emdb>>>;

/// Opens `path` with durable commits, a small checkpoint threshold (so that the commits made
/// during a compaction pass it), and `on_compact` called with the handle at each of the
/// compaction's progress reports.
fn open(
    path: &Path,
    on_compact: impl Fn(&Emdb, &Progress) + Send + Sync + 'static,
) -> (Emdb, Slot) {
    let slot: Slot = Arc::default();
    let inner = Arc::clone(&slot);
    let db = Emdb::builder()
        .path(path)
        .flush_policy(FlushPolicy::OnEachWrite)
        .checkpoint_wal_bytes(64 * 1024)
        .on_progress(move |p| {
            if p.operation == Operation::Compact {
                let db = inner.lock().unwrap().clone();
                if let Some(db) = db {
                    on_compact(&db, p);
                }
            }
        })
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(db.clone());
    (db, slot)
}

/// 2,000 entries of 600 bytes, nine in ten then removed: a file compaction shrinks.
fn fill_and_thin(db: &Emdb, model: &mut BTreeMap<Vec<u8>, Vec<u8>>) {
    db.transaction(|tx| {
        for i in 0..2_000u32 {
            tx.insert(i.to_be_bytes(), vec![u8::try_from(i % 251).unwrap(); 600])?;
        }
        Ok(())
    })
    .unwrap();
    db.checkpoint().unwrap();
    db.transaction(|tx| {
        for i in (0..2_000u32).filter(|i| i % 10 != 0) {
            tx.remove(i.to_be_bytes())?;
        }
        Ok(())
    })
    .unwrap();
    db.checkpoint().unwrap();
    for i in (0..2_000u32).filter(|i| i % 10 == 0) {
        model.insert(i.to_be_bytes().to_vec(), vec![u8::try_from(i % 251).unwrap(); 600]);
    }
}

fn contents(db: &Emdb) -> BTreeMap<Vec<u8>, Vec<u8>> {
    db.iter().unwrap().map(Result::unwrap).collect()
}

/// Checks `db` against `model` and with `check_integrity`, drops it (taking the callback's
/// handle back first), and checks the reopened file against `model`.
fn check_closed(db: Emdb, slot: &Slot, path: &Path, model: &BTreeMap<Vec<u8>, Vec<u8>>) {
    assert_eq!(contents(&db), *model);
    db.check_integrity().unwrap();
    slot.lock().unwrap().take();
    drop(db);
    assert_eq!(contents(&Emdb::open(path).unwrap()), *model);
}

#[test]
fn commits_made_while_a_compaction_copies_are_kept_across_the_swap_and_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    // What the callback wrote and whether each write returned Ok.
    let log: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let sink = Arc::clone(&log);
    let (db, slot) = open(&path, move |db, p| {
        let mut log = sink.lock().unwrap();
        let n = log.len();
        let ok = match n {
            // A namespace born during the compaction, with a key in it.
            0 => db.namespace("born").and_then(|ns| ns.insert("k", "v")).is_ok(),
            // An overwrite and a removal of keys the copied tree holds.
            1 => db.insert(0u32.to_be_bytes(), "new").is_ok(),
            2 => db.remove(10u32.to_be_bytes()).is_ok(),
            // A transaction of more writes than a commit would ever log: it is logged too.
            3 => db
                .transaction(|tx| {
                    for i in 0..70_000u32 {
                        tx.insert(format!("bulk{i:06}"), "b")?;
                    }
                    Ok(())
                })
                .is_ok(),
            _ if n < 40 => db.insert(format!("during{n:03}"), vec![7u8; 300]).is_ok(),
            _ => return,
        };
        log.push((format!("{n} at {}/{}", p.done, p.total), ok));
    });
    let mut model = BTreeMap::new();
    fill_and_thin(&db, &mut model);
    let before = std::fs::metadata(&path).unwrap().len();

    db.compact().unwrap();

    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 40, "the callback ran at 40 reports: {log:?}");
    assert!(log.iter().all(|(_, ok)| *ok), "a write during the compaction failed: {log:?}");
    model.insert(0u32.to_be_bytes().to_vec(), b"new".to_vec());
    model.remove(&10u32.to_be_bytes()[..]);
    for i in 0..70_000u32 {
        model.insert(format!("bulk{i:06}").into_bytes(), b"b".to_vec());
    }
    for n in 4..40 {
        model.insert(format!("during{n:03}").into_bytes(), vec![7u8; 300]);
    }
    assert_eq!(contents(&db), model);
    assert_eq!(db.namespace("born").unwrap().get("k").unwrap(), Some(b"v".to_vec()));
    let report = db.check_integrity().unwrap();
    assert_eq!(report.records, model.len() as u64 + 1);
    // The compacted file holds the copied tree only; the commits since wait in the log.
    let after = std::fs::metadata(&path).unwrap().len();
    assert!(after * 3 < before, "compaction shrank {before} bytes only to {after}");
    let wal = db.stats().unwrap().wal_bytes;
    assert!(wal > 64 * 1024, "the commits during the compaction were logged ({wal} bytes)");
    // The next commit checkpoints them into the new file.
    db.insert("after", "1").unwrap();
    model.insert(b"after".to_vec(), b"1".to_vec());
    assert!(db.stats().unwrap().wal_bytes < wal, "the checkpoint put off during it ran");
    db.check_integrity().unwrap();

    slot.lock().unwrap().take();
    drop(db);
    let db = Emdb::open(&path).unwrap();
    assert_eq!(contents(&db), model);
    assert_eq!(db.namespace("born").unwrap().get("k").unwrap(), Some(b"v".to_vec()));
    db.check_integrity().unwrap();
}

#[test]
fn another_thread_commits_while_a_compaction_copies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let (start_tx, start_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<u32>();
    let start_tx = Mutex::new(Some(start_tx));
    let done_rx = Mutex::new(done_rx);
    let waited: Arc<Mutex<Option<Result<u32, mpsc::RecvTimeoutError>>>> = Arc::default();
    let outcome = Arc::clone(&waited);
    let (db, slot) = open(&path, move |_, _| {
        // At the first report, hold the compaction until the writer has committed.
        if let Some(start) = start_tx.lock().unwrap().take() {
            start.send(()).unwrap();
            let done = done_rx.lock().unwrap().recv_timeout(Duration::from_secs(60));
            *outcome.lock().unwrap() = Some(done);
        }
    });
    let mut model = BTreeMap::new();
    fill_and_thin(&db, &mut model);
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            start_rx.recv().unwrap();
            for i in 0..20u32 {
                db.insert(format!("w{i:02}"), "x").unwrap();
            }
            done_tx.send(20).unwrap();
        })
    };
    db.compact().unwrap();
    writer.join().unwrap();
    let waited = waited.lock().unwrap().take();
    assert!(
        matches!(waited, Some(Ok(20))),
        "the writer could not commit while the compaction ran: {waited:?}"
    );
    for i in 0..20u32 {
        model.insert(format!("w{i:02}").into_bytes(), b"x".to_vec());
    }
    check_closed(db, &slot, &path, &model);
}

#[test]
fn what_would_wait_for_the_compaction_is_refused_from_its_progress_callback() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let copy = dir.path().join("copy");
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let (db, slot) = open(&path, move |db, _| {
        let mut seen = sink.lock().unwrap();
        if !seen.is_empty() {
            return;
        }
        let results = [
            db.checkpoint(),
            db.compact(),
            db.backup_to(&copy),
            db.clone().close(),
            db.flush(),
            db.get("k").map(drop),
        ];
        seen.extend(results.iter().map(|r| match r {
            Ok(()) => "ok".to_owned(),
            Err(Error::InsideCompaction { operation }) => format!("inside {operation}"),
            Err(e) => format!("other: {e}"),
        }));
    });
    db.insert("k", "v").unwrap();
    db.compact().unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        ["inside checkpoint", "inside compact", "inside backup", "inside close", "ok", "ok"]
    );
    let message = Error::InsideCompaction { operation: "checkpoint" }.to_string();
    assert!(message.contains("after `compact` returns"), "{message}");
    // Nothing was left held: the same operations run once the compaction is over.
    db.checkpoint().unwrap();
    db.backup_to(dir.path().join("copy")).unwrap();
    db.compact().unwrap();
    slot.lock().unwrap().take();
    db.close().unwrap();
    assert_eq!(Emdb::open(dir.path().join("copy")).unwrap().get("k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn a_compaction_whose_progress_callback_panics_leaves_the_database_usable() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let armed = Arc::new(AtomicBool::new(true));
    let trigger = Arc::clone(&armed);
    let (db, slot) = open(&path, move |_, p| {
        let fails = p.done > 0 && trigger.swap(false, Ordering::Relaxed);
        assert!(!fails, "a progress bar that fails");
    });
    let mut model = BTreeMap::new();
    fill_and_thin(&db, &mut model);
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.compact()));
    assert!(unwound.is_err(), "the callback's panic reaches the caller");
    // Commits checkpoint again, and the next compaction runs (and removes the stray file).
    db.insert("after", "1").unwrap();
    model.insert(b"after".to_vec(), b"1".to_vec());
    db.checkpoint().unwrap();
    db.compact().unwrap();
    assert!(!dir.path().join("db.compact").exists());
    check_closed(db, &slot, &path, &model);
}

#[test]
fn a_checkpoint_asked_for_during_a_compaction_waits_for_it_and_then_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_tx = Mutex::new(Some(go_tx));
    let (db, slot) = open(&path, move |db, _| {
        // At the first report: a commit the checkpoint will have to write, then the other
        // thread asks for that checkpoint.
        if let Some(go) = go_tx.lock().unwrap().take() {
            db.insert("during", "1").unwrap();
            go.send(()).unwrap();
            // Give the other thread time to reach the maintenance lock while this one copies.
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let mut model = BTreeMap::new();
    fill_and_thin(&db, &mut model);
    let checkpointer = {
        let db = db.clone();
        std::thread::spawn(move || {
            go_rx.recv().unwrap();
            db.checkpoint()
        })
    };
    db.compact().unwrap();
    let result = checkpointer.join().unwrap();
    assert!(result.is_ok(), "the checkpoint ran once the compaction was over: {result:?}");
    // It wrote the commit made during the compaction into the new file: the log is empty.
    let stats = db.stats().unwrap();
    assert_eq!(stats.last_checkpoint_lsn, stats.last_lsn);
    model.insert(b"during".to_vec(), b"1".to_vec());
    check_closed(db, &slot, &path, &model);
}
