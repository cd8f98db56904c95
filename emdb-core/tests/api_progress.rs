//! `EmdbBuilder::on_progress`: compaction, backups and the integrity check report their
//! progress from 0 to their total, in order, a bounded number of times; `Stats::running` shows
//! an operation's last report while it runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::{Arc, Mutex};

use emdb_core::{Emdb, FlushPolicy, Operation, Progress};

#[test]
fn long_operations_report_their_progress_from_start_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let db = Emdb::builder()
        .path(dir.path().join("db"))
        // Durable commits would only add 5,000 syncs to a test of progress reports.
        .flush_policy(FlushPolicy::Manual)
        .on_progress(move |p| sink.lock().unwrap().push(p.clone()))
        .build()
        .unwrap();
    for i in 0..5_000u32 {
        db.insert(i.to_be_bytes(), vec![1u8; 200]).unwrap();
    }
    db.namespace("other").unwrap().insert("k", "v").unwrap();
    assert!(seen.lock().unwrap().is_empty(), "writes report nothing");

    db.compact().unwrap();
    db.backup_to(dir.path().join("copy")).unwrap();
    db.check_integrity().unwrap();
    let file_len = std::fs::metadata(dir.path().join("db")).unwrap().len();

    let seen = seen.lock().unwrap();
    for (op, want_total) in [
        // Every entry of the tree: the records, the namespace's and its catalog entry.
        (Operation::Compact, Some(5_002)),
        (Operation::Backup, Some(file_len)),
        (Operation::IntegrityCheck, None),
    ] {
        let steps: Vec<&Progress> = seen.iter().filter(|p| p.operation == op).collect();
        assert!(steps.len() >= 2, "{op:?}: {steps:?}");
        let total = steps[0].total;
        if let Some(want) = want_total {
            assert_eq!(total, want, "{op:?}");
        }
        assert!(total > 0, "{op:?}");
        assert_eq!(steps.first().unwrap().done, 0, "{op:?} starts at 0");
        assert_eq!(steps.last().unwrap().done, total, "{op:?} ends at its total");
        assert!(steps.windows(2).all(|w| w[0].done < w[1].done), "{op:?} goes backwards");
        assert!(steps.iter().all(|p| p.total == total && p.done <= total));
        assert!(steps.iter().all(|p| p.table.is_none()), "{op:?} runs on the whole database");
        assert!(steps.len() <= 1_002, "{op:?}: {} reports", steps.len());
    }
}

#[test]
fn stats_show_the_running_operation_until_it_ends() {
    let seen: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let db =
        Emdb::builder().on_progress(move |p| sink.lock().unwrap().push((p.done, p.total))).build();
    let db = db.unwrap();
    assert_eq!(db.stats().unwrap().running, None);
    // The way the typed layer reports an index build.
    let mut tracker = db.track_progress(Operation::IndexBuild, "users", 10);
    tracker.advance(3);
    let running = db.stats().unwrap().running.unwrap();
    assert_eq!((running.operation, running.done, running.total), (Operation::IndexBuild, 3, 10));
    assert_eq!(running.table.as_deref(), Some("users"));
    tracker.finish();
    assert_eq!(db.stats().unwrap().running, None);
    assert_eq!(*seen.lock().unwrap(), [(0, 10), (3, 10), (10, 10)]);
    // An operation that fails (its tracker dropped unfinished) no longer shows.
    let tracker = db.track_progress(Operation::IndexBuild, "users", 10);
    assert!(db.stats().unwrap().running.is_some());
    drop(tracker);
    assert_eq!(db.stats().unwrap().running, None);
}
