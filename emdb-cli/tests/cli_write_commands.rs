//! `emdb put`, `rm`, `compact` and `backup`: each writes what it says and nothing else.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::time::Duration;

use common::{emdb, sample_db, stdout_of, temp_db};
use emdb_core::Emdb;
use predicates::prelude::*;

#[test]
fn put_writes_an_entry_into_the_default_namespace_or_a_new_one() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    emdb().arg("put").arg(&path).args(["k", "v"]).assert().success().stdout("");
    emdb().args(["put", "--ns", "fresh"]).arg(&path).args(["a", "b"]).assert().success();
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.get("k").unwrap(), Some(b"v".to_vec()));
    assert_eq!(db.namespace("fresh").unwrap().get("a").unwrap(), Some(b"b".to_vec()));
    assert_eq!(db.ttl("k").unwrap(), None, "no --ttl: the entry never expires");
}

#[test]
fn put_with_ttl_sets_the_expiry_and_hex_takes_binary_keys_and_values() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    emdb().args(["put", "--ttl", "30s"]).arg(&path).args(["session", "x"]).assert().success();
    emdb().args(["put", "--hex"]).arg(&path).args(["00ff", "0x0102"]).assert().success();
    let db = Emdb::open(&path).unwrap();
    let ttl = db.ttl("session").unwrap().unwrap();
    assert!(ttl > Duration::from_secs(25) && ttl <= Duration::from_secs(30), "{ttl:?}");
    assert_eq!(db.get([0x00, 0xff]).unwrap(), Some(vec![1, 2]));
}

#[test]
fn put_refuses_a_bad_ttl_or_hex_with_usage_errors() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    emdb()
        .args(["put", "--ttl", "30"])
        .arg(&path)
        .args(["k", "v"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid duration"));
    emdb()
        .args(["put", "--hex"])
        .arg(&path)
        .args(["xyz", "00"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid key"));
    assert_eq!(Emdb::open(&path).unwrap().get("k").unwrap(), None);
}

#[test]
fn rm_removes_a_key_and_exits_1_when_there_is_none() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    emdb().arg("rm").arg(&path).arg("user:1").assert().success();
    emdb()
        .arg("rm")
        .arg(&path)
        .arg("user:1")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no key user:1"));
    emdb().args(["rm", "--ns", "ghost"]).arg(&path).arg("k").assert().code(1);
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.get("user:1").unwrap(), None);
    assert_eq!(db.get("user:2").unwrap(), Some(b"bob".to_vec()));
    assert!(!db.namespace_names().contains(&"ghost".to_owned()), "rm created a namespace");
}

#[test]
fn write_commands_refuse_a_missing_file_instead_of_creating_one() {
    let (dir, path) = temp_db();
    for args in [&["put", "k", "v"][..], &["rm", "k"], &["compact"]] {
        emdb()
            .arg(args[0])
            .arg(&path)
            .args(&args[1..])
            .assert()
            .code(3)
            .stderr(predicate::str::contains("no such file"));
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn compact_shrinks_a_file_full_of_dead_values_and_keeps_the_live_ones() {
    let (_dir, path) = temp_db();
    {
        let db = Emdb::open(&path).unwrap();
        db.transaction(|tx| (0..2000).try_for_each(|i| tx.insert(format!("k{i}"), [b'x'; 500])))
            .unwrap();
        db.checkpoint().unwrap();
        db.transaction(|tx| (0..1990).try_for_each(|i| tx.remove(format!("k{i}")).map(drop)))
            .unwrap();
    }
    let before = std::fs::metadata(&path).unwrap().len();
    emdb()
        .arg("compact")
        .arg(&path)
        .assert()
        .success()
        .stderr(predicate::str::contains("compacted"));
    let after = std::fs::metadata(&path).unwrap().len();
    assert!(after * 10 < before, "{before} -> {after}");
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.len().unwrap(), 10);
    assert_eq!(db.get("k1995").unwrap(), Some(vec![b'x'; 500]));
}

#[test]
fn backup_writes_a_copy_that_opens_with_the_same_entries() {
    let (dir, path) = temp_db();
    sample_db(&path);
    let copy = dir.path().join("copy.emdb");
    emdb()
        .arg("backup")
        .arg(&path)
        .arg(&copy)
        .assert()
        .success()
        .stderr(predicate::str::contains("backed up"));
    let original = stdout_of(emdb().arg("dump").arg(&path));
    let copied = stdout_of(emdb().arg("dump").arg(&copy));
    assert_eq!(original, copied);
    emdb()
        .arg("backup")
        .arg(&path)
        .arg(&path)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("cannot back up the database into"));
}

#[test]
fn progress_is_drawn_on_a_terminal_and_left_out_when_piped() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    let piped = emdb().arg("compact").arg(&path).assert().success().get_output().clone();
    let stderr = String::from_utf8(piped.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.starts_with("compacted ") && !stderr.contains('\u{1b}'), "{stderr:?}");

    // script(1) runs the command on a pseudo-terminal; where it is missing, the piped half
    // above is all this test can show.
    let bin = assert_cmd::cargo::cargo_bin("emdb");
    let line = format!("{} compact {}", bin.display(), path.display());
    let Ok(tty) = std::process::Command::new("script").args(["-qec", &line, "/dev/null"]).output()
    else {
        eprintln!("no script(1) here; skipping the terminal half");
        return;
    };
    let shown = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{shown}");
    assert!(shown.contains("compacting [") && shown.contains("entries"), "{shown:?}");
    assert!(shown.contains("compacted "), "{shown:?}");
}
