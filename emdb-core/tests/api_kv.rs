//! The key-value API of the default namespace and of named namespaces: every method and every
//! error it documents.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb_core::{Emdb, Error, MAX_KEY_LEN, MAX_VALUE_LEN};

fn collect(iter: emdb_core::Iter) -> Vec<(Vec<u8>, Vec<u8>)> {
    iter.collect::<Result<_, _>>().unwrap()
}

fn keys_of(iter: emdb_core::Iter) -> Vec<String> {
    collect(iter).into_iter().map(|(k, _)| String::from_utf8(k).unwrap()).collect()
}

#[test]
fn insert_then_get_returns_the_value_for_every_byte_like_type() {
    let db = Emdb::open_in_memory();
    db.insert("str", "a").unwrap();
    db.insert(String::from("string"), String::from("b")).unwrap();
    db.insert(&b"slice"[..], &b"c"[..]).unwrap();
    let (owned_key, owned_value): (Vec<u8>, Vec<u8>) = (b"vec".into(), b"d".into());
    db.insert(owned_key.clone(), owned_value).unwrap();
    db.insert(b"array", b"e").unwrap();
    assert_eq!(db.get("str").unwrap(), Some(b"a".to_vec()));
    assert_eq!(db.get("string").unwrap(), Some(b"b".to_vec()));
    assert_eq!(db.get(b"slice").unwrap(), Some(b"c".to_vec()));
    assert_eq!(db.get(owned_key).unwrap(), Some(b"d".to_vec()));
    assert_eq!(db.get("array").unwrap(), Some(b"e".to_vec()));
    assert_eq!(db.get("missing").unwrap(), None);
}

#[test]
fn insert_overwrites_and_len_counts_each_key_once() {
    let db = Emdb::open_in_memory();
    db.insert("k", "1").unwrap();
    db.insert("k", "2").unwrap();
    assert_eq!(db.get("k").unwrap(), Some(b"2".to_vec()));
    assert_eq!(db.len().unwrap(), 1);
}

#[test]
fn empty_keys_and_values_are_stored() {
    let db = Emdb::open_in_memory();
    db.insert("", "").unwrap();
    assert_eq!(db.get("").unwrap(), Some(Vec::new()));
    assert!(db.contains_key("").unwrap());
}

#[test]
fn remove_returns_the_old_value_once() {
    let db = Emdb::open_in_memory();
    db.insert("k", "v").unwrap();
    assert_eq!(db.remove("k").unwrap(), Some(b"v".to_vec()));
    assert_eq!(db.remove("k").unwrap(), None);
    assert!(!db.contains_key("k").unwrap());
    assert!(db.is_empty().unwrap());
}

#[test]
fn clear_removes_everything_in_the_namespace_only() {
    let db = Emdb::open_in_memory();
    let other = db.namespace("other").unwrap();
    for i in 0..100 {
        db.insert(format!("k{i}"), "v").unwrap();
    }
    other.insert("k", "v").unwrap();
    db.clear().unwrap();
    assert_eq!(db.len().unwrap(), 0);
    assert_eq!(db.iter().unwrap().count(), 0);
    assert_eq!(db.get("k1").unwrap(), None);
    assert_eq!(other.len().unwrap(), 1);
    db.insert("after", "clear").unwrap();
    assert_eq!(keys_of(db.iter().unwrap()), ["after"]);
}

#[test]
fn iter_and_keys_go_in_byte_order_both_ways() {
    let db = Emdb::open_in_memory();
    for k in ["b", "a", "c", "\u{e9}", "B"] {
        db.insert(k, k).unwrap();
    }
    assert_eq!(keys_of(db.iter().unwrap()), ["B", "a", "b", "c", "\u{e9}"]);
    let keys: Vec<Vec<u8>> = db.keys().unwrap().rev().collect::<Result<_, _>>().unwrap();
    assert_eq!(keys, [&b"\xc3\xa9"[..], b"c", b"b", b"a", b"B"]);
    let values: Vec<Vec<u8>> = collect(db.iter().unwrap()).into_iter().map(|(_, v)| v).collect();
    assert_eq!(values[0], b"B");
}

