//! `emdb check`: exit 0 on a healthy file, exit 1 naming the file, page and offset of damage.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{emdb, sample_db, stdout_of, temp_db};
use emdb_core::Emdb;
use predicates::prelude::*;

/// A database whose entries fill several tree pages, checkpointed into the page file.
fn filled_db(path: &std::path::Path) {
    let db = Emdb::open(path).unwrap();
    db.transaction(|tx| (0..300).try_for_each(|i| tx.insert(format!("k{i:04}"), [b'v'; 100])))
        .unwrap();
}

/// Flips one byte inside page `page` of the file.
fn flip_byte(path: &std::path::Path, page: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    assert!(bytes.len() > (page + 1) * 4096, "the file has no page {page}");
    bytes[page * 4096 + 200] ^= 0xff;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_healthy_file_checks_clean_with_exit_0() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    let text = stdout_of(emdb().arg("check").arg(&path));
    assert!(text.starts_with("ok: "), "{text}");
    assert!(text.contains("records     8"), "{text}");
    let json = stdout_of(emdb().args(["check", "--json"]).arg(&path));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["status"], "clean");
    assert_eq!(v["records"], 8);
    assert_eq!(v["namespaces"], 3);
}

#[test]
fn a_flipped_byte_exits_1_with_the_file_page_and_offset() {
    let (_dir, path) = temp_db();
    filled_db(&path);
    flip_byte(&path, 3);
    emdb()
        .arg("check")
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("CORRUPT: "))
        .stdout(predicate::str::contains("page 3, byte offset 12288: page 3 checksum mismatch"))
        .stderr(predicate::str::contains("is damaged at byte offset 12288"));
    let out = emdb().args(["check", "--json"]).arg(&path).assert().code(1).get_output().clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "corrupt");
    assert_eq!(v["page"], 3);
    assert_eq!(v["offset"], 12288);
    assert!(v["file"].as_str().unwrap().ends_with("app.emdb"));
    assert!(v["problem"].as_str().unwrap().contains("checksum"));
}

#[test]
fn other_commands_report_corruption_as_a_failure_with_the_offset() {
    let (_dir, path) = temp_db();
    filled_db(&path);
    flip_byte(&path, 3);
    emdb()
        .arg("dump")
        .arg(&path)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("corruption in "))
        .stderr(predicate::str::contains("at byte offset 12288"));
}
