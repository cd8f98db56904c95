//! `Emdb::check_integrity`: a healthy database after a mixed workload passes with sane counts, in
//! memory and on disk, before and after a reopen; a flipped byte in any used page of a closed
//! file is caught by the open or by the check, naming the file, and one in a free page changes
//! nothing. Every damaged case is classified and counted; none may panic or read a wrong value.
//! Checks registered with `Emdb::register_integrity_check` run after the engine's, one per name,
//! their counts added up and their errors returned unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use emdb_core::{Emdb, Error, IntegrityReport, ManualClock, Ttl};

const PAGE: usize = 4096;

/// Writes every kind of record: inline, packed and overflow values, namespaces, expiries,
/// removals, a cleared namespace, a transaction. Returns the live records it leaves.
fn mixed_workload(db: &Emdb) -> u64 {
    let users = db.namespace("users").unwrap();
    let scratch = db.namespace("scratch").unwrap();
    for i in 0..300u32 {
        let size = [4usize, 300, 1500, 6000][i as usize % 4];
        db.insert(format!("k{i:04}"), vec![(i % 251) as u8; size]).unwrap();
    }
    for i in (0..300u32).step_by(3) {
        db.remove(format!("k{i:04}")).unwrap();
    }
    for i in 0..50u32 {
        users
            .insert_with_ttl(format!("u{i}"), "session", Ttl::After(Duration::from_secs(3600)))
            .unwrap();
    }
    scratch.insert("x", "1").unwrap();
    scratch.clear().unwrap();
    db.transaction(|tx| {
        tx.insert("pair:a", "7")?;
        tx.insert("pair:b", "7")?;
        tx.namespace(&users).insert("admin", vec![1u8; 900])
    })
    .unwrap();
    200 + 2 + 51
}

#[test]
fn an_in_memory_database_checks_its_index_against_its_ordered_map() {
    let db = Emdb::open_in_memory();
    let records = mixed_workload(&db);
    let report = db.check_integrity().unwrap();
    assert_eq!(report.records, records);
    assert_eq!(report.uncheckpointed_records, records, "in memory nothing is checkpointed");
    assert_eq!(report.namespaces, 3);
    assert_eq!(report.tree_pages + report.value_pages + report.overflow_pages, 0);
}

#[test]
fn a_healthy_file_after_a_mixed_workload_reports_sane_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let open = || Emdb::builder().path(&path).clock(clock.clone()).build().unwrap();
    let db = open();
    let records = mixed_workload(&db);

    let before = db.check_integrity().unwrap();
    assert_eq!(before.records, records);
    assert_eq!(before.uncheckpointed_records, records, "nothing checkpointed yet");
    assert_eq!(before.entries, 0);

    db.checkpoint().unwrap();
    let after = db.check_integrity().unwrap();
    assert_eq!(after.records, records);
    assert_eq!(after.uncheckpointed_records, 0);
    // Two catalog entries (users, scratch) sit in the tree beside the records.
    assert_eq!(after.entries, records + 2);
    assert_eq!(after.namespaces, 3);
    assert!(after.tree_pages >= 2, "{after:?}");
    assert!(after.value_pages >= 1, "{after:?}");
    // 50 values of 6000 bytes need two pages each.
    assert!(after.overflow_pages >= 100, "{after:?}");

    // Overwrites after the checkpoint sit above the tree; expiring a record keeps it counted
    // until it is purged.
    db.insert("k0001", "short now").unwrap();
    db.remove("k0002").unwrap();
    clock.advance(Duration::from_secs(7200));
    let r = db.check_integrity().unwrap();
    assert_eq!(r.records, records - 1);
    assert_eq!(r.uncheckpointed_records, 1);
    assert_eq!(db.purge_expired().unwrap(), 50);
    db.compact().unwrap();
    let compacted = db.check_integrity().unwrap();
    assert_eq!(compacted.records, records - 51);
    assert_eq!((compacted.free_pages, compacted.dead_value_pages), (0, 0));
    drop(db);

    let db = open();
    let reopened = db.check_integrity().unwrap();
    assert_eq!(reopened.records, records - 51);
    assert_eq!(reopened.entries, records - 51 + 2);
    assert_eq!(db.stats().unwrap().live_records, records - 51);
}

/// A closed file whose every page is used: one checkpoint of fresh keys, nothing freed.
/// Returns its path, the check's report and every record.
fn closed_file(dir: &Path) -> (std::path::PathBuf, IntegrityReport, BTreeMap<Vec<u8>, Vec<u8>>) {
    let path = dir.join("db");
    let db = Emdb::open(&path).unwrap();
    let mut records = BTreeMap::new();
    for i in 0..120u32 {
        let size = [8usize, 400, 5000][i as usize % 3];
        let (key, value) = (format!("key{i:04}").into_bytes(), vec![(i % 200) as u8 + 1; size]);
        db.insert(&key, &value).unwrap();
        records.insert(key, value);
    }
    db.checkpoint().unwrap();
    let report = db.check_integrity().unwrap();
    drop(db);
    (path, report, records)
}

