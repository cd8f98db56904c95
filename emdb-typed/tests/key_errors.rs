//! The key encoding's failures: unsupported shapes, malformed bytes, and no panic on any input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::collections::{BTreeMap, HashMap};

use common::{Bytes, Color, Shape, User};
use emdb_core::Error;
use emdb_typed::key;
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Asserts that decoding `bytes` as `T` is a `Decode` error that carries the input.
fn assert_malformed<T: DeserializeOwned + std::fmt::Debug>(bytes: &[u8]) -> String {
    match key::decode::<T>(bytes) {
        Err(Error::Decode { table, key, source, .. }) => {
            assert!(table.is_empty());
            assert_eq!(key, bytes);
            source.to_string()
        }
        other => panic!("decoding {bytes:02x?} as {}: {other:?}", std::any::type_name::<T>()),
    }
}

fn unsupported_reason(result: emdb_core::Result<impl std::fmt::Debug>) -> (&'static str, String) {
    match result {
        Err(Error::UnsupportedKey { type_name, reason }) => (type_name, reason),
        other => panic!("expected UnsupportedKey, got {other:?}"),
    }
}

#[test]
fn maps_are_rejected_as_unsupported_keys() {
    let btree = BTreeMap::from([(1u8, 2u8)]);
    let (type_name, reason) = unsupported_reason(key::encode(&btree));
    assert!(type_name.contains("BTreeMap"), "{type_name}");
    assert!(reason.contains("maps"), "{reason}");

    let hash = HashMap::from([("a".to_owned(), 1u8)]);
    let (_, reason) = unsupported_reason(key::encode(&(1u8, hash)));
    assert!(reason.contains("maps"), "{reason}");

    let (type_name, _) = unsupported_reason(key::decode::<BTreeMap<u8, u8>>(&[0]));
    assert!(type_name.contains("BTreeMap"), "{type_name}");
}

#[test]
fn flattened_structs_are_rejected_as_unsupported_keys() {
    #[derive(Serialize)]
    struct Inner {
        b: u8,
    }
    #[derive(Serialize)]
    struct Outer {
        a: u8,
        #[serde(flatten)]
        inner: Inner,
    }
    let (type_name, _) = unsupported_reason(key::encode(&Outer { a: 1, inner: Inner { b: 2 } }));
    assert!(type_name.ends_with("Outer"), "{type_name}");
}

#[test]
fn skipped_fields_are_rejected_as_unsupported_keys() {
    #[derive(Serialize)]
    struct Sometimes {
        a: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        b: Option<u8>,
    }
    assert_eq!(key::encode(&Sometimes { a: 1, b: Some(2) }).unwrap(), [1, 1, 2]);
    let (_, reason) = unsupported_reason(key::encode(&Sometimes { a: 1, b: None }));
    assert!(reason.contains("skip_serializing_if"), "{reason}");
}

#[test]
fn a_failed_encode_leaves_the_buffer_as_it_was() {
    let mut buf = vec![9, 9];
    let result = key::encode_into(&(1u8, BTreeMap::from([(1u8, 1u8)])), &mut buf);
    assert!(result.is_err());
    assert_eq!(buf, [9, 9]);
}

#[test]
fn types_that_need_deserialize_any_name_the_fix() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(untagged)]
    enum Loose {
        Num(u8),
        Text(String),
    }
    let bytes = key::encode(&Loose::Num(3)).unwrap();
    let (type_name, reason) = unsupported_reason(key::decode::<Loose>(&bytes));
    assert!(type_name.ends_with("Loose"), "{type_name}");
    assert!(reason.contains("deserialize_any"), "{reason}");
    assert!(reason.contains("plain derived Deserialize"), "{reason}");
}

#[test]
fn trailing_bytes_after_a_complete_key_are_an_error() {
    let message = assert_malformed::<u16>(&[0, 1, 2]);
    assert!(message.contains("trailing"), "{message}");
    assert_malformed::<String>(&[b'a', 0, 0, 0]);
    assert_malformed::<()>(&[0]);
    assert_malformed::<Option<u8>>(&[0, 0]);
}

#[test]
fn truncated_keys_are_an_error() {
    let message = assert_malformed::<u32>(&[0, 0, 1]);
    assert!(message.contains("end"), "{message}");
    assert_malformed::<String>(b"ab");
    assert_malformed::<String>(&[b'a', 0]);
    assert_malformed::<Option<u8>>(&[1]);
    assert_malformed::<Vec<u8>>(&[1, 5]);
    assert_malformed::<(u8, String)>(&[1]);
    assert_malformed::<bool>(&[]);
    assert_malformed::<Color>(&[0, 0, 0]);
}

