//! One writer per database file, whatever name it is opened by: the lock is the page file's,
//! so symbolic links, hard links, other spellings of the path and a deleted sidecar all meet
//! it, in this process and in another one; compaction through a link replaces the file the
//! link leads to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use emdb_core::{Emdb, Error};

/// The environment variable that makes this test binary a child that opens a database.
const CHILD_OPENS: &str = "EMDB_TEST_CHILD_OPENS";

fn assert_locked(r: emdb_core::Result<Emdb>, what: &str) {
    match r {
        Err(Error::Locked { .. }) => {}
        Err(e) => panic!("{what}: expected Locked, got {e}"),
        Ok(_) => panic!("{what}: a second handle opened the database"),
    }
}

/// Every other name of `db` inside `dir` (symbolic links on Unix, where making one needs no
/// privilege).
fn other_names(dir: &Path, db: &Path) -> Vec<(PathBuf, &'static str)> {
    let hard = dir.join("hard");
    std::fs::hard_link(db, &hard).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let dotted = dir.join("sub").join("..").join(db.file_name().unwrap());
    #[cfg_attr(not(unix), expect(unused_mut, reason = "symbolic links are added on Unix"))]
    let mut names = vec![(hard, "a hard link"), (dotted, "a path through ..")];
    #[cfg(unix)]
    {
        let soft = dir.join("soft");
        std::os::unix::fs::symlink(db, &soft).unwrap();
        let chained = dir.join("chained");
        std::os::unix::fs::symlink("soft", &chained).unwrap();
        names.push((soft, "a symbolic link"));
        names.push((chained, "a relative link to a link"));
    }
    names
}

#[test]
fn a_second_handle_through_any_other_name_is_refused_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db");
    let db = Emdb::open(&db_path).unwrap();
    db.insert("k", "v").unwrap();
    for (name, what) in other_names(dir.path(), &db_path) {
        assert_locked(Emdb::open(&name), what);
    }
    assert_locked(Emdb::open(&db_path), "the same path");
    drop(db);
    // Released with the handle, whichever name opens it next.
    let again = Emdb::open(dir.path().join("hard")).unwrap();
    assert_eq!(again.get("k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn deleting_the_lock_record_or_any_sidecar_admits_no_second_writer() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db");
    let db = Emdb::open(&db_path).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    // `db.lock` only records the writer's process id; the lock is on `db` itself.
    assert!(names.iter().any(|n| n == "db.lock"), "{names:?}");
    // What an operator might delete: every file but the page file and its log.
    for n in names.iter().filter(|n| *n != "db" && *n != "db.wal") {
        std::fs::remove_file(dir.path().join(n)).unwrap();
    }
    assert_locked(Emdb::open(&db_path), "after deleting the sidecars");
    drop(db);
}

#[test]
fn a_second_process_is_refused_through_any_other_name() {
    if let Ok(target) = std::env::var(CHILD_OPENS) {
        // The child: report what opening gave, by exit code.
        let code = match Emdb::open(&target) {
            Ok(_) => 0,
            Err(Error::Locked { .. }) => 3,
            Err(_) => 4,
        };
        std::process::exit(code);
    }
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db");
    let db = Emdb::open(&db_path).unwrap();
    db.insert("k", "v").unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut names = other_names(dir.path(), &db_path);
    names.push((db_path.clone(), "the same path"));
    for (name, what) in &names {
        let status = Command::new(&exe)
            .args(["--exact", "a_second_process_is_refused_through_any_other_name", "--nocapture"])
            .env(CHILD_OPENS, name)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(3), "{what}: the child was not refused with Locked");
    }
    drop(db);
    let status = Command::new(&exe)
        .args(["--exact", "a_second_process_is_refused_through_any_other_name", "--nocapture"])
        .env(CHILD_OPENS, &names[0].0)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0), "the child opens once the parent closed");
}

#[test]
#[cfg(unix)]
fn opening_through_a_link_keeps_the_link_and_the_log_beside_the_real_file() {
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("data");
    std::fs::create_dir(&real_dir).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink("data/db", &link).unwrap();
    let db = Emdb::open(&link).unwrap();
    for i in 0..200u32 {
        db.insert(i.to_be_bytes(), vec![7u8; 300]).unwrap();
    }
    for i in 0..150u32 {
        db.remove(i.to_be_bytes()).unwrap();
    }
    db.compact().unwrap();
    db.insert("after", "compaction").unwrap();
    drop(db);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "link replaced");
    assert!(real_dir.join("db").is_file());
    assert!(real_dir.join("db.wal").is_file(), "the log sits beside the real file");
    assert!(!dir.path().join("link.wal").exists());
    let names: Vec<_> =
        std::fs::read_dir(&real_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    let db = Emdb::open(real_dir.join("db")).unwrap();
    assert_eq!(db.len().unwrap(), 51);
    assert_eq!(db.get("after").unwrap(), Some(b"compaction".to_vec()));
}

#[test]
fn a_handle_that_compacted_still_holds_the_lock_of_the_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db");
    let db = Emdb::open(&db_path).unwrap();
    db.insert("k", vec![1u8; 1000]).unwrap();
    db.compact().unwrap();
    assert_locked(Emdb::open(&db_path), "after compaction");
    assert_locked(
        Emdb::open(dir.path().join(".").join("db")),
        "after compaction, another spelling",
    );
    drop(db);
    assert!(Emdb::open(&db_path).is_ok());
}
