//! Read commands open read-only: they work on a read-only copy and beside other readers, are
//! refused (naming the writer's pid) while a writer holds the file, and never change a byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{emdb, sample_db, snapshot_dir, stdout_of, temp_db};
use emdb_core::{Emdb, Error};
use predicates::prelude::*;

#[cfg(unix)]
/// Leaves a log with commits past the last checkpoint beside the page file, so that a reader
/// has something to replay (and would be tempted to write back).
fn with_uncheckpointed_log(path: &std::path::Path) {
    sample_db(path);
    let db = Emdb::builder()
        .path(path)
        .flush_policy(emdb_core::FlushPolicy::OnEachWrite)
        .checkpoint_wal_bytes(u64::MAX)
        .build()
        .unwrap();
    db.insert("late", "in the log").unwrap();
    // A clean close would checkpoint: keep copies of the files as they are now, with the commit
    // only in the log, and put them back after the close.
    let dir = path.parent().unwrap();
    let copy = dir.join("crashed");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let is_lock = entry.path().extension().is_some_and(|e| e == "lock");
        if entry.file_type().unwrap().is_file() && !is_lock {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
    }
    drop(db);
    for entry in std::fs::read_dir(&copy).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    std::fs::remove_dir_all(copy).unwrap();
}

#[cfg(unix)]
#[test]
fn stats_check_and_dump_on_a_read_only_copy_work_and_change_nothing() {
    use std::os::unix::fs::PermissionsExt;

    let (dir, path) = temp_db();
    with_uncheckpointed_log(&path);
    for file in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::set_permissions(file.unwrap().path(), PermissionsExt::from_mode(0o444)).unwrap();
    }
    let before = snapshot_dir(dir.path());
    let stats = stdout_of(emdb().args(["stats", "--json"]).arg(&path));
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["live_records"], 9);
    let (checkpoint, last) = (&stats["last_checkpoint_lsn"], &stats["last_lsn"]);
    assert!(checkpoint.as_u64() < last.as_u64(), "nothing to replay: {checkpoint} {last}");
    stdout_of(emdb().arg("check").arg(&path));
    let got = stdout_of(emdb().arg("get").arg(&path).arg("late"));
    assert_eq!(got, "in the log\n", "the log was replayed");
    stdout_of(emdb().arg("dump").arg(&path));
    stdout_of(emdb().arg("scan").arg(&path));
    assert_eq!(before, snapshot_dir(dir.path()), "a read command changed a file");
}

#[test]
fn read_commands_run_while_another_read_only_handle_is_open() {
    let (dir, path) = temp_db();
    sample_db(&path);
    let reader = Emdb::builder().path(&path).read_only(true).build().unwrap();
    let before = snapshot_dir(dir.path());
    stdout_of(emdb().arg("stats").arg(&path));
    stdout_of(emdb().arg("check").arg(&path));
    assert_eq!(stdout_of(emdb().arg("get").arg(&path).arg("user:1")), "alice\n");
    assert_eq!(reader.get("user:2").unwrap(), Some(b"bob".to_vec()));
    assert_eq!(before, snapshot_dir(dir.path()));
}

#[test]
fn a_read_command_is_refused_while_a_writer_holds_the_file_naming_its_pid() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    let _writer = Emdb::open(&path).unwrap();
    let pid = std::process::id();
    for cmd in ["stats", "check", "dump"] {
        emdb()
            .arg(cmd)
            .arg(&path)
            .assert()
            .code(3)
            .stdout("")
            .stderr(predicate::str::contains(format!("is locked by process {pid}")));
    }
}

#[test]
fn writes_are_refused_while_a_reader_holds_the_file_and_nothing_changes() {
    let (dir, path) = temp_db();
    sample_db(&path);
    let reader = Emdb::builder().path(&path).read_only(true).build().unwrap();
    let before = snapshot_dir(dir.path());
    assert!(matches!(reader.insert("k", "v"), Err(Error::ReadOnly)));
    assert!(matches!(reader.remove("user:1"), Err(Error::ReadOnly)));
    assert!(matches!(reader.compact(), Err(Error::ReadOnly)));
    for args in [&["put", "k", "v"][..], &["rm", "user:1"], &["compact"]] {
        emdb()
            .arg(args[0])
            .arg(&path)
            .args(&args[1..])
            .assert()
            .code(3)
            .stderr(predicate::str::contains("is locked"));
    }
    emdb().arg("load").arg(&path).write_stdin("").assert().code(3);
    assert_eq!(before, snapshot_dir(dir.path()), "a refused write changed a file");
    assert_eq!(reader.get("user:1").unwrap(), Some(b"alice".to_vec()));
}

#[cfg(target_os = "linux")]
#[test]
fn read_commands_work_on_a_read_only_mount_where_one_can_be_made() {
    // Needs root and mount(8); elsewhere the chmod test above stands in for it.
    let (dir, path) = temp_db();
    sample_db(&path);
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mount = |args: &[&str]| {
        std::process::Command::new("mount").args(args).status().is_ok_and(|s| s.success())
    };
    if !mount(&["-t", "tmpfs", "tmpfs", mnt.to_str().unwrap()]) {
        eprintln!("cannot mount a tmpfs here; skipping the read-only mount test");
        return;
    }
    for name in ["app.emdb", "app.emdb.wal"] {
        std::fs::copy(dir.path().join(name), mnt.join(name)).unwrap();
    }
    let remounted = mount(&["-o", "remount,ro", mnt.to_str().unwrap()]);
    let db = mnt.join("app.emdb");
    let result = remounted.then(|| {
        (
            stdout_of(emdb().arg("stats").arg(&db)),
            stdout_of(emdb().arg("check").arg(&db)),
            emdb().arg("put").arg(&db).args(["k", "v"]).assert().code(3).get_output().clone(),
        )
    });
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    let (stats, check, put) = result.expect("remounting the tmpfs read-only");
    assert!(stats.contains("live records         8"), "{stats}");
    assert!(check.starts_with("ok: "), "{check}");
    assert!(String::from_utf8_lossy(&put.stderr).contains("Read-only file system"));
}
