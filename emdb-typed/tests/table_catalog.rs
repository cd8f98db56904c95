//! The catalog records each table's codec, key shape and value shape per schema version on first
//! open and checks them on every later open: another key shape or codec is `TableTypeMismatch`,
//! another value shape under the same version is `SchemaChanged`, never garbage, and neither
//! changes anything. Type names and paths are not part of a table's identity.
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

/// Another shape than `User`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Admin {
    id: u64,
    level: u8,
}

/// `User`'s shape under another name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Person {
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
    assert_mismatch(&err, "Table<key i64, ", "Table<key u64, ");
    assert!(err.to_string().contains("users"), "{err}");
    assert_eq!(snapshot(&db), before);
    assert_eq!(users.len().unwrap(), 2);
}

#[test]
fn opening_with_a_value_type_of_another_shape_is_schema_changed_and_loses_nothing() {
    let db = Emdb::open_in_memory();
    let users = populated(&db);
    let before = snapshot(&db);
    let err = Table::<u64, Admin>::open(&db, "users").unwrap_err();
    match &err {
        Error::SchemaChanged { table, version, changes, action } => {
            assert_eq!((table.as_str(), *version), ("users", 1));
            assert_eq!(changes, &["field level: u8 added", "field name removed"]);
            assert!(action.contains("declare version 2"), "{action}");
        }
        other => panic!("expected SchemaChanged, got {other}"),
    }
    assert_eq!(snapshot(&db), before);
    assert_eq!(users.get(&1).unwrap().unwrap().name, "ada");
}

#[test]
fn a_type_of_the_same_shape_under_another_name_opens_the_table() {
    let db = Emdb::open_in_memory();
    populated(&db);
    let people = Table::<u64, Person>::open(&db, "users").unwrap();
    assert_eq!(people.get(&2).unwrap(), Some(Person { id: 2, name: "bob".into() }));
}

#[test]
fn opening_with_another_codec_is_a_mismatch_and_loses_nothing() {
    let db = Emdb::open_in_memory();
    let users = populated(&db);
    let before = snapshot(&db);
    let err = Table::<u64, User, Bincode>::open_with(&db, "users").unwrap_err();
    assert_mismatch(&err, ", bincode>", ", postcard>");
    let err = Table::<u64, User, Json>::open_with(&db, "users").unwrap_err();
    assert_mismatch(&err, ", json>", ", postcard>");
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
fn the_catalog_entry_is_format_2_then_postcard_of_codec_key_shape_newest_version_and_shapes() {
    let db = Emdb::open_in_memory();
    Table::<u64, String, Json>::options("notes").version(3).open(&db).unwrap();
    let raw = db.namespace("emdb.tables").unwrap().get("notes").unwrap().unwrap();
    let mut expected = vec![2, 4];
    expected.extend_from_slice(b"json");
    // Some(u64 shape) (variant 10), newest 3, one version: 3 with Some(String shape) (15).
    expected.extend_from_slice(&[1, 10, 3, 1, 3, 1, 15]);
    assert_eq!(raw, expected);
}

#[test]
fn the_catalog_keeps_every_declared_version_and_refuses_an_older_program() {
    let db = Emdb::open_in_memory();
    let catalog = || db.namespace("emdb.tables").unwrap().get("t").unwrap().unwrap();
    Table::<u8, u8>::open(&db, "t").unwrap();
    Table::<u8, u8>::options("t").version(4).open(&db).unwrap();
    // newest 4; two versions, 1 and 4, both Some(u8) (variant 7).
    let raw = catalog();
    assert_eq!(raw[raw.len() - 8..], [4, 2, 1, 1, 7, 4, 1, 7]);
    let before = catalog();
    let err = Table::<u8, u8>::options("t").version(2).open(&db).unwrap_err();
    assert!(matches!(err, Error::UnknownSchemaVersion { found: 4, known: 2, .. }), "{err}");
    assert!(err.to_string().contains("upgrade the program"), "{err}");
    assert_eq!(catalog(), before);
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
