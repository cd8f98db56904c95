//! The declared set of secondary indexes is recorded per table: an index new to an existing
//! table is built at open, one no longer declared has its entries dropped, a unique index the
//! rows already break fails the open and changes nothing, and `verify_indexes` catches entries
//! written around the table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb::{Emdb, Error, Index, NonUnique, Table, Unique};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    name: String,
    colour: String,
    price: i64,
}

fn by_colour() -> Index<Item, String, NonUnique> {
    Index::non_unique("colour", |i: &Item| vec![i.colour.clone()])
}

fn by_price() -> Index<Item, i64, NonUnique> {
    Index::non_unique("price", |i: &Item| vec![i.price])
}

fn by_name() -> Index<Item, String, Unique> {
    Index::unique("name", |i: &Item| vec![i.name.clone()])
}

fn item(name: &str, colour: &str, price: i64) -> Item {
    Item { name: name.into(), colour: colour.into(), price }
}

fn keys(rows: emdb::IndexIter<u32, Item>) -> Vec<u32> {
    rows.map(|r| r.unwrap().0).collect()
}

#[test]
fn an_index_added_to_an_existing_table_is_built_at_open_and_a_removed_one_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Emdb::open(&path).unwrap();
        let items = Table::<u32, Item>::open(&db, "items").unwrap();
        items.insert(&1, &item("cup", "red", 300)).unwrap();
        items.insert(&2, &item("pen", "blue", -5)).unwrap();
        items.insert(&3, &item("hat", "red", 1200)).unwrap();
    }
    {
        let db = Emdb::open(&path).unwrap();
        let items = Table::<u32, Item>::options("items")
            .index(by_colour())
            .index(by_price())
            .open(&db)
            .unwrap();
        assert_eq!(keys(items.find_by(&by_colour(), "red").unwrap()), [1, 3]);
        // Signed values range in numeric order; bounds inclusive and exclusive.
        assert_eq!(keys(items.range_by(&by_price(), -10..=300).unwrap()), [2, 1]);
        assert_eq!(keys(items.range_by(&by_price(), -5..300).unwrap()), [2]);
        assert_eq!(
            keys(
                items
                    .range_by(
                        &by_price(),
                        (std::ops::Bound::Excluded(-5), std::ops::Bound::Unbounded)
                    )
                    .unwrap()
            ),
            [1, 3]
        );
        items.verify_indexes().unwrap();
    }
    {
        let db = Emdb::open(&path).unwrap();
        let items = Table::<u32, Item>::options("items").index(by_price()).open(&db).unwrap();
        assert!(matches!(items.find_by(&by_colour(), "red"), Err(Error::UnknownIndex { .. })));
        let index = db.namespace("emdb.index.items").unwrap();
        let colour_prefix = emdb::key::encode("colour").unwrap();
        assert_eq!(index.prefix(&colour_prefix).unwrap().count(), 0);
        assert_eq!(index.len().unwrap(), 3);
        items.verify_indexes().unwrap();
    }
    {
        // Without indexes, the table opens as before and its entries are gone.
        let db = Emdb::open(&path).unwrap();
        let items = Table::<u32, Item>::open(&db, "items").unwrap();
        assert_eq!(items.len().unwrap(), 3);
        assert!(db.namespace("emdb.index.items").unwrap().is_empty().unwrap());
    }
}

#[test]
fn a_unique_index_the_rows_already_break_fails_the_open_and_changes_nothing() {
    let db = Emdb::open_in_memory();
    let items = Table::<u32, Item>::open(&db, "items").unwrap();
    items.insert(&1, &item("cup", "red", 1)).unwrap();
    items.insert(&2, &item("cup", "blue", 2)).unwrap();
    let err = Table::<u32, Item>::options("items").index(by_name()).open(&db).unwrap_err();
    assert!(matches!(&err, Error::UniqueViolation { value, .. } if value == "\"cup\""), "{err}");
    assert!(db.namespace("emdb.index.items").unwrap().is_empty().unwrap());
    items.remove(&2).unwrap();
    let items = Table::<u32, Item>::options("items").index(by_name()).open(&db).unwrap();
    assert_eq!(items.get_by(&by_name(), "cup").unwrap().map(|i| i.price), Some(1));
}

