//! Every value codec gives back what it was given: structs, enums, options, nested types, and
//! (for Json) the serde attributes that need a self-describing format.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt::Debug;

use emdb_typed::{Bincode, Codec, Json, Postcard};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Status {
    Active,
    Suspended { reason: String, until: Option<u64> },
    Deleted(i64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Address {
    street: String,
    zip: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Customer {
    id: u64,
    name: String,
    score: f64,
    balance: i128,
    tags: Vec<String>,
    addresses: Vec<Address>,
    status: Status,
    extra: BTreeMap<String, Option<Vec<u8>>>,
    #[expect(clippy::option_option, reason = "tests that Some(None) survives the binary codecs")]
    nested: Option<Option<(u8, char, bool)>>,
    unit: (),
}

fn sample() -> Customer {
    Customer {
        id: 42,
        name: "Ada \u{1F980}".into(),
        score: -1.5,
        balance: -170_141_183_460_469_231_731_687_303_715_884_105_728,
        tags: vec!["vip".into(), String::new()],
        addresses: vec![
            Address { street: "Main St".into(), zip: Some(12_345) },
            Address { street: String::new(), zip: None },
        ],
        status: Status::Suspended { reason: "audit".into(), until: Some(u64::MAX) },
        extra: BTreeMap::from([("k".into(), Some(vec![0, 255])), ("none".into(), None)]),
        nested: Some(Some((7, 'é', true))),
        unit: (),
    }
}

fn round_trip<C: Codec, V: Serialize + DeserializeOwned + PartialEq + Debug>(value: &V) {
    let bytes = C::encode(value).unwrap();
    let back: V = C::decode(&bytes).unwrap_or_else(|err| panic!("{}: {err}", C::NAME));
    assert_eq!(&back, value, "{}", C::NAME);

    let mut appended = vec![0xee];
    C::encode_into(value, &mut appended).unwrap();
    assert_eq!(appended[0], 0xee);
    assert_eq!(&appended[1..], bytes.as_slice(), "{}: encode_into appends", C::NAME);
}

fn round_trip_all<V: Serialize + DeserializeOwned + PartialEq + Debug>(value: &V) {
    round_trip::<Postcard, V>(value);
    round_trip::<Bincode, V>(value);
    round_trip::<Json, V>(value);
}

#[test]
fn every_codec_round_trips_structs_enums_options_and_nested_types() {
    round_trip_all(&sample());
    round_trip_all(&Status::Active);
    round_trip_all(&Status::Deleted(-3));
    round_trip_all(&Some(Address { street: "x".into(), zip: None }));
    round_trip_all(&None::<Address>);
    round_trip_all(&vec![Some(Status::Active), None]);
    round_trip_all(&(1u8, "two".to_owned(), [3u16; 4]));
    round_trip_all(&String::new());
    round_trip_all(&u64::MAX);
}

#[test]
fn json_handles_flatten_untagged_internal_tags_and_skipped_fields() {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Meta {
        created: u64,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        note: Option<String>,
    }
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "kind")]
    enum Event {
        Created { by: String },
        Closed,
    }
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Doc {
        id: Id,
        event: Event,
        #[serde(flatten)]
        meta: Meta,
        #[serde(flatten)]
        rest: BTreeMap<String, serde_json::Value>,
    }

    let doc = Doc {
        id: Id::Text("a-1".into()),
        event: Event::Created { by: "ada".into() },
        meta: Meta { created: 5, note: None },
        rest: BTreeMap::from([("color".into(), serde_json::json!("red"))]),
    };
    round_trip::<Json, Doc>(&doc);
    let json = String::from_utf8(Json::encode(&doc).unwrap()).unwrap();
    assert_eq!(
        json,
        r#"{"id":"a-1","event":{"kind":"Created","by":"ada"},"created":5,"color":"red"}"#
    );

    let other = Doc {
        id: Id::Number(9),
        event: Event::Closed,
        meta: Meta { created: 0, note: Some("n".into()) },
        rest: BTreeMap::new(),
    };
    round_trip::<Json, Doc>(&other);
}

#[test]
fn binary_codecs_cannot_decode_types_that_need_a_self_describing_format() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    let postcard = Postcard::encode(&Id::Number(1)).unwrap();
    assert!(Postcard::decode::<Id>(&postcard).is_err());
    let bincode = Bincode::encode(&Id::Number(1)).unwrap();
    assert!(Bincode::decode::<Id>(&bincode).is_err());
}

#[test]
fn codec_payload_layouts_are_fixed() {
    let value = (300u32, -1i8, "ab");
    // postcard: LEB128 varint 300, i8 as a plain byte, length-prefixed string.
    assert_eq!(Postcard::encode(&value).unwrap(), [0xac, 0x02, 0xff, 0x02, b'a', b'b']);
    // bincode standard: 251 announces a little-endian u16, i8 as a plain byte, varint length.
    assert_eq!(Bincode::encode(&value).unwrap(), [0xfb, 0x2c, 0x01, 0xff, 0x02, b'a', b'b']);
    assert_eq!(Json::encode(&value).unwrap(), br#"[300,-1,"ab"]"#);
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Active),
        (".{0,8}", any::<Option<u64>>())
            .prop_map(|(reason, until)| Status::Suspended { reason, until }),
        any::<i64>().prop_map(Status::Deleted),
    ]
}

fn customer() -> impl Strategy<Value = Customer> {
    (
        any::<u64>(),
        ".{0,12}",
        prop::num::f64::POSITIVE
            | prop::num::f64::NEGATIVE
            | prop::num::f64::NORMAL
            | prop::num::f64::SUBNORMAL
            | prop::num::f64::ZERO,
        any::<i128>(),
        prop::collection::vec(".{0,4}", 0..4),
        status(),
        prop::collection::btree_map(
            ".{0,4}",
            prop::option::of(prop::collection::vec(any::<u8>(), 0..4)),
            0..3,
        ),
        any::<Option<Option<(u8, char, bool)>>>(),
    )
        .prop_map(|(id, name, score, balance, tags, status, extra, nested)| Customer {
            id,
            name,
            score,
            balance,
            tags,
            addresses: Vec::new(),
            status,
            extra,
            nested,
            unit: (),
        })
}

#[test]
fn json_collapses_some_none_and_rejects_non_finite_floats() {
    // Documented on `Json`: JSON has one `null`, so `Some(None)` comes back as `None`, and
    // non-finite floats are written as `null`, which does not decode as a float.
    let nested: Option<Option<u8>> = Some(None);
    assert_eq!(Json::encode(&nested).unwrap(), b"null");
    assert_eq!(Json::decode::<Option<Option<u8>>>(b"null").unwrap(), None);
    round_trip::<Postcard, _>(&nested);
    round_trip::<Bincode, _>(&nested);

    assert_eq!(Json::encode(&f64::NAN).unwrap(), b"null");
    assert!(Json::decode::<f64>(&Json::encode(&f64::INFINITY).unwrap()).is_err());
    let nan = Bincode::decode::<f64>(&Bincode::encode(&f64::NAN).unwrap()).unwrap();
    assert!(nan.is_nan());
}

proptest! {
    #[test]
    fn every_codec_round_trips_random_customers(value in customer()) {
        round_trip::<Postcard, _>(&value);
        round_trip::<Bincode, _>(&value);
        let json: Customer = Json::decode(&Json::encode(&value).unwrap()).unwrap();
        let expected = Customer { nested: value.nested.flatten().map(Some), ..value };
        prop_assert_eq!(json, expected);
    }
}
