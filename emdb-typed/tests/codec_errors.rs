//! Value codecs fail cleanly: foreign, truncated, extended or random bytes are an `Err`, never a
//! panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb_typed::{Bincode, Codec, Json, Postcard};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Kind {
    Plain,
    Weighted(u32),
    Tagged { label: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    name: String,
    count: u32,
    kind: Kind,
    parts: Vec<(u16, Option<String>)>,
    price: u32,
}

fn item() -> Item {
    Item {
        name: "widget".into(),
        count: 300,
        kind: Kind::Tagged { label: "blue".into() },
        parts: vec![(1, None), (70_00, Some("bolt".into()))],
        price: 1_000_000,
    }
}

fn assert_every_prefix_fails<C: Codec>() {
    let bytes = C::encode(&item()).unwrap();
    for len in 0..bytes.len() {
        assert!(C::decode::<Item>(&bytes[..len]).is_err(), "{}: prefix of {len} bytes", C::NAME);
    }
}

#[test]
fn truncated_values_are_errors_for_every_codec() {
    assert_every_prefix_fails::<Postcard>();
    assert_every_prefix_fails::<Bincode>();
    assert_every_prefix_fails::<Json>();
}

fn assert_trailing_zero_is_rejected<C: Codec>() {
    let mut bytes = C::encode(&item()).unwrap();
    assert_eq!(C::decode::<Item>(&bytes).unwrap(), item(), "{}", C::NAME);
    bytes.push(0);
    assert!(C::decode::<Item>(&bytes).is_err(), "{}: a trailing zero byte was accepted", C::NAME);
}

#[test]
fn trailing_bytes_are_errors_for_every_codec() {
    assert_trailing_zero_is_rejected::<Postcard>();
    assert_trailing_zero_is_rejected::<Bincode>();
    assert_trailing_zero_is_rejected::<Json>();
    let message = Postcard::decode::<u8>(&[1, 2]).unwrap_err().to_string();
    assert!(message.contains("trailing"), "{message}");
    let message = Bincode::decode::<u8>(&[1, 2]).unwrap_err().to_string();
    assert!(message.contains("trailing"), "{message}");
}

#[test]
fn json_allows_trailing_whitespace_only() {
    assert_eq!(Json::decode::<u8>(b"7 \n").unwrap(), 7);
    assert!(Json::decode::<u8>(b"7 x").is_err());
}

#[test]
fn bytes_from_another_codec_are_errors() {
    let postcard = Postcard::encode(&item()).unwrap();
    let bincode = Bincode::encode(&item()).unwrap();
    let json = Json::encode(&item()).unwrap();
    assert_ne!(postcard, bincode);

    assert!(Postcard::decode::<Item>(&bincode).is_err());
    assert!(Postcard::decode::<Item>(&json).is_err());
    assert!(Bincode::decode::<Item>(&postcard).is_err());
    assert!(Bincode::decode::<Item>(&json).is_err());
    assert!(Json::decode::<Item>(&postcard).is_err());
    assert!(Json::decode::<Item>(&bincode).is_err());
}

#[test]
fn postcard_and_bincode_agree_on_small_values_so_the_header_must_name_the_codec() {
    // The codecs cannot always tell each other's bytes apart: for small integers and short
    // strings both write one-byte varints. The value header's codec id is what keeps a value
    // from being decoded by the wrong codec.
    let value = (5u32, "ab".to_owned());
    assert_eq!(Postcard::encode(&value).unwrap(), Bincode::encode(&value).unwrap());
}

#[test]
fn a_huge_declared_length_is_an_error_not_an_allocation_failure() {
    // bincode: 0xfd announces a u64 length; u64::MAX bytes of string follow (they do not).
    let mut bytes = vec![0xfd];
    bytes.extend_from_slice(&u64::MAX.to_le_bytes());
    assert!(Bincode::decode::<String>(&bytes).is_err());
    assert!(Bincode::decode::<Vec<u64>>(&bytes).is_err());
    bytes[1..].copy_from_slice(&((1u64 << 30) - 1).to_le_bytes());
    assert!(Bincode::decode::<Vec<u8>>(&bytes).is_err());
    // postcard: a ten-byte varint length.
    let huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert!(Postcard::decode::<String>(&huge).is_err());
    assert!(Postcard::decode::<Vec<u64>>(&huge).is_err());
}

proptest! {
    #[test]
    fn decoding_random_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        // Only "does not panic" is checked; whether random bytes decode is up to the codec.
        let _ = Postcard::decode::<Item>(&bytes);
        let _ = Bincode::decode::<Item>(&bytes);
        let _ = Json::decode::<Item>(&bytes);
        let _ = Postcard::decode::<Vec<String>>(&bytes);
        let _ = Bincode::decode::<Vec<String>>(&bytes);
        let _ = Postcard::decode::<Option<Kind>>(&bytes);
        let _ = Bincode::decode::<Option<Kind>>(&bytes);
    }

    #[test]
    fn decoding_a_corrupted_value_never_panics(at in 0usize..64, byte: u8) {
        for codec in 0..3 {
            let mut bytes = match codec {
                0 => Postcard::encode(&item()).unwrap(),
                1 => Bincode::encode(&item()).unwrap(),
                _ => Json::encode(&item()).unwrap(),
            };
            let at = at % bytes.len();
            bytes[at] = byte;
            let _ = Postcard::decode::<Item>(&bytes);
            let _ = Bincode::decode::<Item>(&bytes);
            let _ = Json::decode::<Item>(&bytes);
            bytes.truncate(at);
            prop_assert!(Postcard::decode::<Item>(&bytes).is_err() || codec != 0);
            prop_assert!(Bincode::decode::<Item>(&bytes).is_err() || codec != 1);
            prop_assert!(Json::decode::<Item>(&bytes).is_err() || codec != 2);
        }
    }
}
