//! The dump format: JSON Lines that `emdb dump` writes and `emdb load` reads.
//!
//! ```text
//! {"format":"emdb-dump","version":1}                                     the first line
//! {"namespace":"sessions"}                                                a namespace (before its entries)
//! {"namespace":"sessions","key":"a","value":"token","expiry":1767225600000}
//! {"namespace":"","key":{"base64":"AAE="},"value":"x","expiry":null}     "" is the default namespace
//! ```
//!
//! A key or value is a JSON string when its bytes are UTF-8 (any UTF-8: control characters are
//! escaped by JSON) and `{"base64": "..."}` (standard alphabet, padded) otherwise, so every byte
//! string round-trips exactly. A value of a typed table (namespace `emdb.table.<name>`) written
//! with the json codec is `{"codec": "json", "version": <schema version>, "json": <the value>}`,
//! the value's JSON text exactly as stored (a value whose text would not come back byte for
//! byte stays base64). A value of a typed table written with another codec (postcard, bincode)
//! stays bytes, and the entry has one more field, `"decoded"`: the value read through the
//! table's recorded shape, as JSON (see `emdb_typed::TableInfo::decode_value`), when it reads.
//! `load` ignores `decoded`: the bytes are the value. `expiry` is the absolute expiry in milliseconds since the Unix epoch, or
//! `null` for an entry that never expires. Namespaces come in the order the dump wrote them, each
//! with its entries in key order.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use emdb_typed::{Codec, Json, MAX_HEADER_LEN, write_header};
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// The `format` of the first line.
pub(crate) const FORMAT: &str = "emdb-dump";
/// The version of the format this program writes; it reads every version up to it. Version 2
/// added `decoded`.
pub(crate) const VERSION: u32 = 2;

/// The first line of a dump.
#[derive(Debug, Serialize)]
pub(crate) struct HeaderLine {
    /// Always [`FORMAT`].
    pub(crate) format: &'static str,
    /// Always [`VERSION`].
    pub(crate) version: u32,
}

/// The line that declares a namespace, so that an empty one is restored too.
#[derive(Debug, Serialize)]
pub(crate) struct NamespaceLine<'a> {
    /// The namespace's name.
    pub(crate) namespace: &'a str,
}

/// The line of one entry.
#[derive(Debug, Serialize)]
pub(crate) struct EntryLine<'a> {
    /// The namespace's name (`""` for the default namespace).
    pub(crate) namespace: &'a str,
    /// The key.
    pub(crate) key: Bytes<'a>,
    /// The value.
    pub(crate) value: Value<'a>,
    /// Milliseconds since the Unix epoch when the entry expires; `None` if it never does.
    pub(crate) expiry: Option<u64>,
    /// A typed-table value kept as bytes, read through the table's recorded shape; for people
    /// and tools reading the dump, never read by `load`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) decoded: Option<serde_json::Value>,
}

/// Bytes as a JSON string when they are UTF-8, `{"base64": ...}` otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bytes<'a>(pub(crate) &'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Ok(text) = std::str::from_utf8(self.0) {
            serializer.serialize_str(text)
        } else {
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry("base64", &BASE64.encode(self.0))?;
            map.end()
        }
    }
}

/// A value as a dump line holds it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    /// Any bytes.
    Bytes(&'a [u8]),
    /// A typed-table value of the json codec: its schema version and its JSON text.
    Json {
        /// The schema version of its header.
        version: u32,
        /// The payload after the header, exactly as stored.
        json: &'a RawValue,
    },
}

impl<'a> Value<'a> {
    /// A value of a typed table: [`Value::Json`] when the json codec wrote it and its text comes
    /// back byte for byte, [`Value::Bytes`] otherwise.
    pub(crate) fn of_table(bytes: &'a [u8]) -> Self {
        let Ok((header, payload)) = emdb_typed::read_header(bytes) else {
            return Value::Bytes(bytes);
        };
        if header.codec_id != <Json as Codec>::ID || payload.contains(&b'\n') {
            return Value::Bytes(bytes);
        }
        match serde_json::from_slice::<&RawValue>(payload) {
            Ok(json) if json.get().as_bytes() == payload => {
                Value::Json { version: header.schema_version, json }
            }
            _ => Value::Bytes(bytes),
        }
    }
}

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Value::Bytes(bytes) => Bytes(bytes).serialize(serializer),
            Value::Json { version, json } => {
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("codec", <Json as Codec>::NAME)?;
                map.serialize_entry("version", &version)?;
                map.serialize_entry("json", json)?;
                map.end()
            }
        }
    }
}

