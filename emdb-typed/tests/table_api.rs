//! Every method of `Table` does what its documentation says, with the calls written as the issue
//! writes them (`range(3..10)` on `u64` keys, `range(..=-5)` on `i64` keys, `get(&7)`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb_core::{Emdb, Error};
use emdb_typed::{Bincode, Header, Json, Postcard, Record, Table, key, read_header};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
    visits: u32,
}

impl Record for User {
    type Key = u64;
    type Codec = Postcard;
    const TABLE: &'static str = "users";
    fn key(&self) -> u64 {
        self.id
    }
}

fn user(id: u64, name: &str) -> User {
    User { id, name: name.to_owned(), visits: 0 }
}

fn keys<K, V, C>(iter: emdb_typed::TableIter<K, V, C>) -> Vec<K>
where
    K: Serialize + serde::de::DeserializeOwned,
    V: Serialize + serde::de::DeserializeOwned,
    C: emdb_typed::Codec,
{
    iter.map(|item| item.unwrap().0).collect()
}

#[test]
fn put_stores_a_record_under_its_own_key_and_get_reads_it_back() {
    let db = Emdb::open_in_memory();
    let users = User::table(&db).unwrap();
    users.put(&user(7, "ada")).unwrap();
    assert_eq!(users.get(&7).unwrap(), Some(user(7, "ada")));
    assert_eq!(users.get(&8).unwrap(), None);
    assert_eq!(users.name(), "users");
    assert_eq!(users.version(), 1);
}

#[test]
fn insert_replaces_and_remove_returns_the_old_value_once() {
    let db = Emdb::open_in_memory();
    let users = Table::<u64, User>::open(&db, "users").unwrap();
    users.insert(&7, &user(7, "ada")).unwrap();
    users.insert(&7, &user(7, "ada lovelace")).unwrap();
    assert_eq!(users.len().unwrap(), 1);
    assert_eq!(users.remove(&7).unwrap(), Some(user(7, "ada lovelace")));
    assert_eq!(users.remove(&7).unwrap(), None);
    assert_eq!(users.get(&7).unwrap(), None);
}

#[test]
fn contains_key_len_is_empty_and_clear_agree() {
    let db = Emdb::open_in_memory();
    let t = Table::<u64, String>::open(&db, "t").unwrap();
    assert!(t.is_empty().unwrap());
    assert!(!t.contains_key(&1).unwrap());
    for k in 0..5 {
        t.insert(&k, &k.to_string()).unwrap();
    }
    assert!(t.contains_key(&1).unwrap());
    assert_eq!(t.len().unwrap(), 5);
    assert!(!t.is_empty().unwrap());
    t.clear().unwrap();
    assert!(t.is_empty().unwrap());
    assert_eq!(t.len().unwrap(), 0);
    assert_eq!(t.iter().unwrap().count(), 0);
}

#[test]
fn clear_keeps_the_table_and_its_catalog_entry() {
    let db = Emdb::open_in_memory();
    let t = Table::<u64, String>::open(&db, "t").unwrap();
    t.insert(&1, &"x".to_owned()).unwrap();
    t.clear().unwrap();
    assert!(db.namespace("emdb.tables").unwrap().contains_key("t").unwrap());
    assert!(matches!(Table::<u64, u64>::open(&db, "t"), Err(Error::SchemaChanged { .. })));
    assert!(matches!(Table::<u8, String>::open(&db, "t"), Err(Error::TableTypeMismatch { .. })));
}

#[test]
fn range_takes_integer_literals_for_u64_and_i64_keys() {
    let db = Emdb::open_in_memory();
    let unsigned = Table::<u64, ()>::open(&db, "unsigned").unwrap();
    let signed = Table::<i64, ()>::open(&db, "signed").unwrap();
    for k in 0..20 {
        unsigned.insert(&k, &()).unwrap();
    }
    for k in -10..10 {
        signed.insert(&k, &()).unwrap();
    }
    assert_eq!(keys(unsigned.range(3..10).unwrap()), (3..10).collect::<Vec<u64>>());
    assert_eq!(keys(unsigned.range(15..).unwrap()), (15..20).collect::<Vec<u64>>());
    assert_eq!(keys(unsigned.range(..=2).unwrap()), [0, 1, 2]);
    assert_eq!(keys(signed.range(..=-5).unwrap()), (-10..=-5).collect::<Vec<i64>>());
    assert_eq!(keys(signed.range(-2..2).unwrap()), [-2, -1, 0, 1]);
    assert_eq!(keys(signed.range(..).unwrap()).len(), 20);
    let (lo, hi) = (-1_i64, 1_i64);
    assert_eq!(keys(signed.range(&lo..=&hi).unwrap()), [-1, 0, 1]);
}

#[test]
fn an_inverted_or_empty_range_yields_nothing() {
    let db = Emdb::open_in_memory();
    let t = Table::<u64, ()>::open(&db, "t").unwrap();
    for k in 0..10 {
        t.insert(&k, &()).unwrap();
    }
    assert_eq!(t.range(5..5).unwrap().count(), 0);
    #[expect(clippy::reversed_empty_ranges, reason = "the point of the test")]
    let inverted = t.range(8..2).unwrap();
    assert_eq!(inverted.count(), 0);
}

