//! Stored bytes a table cannot read give a clear error for exactly that entry: `Error::Decode`
//! naming the table and key (the iteration goes on with the next entry), a codec mismatch naming
//! both codecs, and `Error::UnsupportedKey` for key types the key encoding cannot represent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::{BTreeMap, HashMap};

use emdb_core::{Emdb, Error};
use emdb_typed::{Bincode, Codec, Postcard, Table, key, write_header};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Point {
    x: u32,
    y: u32,
}

/// A table of points at keys 1..=4, with the value at key 2 overwritten by `bad` (raw).
fn with_a_bad_entry(db: &Emdb, bad: &[u8]) -> Table<u64, Point> {
    let t = Table::<u64, Point>::open(db, "points").unwrap();
    for k in 1..=4 {
        t.insert(&k, &Point { x: u32::try_from(k).unwrap(), y: 0 }).unwrap();
    }
    t.namespace().insert(key::encode(&2_u64).unwrap(), bad).unwrap();
    t
}

fn assert_decode_error_at(err: &Error, key: u64) {
    match err {
        Error::Decode { table, key: raw, .. } => {
            assert_eq!(table, "points");
            assert_eq!(raw, &key::encode(&key).unwrap());
        }
        other => panic!("expected Decode, got {other}"),
    }
}

#[test]
fn a_value_that_fails_to_decode_is_an_error_for_that_item_and_iteration_continues() {
    let db = Emdb::open_in_memory();
    // Postcard header, version 1, then a truncated payload.
    let t = with_a_bad_entry(&db, &[1, 1, 5]);
    let items: Vec<_> = t.iter().unwrap().collect();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0].as_ref().unwrap().0, 1);
    assert_decode_error_at(items[1].as_ref().unwrap_err(), 2);
    assert_eq!(items[2].as_ref().unwrap().0, 3);
    assert_eq!(items[3].as_ref().unwrap().0, 4);
    // Backwards too, and through range.
    let back: Vec<_> = t.iter().unwrap().rev().collect();
    assert!(back[2].is_err());
    assert_eq!(back.iter().filter(|i| i.is_ok()).count(), 3);
    let ranged: Vec<_> = t.range(2..4).unwrap().collect();
    assert_decode_error_at(ranged[0].as_ref().unwrap_err(), 2);
    assert_eq!(ranged[1].as_ref().unwrap().0, 3);
}

