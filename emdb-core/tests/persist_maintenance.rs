//! Compaction, statistics, online backup, and the format-1 fixture file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use emdb_core::{Emdb, Error, FlushPolicy, Ttl};

fn manual(path: &Path) -> Emdb {
    Emdb::builder().path(path).flush_policy(FlushPolicy::Manual).build().unwrap()
}

fn fill(db: &Emdb, n: u32, size: usize) {
    for i in 0..n {
        db.insert(i.to_be_bytes(), vec![u8::try_from(i % 251).unwrap(); size]).unwrap();
    }
}

#[test]
fn compaction_shrinks_the_file_and_keeps_every_entry_and_open_iterators() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = manual(&path);
    let ns = db.namespace("side").unwrap();
    ns.insert("x", vec![5u8; 3000]).unwrap();
    fill(&db, 2000, 600);
    db.checkpoint().unwrap();
    for i in 0..2000u32 {
        if i % 10 != 0 {
            db.remove(i.to_be_bytes()).unwrap();
        }
    }
    db.checkpoint().unwrap();
    let before = std::fs::metadata(&path).unwrap().len();
    let iter = db.iter().unwrap();
    db.compact().unwrap();
    let after = std::fs::metadata(&path).unwrap().len();
    assert!(after * 3 < before, "compaction shrank {before} bytes only to {after}");
    assert_eq!(iter.count(), 200, "an iterator opened before compaction keeps its snapshot");
    assert_eq!(db.len().unwrap(), 200);
    assert_eq!(db.get(1230u32.to_be_bytes()).unwrap(), Some(vec![226u8; 600]));
    assert_eq!(ns.get("x").unwrap(), Some(vec![5u8; 3000]));
    db.insert("after", "compaction").unwrap();
    drop(db);
    drop(ns);
    let db = manual(&path);
    assert_eq!(db.len().unwrap(), 201);
    assert_eq!(db.namespace("side").unwrap().get("x").unwrap(), Some(vec![5u8; 3000]));
    assert!(!dir.path().join("db.compact").exists());
}

#[test]
fn stats_report_records_sizes_and_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = manual(&path);
    fill(&db, 100, 300);
    let s = db.stats().unwrap();
    assert_eq!(s.live_records, 100);
    assert!(s.wal_bytes > 30_000);
    assert_eq!(s.last_checkpoint_lsn, 0);
    assert_eq!(s.last_lsn, 100);
    db.checkpoint().unwrap();
    let s = db.stats().unwrap();
    assert!(s.wal_bytes < 100);
    assert!(s.file_bytes > 30_000);
    assert_eq!(s.last_checkpoint_lsn, 100);
    assert!(s.last_checkpoint_time.is_some());
    assert_eq!(s.format_version, 5);
    assert!(s.tree_height >= 1, "100 records need a tree: {s:?}");
    let mem = Emdb::open_in_memory();
    mem.insert("a", "b").unwrap();
    assert_eq!(mem.stats().unwrap().live_records, 1);
    assert!(matches!(mem.backup_to(dir.path().join("x")), Err(Error::InMemory { .. })));
}

#[test]
fn a_backup_taken_while_writers_run_opens_as_a_consistent_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = manual(&path);
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            for i in 0..400u32 {
                db.transaction(|tx| {
                    tx.insert("a", i.to_be_bytes())?;
                    tx.insert("b", i.to_be_bytes())
                })
                .unwrap();
            }
        })
    };
    let copies: Vec<PathBuf> = (0..5).map(|i| dir.path().join(format!("copy{i}"))).collect();
    for c in &copies {
        db.backup_to(c).unwrap();
    }
    writer.join().unwrap();
    for c in &copies {
        let copy = Emdb::open(c).unwrap();
        assert_eq!(copy.get("a").unwrap(), copy.get("b").unwrap(), "a transaction was split");
    }
}

/// The format-1 fixture: written by emdb 0.1 (`EMDB_WRITE_FIXTURE=1` rewrites it).
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format1.emdb")
}

fn write_fixture(path: &Path) {
    let db = manual(path);
    db.namespace("users").unwrap().insert("alice", "admin").unwrap();
    for i in 0..50u32 {
        db.insert(format!("k{i:02}"), vec![u8::try_from(i).unwrap(); (i as usize % 3) * 900 + 4])
            .unwrap();
    }
    db.remove("k07").unwrap();
}

#[test]
fn the_format_1_fixture_file_opens_with_its_contents() {
    if std::env::var_os("EMDB_WRITE_FIXTURE").is_some() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        write_fixture(&p);
        std::fs::copy(&p, fixture()).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.emdb");
    std::fs::copy(fixture(), &path).unwrap();
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.len().unwrap(), 49);
    assert_eq!(db.stats().unwrap().format_version, 1, "opened, not yet written");
    assert_eq!(db.get("k07").unwrap(), None);
    assert_eq!(db.get("k49").unwrap(), Some(vec![49u8; 904]));
    assert_eq!(db.get("k05").unwrap(), Some(vec![5u8; 1804]));
    assert_eq!(db.namespace("users").unwrap().get("alice").unwrap(), Some(b"admin".to_vec()));
}

