//! A log is replayed only into the page file it belongs to: another database's log, a log of
//! another generation of the same database and a log missing where commits may be in it are
//! each a distinct error that changes nothing, and `recover_without_log` opens at the last
//! checkpoint after setting such a log aside.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};

use emdb_core::{Emdb, Error, FlushPolicy};

fn wal(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".wal");
    PathBuf::from(s)
}

fn manual(path: &Path) -> Emdb {
    Emdb::builder().path(path).flush_policy(FlushPolicy::Manual).build().unwrap()
}

/// The files of `path` as a crash would leave them: commits flushed to the log, never
/// checkpointed. Returns the page file's and the log's bytes.
fn crashed_with(path: &Path, keys: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let db = manual(path);
    for k in keys {
        db.insert(k, "logged").unwrap();
    }
    db.flush().unwrap();
    let image = (std::fs::read(path).unwrap(), std::fs::read(wal(path)).unwrap());
    drop(db);
    std::fs::write(path, &image.0).unwrap();
    std::fs::write(wal(path), &image.1).unwrap();
    image
}

fn keys(db: &Emdb) -> Vec<Vec<u8>> {
    db.keys().unwrap().map(Result::unwrap).collect()
}

#[test]
fn the_log_of_another_database_is_refused_and_never_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    {
        let db = Emdb::open(&a).unwrap();
        db.insert("a-only", "1").unwrap();
    }
    crashed_with(&a, &["a-logged"]);
    let (_, b_log) = crashed_with(&b, &["b1", "b2", "b3"]);
    let a_page = std::fs::read(&a).unwrap();
    std::fs::write(wal(&a), &b_log).unwrap();
    match Emdb::open(&a) {
        Err(Error::ForeignLog { frames, path }) => {
            assert_eq!(frames, 2, "b's log holds commits 2 and 3 past a's checkpoint at 1");
            assert_eq!(path, wal(&a));
        }
        Err(e) => panic!("expected ForeignLog, got {e}"),
        Ok(db) => panic!("opened with keys {:?}", keys(&db)),
    }
    assert_eq!(std::fs::read(&a).unwrap(), a_page, "nothing written to the page file");
    assert_eq!(std::fs::read(wal(&a)).unwrap(), b_log, "nothing written to the log");

    let db = Emdb::builder().path(&a).recover_without_log(true).build().unwrap();
    assert_eq!(keys(&db), vec![b"a-only".to_vec()], "a at its checkpoint, nothing of b");
    drop(db);
    assert_eq!(std::fs::read(dir.path().join("a.wal.aside-1")).unwrap(), b_log, "kept aside");
}

#[test]
fn a_log_deleted_after_a_crash_is_an_error_not_a_silent_loss() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Emdb::open(&path).unwrap();
        db.insert("checkpointed", "1").unwrap();
    }
    crashed_with(&path, &["acknowledged"]);
    std::fs::remove_file(wal(&path)).unwrap();
    let page = std::fs::read(&path).unwrap();
    match Emdb::open(&path) {
        Err(Error::LogMissing { path: p, .. }) => assert_eq!(p, wal(&path)),
        Err(e) => panic!("expected LogMissing, got {e}"),
        Ok(db) => panic!("opened without its log: {:?}", keys(&db)),
    }
    assert_eq!(std::fs::read(&path).unwrap(), page);
    assert!(!wal(&path).exists(), "no empty log is created in its place");
    let db = Emdb::builder().path(&path).recover_without_log(true).build().unwrap();
    assert_eq!(keys(&db), vec![b"checkpointed".to_vec()]);
}

#[test]
fn a_log_deleted_after_a_clean_close_loses_nothing_and_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Emdb::open(&path).unwrap();
        db.insert("k", "v").unwrap();
    }
    std::fs::remove_file(wal(&path)).unwrap();
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.get("k").unwrap(), Some(b"v".to_vec()));
    // The first commit after it records the log in use again.
    db.insert("k2", "v2").unwrap();
    db.flush().unwrap();
    let image = (std::fs::read(&path).unwrap(), std::fs::read(wal(&path)).unwrap());
    drop(db);
    std::fs::write(&path, image.0).unwrap();
    std::fs::remove_file(wal(&path)).unwrap();
    assert!(matches!(Emdb::open(&path), Err(Error::LogMissing { .. })));
}

#[test]
fn the_log_of_an_earlier_life_of_a_restored_copy_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let (src, copy) = (dir.path().join("src"), dir.path().join("copy"));
    let db = Emdb::open(&src).unwrap();
    db.insert("one", "1").unwrap();
    db.backup_to(&copy).unwrap();
    // The copy is opened, written, checkpointed, written again and crashes; its page file is
    // then restored from the same backup, with the log of its later life still beside it.
    // (Restored before any checkpoint, the log would be of the backup's own generation and
    // continue it exactly: that is replayed.)
    let restored = std::fs::read(&copy).unwrap();
    {
        let c = manual(&copy);
        c.insert("checkpointed-in-later-life", "x").unwrap();
        c.checkpoint().unwrap();
    }
    crashed_with(&copy, &["later-life"]);
    std::fs::write(&copy, &restored).unwrap();
    match Emdb::open(&copy) {
        Err(Error::StaleLog { frames: 1, .. }) => {}
        Err(e) => panic!("expected StaleLog, got {e}"),
        Ok(c) => panic!("opened with the stale commits: {:?}", keys(&c)),
    }
    // A new backup over it removes that log: the copy opens to exactly the source.
    db.insert("two", "2").unwrap();
    db.backup_to(&copy).unwrap();
    let c = Emdb::open(&copy).unwrap();
    assert_eq!(keys(&c), vec![b"one".to_vec(), b"two".to_vec()]);
}

#[test]
fn the_source_log_is_never_replayed_into_a_backup_put_in_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let (src, copy) = (dir.path().join("src"), dir.path().join("copy"));
    let db = manual(&src);
    db.insert("before", "1").unwrap();
    db.backup_to(&copy).unwrap();
    db.insert("after", "2").unwrap();
    db.flush().unwrap();
    let log = std::fs::read(wal(&src)).unwrap();
    drop(db);
    // An operator restores the backup over the source, leaving the source's crashed log.
    std::fs::copy(&copy, &src).unwrap();
    std::fs::write(wal(&src), &log).unwrap();
    let err = Emdb::open(&src).expect_err("the restored file must not take the old log");
    assert!(matches!(err, Error::StaleLog { .. } | Error::LogMissing { .. }), "{err}");
}
