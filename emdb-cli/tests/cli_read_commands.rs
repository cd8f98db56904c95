//! `emdb stats`, `get`, `scan` and `group` on a database with namespaces, groups, TTLs and
//! binary keys.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{emdb, sample_db, stdout_of, temp_db};
use predicates::prelude::*;

#[test]
fn stats_counts_records_and_each_namespace() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    let text = stdout_of(emdb().arg("stats").arg(&path));
    assert!(text.contains("live records         8"), "{text}");
    assert!(text.contains("format version       5"), "{text}");
    assert!(text.contains("tree height          1"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("(default)") && l.contains(" 6 ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("sessions") && l.contains(" 2 ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("empty") && l.contains(" 0 ")), "{text}");
}

#[test]
fn stats_json_is_one_object_with_per_namespace_figures() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    let text = stdout_of(emdb().args(["stats", "--json"]).arg(&path));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["live_records"], 8);
    assert!(v["file_bytes"].as_u64().unwrap() >= 8192);
    let sessions = v["namespaces"].as_array().unwrap().iter().find(|n| n["name"] == "sessions");
    let sessions = sessions.unwrap();
    assert_eq!(sessions["entries"], 2);
    assert_eq!(sessions["key_bytes"], 2 + 3);
    assert_eq!(sessions["value_bytes"], 5 + 4);
    assert_eq!(v["format_version"], 5);
    assert!(v["tree_height"].as_u64().unwrap() >= 1);
}

#[test]
fn get_prints_the_value_and_a_missing_key_exits_1() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    emdb().args(["get"]).arg(&path).arg("user:1").assert().success().stdout("alice\n");
    emdb()
        .arg("get")
        .arg(&path)
        .arg("user:9")
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("no key user:9 in the default namespace"));
}

#[test]
fn get_in_a_namespace_shows_binary_values_in_hex_and_raw_as_bytes() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    emdb()
        .args(["get", "--ns", "sessions", "--hex"])
        .arg(&path)
        .arg("0001ff")
        .assert()
        .success()
        .stdout("0xdeadbeef\n");
    let raw = emdb()
        .args(["get", "--ns", "sessions", "--raw"])
        .arg(&path)
        .arg("s1")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(raw, b"token");
    emdb()
        .args(["get", "--ns", "nope"])
        .arg(&path)
        .arg("k")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("has no namespace \"nope\"; it has: empty, sessions"));
}

#[test]
fn scan_goes_in_key_order_with_prefix_range_limit_and_keys_only() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    let all = stdout_of(emdb().arg("scan").arg(&path));
    assert_eq!(
        all,
        "config\tv2\nproduct.laptop.price\t1299\nproduct.phone.name\tPhone\n\
         product.phone.price\t99\nuser:1\talice\nuser:2\tbob\n"
    );
    let users = stdout_of(emdb().args(["scan", "--prefix", "user:"]).arg(&path));
    assert_eq!(users, "user:1\talice\nuser:2\tbob\n");
    let range =
        stdout_of(emdb().args(["scan", "--from", "product.phone", "--to", "user:2"]).arg(&path));
    assert_eq!(range, "product.phone.name\tPhone\nproduct.phone.price\t99\nuser:1\talice\n");
    let first_two = stdout_of(emdb().args(["scan", "--limit", "2", "--keys-only"]).arg(&path));
    assert_eq!(first_two, "config\nproduct.laptop.price\n");
    let binary = stdout_of(emdb().args(["scan", "--ns", "sessions"]).arg(&path));
    assert_eq!(binary, "0x0001ff\t0xdeadbeef\ns1\ttoken\n");
}

#[test]
fn scan_refuses_a_prefix_together_with_a_range() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    emdb()
        .args(["scan", "--prefix", "a", "--from", "b"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

#[test]
fn group_lists_every_key_under_the_dotted_prefix_at_any_depth() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    let product = stdout_of(emdb().arg("group").arg(&path).arg("product"));
    assert_eq!(
        product,
        "product.laptop.price\t1299\nproduct.phone.name\tPhone\nproduct.phone.price\t99\n"
    );
    let phone = stdout_of(emdb().args(["group", "--keys-only"]).arg(&path).arg("product.phone"));
    assert_eq!(phone, "product.phone.name\nproduct.phone.price\n");
    emdb()
        .arg("group")
        .arg(&path)
        .arg("a..b")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("invalid group prefix"));
}

#[test]
fn a_reader_that_stops_early_ends_the_scan_quietly() {
    use std::io::{BufRead, BufReader};
    let (_dir, path) = temp_db();
    {
        let db = emdb_core::Emdb::open(&path).unwrap();
        db.transaction(|tx| (0..5000).try_for_each(|i| tx.insert(format!("k{i:05}"), [b'v'; 100])))
            .unwrap();
    }
    // More than a pipe holds: the scan is still writing when the reader goes away.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("emdb"))
        .arg("scan")
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("k00000\t"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
