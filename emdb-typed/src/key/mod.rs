//! The order-preserving key encoding: serde types in, bytes that sort like the values out.
//!
//! Keys of typed tables are stored in emdb-core as raw bytes, and the core orders its keys
//! bytewise. This module maps a key value to bytes such that, for every supported type `K`,
//!
//! * `a.cmp(&b) == encode(&a)?.cmp(&encode(&b)?)` (byte order equals [`Ord`]; equal values give
//!   equal bytes and equal bytes mean equal values; for floats, which have no `Ord`, read
//!   `total_cmp` for `cmp`), and
//! * `decode::<K>(&encode(&x)?)? == x`.
//!
//! General-purpose formats such as bincode and postcard do not have the first property (they
//! write signed integers in two's complement or zigzag, strings with a length prefix), so they are
//! never used for keys.
//!
//! # The encoding, byte by byte
//!
//! The format is not self-describing: the bytes of a key only make sense together with its type.
//! Every encoding is *prefix-free* for its type (no value's bytes are a proper prefix of another
//! value's bytes of the same type), which is what makes concatenating fields order-preserving.
//!
//! | serde shape | bytes written |
//! | --- | --- |
//! | `bool` | `0x00` for `false`, `0x01` for `true` |
//! | `u8`, `u16`, `u32`, `u64`, `u128` | the value, big-endian, fixed width (1, 2, 4, 8, 16 bytes) |
//! | `i8`, `i16`, `i32`, `i64`, `i128` | the value in two's complement with the sign bit flipped (`x ^ MIN`), big-endian, fixed width |
//! | `f32`, `f64` | the IEEE 754 bits `b`; if the sign bit is set, `!b` (all bits flipped), else `b` with the sign bit flipped; big-endian, 4 or 8 bytes |
//! | `char` | the scalar value as a `u32`, big-endian, 4 bytes |
//! | `str`, `String` | the UTF-8 bytes with every `0x00` escaped as `0x00 0xFF`, then the terminator `0x00 0x00` |
//! | bytes (`serialize_bytes`, e.g. `serde_bytes::ByteBuf`) | the same escaping and terminator as `str` |
//! | `()`, unit struct | nothing (zero bytes) |
//! | `Option<T>` | `None`: `0x00`; `Some(v)`: `0x01` followed by the encoding of `v` |
//! | newtype struct | the encoding of the inner value (no tag) |
//! | tuple, tuple struct, struct, `[T; N]` | the fields in declaration order, concatenated; no names, no lengths |
//! | enum variant | the variant index (declaration position, starting at 0) as a big-endian `u32`, then the variant's fields as for a tuple or struct (nothing for a unit variant) |
//! | sequence (`Vec<T>`, `&[T]`, `BTreeSet<T>`, `VecDeque<T>`) | for each element, `0x01` followed by its encoding; then the end marker `0x00` |
//! | map (`BTreeMap`, `HashMap`, `#[serde(flatten)]`) | rejected with [`Error::UnsupportedKey`] |
//!
//! Examples: `42u16` is `00 2a`; `-1i8` is `7f`; `1i32` is `80 00 00 01`; `"a\0b"` is
//! `61 00 ff 62 00 00`; `Some(7u8)` is `01 07`; `("ab", "c")` is `61 62 00 00 63 00 00`;
//! `vec![1u8, 2]` is `01 01 01 02 00`; the second unit variant of an enum is `00 00 00 01`.
//!
//! Why each rule preserves order:
//!
//! * Flipping the sign bit of a two's-complement integer maps `MIN..=MAX` monotonically onto
//!   `0..=MAX_UNSIGNED`.
//! * The float rule yields the order of [`f64::total_cmp`] (and `f32::total_cmp`), not the
//!   partial order of `<`: `-NaN < -inf < … < -0.0 < +0.0 < … < +inf < +NaN`, and NaNs with
//!   different payloads get different bytes. Decoding gives back the exact bits, payload
//!   included. Note that `-0.0` and `+0.0` are distinct keys even though `-0.0 == 0.0`.
//! * In an escaped string, a content byte `0x00` becomes `0x00 0xFF` while the end is `0x00 0x00`
//!   and every other content byte is `≥ 0x01`; so a string that is a proper prefix of another
//!   sorts first, and `("a", "bc") < ("ab", "c")` exactly as the tuples compare.
//! * `None` (`0x00`) sorts before every `Some` (`0x01 …`), as in [`Option`]'s `Ord`.
//! * The sequence continuation byte `0x01` sorts after the end marker `0x00`, so a sequence that
//!   is a prefix of another sorts first, as in `Vec`'s lexicographic `Ord`.
//! * The variant index matches the order of `#[derive(PartialOrd, Ord)]`, which orders variants
//!   by declaration position — **unless** the enum has explicit discriminants that are not in
//!   declaration order (`enum E { A = 2, B = 1 }`): derived `Ord` then uses the discriminants, but
//!   serde only sees positions, so the byte order follows declaration order.
//!
//! # What is not supported
//!
//! * Maps, and therefore `#[serde(flatten)]` (which serializes a struct as a map): their `Ord` is
//!   not visible through serde. Encoding returns [`Error::UnsupportedKey`].
//! * `#[serde(skip_serializing_if = "…")]` on a key field: a field that is sometimes absent makes
//!   the bytes ambiguous. Encoding returns [`Error::UnsupportedKey`] when a field is skipped.
//! * Types whose `Deserialize` needs a self-describing format: `#[serde(untagged)]`,
//!   `#[serde(tag = "…")]`, `serde_json::Value`, … call `deserialize_any`, which this format
//!   cannot answer; decoding returns [`Error::UnsupportedKey`] naming the fix.
//! * Nesting deeper than 128 levels of options, newtype structs, structs, tuples, sequences and
//!   enums is rejected: encoding returns [`Error::UnsupportedKey`], decoding returns
//!   [`Error::Decode`], so that decoding hostile bytes cannot overflow the stack. Both sides count
//!   the same way, so whatever encodes also decodes.
//! * A sequence whose iteration order is not deterministic (`HashSet`) gives unstable bytes; use
//!   `BTreeSet` or a sorted `Vec`.
//!
//! The format keeps `is_human_readable() == false`, so types with two serde forms (`IpAddr`,
//! `SystemTime`, `uuid::Uuid`, …) use their compact form.