/// Any line of a dump, as `load` reads it; [`Line::classify`] says which kind it is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Line<'a> {
    #[serde(borrow, default)]
    format: Option<Cow<'a, str>>,
    #[serde(default)]
    version: Option<u32>,
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
    #[serde(default)]
    key: Option<OwnedBytes>,
    #[serde(default)]
    value: Option<OwnedBytes>,
    #[serde(default)]
    expiry: Option<u64>,
    /// Shown for people; the value is `value`.
    #[serde(default, rename = "decoded")]
    _decoded: Option<de::IgnoredAny>,
}

/// What a dump line says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed<'a> {
    /// The first line, with the format version.
    Header(u32),
    /// A namespace exists.
    Namespace(Cow<'a, str>),
    /// An entry.
    Entry {
        /// Its namespace (`""` for the default one).
        namespace: Cow<'a, str>,
        /// Its key.
        key: Vec<u8>,
        /// Its value.
        value: Vec<u8>,
        /// Its expiry in milliseconds since the Unix epoch.
        expiry: Option<u64>,
    },
}

impl<'a> Line<'a> {
    /// Parses one line.
    ///
    /// # Errors
    /// A message saying what is wrong with the line.
    pub(crate) fn parse(text: &'a [u8]) -> Result<Parsed<'a>, String> {
        let line: Line<'a> = serde_json::from_slice(text).map_err(|e| e.to_string())?;
        line.classify()
    }

    fn classify(self) -> Result<Parsed<'a>, String> {
        match self {
            Line { format: Some(format), version: Some(version), namespace: None, key: None, value: None, expiry: None, _decoded: None } => {
                if format == FORMAT {
                    Ok(Parsed::Header(version))
                } else {
                    Err(format!("the format is {format:?}, not {FORMAT:?}"))
                }
            }
            Line { format: None, version: None, namespace: Some(ns), key: None, value: None, expiry: None, _decoded: None } => {
                Ok(Parsed::Namespace(ns))
            }
            Line { format: None, version: None, namespace: Some(namespace), key: Some(key), value: Some(value), expiry, .. } => {
                Ok(Parsed::Entry { namespace, key: key.0, value: value.0, expiry })
            }
            _ => Err("expected a header line, a namespace line, or an entry with \"namespace\", \"key\", \"value\" and \"expiry\"".to_owned()),
        }
    }
}

/// Bytes read from a JSON string or a `{"base64": ...}` object.
#[derive(Debug)]
struct OwnedBytes(Vec<u8>);

