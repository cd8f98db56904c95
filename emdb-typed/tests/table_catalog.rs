//! The catalog records each table's key type, value type, codec and schema version on first open
//! and checks them on every later open: a mismatch is `TableTypeMismatch`, never garbage, and it
//! changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::{Arc, Barrier};

use emdb_core::{Emdb, Error};
use emdb_typed::{Bincode, Json, Postcard, Table};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Admin {
    id: u64,
    name: String,
}

fn populated(db: &Emdb) -> Table<u64, User> {
    let users = Table::<u64, User>::open(db, "users").unwrap();
    users.insert(&1, &User { id: 1, name: "ada".into() }).unwrap();
    users.insert(&2, &User { id: 2, name: "bob".into() }).unwrap();
    users
}

/// Everything stored in the table's namespace and the catalog, raw.
fn snapshot(db: &Emdb) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut all: Vec<_> = db.namespace("emdb.table.users").unwrap().iter().unwrap().collect();
    all.extend(db.namespace("emdb.tables").unwrap().iter().unwrap());
    all.into_iter().map(Result::unwrap).collect()
}

fn assert_mismatch(err: &Error, expected_part: &str, found_part: &str) {
    match err {
        Error::TableTypeMismatch { table, expected, found } => {
            assert_eq!(table, "users");
            assert!(expected.contains(expected_part), "expected {expected:?}");
            assert!(found.contains(found_part), "found {found:?}");
            assert_ne!(expected, found);
        }
        other => panic!("expected TableTypeMismatch, got {other}"),
    }
}

#[test]
fn opening_with_another_key_type_is_a_mismatch_and_loses_nothing() {
    let db = Emdb::open_in_memory();
    let users = populated(&db);
    let before = snapshot(&db);
    let err = Table::<i64, User>::open(&db, "users").unwrap_err();
    assert_mismatch(&err, "Table<i64, ", "Table<u64, ");
    assert!(err.to_string().contains("users"), "{err}");
    assert_eq!(snapshot(&db), before);
    assert_eq!(users.len().unwrap(), 2);
}

#[test]
fn opening_with_another_value_type_is_a_mismatch_even_when_the_bytes_would_decode() {
    let db = Emdb::open_in_memory();
    let users = populated(&db);
    let before = snapshot(&db);
    let err = Table::<u64, Admin>::open(&db, "users").unwrap_err();
    assert_mismatch(&err, "Admin", "User");
    assert_eq!(snapshot(&db), before);
    assert_eq!(users.get(&1).unwrap().unwrap().name, "ada");
}

#[test]
fn opening_with_another_codec_is_a_mismatch_and_loses_nothing() {
    let db = Emdb::open_in_memory();
    let users = populated(&db);
    let before = snapshot(&db);
    let err = Table::<u64, User, Bincode>::open_with(&db, "users").unwrap_err();
    assert_mismatch(&err, "bincode>", "postcard>");
    let err = Table::<u64, User, Json>::open_with(&db, "users").unwrap_err();
    assert_mismatch(&err, "json>", "postcard>");
    assert_eq!(snapshot(&db), before);
    assert_eq!(users.len().unwrap(), 2);
    // The original types still open.
    assert_eq!(Table::<u64, User, Postcard>::open_with(&db, "users").unwrap().len().unwrap(), 2);
}

#[test]
fn a_mismatched_first_open_creates_no_namespace_for_the_table() {
    let db = Emdb::open_in_memory();
    Table::<u64, User>::open(&db, "users").unwrap();
    let names_before = db.namespace_names();
    Table::<u64, Admin>::open(&db, "users").unwrap_err();
    assert_eq!(db.namespace_names(), names_before);
}

#[test]
fn the_catalog_entry_is_a_format_byte_then_postcard_of_the_type_names_codec_and_version() {
    #[derive(Deserialize)]
    struct Entry {
        key_type: String,
        value_type: String,
        codec: String,
        version: u32,
    }
    let db = Emdb::open_in_memory();
    Table::<u64, String, Json>::options("notes").version(3).open(&db).unwrap();
    let raw = db.namespace("emdb.tables").unwrap().get("notes").unwrap().unwrap();
    assert_eq!(raw[0], 1, "catalog format");
    let entry: Entry = postcard::from_bytes(&raw[1..]).unwrap();
    assert_eq!(entry.key_type, "u64");
    assert_eq!(entry.value_type, std::any::type_name::<String>());
    assert_eq!(entry.codec, "json");
    assert_eq!(entry.version, 3);
}

#[test]
fn the_catalog_keeps_the_newest_declared_version() {
    let db = Emdb::open_in_memory();
    let version = || {
        let raw = db.namespace("emdb.tables").unwrap().get("t").unwrap().unwrap();
        *raw.last().unwrap()
    };
    Table::<u8, u8>::open(&db, "t").unwrap();
    assert_eq!(version(), 1);
    Table::<u8, u8>::options("t").version(4).open(&db).unwrap();
    assert_eq!(version(), 4);
    // An older program may still open the table (it fails per value, on values it cannot read).
    let old = Table::<u8, u8>::options("t").version(2).open(&db).unwrap();
    assert_eq!(old.version(), 2);
    assert_eq!(version(), 4);
}

#[test]
fn a_damaged_catalog_entry_is_a_decode_error_naming_the_table() {
    let db = Emdb::open_in_memory();
    Table::<u8, u8>::open(&db, "t").unwrap();
    db.namespace("emdb.tables").unwrap().insert("t", [9, 9, 9]).unwrap();
    let err = Table::<u8, u8>::open(&db, "t").unwrap_err();
    assert!(matches!(&err, Error::Decode { table, .. } if table == "t"), "{err}");
}

#[test]
fn concurrent_first_opens_agree_on_one_catalog_entry() {
    let db = Emdb::open_in_memory();
    let barrier = Arc::new(Barrier::new(4));
    let results: Vec<bool> = (0..4)
        .map(|i| {
            let (db, barrier) = (db.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                if i % 2 == 0 {
                    Table::<u64, User>::open(&db, "users").is_ok()
                } else {
                    Table::<u64, Admin>::open(&db, "users").is_ok()
                }
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    // Whichever type won the race, only openers of that type succeeded.
    let users_won = results[0];
    assert_eq!(results, [users_won, !users_won, users_won, !users_won]);
}
