//! `Emdb::check_integrity` proves the secondary indexes of every table opened with them: a
//! healthy database passes and counts their entries; an entry forged, repointed or removed
//! through the raw API fails it with `Error::IndexEntryMismatch`, in memory and in a file opened
//! read-only; a table reopened without indexes is no longer checked; and the registered check
//! does not keep the database open.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb::{Emdb, Error, Index, NonUnique, Table, Unique};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    name: String,
    colour: String,
}

fn by_name() -> Index<Item, String, Unique> {
    Index::unique("name", |i: &Item| vec![i.name.clone()])
}

fn by_colour() -> Index<Item, String, NonUnique> {
    Index::non_unique("colour", |i: &Item| vec![i.colour.clone()])
}

fn item(name: &str, colour: &str) -> Item {
    Item { name: name.into(), colour: colour.into() }
}

/// Table `items` with a unique and a non-unique index and three rows: six index entries.
fn items(db: &Emdb) -> Table<u32, Item> {
    let items =
        Table::<u32, Item>::options("items").index(by_name()).index(by_colour()).open(db).unwrap();
    items.insert(&1, &item("cup", "red")).unwrap();
    items.insert(&2, &item("pen", "blue")).unwrap();
    items.insert(&3, &item("hat", "red")).unwrap();
    items
}

/// The key of an entry: the index name, the value, and (non-unique indexes) the primary key,
/// each in the key encoding.
fn entry_key(index: &str, value: &str, pk: Option<u32>) -> Vec<u8> {
    let mut key = emdb::key::encode(index).unwrap();
    key.extend(emdb::key::encode(value).unwrap());
    if let Some(pk) = pk {
        key.extend(emdb::key::encode(&pk).unwrap());
    }
    key
}

fn pk(n: u32) -> Vec<u8> {
    emdb::key::encode(&n).unwrap()
}

/// The index `check_integrity` reports a mismatch in, with the message.
fn mismatch(db: &Emdb) -> (String, String) {
    let err = db.check_integrity().unwrap_err();
    let text = err.to_string();
    match err {
        Error::IndexEntryMismatch { table, index, .. } => {
            assert_eq!(table, "items");
            (index, text)
        }
        other => panic!("expected an index mismatch, got {other:?}"),
    }
}

#[test]
fn a_healthy_database_passes_and_counts_every_index_entry() {
    let db = Emdb::open_in_memory();
    let plain = Table::<u32, Item>::open(&db, "plain").unwrap();
    plain.insert(&1, &item("x", "y")).unwrap();
    let before = db.check_integrity().unwrap();
    assert_eq!((before.registered_checks, before.index_entries), (0, 0));

    let items = items(&db);
    let report = db.check_integrity().unwrap();
    assert_eq!(report.registered_checks, 1, "one check per table with indexes");
    assert_eq!(report.index_entries, 6, "3 names and 3 colours");

    items.insert(&4, &item("mug", "red")).unwrap();
    items.remove(&2).unwrap();
    assert_eq!(db.check_integrity().unwrap().index_entries, 6);
}

#[test]
fn an_index_entry_forged_repointed_or_removed_through_the_raw_api_fails_the_check() {
    let db = Emdb::open_in_memory();
    let _items = items(&db);
    let entries = db.namespace("emdb.index.items").unwrap();
    db.check_integrity().unwrap();

    // A non-unique entry pointing at a row that does not exist.
    let forged = entry_key("colour", "green", Some(9));
    entries.insert(&forged, pk(9)).unwrap();
    let (index, text) = mismatch(&db);
    assert_eq!(index, "colour");
    assert!(text.contains("key 9"), "{text}");
    entries.remove(&forged).unwrap();
    assert_eq!(db.check_integrity().unwrap().index_entries, 6);

    // A unique entry repointed at another row.
    let cup = entry_key("name", "cup", None);
    assert_eq!(entries.get(&cup).unwrap(), Some(pk(1)));
    entries.insert(&cup, pk(2)).unwrap();
    let (index, text) = mismatch(&db);
    assert_eq!(index, "name");
    assert!(text.contains("points at key 2"), "{text}");
    entries.insert(&cup, pk(1)).unwrap();
    db.check_integrity().unwrap();

    // A row's non-unique entry removed.
    assert!(entries.remove(entry_key("colour", "blue", Some(2))).unwrap().is_some());
    let (index, text) = mismatch(&db);
    assert_eq!(index, "colour");
    assert!(text.contains("has no entry"), "{text}");
}

#[test]
fn a_file_with_a_damaged_index_fails_the_check_when_opened_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Emdb::open(&path).unwrap();
        let _items = items(&db);
        db.namespace("emdb.index.items").unwrap().remove(entry_key("name", "pen", None)).unwrap();
        db.close().unwrap();
    }
    let db = Emdb::builder().path(&path).read_only(true).build().unwrap();
    // The engine alone finds nothing wrong: the file is sound, the index is not.
    assert_eq!(db.check_integrity().unwrap().registered_checks, 0);
    let _items =
        Table::<u32, Item>::options("items").index(by_name()).index(by_colour()).open(&db).unwrap();
    let (index, text) = mismatch(&db);
    assert_eq!(index, "name");
    assert!(text.contains("has no entry"), "{text}");
}

#[test]
fn a_table_reopened_without_indexes_is_no_longer_checked() {
    let db = Emdb::open_in_memory();
    let _items = items(&db);
    assert_eq!(db.check_integrity().unwrap().registered_checks, 1);
    // Opening again with one index replaces the check: the dropped index is not expected.
    Table::<u32, Item>::options("items").index(by_colour()).open(&db).unwrap();
    let report = db.check_integrity().unwrap();
    assert_eq!((report.registered_checks, report.index_entries), (1, 3));
    // Without indexes the entries are dropped, and so is the check.
    Table::<u32, Item>::open(&db, "items").unwrap();
    let report = db.check_integrity().unwrap();
    assert_eq!((report.registered_checks, report.index_entries), (0, 0));
}

#[test]
fn the_registered_check_does_not_keep_the_database_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Emdb::open(&path).unwrap();
        let items = items(&db);
        assert_eq!(db.check_integrity().unwrap().index_entries, 6);
        drop(items);
        drop(db);
    }
    // Every handle is gone, so the lock is free: the check held none of them.
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.check_integrity().unwrap().registered_checks, 0);
    let _items =
        Table::<u32, Item>::options("items").index(by_name()).index(by_colour()).open(&db).unwrap();
    assert_eq!(db.check_integrity().unwrap().index_entries, 6);
}