/// How one damaged case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// `Error::Corruption` naming the page file, from the open.
    CaughtAtOpen,
    /// The same, from `check_integrity`.
    CaughtByCheck,
    /// The check passes and every record reads back whole.
    NoVisibleChange,
    /// Failures.
    OtherError,
    WrongValue,
    Panic,
}

fn classify(path: &Path, records: &BTreeMap<Vec<u8>, Vec<u8>>) -> Outcome {
    // The error names the file as the database resolved it (links followed).
    let resolved = std::fs::canonicalize(path).unwrap();
    let clean = |e: &Error| matches!(e, Error::Corruption { path: p, .. } if std::fs::canonicalize(p).ok().as_ref() == Some(&resolved));
    let db = match Emdb::open(path) {
        Ok(db) => db,
        Err(e) if clean(&e) => return Outcome::CaughtAtOpen,
        Err(e) => {
            eprintln!("{e}");
            return Outcome::OtherError;
        }
    };
    let checked = db.check_integrity();
    // Whatever the check says, no read may give a value the file never held.
    for (k, v) in records {
        match db.get(k) {
            Ok(Some(got)) if got == *v => {}
            Ok(_) => return Outcome::WrongValue,
            Err(e) if clean(&e) => {}
            Err(e) => {
                eprintln!("{e}");
                return Outcome::OtherError;
            }
        }
    }
    match checked {
        Ok(_) => Outcome::NoVisibleChange,
        Err(e) if clean(&e) => Outcome::CaughtByCheck,
        Err(e) => {
            eprintln!("{e}");
            Outcome::OtherError
        }
    }
}

#[test]
fn a_flipped_byte_in_any_used_page_is_caught_by_open_or_by_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let (path, report, records) = closed_file(dir.path());
    let good = std::fs::read(&path).unwrap();
    let pages = good.len() / PAGE;
    let used = report.tree_pages
        + report.value_pages
        + report.dead_value_pages
        + report.overflow_pages
        + report.free_list_pages;
    let mut counts: BTreeMap<Outcome, u64> = BTreeMap::new();
    for page in 2..pages {
        // Byte 0 of a page: the checksum of a node, value or free-list page, the first value
        // bytes of an overflow continuation page. Both are covered by a checksum.
        let mut bytes = good.clone();
        bytes[page * PAGE] ^= 0x41;
        std::fs::write(&path, &bytes).unwrap();
        let outcome =
            catch_unwind(AssertUnwindSafe(|| classify(&path, &records))).unwrap_or(Outcome::Panic);
        *counts.entry(outcome).or_default() += 1;
        assert!(
            !matches!(outcome, Outcome::OtherError | Outcome::WrongValue | Outcome::Panic),
            "page {page}: {outcome:?}"
        );
    }
    std::fs::write(&path, &good).unwrap();
    let count = |o| counts.get(&o).copied().unwrap_or(0);
    let (at_open, at_check, unnoticed) = (
        count(Outcome::CaughtAtOpen),
        count(Outcome::CaughtByCheck),
        count(Outcome::NoVisibleChange),
    );
    eprintln!(
        "flipped byte per page: {} cases: {at_open} clean errors at open, {at_check} clean errors \
         from the check, {unnoticed} no visible change (free pages), 0 panics, 0 wrong values",
        pages - 2
    );
    assert_eq!(at_open + at_check, used, "{at_open} at open, {at_check} by the check");
    assert_eq!(unnoticed, report.free_pages + (pages as u64 - 2 - used - report.free_pages));
    assert!(at_check > 0, "value pages and overflow runs are only read by the check");
    Emdb::open(&path).unwrap().check_integrity().unwrap();
}

#[test]
fn registered_checks_run_after_the_engine_checks_and_their_errors_come_out_unchanged() {
    let db = Emdb::open_in_memory();
    db.insert("k", "v").unwrap();
    db.register_integrity_check("b", |_: &Emdb| Ok(2));
    db.register_integrity_check("a", |db: &Emdb| Ok(db.len()? as u64));
    let report = db.check_integrity().unwrap();
    assert_eq!((report.records, report.registered_checks, report.index_entries), (1, 2, 3));

    // Clones share the registry; the same name replaces the check.
    db.clone().register_integrity_check("a", |_: &Emdb| {
        Err(Error::IndexEntryMismatch {
            table: "t".into(),
            index: "i".into(),
            detail: "an entry points at a row that is gone".into(),
        })
    });
    let err = db.check_integrity().unwrap_err();
    assert!(matches!(&err, Error::IndexEntryMismatch { index, .. } if index == "i"), "{err}");

    assert!(db.unregister_integrity_check("a"));
    assert!(!db.unregister_integrity_check("a"));
    let report = db.check_integrity().unwrap();
    assert_eq!((report.registered_checks, report.index_entries), (1, 2));
}