#[test]
fn invalid_tags_escapes_and_scalars_are_errors() {
    assert!(assert_malformed::<bool>(&[2]).contains("bool"));
    assert!(assert_malformed::<Option<u8>>(&[2, 0]).contains("option"));
    assert!(assert_malformed::<Vec<u8>>(&[2]).contains("sequence"));
    assert!(assert_malformed::<String>(&[b'a', 0, 1, 0, 0]).contains("escape"));
    assert!(assert_malformed::<String>(&[0xff, 0, 0]).contains("UTF-8"));
    assert!(assert_malformed::<char>(&[0, 0, 0xd8, 0]).contains("char"));
    assert!(assert_malformed::<char>(&[0, 0x11, 0, 0]).contains("char"));
    assert!(assert_malformed::<Color>(&[0, 0, 0, 3]).contains("variant"));
    assert_malformed::<Shape>(&[0xff, 0xff, 0xff, 0xff]);
}

/// A recursive key type, to test the nesting limit.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Chain {
    End,
    Link(Box<Chain>),
}

fn chain(depth: usize) -> Chain {
    (0..depth).fold(Chain::End, |inner, _| Chain::Link(Box::new(inner)))
}

#[test]
fn keys_nested_up_to_the_limit_round_trip() {
    let value = chain(127);
    let bytes = key::encode(&value).unwrap();
    assert_eq!(key::decode::<Chain>(&bytes).unwrap(), value);
}

#[test]
fn keys_nested_beyond_the_limit_are_rejected_not_overflowing_the_stack() {
    let (_, reason) = unsupported_reason(key::encode(&chain(128)));
    assert!(reason.contains("deeper than 128"), "{reason}");
    // A hostile input of a million links decodes to an error, not a stack overflow.
    let hostile: Vec<u8> = [0, 0, 0, 1].repeat(1_000_000);
    assert!(assert_malformed::<Chain>(&hostile).contains("deeper"));
    let options = [1u8].repeat(100_000);
    assert!(key::decode::<Vec<Vec<Vec<u8>>>>(&options).is_err());
}

#[test]
fn every_proper_prefix_of_a_key_is_an_error() {
    let keys: Vec<Vec<u8>> = vec![
        key::encode(&User { tenant: 3, name: "a\0".into(), age: Some(4) }).unwrap(),
        key::encode(&Shape::Named("xy".into(), 1)).unwrap(),
        key::encode(&(vec!["a".to_owned()], Some(1.5f64), 'c')).unwrap(),
    ];
    for (index, bytes) in keys.iter().enumerate() {
        for len in 0..bytes.len() {
            let prefix = &bytes[..len];
            let ok = match index {
                0 => key::decode::<User>(prefix).is_ok(),
                1 => key::decode::<Shape>(prefix).is_ok(),
                _ => key::decode::<(Vec<String>, Option<f64>, char)>(prefix).is_ok(),
            };
            assert!(!ok, "prefix {prefix:02x?} of key {index} decoded");
        }
    }
}

/// Decodes `bytes` as `T`; if that works, the encoding is canonical: encoding the value gives back
/// exactly `bytes`.
fn decode_is_canonical<T>(bytes: &[u8]) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned,
{
    if let Ok(value) = key::decode::<T>(bytes) {
        prop_assert_eq!(key::encode(&value).unwrap(), bytes);
    }
    Ok(())
}

fn bytes_with_many_tags() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        prop::collection::vec(prop::sample::select(vec![0u8, 1, 2, 0xff, b'a']), 0..64),
    ]
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics_and_what_decodes_is_canonical(
        bytes in bytes_with_many_tags(),
    ) {
        decode_is_canonical::<u64>(&bytes)?;
        decode_is_canonical::<i8>(&bytes)?;
        decode_is_canonical::<bool>(&bytes)?;
        decode_is_canonical::<char>(&bytes)?;
        decode_is_canonical::<f64>(&bytes)?;
        decode_is_canonical::<String>(&bytes)?;
        decode_is_canonical::<Bytes>(&bytes)?;
        decode_is_canonical::<(String, i32)>(&bytes)?;
        decode_is_canonical::<Option<Vec<String>>>(&bytes)?;
        decode_is_canonical::<Vec<Option<bool>>>(&bytes)?;
        decode_is_canonical::<Color>(&bytes)?;
        decode_is_canonical::<Shape>(&bytes)?;
        decode_is_canonical::<User>(&bytes)?;
        decode_is_canonical::<Chain>(&bytes)?;
        decode_is_canonical::<((i32, String), Option<u64>)>(&bytes)?;
    }

    #[test]
    fn decoding_a_corrupted_key_never_panics(
        tenant: u32,
        name in ".{0,8}",
        flip in 0usize..64,
        byte: u8,
    ) {
        let mut bytes = key::encode(&User { tenant, name, age: None }).unwrap();
        let at = flip % bytes.len();
        bytes[at] = byte;
        decode_is_canonical::<User>(&bytes)?;
        bytes.truncate(at);
        prop_assert!(key::decode::<User>(&bytes).is_err());
    }
}
