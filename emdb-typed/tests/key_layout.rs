//! The exact bytes of fixed keys, so that the on-disk key format cannot drift silently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{Bytes, Color, Marker, Millis, Shape, User};
use emdb_typed::key;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Asserts that `value` encodes to exactly `bytes` and decodes back from them.
fn assert_layout<T>(value: &T, bytes: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let encoded = key::encode(value).unwrap();
    assert_eq!(encoded, bytes, "encoding of {value:?}");
    assert_eq!(&key::decode::<T>(bytes).unwrap(), value, "decoding of {bytes:02x?}");
}

#[test]
fn unsigned_integers_are_big_endian_fixed_width() {
    assert_layout(&0u8, &[0x00]);
    assert_layout(&42u16, &[0x00, 0x2a]);
    assert_layout(&0x0102_0304u32, &[1, 2, 3, 4]);
    assert_layout(&1u64, &[0, 0, 0, 0, 0, 0, 0, 1]);
    assert_layout(&u128::MAX, &[0xff; 16]);
}

#[test]
fn signed_integers_have_their_sign_bit_flipped() {
    assert_layout(&-1i8, &[0x7f]);
    assert_layout(&0i8, &[0x80]);
    assert_layout(&i8::MIN, &[0x00]);
    assert_layout(&i8::MAX, &[0xff]);
    assert_layout(&1i32, &[0x80, 0, 0, 1]);
    assert_layout(&-2i16, &[0x7f, 0xfe]);
    assert_layout(&i64::MIN, &[0; 8]);
    let mut one = [0u8; 16];
    one[0] = 0x80;
    one[15] = 1;
    assert_layout(&1i128, &one);
}

#[test]
fn floats_are_in_total_order_form() {
    assert_layout(&0.0f64, &[0x80, 0, 0, 0, 0, 0, 0, 0]);
    assert_layout(&-0.0f64, &[0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert_layout(&1.0f64, &[0xbf, 0xf0, 0, 0, 0, 0, 0, 0]);
    assert_layout(&-1.0f64, &[0x40, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert_layout(&f64::INFINITY, &[0xff, 0xf0, 0, 0, 0, 0, 0, 0]);
    assert_layout(&1.0f32, &[0xbf, 0x80, 0, 0]);
    assert_layout(&-1.0f32, &[0x40, 0x7f, 0xff, 0xff]);
    assert_eq!(key::encode(&f32::NAN).unwrap(), [0xff, 0xc0, 0, 0]);
}

#[test]
fn bools_chars_and_units_have_fixed_bytes() {
    assert_layout(&false, &[0]);
    assert_layout(&true, &[1]);
    assert_layout(&'A', &[0, 0, 0, 0x41]);
    assert_layout(&'é', &[0, 0, 0, 0xe9]);
    assert_layout(&(), &[]);
    assert_layout(&Marker, &[]);
}

#[test]
fn strings_and_bytes_are_escaped_and_terminated() {
    assert_layout(&String::new(), &[0, 0]);
    assert_layout(&"ab".to_owned(), &[b'a', b'b', 0, 0]);
    assert_layout(&"a\0b".to_owned(), &[b'a', 0, 0xff, b'b', 0, 0]);
    assert_layout(&"\0".to_owned(), &[0, 0xff, 0, 0]);
    assert_layout(&"é".to_owned(), &[0xc3, 0xa9, 0, 0]);
    assert_layout(&Bytes(vec![0, 0xff, 1]), &[0, 0xff, 0xff, 1, 0, 0]);
    assert_eq!(key::encode("ab").unwrap(), key::encode(&Bytes(b"ab".to_vec())).unwrap());
}

#[test]
fn options_are_tagged() {
    assert_layout(&None::<u8>, &[0]);
    assert_layout(&Some(7u8), &[1, 7]);
    assert_layout(&Some(None::<u8>), &[1, 0]);
    assert_layout(&Some(Some(())), &[1, 1]);
}

#[test]
fn tuples_and_structs_concatenate_their_fields() {
    assert_layout(&("ab".to_owned(), "c".to_owned()), &[b'a', b'b', 0, 0, b'c', 0, 0]);
    assert_layout(&("a".to_owned(), "bc".to_owned()), &[b'a', 0, 0, b'b', b'c', 0, 0]);
    assert_layout(
        &User { tenant: 1, name: "x".into(), age: Some(-1) },
        &[0, 0, 0, 1, b'x', 0, 0, 1, 0x7f],
    );
    assert_layout(&Millis(0), &[0x80, 0, 0, 0, 0, 0, 0, 0]);
    assert_layout(&[1u8, 2, 3], &[1, 2, 3]);
    assert_layout(&(1u8, (2u8, 3u8)), &[1, 2, 3]);
}

#[test]
fn enum_variants_are_tagged_with_their_index() {
    assert_layout(&Color::Red, &[0, 0, 0, 0]);
    assert_layout(&Color::Blue, &[0, 0, 0, 2]);
    assert_layout(&Shape::Point, &[0, 0, 0, 0]);
    assert_layout(&Shape::Circle(5), &[0, 0, 0, 1, 0, 0, 0, 5]);
    assert_layout(&Shape::Rect { w: 0, h: -1 }, &[0, 0, 0, 2, 0x80, 0, 0x7f, 0xff]);
    assert_layout(&Shape::Named("n".into(), 9), &[0, 0, 0, 3, b'n', 0, 0, 9]);
}

#[test]
fn sequences_mark_each_element_and_the_end() {
    assert_layout(&Vec::<u8>::new(), &[0]);
    assert_layout(&vec![1u8, 2], &[1, 1, 1, 2, 0]);
    assert_layout(&vec![String::new()], &[1, 0, 0, 0]);
    assert_layout(&vec![(), ()], &[1, 1, 0]);
}

#[test]
fn encode_into_appends_to_the_buffer() {
    let mut buf = vec![0xaa];
    key::encode_into(&(1u16, "k"), &mut buf).unwrap();
    assert_eq!(buf, [0xaa, 0, 1, b'k', 0, 0]);
}

#[test]
fn explicit_discriminants_do_not_change_the_tag() {
    // Documented limitation: derived Ord follows discriminants, the key bytes follow declaration
    // order (serde only sees the variant index).
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Reversed {
        High = 2,
        Low = 1,
    }
    assert!(Reversed::Low < Reversed::High);
    assert_layout(&Reversed::High, &[0, 0, 0, 0]);
    assert_layout(&Reversed::Low, &[0, 0, 0, 1]);
}
