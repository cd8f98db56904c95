//! Typed tables on the command line: keys given as text and encoded with the table's
//! order-preserving key encoding (`--key-type`), and stored keys and values shown as values.

use emdb_typed::{TableInfo, key};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::CliError;

/// The key type of a typed table, named with `--key-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum KeyType {
    /// `String` / `&str`.
    Str,
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `u128`.
    U128,
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `i128`.
    I128,
}

/// Encodes `text` parsed as `T`.
fn encode_as<T>(text: &str) -> Result<Vec<u8>, CliError>
where
    T: std::str::FromStr + Serialize,
    T::Err: std::fmt::Display,
{
    let value: T = text.parse().map_err(|e: T::Err| CliError::BadArgument {
        what: "key",
        detail: format!("{text:?} is not a {}: {e}", std::any::type_name::<T>()),
    })?;
    Ok(key::encode(&value)?)
}

/// Decodes `bytes` as `T` and shows it.
fn decode_as<T: DeserializeOwned + ToString>(bytes: &[u8]) -> Option<String> {
    key::decode::<T>(bytes).ok().map(|v| v.to_string())
}

impl KeyType {
    /// The stored bytes of the key `text`.
    pub(crate) fn encode(self, text: &str) -> Result<Vec<u8>, CliError> {
        match self {
            KeyType::Str => Ok(key::encode(text)?),
            KeyType::U8 => encode_as::<u8>(text),
            KeyType::U16 => encode_as::<u16>(text),
            KeyType::U32 => encode_as::<u32>(text),
            KeyType::U64 => encode_as::<u64>(text),
            KeyType::U128 => encode_as::<u128>(text),
            KeyType::I8 => encode_as::<i8>(text),
            KeyType::I16 => encode_as::<i16>(text),
            KeyType::I32 => encode_as::<i32>(text),
            KeyType::I64 => encode_as::<i64>(text),
            KeyType::I128 => encode_as::<i128>(text),
        }
    }

    /// The stored bytes every string key starting with `text` starts with (its encoding without
    /// the terminator); only string keys have prefixes.
    pub(crate) fn encode_prefix(self, text: &str) -> Result<Vec<u8>, CliError> {
        if self != KeyType::Str {
            return Err(CliError::BadArgument {
                what: "--prefix",
                detail: "a prefix needs string keys (--key-type str); use --from and --to for \
                         a range of numbers"
                    .to_owned(),
            });
        }
        let mut bytes = key::encode(text)?;
        bytes.truncate(bytes.len().saturating_sub(2));
        Ok(bytes)
    }

    /// A stored key shown as its value; `None` when the bytes are not a key of this type.
    pub(crate) fn decode(self, bytes: &[u8]) -> Option<String> {
        match self {
            KeyType::Str => decode_as::<String>(bytes),
            KeyType::U8 => decode_as::<u8>(bytes),
            KeyType::U16 => decode_as::<u16>(bytes),
            KeyType::U32 => decode_as::<u32>(bytes),
            KeyType::U64 => decode_as::<u64>(bytes),
            KeyType::U128 => decode_as::<u128>(bytes),
            KeyType::I8 => decode_as::<i8>(bytes),
            KeyType::I16 => decode_as::<i16>(bytes),
            KeyType::I32 => decode_as::<i32>(bytes),
            KeyType::I64 => decode_as::<i64>(bytes),
            KeyType::I128 => decode_as::<i128>(bytes),
        }
    }
}

/// A typed-table value as text, followed by the codec and schema version of its header: a json
/// payload as stored, another payload as JSON through the table's recorded shape (`info`), and
/// in hex when neither reads it.
pub(crate) fn show_value(value: &[u8], info: Option<&TableInfo>) -> Option<String> {
    let (header, payload) = emdb_typed::read_header(value).ok()?;
    let codec = emdb_typed::codec_name(header.codec_id).unwrap_or("unknown codec");
    let shown = match std::str::from_utf8(payload) {
        Ok(json) if codec == "json" => json.to_owned(),
        _ => match info.map(|info| info.decode_value(value)) {
            Some(Ok(json)) => json.to_string(),
            _ => crate::bytes::hex(payload),
        },
    };
    Some(format!("{shown}  ({codec} v{})", header.schema_version))
}

/// A stored key of the table `info` describes, read through its recorded key shape: a string
/// key as its text (as `--key-type str` shows it), another key as JSON; `None` when it does not
/// read.
pub(crate) fn show_key(info: &TableInfo, key: &[u8]) -> Option<String> {
    match info.decode_key(key).ok()? {
        serde_json::Value::String(text) => Some(text),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_their_encoding() {
        for (ty, text) in [(KeyType::Str, "a\0b"), (KeyType::I32, "-5"), (KeyType::U64, "42")] {
            let bytes = ty.encode(text).unwrap();
            assert_eq!(ty.decode(&bytes).as_deref(), Some(text));
        }
        assert_eq!(KeyType::U16.encode("42").unwrap(), [0x00, 0x2a]);
        assert!(KeyType::U8.encode("300").is_err());
    }

    #[test]
    fn a_string_prefix_is_its_encoding_without_the_terminator() {
        let prefix = KeyType::Str.encode_prefix("ab").unwrap();
        assert_eq!(prefix, b"ab");
        assert!(KeyType::Str.encode("abc").unwrap().starts_with(&prefix));
        assert!(KeyType::U64.encode_prefix("1").is_err());
    }

    #[test]
    fn json_values_show_as_json_and_others_as_hex_with_their_header() {
        assert_eq!(show_value(b"\x03\x01{\"a\":1}", None).unwrap(), "{\"a\":1}  (json v1)");
        assert_eq!(show_value(&[1, 2, 0xff], None).unwrap(), "0xff  (postcard v2)");
        assert_eq!(show_value(&[], None), None);
    }
}