#[test]
fn string_keys_are_looked_up_by_str() {
    let db = Emdb::open_in_memory();
    let t = Table::<String, u32>::open(&db, "ages").unwrap();
    t.insert("ada", &36).unwrap();
    t.insert(&"bob".to_owned(), &41).unwrap();
    assert_eq!(t.get("ada").unwrap(), Some(36));
    assert_eq!(t.get(&"bob".to_owned()).unwrap(), Some(41));
    assert!(t.contains_key("bob").unwrap());
    assert_eq!(t.update("ada", |a| *a += 1).unwrap(), Some(37));
    assert_eq!(t.remove("bob").unwrap(), Some(41));
    assert_eq!(keys(t.range("a".to_owned().."b".to_owned()).unwrap()), ["ada"]);
}

#[test]
fn first_and_last_are_the_smallest_and_largest_keys() {
    let db = Emdb::open_in_memory();
    let t = Table::<i64, String>::open(&db, "t").unwrap();
    assert_eq!(t.first().unwrap(), None);
    assert_eq!(t.last().unwrap(), None);
    for k in [5, -100, 0, 42, -1] {
        t.insert(&k, &k.to_string()).unwrap();
    }
    assert_eq!(t.first().unwrap(), Some((-100, "-100".to_owned())));
    assert_eq!(t.last().unwrap(), Some((42, "42".to_owned())));
}

#[test]
fn iter_runs_from_both_ends() {
    let db = Emdb::open_in_memory();
    let t = Table::<u16, u16>::open(&db, "t").unwrap();
    for k in 0..300 {
        t.insert(&k, &(k * 2)).unwrap();
    }
    let mut iter = t.iter().unwrap();
    assert_eq!(iter.next().unwrap().unwrap(), (0, 0));
    assert_eq!(iter.next_back().unwrap().unwrap(), (299, 598));
    assert_eq!(iter.by_ref().count(), 298);
    assert!(iter.next().is_none());
    let descending: Vec<u16> = t.iter().unwrap().rev().map(|e| e.unwrap().0).collect();
    assert_eq!(descending, (0..300).rev().collect::<Vec<_>>());
}

#[test]
fn update_applies_the_closure_and_returns_the_new_value() {
    let db = Emdb::open_in_memory();
    let users = User::table(&db).unwrap();
    users.put(&user(7, "ada")).unwrap();
    let new = users.update(&7, |u| u.visits += 1).unwrap();
    assert_eq!(new.map(|u| u.visits), Some(1));
    assert_eq!(users.get(&7).unwrap().unwrap().visits, 1);
}

#[test]
fn update_of_an_absent_key_returns_none_and_never_calls_the_closure() {
    let db = Emdb::open_in_memory();
    let users = User::table(&db).unwrap();
    let mut called = false;
    assert_eq!(users.update(&7, |_| called = true).unwrap(), None);
    assert!(!called);
    assert!(users.is_empty().unwrap());
}

