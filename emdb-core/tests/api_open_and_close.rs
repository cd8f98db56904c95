//! Opening what is not yet a database, and closing with the error a drop would swallow: an
//! empty file (what `tempfile::NamedTempFile` creates) opens as a new database; an open that
//! fails (a directory, a file of another program) leaves no file behind; `close` reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::Path;

use emdb_core::{Emdb, Error};

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn an_empty_file_opens_as_a_new_database() {
    let file = tempfile::NamedTempFile::new().unwrap();
    assert_eq!(std::fs::metadata(file.path()).unwrap().len(), 0);
    let db = Emdb::open(file.path()).unwrap();
    db.insert("k", "v").unwrap();
    db.close().unwrap();
    let db = Emdb::open(file.path()).unwrap();
    assert_eq!(db.get("k").unwrap(), Some(b"v".to_vec()));
    db.check_integrity().unwrap();
}

#[test]
fn an_empty_file_stays_empty_when_opened_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    std::fs::write(&path, b"").unwrap();
    let err = Emdb::builder().path(&path).read_only(true).build().unwrap_err();
    assert!(matches!(err, Error::NotAnEmdbFile { .. }), "{err}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    assert_eq!(names(dir.path()), ["db"]);
}

#[test]
fn opening_a_directory_fails_and_leaves_no_file_behind() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a-directory");
    std::fs::create_dir(&target).unwrap();
    let err = Emdb::open(&target).unwrap_err();
    assert!(matches!(err, Error::Io { .. } | Error::NotAnEmdbFile { .. }), "{err}");
    assert_eq!(names(dir.path()), ["a-directory"]);
    assert!(names(&target).is_empty());
}

#[test]
fn a_file_of_another_program_is_refused_and_gets_no_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "not a database, and longer than nothing".repeat(400)).unwrap();
    let err = Emdb::open(&path).unwrap_err();
    assert!(matches!(err, Error::NotAnEmdbFile { .. }), "{err}");
    assert_eq!(names(dir.path()), ["notes.txt"]);
}

#[test]
fn close_checkpoints_removes_the_lock_record_and_lets_the_file_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Emdb::open(&path).unwrap();
    db.insert("a", "1").unwrap();
    assert!(names(dir.path()).contains(&"db.lock".to_owned()));
    db.close().unwrap();
    assert!(!names(dir.path()).contains(&"db.lock".to_owned()));
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.get("a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(db.stats().unwrap().live_records, 1);
}

#[test]
fn close_with_other_handles_open_checkpoints_and_leaves_the_database_to_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Emdb::open(&path).unwrap();
    let other = db.clone();
    db.insert("a", "1").unwrap();
    db.close().unwrap();
    // The clone still holds the database: its writes go on, a second opener is refused.
    other.insert("b", "2").unwrap();
    assert!(matches!(Emdb::open(&path), Err(Error::Locked { .. })));
    other.close().unwrap();
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.len().unwrap(), 2);
}

#[test]
fn close_of_an_in_memory_or_read_only_database_is_ok() {
    Emdb::open_in_memory().close().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    Emdb::open(&path).unwrap().close().unwrap();
    let reader = Emdb::builder().path(&path).read_only(true).build().unwrap();
    reader.close().unwrap();
    assert!(matches!(reader_after_close(&path), Ok(())));
}

fn reader_after_close(path: &Path) -> emdb_core::Result<()> {
    Emdb::open(path)?.close()
}

#[test]
fn an_open_refused_after_taking_the_lock_leaves_no_lock_record() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    drop(Emdb::open(&a).unwrap());
    // Another database's log, taken while it was open (frames past its checkpoint).
    let other = Emdb::open(&b).unwrap();
    other.insert("b1", "1").unwrap();
    other.flush().unwrap();
    let log = std::fs::read(dir.path().join("b.wal")).unwrap();
    drop(other);
    std::fs::write(dir.path().join("a.wal"), log).unwrap();
    let err = Emdb::open(&a).unwrap_err();
    assert!(matches!(err, Error::ForeignLog { .. }), "{err}");
    assert!(!dir.path().join("a.lock").exists(), "{:?}", names(dir.path()));
}