mod bound;
mod de;
mod ser;

pub use bound::{BoundedBy, KeyRange};

use emdb_core::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(feature = "json")]
use crate::dynamic::{Shaped, Value};
#[cfg(feature = "json")]
use crate::shape::Shape;

/// How deeply options, structs, tuples, sequences and enum variants may nest inside a key.
const MAX_DEPTH: usize = 128;

/// Encodes `key` in the order-preserving key format and returns the bytes.
///
/// See the [module documentation](self) for the byte layout.
///
/// # Errors
///
/// * [`Error::UnsupportedKey`] if the key contains a map, a skipped field or nests too deeply.
/// * [`Error::Encode`] (with an empty table name) if the key's `Serialize` implementation fails.
///
/// # Examples
///
/// ```
/// use emdb::key;
///
/// assert_eq!(key::encode(&-1i32)?, [0x7f, 0xff, 0xff, 0xff]);
/// assert!(key::encode(&("a", 2u8))? < key::encode(&("ab", 1u8))?);
/// # Ok::<(), emdb::Error>(())
/// ```
pub fn encode<K: Serialize + ?Sized>(key: &K) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_into(key, &mut out)?;
    Ok(out)
}

/// Appends the encoding of `key` to `out`.
///
/// On error `out` is left as it was before the call.
///
/// # Errors
///
/// The same as [`encode`].
///
/// # Examples
///
/// ```
/// use emdb::key;
///
/// let mut buf = b"prefix/".to_vec();
/// key::encode_into(&Some(7u8), &mut buf)?;
/// assert_eq!(buf, b"prefix/\x01\x07");
/// # Ok::<(), emdb::Error>(())
/// ```
pub fn encode_into<K: Serialize + ?Sized>(key: &K, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    let result = key.serialize(&mut ser::KeySerializer::new(out));
    result.map_err(|err| {
        out.truncate(start);
        match err {
            KeyError::Unsupported(reason) => {
                Error::UnsupportedKey { type_name: std::any::type_name::<K>(), reason }
            }
            other => Error::Encode { table: String::new(), source: Box::new(other) },
        }
    })
}