impl<'de> Deserialize<'de> for OwnedBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BytesVisitor)
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = OwnedBytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or {\"base64\": \"...\"}")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<OwnedBytes, E> {
        Ok(OwnedBytes(text.as_bytes().to_vec()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OwnedBytes, A::Error> {
        let mut base64 = None;
        let mut codec = None;
        let mut version = None;
        let mut json: Option<Box<RawValue>> = None;
        while let Some(field) = map.next_key::<Cow<'de, str>>()? {
            match &*field {
                "base64" => base64 = Some(map.next_value::<Cow<'de, str>>()?),
                "codec" => codec = Some(map.next_value::<Cow<'de, str>>()?),
                "version" => version = Some(map.next_value::<u32>()?),
                "json" => json = Some(map.next_value()?),
                other => {
                    return Err(de::Error::custom(format!(
                        "unknown field {other:?}; expected {{\"base64\": ...}} or \
                         {{\"codec\": \"json\", \"version\": ..., \"json\": ...}}"
                    )));
                }
            }
        }
        match (base64, codec, version, json) {
            (Some(encoded), None, None, None) => {
                BASE64.decode(encoded.as_bytes()).map(OwnedBytes).map_err(de::Error::custom)
            }
            (None, Some(codec), Some(version), Some(json)) if codec == <Json as Codec>::NAME => {
                let mut bytes = Vec::with_capacity(MAX_HEADER_LEN + json.get().len());
                write_header(<Json as Codec>::ID, version, &mut bytes);
                bytes.extend_from_slice(json.get().as_bytes());
                Ok(OwnedBytes(bytes))
            }
            _ => Err(de::Error::custom(
                "expected {\"base64\": ...} or {\"codec\": \"json\", \"version\": ..., \"json\": ...}",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_json(key: &[u8], value: &[u8], expiry: Option<u64>) -> String {
        let line = EntryLine {
            namespace: "ns",
            key: Bytes(key),
            value: Value::Bytes(value),
            expiry,
            decoded: None,
        };
        serde_json::to_string(&line).unwrap()
    }

    #[test]
    fn utf8_is_a_string_and_other_bytes_are_base64() {
        assert_eq!(
            entry_json(b"k", b"v\n", None),
            r#"{"namespace":"ns","key":"k","value":"v\n","expiry":null}"#
        );
        assert_eq!(
            entry_json(&[0, 1, 0xff], b"", Some(5)),
            r#"{"namespace":"ns","key":{"base64":"AAH/"},"value":"","expiry":5}"#
        );
    }

    #[test]
    fn every_byte_string_round_trips() {
        let cases: [&[u8]; 5] = [b"", b"plain", "ü\u{0}\t\"\\".as_bytes(), &[0xff], &[0xc3]];
        for key in cases {
            let json = entry_json(key, key, Some(7));
            let parsed = Line::parse(json.as_bytes()).unwrap();
            let expected = Parsed::Entry {
                namespace: Cow::Borrowed("ns"),
                key: key.to_vec(),
                value: key.to_vec(),
                expiry: Some(7),
            };
            assert_eq!(parsed, expected, "{json}");
        }
    }

    #[test]
    fn json_table_values_are_json_and_round_trip_to_the_same_bytes() {
        let mut stored = Vec::new();
        write_header(<Json as Codec>::ID, 300, &mut stored);
        stored.extend_from_slice(br#"{"b":[1,2.50,"x"],"a":null}"#);
        let line = EntryLine {
            namespace: "emdb.table.t",
            key: Bytes(b"k"),
            value: Value::of_table(&stored),
            expiry: None,
            decoded: None,
        };
        let json = serde_json::to_string(&line).unwrap();
        assert!(
            json.contains(
                r#""value":{"codec":"json","version":300,"json":{"b":[1,2.50,"x"],"a":null}}"#
            ),
            "{json}"
        );
        let Parsed::Entry { value, .. } = Line::parse(json.as_bytes()).unwrap() else {
            panic!("not an entry: {json}")
        };
        assert_eq!(value, stored);
    }

    #[test]
    fn a_decoded_field_is_written_when_given_and_ignored_by_load() {
        let line = EntryLine {
            namespace: "emdb.table.t",
            key: Bytes(b"k"),
            value: Value::Bytes(&[1, 1, 7]),
            expiry: None,
            decoded: Some(serde_json::json!({"n": 7})),
        };
        let json = serde_json::to_string(&line).unwrap();
        assert!(json.ends_with(r#""expiry":null,"decoded":{"n":7}}"#), "{json}");
        let Parsed::Entry { value, .. } = Line::parse(json.as_bytes()).unwrap() else {
            panic!("not an entry: {json}")
        };
        assert_eq!(value, [1, 1, 7]);
        assert!(Line::parse(br#"{"namespace":"a","decoded":1}"#).is_err());
    }

    #[test]
    fn table_values_that_are_not_exact_json_stay_bytes() {
        let mut spaced = vec![<Json as Codec>::ID, 1];
        spaced.extend_from_slice(b" {\"a\":\n1} ");
        let postcard = [1u8, 1, 5];
        for stored in [&spaced[..], &postcard, &[3, 1, b'{'], &[]] {
            assert!(matches!(Value::of_table(stored), Value::Bytes(_)), "{stored:?}");
        }
    }

    #[test]
    fn headers_and_namespace_lines_are_told_apart_from_entries() {
        let header = serde_json::to_string(&HeaderLine { format: FORMAT, version: 1 }).unwrap();
        assert_eq!(Line::parse(header.as_bytes()).unwrap(), Parsed::Header(1));
        let ns = serde_json::to_string(&NamespaceLine { namespace: "a" }).unwrap();
        assert_eq!(Line::parse(ns.as_bytes()).unwrap(), Parsed::Namespace(Cow::Borrowed("a")));
    }

    #[test]
    fn malformed_lines_are_refused_with_a_reason() {
        for bad in [
            r#"{"namespace":"a","key":"k"}"#,
            r#"{"namespace":"a","key":"k","value":"v","extra":1}"#,
            r#"{"format":"other","version":1}"#,
            r#"{"namespace":"a","key":{"hex":"00"},"value":"v"}"#,
            r#"{"namespace":"a","key":{"base64":"!!"},"value":"v"}"#,
            r#"{"namespace":"a","key":"k","value":{"codec":"postcard","version":1,"json":1}}"#,
            r#"{"namespace":"a","key":"k","value":{"codec":"json","json":1}}"#,
            r#"{"namespace":"a","key":"k","value":{"base64":"AA==","json":1}}"#,
            "not json",
        ] {
            assert!(Line::parse(bad.as_bytes()).is_err(), "{bad} was accepted");
        }
    }
}