#[test]
fn iteration_crosses_chunk_boundaries_from_both_ends() {
    let db = Emdb::open_in_memory();
    for i in 0..1000u32 {
        db.insert(i.to_be_bytes(), i.to_le_bytes()).unwrap();
    }
    let mut iter = db.iter().unwrap();
    let mut front = Vec::new();
    let mut back = Vec::new();
    // Alternate ends so both buffers refill several times and meet in the middle.
    loop {
        match iter.next() {
            Some(item) => front.push(u32::from_be_bytes(item.unwrap().0.try_into().unwrap())),
            None => break,
        }
        match iter.next_back() {
            Some(item) => back.push(u32::from_be_bytes(item.unwrap().0.try_into().unwrap())),
            None => break,
        }
    }
    back.reverse();
    front.extend(back);
    assert_eq!(front, (0..1000).collect::<Vec<_>>());
    assert!(iter.next().is_none());
}

#[test]
fn range_honours_every_kind_of_bound() {
    let db = Emdb::open_in_memory();
    for k in ["a", "b", "c", "d", "e"] {
        db.insert(k, "").unwrap();
    }
    assert_eq!(keys_of(db.range(b"b".to_vec()..b"d".to_vec()).unwrap()), ["b", "c"]);
    assert_eq!(keys_of(db.range("b"..="d").unwrap()), ["b", "c", "d"]);
    assert_eq!(keys_of(db.range("d"..).unwrap()), ["d", "e"]);
    assert_eq!(keys_of(db.range(.."b").unwrap()), ["a"]);
    assert_eq!(keys_of(db.range::<&str, _>(..).unwrap()).len(), 5);
    assert_eq!(keys_of(db.range("bb".."cc").unwrap()), ["c"]);
    assert!(keys_of(db.range("d".."b").unwrap()).is_empty());
    let reversed: Vec<Vec<u8>> = db.range("b"..="d").unwrap().rev().map(|r| r.unwrap().0).collect();
    assert_eq!(reversed, [b"d".to_vec(), b"c".to_vec(), b"b".to_vec()]);
}

#[test]
fn prefix_yields_exactly_the_keys_that_start_with_it() {
    let db = Emdb::open_in_memory();
    for k in ["user:1", "user:2", "user;", "users", "use", "\u{ff}"] {
        db.insert(k, "").unwrap();
    }
    assert_eq!(keys_of(db.prefix("user:").unwrap()), ["user:1", "user:2"]);
    assert_eq!(keys_of(db.prefix("user").unwrap()), ["user:1", "user:2", "user;", "users"]);
    assert_eq!(db.prefix("").unwrap().count(), 6);
    db.insert(b"\xff\xff", "").unwrap();
    db.insert(b"\xff\xff\x00", "").unwrap();
    assert_eq!(db.prefix(b"\xff\xff").unwrap().count(), 2);
}

#[test]
fn oversized_keys_and_values_are_rejected_and_change_nothing() {
    let db = Emdb::open_in_memory();
    db.insert("k", "before").unwrap();
    let err = db.insert(vec![0u8; MAX_KEY_LEN + 1], "v").unwrap_err();
    assert!(
        matches!(err, Error::KeyTooLarge { len, max } if len == MAX_KEY_LEN + 1 && max == MAX_KEY_LEN)
    );
    assert!(err.to_string().contains("exceeds the maximum"));
    let err = db.insert("k", vec![0u8; MAX_VALUE_LEN + 1]).unwrap_err();
    assert!(matches!(err, Error::ValueTooLarge { max, .. } if max == MAX_VALUE_LEN));
    assert_eq!(db.get("k").unwrap(), Some(b"before".to_vec()));
    assert_eq!(db.len().unwrap(), 1);
}

#[test]
fn a_one_kib_key_and_a_64_mib_value_round_trip() {
    let db = Emdb::open_in_memory();
    let key = vec![7u8; 1024];
    let value: Vec<u8> = (0..64 * 1024 * 1024).map(|i: u32| i.to_le_bytes()[0] ^ 0x5a).collect();
    db.insert(&key, &value).unwrap();
    assert_eq!(db.get(&key).unwrap().as_deref(), Some(&value[..]));
}