#[test]
fn verify_indexes_catches_a_tampered_missing_or_dangling_entry() {
    let db = Emdb::open_in_memory();
    let items = Table::<u32, Item>::options("items").index(by_colour()).open(&db).unwrap();
    items.insert(&1, &item("cup", "red", 1)).unwrap();
    items.insert(&2, &item("pen", "blue", 2)).unwrap();
    items.verify_indexes().unwrap();
    let index = db.namespace("emdb.index.items").unwrap();

    // An entry pointing at a row that does not exist.
    let mut forged = emdb::key::encode("colour").unwrap();
    forged.extend(emdb::key::encode("green").unwrap());
    forged.extend(emdb::key::encode(&9u32).unwrap());
    index.insert(&forged, emdb::key::encode(&9u32).unwrap()).unwrap();
    let err = items.verify_indexes().unwrap_err();
    assert!(matches!(&err, Error::IndexEntryMismatch { index, .. } if index == "colour"), "{err}");
    assert!(err.to_string().contains("key 9"), "{err}");
    index.remove(&forged).unwrap();
    items.verify_indexes().unwrap();

    // A row's entry removed.
    let mut red = emdb::key::encode("colour").unwrap();
    red.extend(emdb::key::encode("red").unwrap());
    red.extend(emdb::key::encode(&1u32).unwrap());
    assert!(index.remove(&red).unwrap().is_some());
    let err = items.verify_indexes().unwrap_err();
    assert!(err.to_string().contains("has no entry"), "{err}");
}

#[test]
fn only_a_table_with_indexes_is_recorded_in_catalog_format_3() {
    let db = Emdb::open_in_memory();
    let catalog = db.namespace(emdb::CATALOG_NAMESPACE).unwrap();
    Table::<u32, Item>::open(&db, "plain").unwrap();
    Table::<u32, Item>::options("indexed").index(by_colour()).open(&db).unwrap();
    assert_eq!(catalog.get("plain").unwrap().unwrap()[0], 2);
    assert_eq!(catalog.get("indexed").unwrap().unwrap()[0], 3);
    // Dropping the last index writes the entry back in format 2.
    Table::<u32, Item>::open(&db, "indexed").unwrap();
    assert_eq!(catalog.get("indexed").unwrap().unwrap()[0], 2);
}

#[test]
fn strings_and_tuples_range_in_their_order_with_either_bound_kind() {
    let by_name = Index::non_unique("name", |i: &Item| vec![i.name.clone()]);
    let by_pair = Index::non_unique("pair", |i: &Item| vec![(i.colour.clone(), i.price)]);
    let db = Emdb::open_in_memory();
    let items = Table::<u32, Item>::options("items")
        .index(by_name.clone())
        .index(by_pair.clone())
        .open(&db)
        .unwrap();
    for (k, (name, colour, price)) in [
        ("a", "red", 5),
        ("ab", "red", -1),
        ("b", "blue", 7),
        ("a\0", "red", 100),
        ("ba", "blue", -7),
    ]
    .into_iter()
    .enumerate()
    {
        items.insert(&u32::try_from(k).unwrap(), &item(name, colour, price)).unwrap();
    }
    // "a" < "a\0" < "ab" < "b" < "ba"
    assert_eq!(keys(items.range_by(&by_name, "a".."b").unwrap()), [0, 3, 1]);
    assert_eq!(keys(items.range_by(&by_name, "a"..="b").unwrap()), [0, 3, 1, 2]);
    assert_eq!(
        keys(
            items
                .range_by(
                    &by_name,
                    (std::ops::Bound::Excluded("a"), std::ops::Bound::Excluded("ba"))
                )
                .unwrap()
        ),
        [3, 1, 2]
    );
    // (colour, price): blue -7, blue 7, red -1, red 5, red 100
    let lo = ("blue".to_owned(), 0i64);
    let hi = ("red".to_owned(), 5i64);
    assert_eq!(keys(items.range_by(&by_pair, lo.clone()..hi.clone()).unwrap()), [2, 1]);
    assert_eq!(keys(items.range_by(&by_pair, lo..=hi).unwrap()), [2, 1, 0]);
    assert_eq!(keys(items.range_by(&by_pair, ..("blue".to_owned(), 8i64)).unwrap()), [4, 2]);
}
