//! `emdb dump` and `emdb load`: a dump loaded into a new file dumps the same again, with
//! namespaces, expiries, typed tables of every codec and groups; bad input is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::time::Duration;

use common::{emdb, sample_db, stdout_of, temp_db};
use emdb_core::{Emdb, Ttl};
use emdb_typed::{Bincode, Json, Postcard, Table};
use predicates::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    age: u8,
    tags: Vec<String>,
}

fn user(name: &str, age: u8) -> User {
    User { name: name.to_owned(), age, tags: vec!["a".into(), "\u{0}b".into()] }
}

/// A database with typed tables of each codec next to the raw sample's entries.
fn typed_db(path: &std::path::Path) {
    sample_db(path);
    let db = Emdb::open(path).unwrap();
    let post = Table::<u64, User, Postcard>::open_with(&db, "users_postcard").unwrap();
    let bin = Table::<i32, User, Bincode>::open_with(&db, "users_bincode").unwrap();
    let json = Table::<String, User, Json>::open_with(&db, "users_json").unwrap();
    for i in 0..5u8 {
        post.insert(&u64::from(i), &user("p", i)).unwrap();
        bin.insert(&(-i32::from(i)), &user("b", i)).unwrap();
        json.insert(&format!("j{i}"), &user("j", i)).unwrap();
    }
    post.insert_with_ttl(&99, &user("ttl", 1), Ttl::After(Duration::from_secs(7200))).unwrap();
}

fn load(path: &std::path::Path, dump: &str) -> assert_cmd::assert::Assert {
    emdb().arg("load").arg(path).write_stdin(dump.to_owned()).assert()
}

#[test]
fn dump_load_dump_is_identical_with_namespaces_ttls_tables_and_groups() {
    let (dir, path) = temp_db();
    typed_db(&path);
    let first = stdout_of(emdb().arg("dump").arg(&path));
    let copy = dir.path().join("copy.emdb");
    load(&copy, &first)
        .success()
        .stderr(predicate::str::contains("loaded 27 entries into 7 namespaces in 1 batch "));
    let second = stdout_of(emdb().arg("dump").arg(&copy));
    assert_eq!(first, second);

    // What was dumped is what the database holds, in every part.
    assert!(first.contains(r#"{"namespace":"empty"}"#), "{first}");
    assert!(first.contains(r#""key":"product.phone.price","value":"99""#), "{first}");
    let json_value = r#""value":{"codec":"json","version":1,"json":{"name":"j","age":2,"tags":["a","\u0000b"]}}"#;
    assert!(first.contains(json_value), "json-codec values are dumped as JSON: {first}");
    let db = Emdb::open(&copy).unwrap();
    let expiry = db.namespace("sessions").unwrap().expires_at("s1").unwrap().unwrap();
    let original = Emdb::builder().path(&path).read_only(true).build().unwrap();
    assert_eq!(Some(expiry), original.namespace("sessions").unwrap().expires_at("s1").unwrap());
    assert_eq!(db.focus("product").focus("phone").get("price").unwrap(), Some(b"99".to_vec()));
    let post = Table::<u64, User, Postcard>::open_with(&db, "users_postcard").unwrap();
    assert_eq!(post.get(&3).unwrap(), Some(user("p", 3)));
    assert!(post.ttl(&99).unwrap().is_some());
    let bin = Table::<i32, User, Bincode>::open_with(&db, "users_bincode").unwrap();
    assert_eq!(bin.get(&-4).unwrap(), Some(user("b", 4)));
    let json = Table::<String, User, Json>::open_with(&db, "users_json").unwrap();
    assert_eq!(json.get(&"j2".to_owned()).unwrap(), Some(user("j", 2)));
}

#[test]
fn dump_lines_carry_namespace_key_value_and_expiry_with_binary_as_base64() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    let dump = stdout_of(emdb().args(["dump", "--ns", "sessions"]).arg(&path));
    let lines: Vec<serde_json::Value> =
        dump.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0], serde_json::json!({"format": "emdb-dump", "version": 2}));
    assert_eq!(lines[1], serde_json::json!({"namespace": "sessions"}));
    assert_eq!(
        lines[2],
        serde_json::json!({"namespace": "sessions", "key": {"base64": "AAH/"},
                           "value": {"base64": "3q2+7w=="}, "expiry": null})
    );
    assert_eq!(lines[3]["key"], "s1");
    let expiry = lines[3]["expiry"].as_u64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let left = expiry.saturating_sub(u64::try_from(now.as_millis()).unwrap());
    assert!(left > 3_500_000 && left <= 3_600_000, "{left} ms left");
    assert_eq!(lines.len(), 4, "only the namespace asked for");
}

#[test]
fn dump_of_an_unknown_namespace_names_the_ones_there_are() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    emdb()
        .args(["dump", "--ns", "nope"])
        .arg(&path)
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicate::str::contains("no namespace \"nope\"; it has: empty, sessions"));
}

