//! Property tests: encoded keys sort bytewise exactly like the values' `Ord`, and decode back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt::Debug;

use common::{Bytes, Color, Marker, Millis, Shape, User, Version};
use emdb_typed::key;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Checks the order property and the round trip for one pair of values.
fn check_pair<T>(a: &T, b: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + Ord + Debug,
{
    let ea = key::encode(a).unwrap();
    let eb = key::encode(b).unwrap();
    prop_assert_eq!(a.cmp(b), ea.cmp(&eb), "{:?} vs {:?}: {:02x?} vs {:02x?}", a, b, ea, eb);
    prop_assert_eq!(&key::decode::<T>(&ea).unwrap(), a);
    prop_assert_eq!(&key::decode::<T>(&eb).unwrap(), b);
    Ok(())
}

/// Checks the order property over a whole batch: sorting the encodings sorts the values.
fn check_sorted<T>(mut values: Vec<T>) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + Ord + Debug + Clone,
{
    let mut encoded: Vec<Vec<u8>> = values.iter().map(|v| key::encode(v).unwrap()).collect();
    encoded.sort();
    values.sort();
    let decoded: Vec<T> = encoded.iter().map(|bytes| key::decode(bytes).unwrap()).collect();
    prop_assert_eq!(decoded, values);
    Ok(())
}

/// Strings over a small alphabet that includes the bytes the escaping treats specially, so that
/// prefixes, equal strings and embedded NULs are common.
fn tricky_string() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!['\0', '\u{1}', 'a', 'b', '\u{ff}', 'é']), 0..6)
        .prop_map(String::from_iter)
}

fn tricky_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![0u8, 1, 2, 0xfe, 0xff]), 0..6)
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        any::<u64>().prop_map(f64::from_bits),
        prop::sample::select(vec![
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
        ]),
    ]
}

fn any_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        any::<f32>(),
        any::<u32>().prop_map(f32::from_bits),
        prop::sample::select(vec![
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN
        ]),
    ]
}

fn color() -> impl Strategy<Value = Color> {
    prop::sample::select(vec![Color::Red, Color::Green, Color::Blue])
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Point),
        (0u32..3).prop_map(Shape::Circle),
        (-1i16..=1, -1i16..=1).prop_map(|(w, h)| Shape::Rect { w, h }),
        (tricky_string(), 0u8..3).prop_map(|(s, n)| Shape::Named(s, n)),
    ]
}

fn user() -> impl Strategy<Value = User> {
    (0u32..3, tricky_string(), prop::option::of(-2i8..=2)).prop_map(|(tenant, name, age)| User {
        tenant,
        name,
        age,
    })
}

