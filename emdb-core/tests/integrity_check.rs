//! `Emdb::check_integrity`: a healthy database after a mixed workload passes with sane counts, in
//! memory and on disk, before and after a reopen; a flipped byte in any used page of a closed
//! file is caught by the open or by the check, naming the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

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
fn closed_file(dir: &Path) -> (std::path::PathBuf, IntegrityReport) {
    let path = dir.join("db");
    let db = Emdb::open(&path).unwrap();
    for i in 0..120u32 {
        let size = [8usize, 400, 5000][i as usize % 3];
        db.insert(format!("key{i:04}"), vec![(i % 200) as u8 + 1; size]).unwrap();
    }
    db.checkpoint().unwrap();
    let report = db.check_integrity().unwrap();
    drop(db);
    (path, report)
}

#[test]
fn a_flipped_byte_in_any_used_page_is_caught_by_open_or_by_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let (path, report) = closed_file(dir.path());
    let good = std::fs::read(&path).unwrap();
    let pages = good.len() / PAGE;
    let used = report.tree_pages
        + report.value_pages
        + report.dead_value_pages
        + report.overflow_pages
        + report.free_list_pages;
    let (mut at_open, mut at_check, mut unnoticed) = (0u64, 0u64, 0u64);
    for page in 2..pages {
        // Byte 0 of a page: the checksum of a node, value or free-list page, the first value
        // bytes of an overflow continuation page. Both are covered by a checksum.
        let mut bytes = good.clone();
        bytes[page * PAGE] ^= 0x41;
        std::fs::write(&path, &bytes).unwrap();
        let caught = match Emdb::open(&path) {
            Err(e) => {
                at_open += 1;
                e
            }
            Ok(db) => {
                let Err(e) = db.check_integrity() else {
                    unnoticed += 1;
                    continue;
                };
                at_check += 1;
                e
            }
        };
        match caught {
            Error::Corruption { path: p, offset, .. } => {
                assert_eq!(p, path, "page {page}: the error names the page file");
                assert!(offset < good.len() as u64, "page {page}: offset {offset} in the file");
            }
            e => panic!("page {page}: not a corruption error: {e}"),
        }
    }
    std::fs::write(&path, &good).unwrap();
    eprintln!(
        "{pages} pages: {at_open} flips caught at open, {at_check} by the check, {unnoticed} in free pages"
    );
    assert_eq!(at_open + at_check, used, "{at_open} at open, {at_check} by the check");
    assert_eq!(unnoticed, report.free_pages + (pages as u64 - 2 - used - report.free_pages));
    assert!(at_check > 0, "value pages and overflow runs are only read by the check");
    Emdb::open(&path).unwrap().check_integrity().unwrap();
}