#[test]
fn get_of_an_undecodable_value_is_a_decode_error_and_get_raw_still_reads_it() {
    let db = Emdb::open_in_memory();
    let t = with_a_bad_entry(&db, &[1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert_decode_error_at(&t.get(&2).unwrap_err(), 2);
    assert_eq!(t.get_raw(&2).unwrap().unwrap()[0], 1);
    assert!(t.contains_key(&2).unwrap());
    assert_eq!(t.len().unwrap(), 4);
    assert_eq!(t.get(&3).unwrap(), Some(Point { x: 3, y: 0 }));
}

#[test]
fn update_of_an_undecodable_value_writes_nothing() {
    let db = Emdb::open_in_memory();
    let t = with_a_bad_entry(&db, &[1, 1, 5]);
    assert_decode_error_at(&t.update(&2, |p| p.x = 0).unwrap_err(), 2);
    assert_eq!(t.get_raw(&2).unwrap(), Some(vec![1, 1, 5]));
}

#[test]
fn remove_of_an_undecodable_value_removes_it_and_reports_the_error() {
    let db = Emdb::open_in_memory();
    let t = with_a_bad_entry(&db, &[1, 1, 5]);
    assert_decode_error_at(&t.remove(&2).unwrap_err(), 2);
    assert!(!t.contains_key(&2).unwrap());
}

#[test]
fn an_empty_or_truncated_header_is_a_decode_error() {
    let db = Emdb::open_in_memory();
    let t = with_a_bad_entry(&db, &[]);
    assert_decode_error_at(&t.get(&2).unwrap_err(), 2);
    t.namespace().insert(key::encode(&2_u64).unwrap(), [1, 0x80]).unwrap();
    assert_decode_error_at(&t.get(&2).unwrap_err(), 2);
}

#[test]
fn a_value_written_by_another_codec_is_a_decode_error_naming_both_codecs() {
    let db = Emdb::open_in_memory();
    // Postcard and bincode write `Point { x: 3, y: 4 }` as the same bytes, `03 04`: only the
    // header tells them apart.
    assert_eq!(Postcard::encode(&Point { x: 3, y: 4 }).unwrap(), [3, 4]);
    assert_eq!(Bincode::encode(&Point { x: 3, y: 4 }).unwrap(), [3, 4]);
    let mut bincode_value = Vec::new();
    write_header(Bincode::ID, 1, &mut bincode_value);
    bincode_value.extend_from_slice(&[3, 4]);
    let t = with_a_bad_entry(&db, &bincode_value);
    let err = t.get(&2).unwrap_err();
    assert_decode_error_at(&err, 2);
    let message = err.to_string();
    assert!(message.contains("bincode") && message.contains("postcard"), "{message}");
}

#[test]
fn a_value_with_an_unknown_codec_id_is_a_decode_error() {
    let db = Emdb::open_in_memory();
    let t = with_a_bad_entry(&db, &[200, 1, 3, 4]);
    let err = t.get(&2).unwrap_err();
    assert_decode_error_at(&err, 2);
    assert!(err.to_string().contains("200"), "{err}");
}

#[test]
fn a_raw_key_that_is_not_a_key_of_the_table_type_is_a_decode_error_in_iteration() {
    let db = Emdb::open_in_memory();
    let t = Table::<u64, Point>::open(&db, "points").unwrap();
    t.insert(&1, &Point { x: 1, y: 1 }).unwrap();
    // Three bytes are not a u64 key; the value itself is fine.
    let value = t.get_raw(&1).unwrap().unwrap();
    t.namespace().insert([0, 0, 7], &value).unwrap();
    let items: Vec<_> = t.iter().unwrap().collect();
    assert_eq!(items.len(), 2);
    // `00 00 00 00 00 00 00 01` (the key 1) sorts before `00 00 07`.
    assert_eq!(items[0].as_ref().unwrap().0, 1);
    match items[1].as_ref().unwrap_err() {
        Error::Decode { table, key, .. } => {
            assert_eq!(table, "points");
            assert_eq!(key, &[0, 0, 7]);
        }
        other => panic!("expected Decode, got {other}"),
    }
}

#[test]
fn an_unsupported_key_type_is_an_error_at_first_use_and_stores_nothing() {
    let db = Emdb::open_in_memory();
    let t = Table::<BTreeMap<String, u8>, u8>::open(&db, "maps").unwrap();
    let key = BTreeMap::from([("a".to_owned(), 1)]);
    let err = t.insert(&key, &1).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedKey { type_name, .. } if type_name.contains("BTreeMap"))
    );
    assert!(matches!(t.get(&key), Err(Error::UnsupportedKey { .. })));
    assert!(matches!(t.contains_key(&key), Err(Error::UnsupportedKey { .. })));
    assert!(matches!(t.range(key.clone()..), Err(Error::UnsupportedKey { .. })));
    assert!(t.is_empty().unwrap());

    let hashed = Table::<HashMap<u8, u8>, u8>::open(&db, "hashmaps").unwrap();
    assert!(matches!(hashed.insert(&HashMap::new(), &1), Err(Error::UnsupportedKey { .. })));
}

#[test]
fn a_key_whose_type_needs_a_self_describing_format_fails_to_decode_as_unsupported() {
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(untagged)]
    enum Either {
        Num(u64),
        Text(String),
    }
    let db = Emdb::open_in_memory();
    let t = Table::<Either, u8>::open(&db, "either").unwrap();
    t.insert(&Either::Num(1), &1).unwrap();
    assert_eq!(t.get(&Either::Num(1)).unwrap(), Some(1));
    let err = t.iter().unwrap().next().unwrap().unwrap_err();
    assert!(matches!(err, Error::UnsupportedKey { .. }), "{err}");
    let _ = Either::Text(String::new());
}