proptest! {
    #[test]
    fn unsigned_integers_sort_like_ord(
        a8: u8, b8: u8, a16: u16, b16: u16, a32: u32, b32: u32,
        a64: u64, b64: u64, a128: u128, b128: u128,
    ) {
        check_pair(&a8, &b8)?;
        check_pair(&a16, &b16)?;
        check_pair(&a32, &b32)?;
        check_pair(&a64, &b64)?;
        check_pair(&a128, &b128)?;
    }

    #[test]
    fn signed_integers_sort_like_ord(
        a8: i8, b8: i8, a16: i16, b16: i16, a32: i32, b32: i32,
        a64: i64, b64: i64, a128: i128, b128: i128,
    ) {
        check_pair(&a8, &b8)?;
        check_pair(&a16, &b16)?;
        check_pair(&a32, &b32)?;
        check_pair(&a64, &b64)?;
        check_pair(&a128, &b128)?;
    }

    #[test]
    fn small_signed_integers_around_zero_sort_like_ord(a in -3i64..=3, b in -3i64..=3) {
        check_pair(&a, &b)?;
        check_pair(&(i32::try_from(a).unwrap()), &(i32::try_from(b).unwrap()))?;
    }

    #[test]
    fn f64_sorts_like_total_cmp_and_round_trips_bit_for_bit(a in any_f64(), b in any_f64()) {
        let ea = key::encode(&a).unwrap();
        let eb = key::encode(&b).unwrap();
        prop_assert_eq!(a.total_cmp(&b), ea.cmp(&eb), "{} vs {}", a, b);
        prop_assert_eq!(key::decode::<f64>(&ea).unwrap().to_bits(), a.to_bits());
        prop_assert_eq!(key::decode::<f64>(&eb).unwrap().to_bits(), b.to_bits());
    }

    #[test]
    fn f32_sorts_like_total_cmp_and_round_trips_bit_for_bit(a in any_f32(), b in any_f32()) {
        let ea = key::encode(&a).unwrap();
        let eb = key::encode(&b).unwrap();
        prop_assert_eq!(a.total_cmp(&b), ea.cmp(&eb), "{} vs {}", a, b);
        prop_assert_eq!(key::decode::<f32>(&ea).unwrap().to_bits(), a.to_bits());
        prop_assert_eq!(key::decode::<f32>(&eb).unwrap().to_bits(), b.to_bits());
    }

    #[test]
    fn bools_chars_and_units_sort_like_ord(a: bool, b: bool, c: char, d: char) {
        check_pair(&a, &b)?;
        check_pair(&c, &d)?;
        check_pair(&(), &())?;
        check_pair(&Marker, &Marker)?;
    }

    #[test]
    fn strings_sort_like_ord(a in tricky_string(), b in tricky_string(), c: String, d: String) {
        check_pair(&a, &b)?;
        check_pair(&c, &d)?;
        // A string and its own extensions: the prefix sorts first.
        check_pair(&a, &format!("{a}{b}"))?;
    }

    #[test]
    fn byte_strings_sort_like_ord(a in tricky_bytes(), b in tricky_bytes(), c: Vec<u8>) {
        check_pair(&Bytes(a.clone()), &Bytes(b.clone()))?;
        check_pair(&Bytes(a.clone()), &Bytes([a.as_slice(), b.as_slice()].concat()))?;
        check_pair(&Bytes(c.clone()), &Bytes(a.clone()))?;
    }

    #[test]
    fn byte_vectors_as_sequences_sort_like_ord(a in tricky_bytes(), b in tricky_bytes()) {
        check_pair(&a, &b)?;
        check_pair(&a, &[a.as_slice(), b.as_slice()].concat())?;
    }

    #[test]
    fn sequences_of_strings_and_tuples_sort_like_ord(
        a in prop::collection::vec(tricky_string(), 0..4),
        b in prop::collection::vec(tricky_string(), 0..4),
        c in prop::collection::vec((0u8..2, prop::option::of(-1i8..=1)), 0..4),
        d in prop::collection::vec((0u8..2, prop::option::of(-1i8..=1)), 0..4),
    ) {
        check_pair(&a, &b)?;
        check_pair(&c, &d)?;
        let sa: BTreeSet<String> = a.into_iter().collect();
        let sb: BTreeSet<String> = b.into_iter().collect();
        check_pair(&sa, &sb)?;
    }

    #[test]
    fn options_sort_like_ord(
        a in prop::option::of(any::<i16>()),
        b in prop::option::of(any::<i16>()),
        c in prop::option::of(prop::option::of(tricky_string())),
        d in prop::option::of(prop::option::of(tricky_string())),
    ) {
        check_pair(&a, &b)?;
        check_pair(&c, &d)?;
    }

    #[test]
    fn unit_enums_sort_like_derived_ord(a in color(), b in color()) {
        check_pair(&a, &b)?;
    }

    #[test]
    fn enums_with_data_sort_like_derived_ord(a in shape(), b in shape()) {
        check_pair(&a, &b)?;
    }

    #[test]
    fn string_pairs_sort_field_by_field(
        a in (tricky_string(), tricky_string()),
        b in (tricky_string(), tricky_string()),
    ) {
        check_pair(&a, &b)?;
    }

    #[test]
    fn mixed_triples_sort_field_by_field(
        a in (-2i64..=2, tricky_string(), 0u8..3),
        b in (-2i64..=2, tricky_string(), 0u8..3),
        c: (i64, String, u8),
        d: (i64, String, u8),
    ) {
        check_pair(&a, &b)?;
        check_pair(&c, &d)?;
    }

    #[test]
    fn nested_tuples_sort_field_by_field(
        a in ((-1i32..=1, tricky_string()), prop::option::of(0u64..3)),
        b in ((-1i32..=1, tricky_string()), prop::option::of(0u64..3)),
    ) {
        check_pair(&a, &b)?;
    }

    #[test]
    fn structs_sort_like_derived_ord(
        a in user(), b in user(),
        c: i64, d: i64,
        e in (0u16..2, 0u16..2, tricky_string()),
        f in (0u16..2, 0u16..2, tricky_string()),
    ) {
        check_pair(&a, &b)?;
        check_pair(&Millis(c), &Millis(d))?;
        check_pair(&Version(e.0, e.1, e.2), &Version(f.0, f.1, f.2))?;
    }

    #[test]
    fn arrays_sort_like_ord(a: [i16; 3], b: [i16; 3], c in [0u8..2, 0u8..2], d in [0u8..2, 0u8..2]) {
        check_pair(&a, &b)?;
        check_pair(&c, &d)?;
    }

    #[test]
    fn batches_of_composite_keys_sort_like_ord(
        users in prop::collection::vec(user(), 0..20),
        shapes in prop::collection::vec(shape(), 0..20),
        keys in prop::collection::vec((color(), prop::option::of(tricky_string()), any::<i32>()), 0..20),
    ) {
        check_sorted(users)?;
        check_sorted(shapes)?;
        check_sorted(keys)?;
    }
}

#[test]
fn equal_values_encode_to_equal_bytes() {
    let a = User { tenant: 7, name: "a\0b".into(), age: Some(-1) };
    assert_eq!(key::encode(&a).unwrap(), key::encode(&a.clone()).unwrap());
    assert_eq!(a.cmp(&a.clone()), Ordering::Equal);
}
