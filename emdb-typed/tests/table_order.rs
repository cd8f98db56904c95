//! A table iterates in the `Ord` of its key type: `iter`, `range`, `first` and `last` agree with a
//! `BTreeMap` holding the same entries, for `i64`, `String` and tuple keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::Bound;

use emdb_core::Emdb;
use emdb_typed::Table;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Checks every ordered read of a table holding `entries` against a `BTreeMap`.
fn check_order<K>(entries: &[K], lo: &K, hi: &K)
where
    K: Serialize + DeserializeOwned + Ord + Clone + Debug + 'static,
{
    let db = Emdb::open_in_memory();
    let table = Table::<K, u32>::open(&db, "t").unwrap();
    let mut model = BTreeMap::new();
    for (i, k) in entries.iter().enumerate() {
        let v = u32::try_from(i).unwrap();
        table.insert(k, &v).unwrap();
        model.insert(k.clone(), v);
    }
    let all: Vec<(K, u32)> = table.iter().unwrap().map(Result::unwrap).collect();
    let expected: Vec<(K, u32)> = model.clone().into_iter().collect();
    assert_eq!(all, expected);

    let rev: Vec<(K, u32)> = table.iter().unwrap().rev().map(Result::unwrap).collect();
    assert_eq!(rev, expected.iter().rev().cloned().collect::<Vec<_>>());

    assert_eq!(table.first().unwrap(), model.first_key_value().map(|(k, v)| (k.clone(), *v)));
    assert_eq!(table.last().unwrap(), model.last_key_value().map(|(k, v)| (k.clone(), *v)));

    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let bounds = [
        (Bound::Included(lo), Bound::Excluded(hi)),
        (Bound::Excluded(lo), Bound::Included(hi)),
        (Bound::Unbounded, Bound::Included(hi)),
        (Bound::Excluded(lo), Bound::Unbounded),
    ];
    for (start, end) in bounds {
        let got: Vec<(K, u32)> = table.range((start, end)).unwrap().map(Result::unwrap).collect();
        let want: Vec<(K, u32)> =
            model.range::<K, _>((start, end)).map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(got, want, "{start:?}..{end:?}");
    }
}

#[test]
fn i64_keys_iterate_in_numeric_order_across_zero_and_the_extremes() {
    let keys = [0, -1, 1, i64::MIN, i64::MAX, -256, 255, 256, -255];
    check_order(&keys, &-256, &255);
}

#[test]
fn string_keys_iterate_in_str_order_including_prefixes_and_nul_bytes() {
    let keys: Vec<String> =
        ["", "a", "ab", "a\0", "a\0b", "b", "\u{1F980}", "aa", "Z"].map(String::from).to_vec();
    check_order(&keys, &"a".to_owned(), &"b".to_owned());
}

#[test]
fn tuple_keys_iterate_field_by_field() {
    let keys: Vec<(String, i32)> = vec![
        ("a".into(), 5),
        ("a".into(), -5),
        ("ab".into(), -100),
        ("b".into(), 0),
        (String::new(), i32::MAX),
    ];
    check_order(&keys, &("a".to_owned(), 0), &("ab".to_owned(), 0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_i64_keys_iterate_like_a_btreemap(
        keys in proptest::collection::vec(any::<i64>(), 0..40),
        lo in any::<i64>(),
        hi in any::<i64>(),
    ) {
        check_order(&keys, &lo, &hi);
    }

    #[test]
    fn random_string_keys_iterate_like_a_btreemap(
        keys in proptest::collection::vec(".{0,6}", 0..40),
        lo in ".{0,3}",
        hi in ".{0,3}",
    ) {
        check_order(&keys, &lo, &hi);
    }

    #[test]
    fn random_tuple_keys_iterate_like_a_btreemap(
        keys in proptest::collection::vec((any::<i16>(), "[ab\\x00]{0,3}", any::<bool>()), 0..40),
        lo in (any::<i16>(), "[ab]{0,2}", any::<bool>()),
        hi in (any::<i16>(), "[ab]{0,2}", any::<bool>()),
    ) {
        check_order(&keys, &lo, &hi);
    }
}