#[test]
fn namespaces_are_isolated_and_reopened_by_name() {
    let db = Emdb::open_in_memory();
    let a = db.namespace("a").unwrap();
    let b = db.namespace("b").unwrap();
    a.insert("k", "in a").unwrap();
    b.insert("k", "in b").unwrap();
    db.insert("k", "default").unwrap();
    assert_eq!(a.get("k").unwrap(), Some(b"in a".to_vec()));
    assert_eq!(b.get("k").unwrap(), Some(b"in b".to_vec()));
    assert_eq!(db.get("k").unwrap(), Some(b"default".to_vec()));
    assert_eq!(db.namespace("a").unwrap().get("k").unwrap(), Some(b"in a".to_vec()));
    assert_eq!(a.name(), "a");
    assert_eq!(db.namespace_names(), ["a", "b"]);
    a.clear().unwrap();
    assert_eq!(b.len().unwrap(), 1);
    assert_eq!(a.remove("k").unwrap(), None);
}

#[test]
fn invalid_namespace_names_are_rejected() {
    let db = Emdb::open_in_memory();
    assert!(matches!(db.namespace(""), Err(Error::InvalidNamespace { .. })));
    let err = db.namespace(&"n".repeat(256)).unwrap_err();
    assert!(err.to_string().contains("255"));
    assert!(db.namespace_names().is_empty());
}

#[test]
fn namespace_handles_have_the_full_api() {
    let db = Emdb::open_in_memory();
    let ns = db.namespace("ns").unwrap();
    ns.insert("a:1", "1").unwrap();
    ns.insert("a:2", "2").unwrap();
    ns.insert("b", "3").unwrap();
    assert!(ns.contains_key("b").unwrap());
    assert_eq!(ns.keys().unwrap().count(), 3);
    assert_eq!(keys_of(ns.prefix("a:").unwrap()), ["a:1", "a:2"]);
    assert_eq!(keys_of(ns.range("a:2"..).unwrap()), ["a:2", "b"]);
    assert_eq!(ns.remove("b").unwrap(), Some(b"3".to_vec()));
    assert!(!ns.is_empty().unwrap());
    assert!(db.is_empty().unwrap());
}

#[test]
fn compact_on_an_in_memory_database_says_it_needs_a_file() {
    let db = Emdb::open_in_memory();
    assert!(matches!(db.compact(), Err(Error::InMemory { operation: "compact" })));
    db.flush().unwrap();
    db.checkpoint().unwrap();
}

#[test]
fn opening_a_path_in_a_missing_directory_is_an_io_error_naming_the_path() {
    let err = Emdb::open("/nonexistent-emdb-dir/db").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent-emdb-dir/db"), "{err}");
}

#[test]
fn handles_are_send_sync_and_clones_share_state() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Emdb>();
    assert_send_sync::<emdb_core::Namespace>();
    assert_send_sync::<emdb_core::Focus>();
    assert_send_sync::<emdb_core::Iter>();
    let db = Emdb::open_in_memory();
    let clone = db.clone();
    clone.insert("k", "v").unwrap();
    assert_eq!(db.get("k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn writing_while_iterating_neither_deadlocks_nor_changes_the_snapshot() {
    let db = Emdb::open_in_memory();
    for i in 0..500u32 {
        db.insert(i.to_be_bytes(), "old").unwrap();
    }
    let mut seen = 0;
    for item in db.iter().unwrap() {
        let (key, value) = item.unwrap();
        assert_eq!(value, b"old");
        db.insert(&key, "new").unwrap();
        db.insert([key.clone(), b"x".to_vec()].concat(), "added").unwrap();
        seen += 1;
    }
    assert_eq!(seen, 500);
    assert_eq!(db.len().unwrap(), 1000);
    assert!(db.iter().unwrap().all(|item| item.unwrap().1 != b"old"));
}