/// A second format-1 fixture with expiring and permanent entries side by side (written by
/// emdb 0.1 with `EMDB_WRITE_FIXTURE=1`): format 2 stores the expiry only when there is one, and
/// must still read format-1 entries, which always carry it.
fn ttl_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format1_ttl.emdb")
}

/// Fifty years: far enough that the fixture's expiring entries stay alive.
const FIXTURE_TTL: Duration = Duration::from_secs(50 * 365 * 24 * 3600);

fn write_ttl_fixture(path: &Path) {
    let db = manual(path);
    for i in 0..300u32 {
        let value = vec![u8::try_from(i % 251).unwrap(); if i % 2 == 0 { 12 } else { 150 }];
        if i % 3 == 0 {
            db.insert_with_ttl(format!("t{i:03}"), value, Ttl::After(FIXTURE_TTL)).unwrap();
        } else {
            db.insert(format!("t{i:03}"), value).unwrap();
        }
    }
}

/// The type byte of every page of the file at `path` past the meta pages (the fixtures' values
/// never put a page type's number at byte 4 of an overflow run's later pages).
fn page_types(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    bytes.chunks(4096).skip(2).map(|p| p[4]).collect()
}

#[test]
fn a_format_1_file_with_expiring_entries_opens_takes_writes_and_becomes_the_current_format() {
    if std::env::var_os("EMDB_WRITE_FIXTURE").is_some() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        write_ttl_fixture(&p);
        std::fs::copy(&p, ttl_fixture()).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.emdb");
    std::fs::copy(ttl_fixture(), &path).unwrap();
    let check = |db: &Emdb, rewritten: bool| {
        assert_eq!(db.len().unwrap(), 300);
        for i in 0..300u32 {
            let key = format!("t{i:03}");
            let mut want = vec![u8::try_from(i % 251).unwrap(); if i % 2 == 0 { 12 } else { 150 }];
            if rewritten && i % 10 == 0 {
                want = b"new".to_vec();
            }
            assert_eq!(db.get(&key).unwrap(), Some(want), "{key}");
            let ttl = db.ttl(&key).unwrap();
            if i % 3 == 0 && !(rewritten && i % 10 == 0) {
                let left = ttl.expect("an expiring fixture entry lost its expiry");
                assert!(left > FIXTURE_TTL / 2 && left <= FIXTURE_TTL, "{key}: {left:?}");
            } else {
                assert_eq!(ttl, None, "{key} gained an expiry");
            }
        }
    };
    {
        let db = manual(&path);
        check(&db, false);
        db.check_integrity().unwrap();
        // Rewrite some entries (format-3 leaves now hold format-1 entries rewritten, and share
        // the tree with untouched format-1 leaves).
        for i in (0..300u32).step_by(10) {
            db.insert(format!("t{i:03}"), "new").unwrap();
        }
        db.checkpoint().unwrap();
        db.check_integrity().unwrap();
        check(&db, true);
    }
    let bytes = std::fs::read(&path).unwrap();
    let versions: Vec<u32> = (0..2)
        .map(|m| u32::from_le_bytes(bytes[m * 4096 + 8..m * 4096 + 12].try_into().unwrap()))
        .collect();
    assert!(versions.contains(&5), "no meta page was rewritten as format 5: {versions:?}");
    let db = manual(&path);
    check(&db, true);
    db.compact().unwrap();
    check(&db, true);
    db.check_integrity().unwrap();
    drop(db);
    let types = page_types(&path);
    assert!(types.contains(&8) && types.contains(&7), "{types:?}");
    assert!(!types.contains(&2) && !types.contains(&5), "compaction left old pages: {types:?}");
    check(&manual(&path), true);
}

#[test]
fn a_newer_format_version_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.emdb");
    let mut bytes = std::fs::read(fixture()).unwrap();
    // Bump the version of both meta pages and fix their checksums.
    for page in 0..2 {
        let base = page * 4096;
        bytes[base + 8..base + 12].copy_from_slice(&6u32.to_le_bytes());
        bytes[base + 12..base + 16].copy_from_slice(&[0; 4]);
        let crc = crc32c::crc32c(&bytes[base..base + 4096]);
        bytes[base + 12..base + 16].copy_from_slice(&crc.to_le_bytes());
    }
    std::fs::write(&path, bytes).unwrap();
    match Emdb::open(&path) {
        Err(Error::UnsupportedFormatVersion { found: 6, supported: 5, .. }) => {}
        other => panic!("expected UnsupportedFormatVersion, got {other:?}"),
    }
}

/// Compactions one after another on one handle each work and leave no file but the database's
/// own. On Windows a name removed under an open handle stays until the handle closes, so the
/// name a compacted file is created under (`<path>.compact.init`) must be renamed away, not
/// linked and removed, or the next compaction meets it (`Locked`).
#[test]
fn compactions_one_after_another_on_one_handle_leave_only_the_database_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let files = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let db = manual(&path);
    fill(&db, 500, 300);
    assert_eq!(files(), ["db", "db.lock", "db.wal"], "after the creation");
    for round in 0..3u32 {
        db.insert(format!("round{round}"), "x").unwrap();
        db.compact().unwrap();
        assert_eq!(files(), ["db", "db.lock", "db.wal"], "after compaction {round}");
    }
    drop(db);
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.len().unwrap(), 503);
    assert_eq!(db.get("round2").unwrap(), Some(b"x".to_vec()));
}