#[test]
fn load_skips_expired_entries_and_replaces_existing_keys() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    let dump = "{\"format\":\"emdb-dump\",\"version\":1}\n\
        {\"namespace\":\"\",\"key\":\"user:1\",\"value\":\"alicia\",\"expiry\":null}\n\
        {\"namespace\":\"\",\"key\":\"old\",\"value\":\"x\",\"expiry\":1000}\n";
    load(&path, dump)
        .success()
        .stderr(predicate::str::contains("skipped 1 entry that had expired"));
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.get("user:1").unwrap(), Some(b"alicia".to_vec()));
    assert_eq!(db.get("old").unwrap(), None);
    assert_eq!(db.get("user:2").unwrap(), Some(b"bob".to_vec()));
}

#[test]
fn load_refuses_input_that_is_not_a_dump_and_names_the_line() {
    let (dir, path) = temp_db();
    load(&path, "hello\n").code(3).stderr(predicate::str::contains("line 1"));
    load(&path, "{\"namespace\":\"a\"}\n")
        .code(3)
        .stderr(predicate::str::contains("not an emdb dump"));
    load(&path, "{\"format\":\"emdb-dump\",\"version\":3}\n")
        .code(3)
        .stderr(predicate::str::contains("format version 3"));
    let bad = "{\"format\":\"emdb-dump\",\"version\":1}\n{\"namespace\":\"\",\"key\":\"k\"}\n";
    load(&path, bad).code(3).stderr(predicate::str::contains("line 2"));
    let bad_b64 = "{\"format\":\"emdb-dump\",\"version\":1}\n\
        {\"namespace\":\"\",\"key\":{\"base64\":\"%%\"},\"value\":\"v\",\"expiry\":null}\n";
    load(&path, bad_b64).code(3).stderr(predicate::str::contains("line 2"));
    let long_key = format!(
        "{{\"format\":\"emdb-dump\",\"version\":1}}\n\
         {{\"namespace\":\"\",\"key\":\"k\",\"value\":\"v\",\"expiry\":null}}\n\
         {{\"namespace\":\"\",\"key\":\"{}\",\"value\":\"v\",\"expiry\":null}}\n",
        "k".repeat(emdb_core::MAX_KEY_LEN + 1)
    );
    load(&path, &long_key)
        .code(3)
        .stderr(predicate::str::contains("line 3: a key of"))
        .stderr(predicate::str::contains("longer than emdb's maximum"));
    let bad_ns = format!(
        "{{\"format\":\"emdb-dump\",\"version\":1}}\n{{\"namespace\":\"{}\"}}\n",
        "n".repeat(300)
    );
    load(&path, &bad_ns).code(3).stderr(predicate::str::contains("line 2: invalid namespace name"));
    drop(dir);
}

#[test]
fn a_load_larger_than_one_batch_commits_every_entry() {
    let (dir, path) = temp_db();
    {
        let db = Emdb::open(&path).unwrap();
        db.transaction(|tx| {
            (0..1000u32).try_for_each(|i| tx.insert(i.to_be_bytes(), format!("value {i}")))
        })
        .unwrap();
    }
    let first = stdout_of(emdb().arg("dump").arg(&path));
    let copy = dir.path().join("copy.emdb");
    emdb()
        .args(["load", "--batch-entries", "300"])
        .arg(&copy)
        .write_stdin(first.clone())
        .assert()
        .success()
        .stderr(predicate::str::contains("loaded 1000 entries into 1 namespace in 4 batches"));
    assert_eq!(first, stdout_of(emdb().arg("dump").arg(&copy)));
}