/// Decodes a key of type `K` from bytes written by [`encode`].
///
/// The whole input must be one key: trailing bytes are an error.
/// Decoding never panics, whatever the input.
///
/// # Errors
///
/// * [`Error::Decode`] (with an empty table name and the input as `key`) if the bytes are not a
///   valid encoding of a `K`: truncated, with trailing bytes, an invalid tag, escape, UTF-8 or
///   `char`, or a value `K`'s `Deserialize` rejects.
/// * [`Error::UnsupportedKey`] if `K` cannot be decoded from this format at all (a map, or a
///   `Deserialize` implementation that needs `deserialize_any`).
///
/// # Examples
///
/// ```
/// use emdb::key;
///
/// let bytes = key::encode(&("user", 42u64))?;
/// let (name, id): (String, u64) = key::decode(&bytes)?;
/// assert_eq!((name.as_str(), id), ("user", 42));
///
/// assert!(key::decode::<u64>(&bytes).is_err());
/// # Ok::<(), emdb::Error>(())
/// ```
pub fn decode<K: DeserializeOwned>(bytes: &[u8]) -> Result<K> {
    de::from_bytes(bytes).map_err(|err| match err {
        KeyError::Unsupported(reason) => {
            Error::UnsupportedKey { type_name: std::any::type_name::<K>(), reason }
        }
        other => Error::Decode {
            table: String::new(),
            key: bytes.to_vec(),
            key_text: None,
            source: Box::new(other),
        },
    })
}

/// Decodes a key through its recorded `shape` into a dynamic value, as [`decode`] decodes a
/// typed one.
///
/// # Errors
/// [`Error::Decode`] (with an empty table name and the input as `key`) if the bytes are not one
/// complete key of `shape`, or `shape` holds something the key format cannot hold (a map).
#[cfg(feature = "json")]
pub(crate) fn decode_shaped(bytes: &[u8], shape: &Shape) -> Result<Value> {
    de::from_bytes_seed(bytes, Shaped(shape)).map_err(|err| Error::Decode {
        table: String::new(),
        key: bytes.to_vec(),
        key_text: None,
        source: Box::new(err),
    })
}

/// The private error of the key serializer and deserializer, converted to [`Error`] by
/// [`encode`] and [`decode`].
#[derive(Debug, thiserror::Error)]
enum KeyError {
    /// The type has a shape the key format cannot represent; becomes [`Error::UnsupportedKey`].
    #[error("{0}")]
    Unsupported(String),

    /// The input ended in the middle of a value.
    #[error("key bytes end at offset {at}, but {needed} more bytes are needed")]
    UnexpectedEnd {
        /// Where the missing bytes should start.
        at: usize,
        /// How many bytes were needed.
        needed: usize,
    },

    /// Bytes are left over after a complete key.
    #[error("{count} trailing bytes after a complete key at offset {at}")]
    TrailingBytes {
        /// Where the complete key ends.
        at: usize,
        /// How many bytes follow it.
        count: usize,
    },

    /// A tag byte (bool, option, sequence marker or string escape) has a value the format does
    /// not define.
    #[error("invalid {what} byte {byte:#04x} at offset {at}")]
    InvalidByte {
        /// Which tag was being read.
        what: &'static str,
        /// The byte found.
        byte: u8,
        /// Its offset in the input.
        at: usize,
    },

    /// A string is not valid UTF-8.
    #[error("string ending at offset {at} is not valid UTF-8")]
    InvalidUtf8 {
        /// The offset just after the string's terminator.
        at: usize,
    },

    /// A `char` is not a Unicode scalar value.
    #[error("{value:#x} at offset {at} is not a valid char")]
    InvalidChar {
        /// The decoded `u32`.
        value: u32,
        /// Its offset in the input.
        at: usize,
    },

    /// The type's `Deserialize` did not consume a whole tuple or sequence.
    #[error("the key type's Deserialize stopped before the end of a {what} at offset {at}")]
    Unconsumed {
        /// `"tuple"` or `"sequence"`.
        what: &'static str,
        /// Where reading stopped.
        at: usize,
    },

    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("key nests deeper than {MAX_DEPTH} levels at offset {at}")]
    TooDeep {
        /// Where the limit was hit.
        at: usize,
    },

    /// A message from a `Serialize` or `Deserialize` implementation.
    #[error("{0}")]
    Message(String),
}

impl serde::ser::Error for KeyError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        KeyError::Message(msg.to_string())
    }
}

impl serde::de::Error for KeyError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        KeyError::Message(msg.to_string())
    }
}