#[test]
fn get_raw_returns_the_header_and_the_codec_payload() {
    let db = Emdb::open_in_memory();
    let p = Table::<u64, User>::open(&db, "p").unwrap();
    let b = Table::<u64, User, Bincode>::open_with(&db, "b").unwrap();
    let j = Table::<u64, User, Json>::open_with(&db, "j").unwrap();
    let ada = user(7, "ada");
    p.insert(&7, &ada).unwrap();
    b.insert(&7, &ada).unwrap();
    j.insert(&7, &ada).unwrap();

    let raw = p.get_raw(&7).unwrap().unwrap();
    assert_eq!(raw, [&[1, 1][..], &[7, 3], b"ada", &[0]].concat());
    let raw = b.get_raw(&7).unwrap().unwrap();
    let (header, _) = read_header(&raw).unwrap();
    assert_eq!(header, Header { codec_id: 2, schema_version: 1 });
    let raw = j.get_raw(&7).unwrap().unwrap();
    assert_eq!(raw, [&[3, 1][..], br#"{"id":7,"name":"ada","visits":0}"#].concat());
    assert_eq!(p.get_raw(&8).unwrap(), None);
}

#[test]
fn a_table_is_the_core_namespace_emdb_table_name_keyed_by_the_key_encoding() {
    let db = Emdb::open_in_memory();
    let users = User::table(&db).unwrap();
    users.put(&user(7, "ada")).unwrap();
    let raw = db.namespace("emdb.table.users").unwrap();
    assert_eq!(users.namespace().name(), "emdb.table.users");
    let stored = raw.get(key::encode(&7_u64).unwrap()).unwrap();
    assert_eq!(stored, users.get_raw(&7).unwrap());
    assert_eq!(raw.len().unwrap(), 1);
}

#[test]
fn table_data_never_collides_with_raw_keys_or_other_tables() {
    let db = Emdb::open_in_memory();
    let a = Table::<u64, String>::open(&db, "a").unwrap();
    let b = Table::<u64, String>::open(&db, "b").unwrap();
    let encoded = key::encode(&1_u64).unwrap();
    db.insert(&encoded, "raw").unwrap();
    a.insert(&1, &"in a".to_owned()).unwrap();
    b.insert(&1, &"in b".to_owned()).unwrap();
    assert_eq!(a.get(&1).unwrap().as_deref(), Some("in a"));
    assert_eq!(b.get(&1).unwrap().as_deref(), Some("in b"));
    assert_eq!(db.get(&encoded).unwrap(), Some(b"raw".to_vec()));
    assert_eq!(db.len().unwrap(), 1);
    a.clear().unwrap();
    assert_eq!(b.len().unwrap(), 1);
    assert_eq!(db.len().unwrap(), 1);
}

#[test]
fn handles_opened_twice_and_clones_see_the_same_data() {
    let db = Emdb::open_in_memory();
    let first = Table::<u64, String>::open(&db, "t").unwrap();
    let second = Table::<u64, String>::open(&db, "t").unwrap();
    let clone = first.clone();
    first.insert(&1, &"one".to_owned()).unwrap();
    assert_eq!(second.get(&1).unwrap().as_deref(), Some("one"));
    assert_eq!(clone.get(&1).unwrap().as_deref(), Some("one"));
    assert!(format!("{first:?}").contains("\"t\""));
}

#[test]
fn table_names_are_validated_against_the_namespace_limit() {
    let db = Emdb::open_in_memory();
    assert!(matches!(Table::<u8, u8>::open(&db, ""), Err(Error::InvalidNamespace { .. })));
    let longest = "x".repeat(emdb_typed::MAX_TABLE_NAME_LEN);
    let t = Table::<u8, u8>::open(&db, &longest).unwrap();
    t.insert(&1, &1).unwrap();
    let too_long = "x".repeat(emdb_typed::MAX_TABLE_NAME_LEN + 1);
    assert!(matches!(Table::<u8, u8>::open(&db, &too_long), Err(Error::InvalidNamespace { .. })));
    assert!(!db.namespace_names().iter().any(|n| n.len() > 255));
}

#[test]
fn opening_a_table_inside_a_transaction_is_an_error_not_a_deadlock() {
    let db = Emdb::open_in_memory();
    let result = db.transaction(|_| Table::<u8, u8>::open(&db, "t").map(|_| ()));
    assert!(matches!(result, Err(Error::WriteInTransaction)));
}

#[test]
fn a_key_too_large_for_the_core_is_key_too_large() {
    let db = Emdb::open_in_memory();
    let t = Table::<String, u8>::open(&db, "t").unwrap();
    let long = "k".repeat(emdb_core::MAX_KEY_LEN);
    let err = t.insert(&long, &1).unwrap_err();
    assert!(matches!(err, Error::KeyTooLarge { .. }), "{err}");
    assert!(t.is_empty().unwrap());
}

#[test]
fn a_value_the_codec_cannot_encode_is_an_encode_error_naming_the_table() {
    let db = Emdb::open_in_memory();
    let t = Table::<u8, std::collections::BTreeMap<(u8, u8), u8>, Json>::open_with(&db, "pairs")
        .unwrap();
    let value = std::collections::BTreeMap::from([((1, 2), 3)]);
    let err = t.insert(&1, &value).unwrap_err();
    assert!(matches!(&err, Error::Encode { table, .. } if table == "pairs"), "{err}");
    assert!(t.is_empty().unwrap());
}

#[test]
fn persist_removes_the_expiry_and_ttl_reports_it() {
    let db = Emdb::open_in_memory();
    let t = Table::<u8, u8>::open(&db, "t").unwrap();
    t.insert_with_ttl(&1, &1, emdb_core::Ttl::After(std::time::Duration::from_secs(60))).unwrap();
    assert!(t.ttl(&1).unwrap().is_some());
    assert!(t.persist(&1).unwrap());
    assert_eq!(t.ttl(&1).unwrap(), None);
    assert!(!t.persist(&1).unwrap());
}

#[test]
fn tx_table_reads_its_own_writes_and_commits_them_together() {
    let db = Emdb::open_in_memory();
    let users = User::table(&db).unwrap();
    let names = Table::<String, u64>::open(&db, "names").unwrap();
    let seen = db
        .transaction(|tx| {
            users.tx(tx).put(&user(1, "ada"))?;
            names.tx(tx).insert("ada", &1)?;
            assert!(users.tx(tx).contains_key(&1)?);
            assert_eq!(users.tx(tx).get_raw(&1)?.map(|r| r[0]), Some(1));
            let id = names.tx(tx).get("ada")?.unwrap();
            users.tx(tx).update(&id, |u| u.visits = 5)?;
            users.tx(tx).get(&id)
        })
        .unwrap();
    assert_eq!(seen.map(|u| u.visits), Some(5));
    assert_eq!(users.get(&1).unwrap().unwrap().visits, 5);
    assert_eq!(names.get("ada").unwrap(), Some(1));
    let removed = db.transaction(|tx| users.tx(tx).remove(&1)).unwrap();
    assert_eq!(removed.map(|u| u.name), Some("ada".to_owned()));
    assert!(users.is_empty().unwrap());
}
