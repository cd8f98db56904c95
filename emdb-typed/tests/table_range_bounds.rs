//! Typed ranges take borrowed bounds: `range("a".."b")` on a `String` key and `&[u8]` bounds on a
//! `Vec<u8>` key compile and select what the owned bounds select, and every range form (a pair of
//! `Bound`s, `&a..&b`, `..`) needs no type annotation. Pins issue 20's trap, where a
//! `&str` bound did not compile (`String: Borrow<&str>`); the borrowed forms must encode exactly
//! as the key type does, which the last tests check for the key encoding itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::ops::Bound;

use emdb_core::Emdb;
use emdb_typed::{Table, TableIter, key};
use proptest::prelude::*;

fn keys<K, V>(iter: TableIter<K, V>) -> Vec<K>
where
    K: serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    iter.map(|item| item.unwrap().0).collect()
}

fn names(db: &Emdb) -> Table<String, ()> {
    let t = Table::<String, ()>::open(db, "names").unwrap();
    for name in ["", "a", "a\0", "ab", "b", "ba", "c", "é"] {
        t.insert(name, &()).unwrap();
    }
    t
}

#[test]
fn str_bounds_on_a_string_key_select_what_string_bounds_select() {
    let db = Emdb::open_in_memory();
    let t = names(&db);
    let owned = |s: &str| s.to_owned();
    assert_eq!(keys(t.range("a".."b").unwrap()), ["a", "a\0", "ab"]);
    assert_eq!(keys(t.range("a".."b").unwrap()), keys(t.range(owned("a")..owned("b")).unwrap()));
    assert_eq!(keys(t.range("a"..="b").unwrap()), ["a", "a\0", "ab", "b"]);
    assert_eq!(keys(t.range(.."a").unwrap()), [""]);
    assert_eq!(keys(t.range(..="a").unwrap()), ["", "a"]);
    assert_eq!(keys(t.range("c"..).unwrap()), ["c", "é"]);
    let bounds = (Bound::Excluded("a"), Bound::Included("ba"));
    assert_eq!(keys(t.range(bounds).unwrap()), ["a\0", "ab", "b", "ba"]);
    assert_eq!(keys(t.range("b".."a").unwrap()), Vec::<String>::new());
    // The owned forms, by value and by reference, and the whole table.
    let (lo, hi) = (owned("b"), owned("c"));
    assert_eq!(keys(t.range(lo.as_str()..hi.as_str()).unwrap()), ["b", "ba"]);
    assert_eq!(keys(t.range(&lo..&hi).unwrap()), ["b", "ba"]);
    assert_eq!(keys(t.range((Bound::Included(&lo), Bound::Unbounded)).unwrap()).len(), 4);
    assert_eq!(keys(t.range(lo..).unwrap()), ["b", "ba", "c", "é"]);
    assert_eq!(keys(t.range(..).unwrap()), keys(t.iter().unwrap()));
}

#[test]
fn slice_bounds_on_a_byte_vector_key_select_what_vector_bounds_select() {
    let db = Emdb::open_in_memory();
    let t = Table::<Vec<u8>, ()>::open(&db, "bytes").unwrap();
    for k in [&b""[..], b"\x00", b"\x01", b"\x01\x00", b"\x02", b"\xff"] {
        t.insert(k, &()).unwrap();
    }
    let slice = keys(t.range(&b"\x01"[..]..&b"\x02"[..]).unwrap());
    assert_eq!(slice, [vec![1], vec![1, 0]]);
    assert_eq!(slice, keys(t.range(vec![1]..vec![2]).unwrap()));
    assert_eq!(keys(t.range(&b"\x02"[..]..).unwrap()), [vec![2], vec![255]]);
    let (lo, hi) = (vec![1u8], vec![2u8]);
    assert_eq!(keys(t.range(&lo..&hi).unwrap()), [vec![1], vec![1, 0]]);
    let (lo, hi) = (vec![1u8], vec![2u8]);
    assert_eq!(keys(t.range(&lo..&hi).unwrap()), [vec![1], vec![1, 0]]);
}

#[test]
fn a_tuple_key_takes_owned_tuple_bounds() {
    // Only the whole key type has borrowed forms: a tuple key takes tuple bounds.
    let db = Emdb::open_in_memory();
    let t = Table::<(String, u8), ()>::open(&db, "pairs").unwrap();
    t.insert(&("a".to_owned(), 1), &()).unwrap();
    t.insert(&("b".to_owned(), 1), &()).unwrap();
    assert_eq!(keys(t.range(("a".to_owned(), 0)..("b".to_owned(), 0)).unwrap()).len(), 1);
}

#[test]
fn str_and_string_encode_alike_and_so_do_slices_and_vectors() {
    for s in ["", "a", "a\0b", "\0", "é", "\u{10ffff}"] {
        assert_eq!(key::encode(s).unwrap(), key::encode(&s.to_owned()).unwrap(), "{s:?}");
        assert_eq!(key::encode(&s).unwrap(), key::encode(&s.to_owned()).unwrap(), "{s:?}");
    }
    let bytes: &[u8] = &[0, 1, 255];
    assert_eq!(key::encode(bytes).unwrap(), key::encode(&bytes.to_vec()).unwrap());
    assert_eq!(key::encode(&bytes).unwrap(), key::encode(&bytes.to_vec()).unwrap());
}

proptest! {
    #[test]
    fn any_str_encodes_as_its_string(s in any::<String>()) {
        prop_assert_eq!(key::encode(s.as_str()).unwrap(), key::encode(&s).unwrap());
    }

    #[test]
    fn any_byte_slice_encodes_as_its_vector(v in proptest::collection::vec(any::<u8>(), 0..32)) {
        prop_assert_eq!(key::encode(v.as_slice()).unwrap(), key::encode(&v).unwrap());
    }
}
