//! Value codecs: the sealed [`Codec`] trait and its three markers, [`Postcard`], [`Bincode`] and
//! [`Json`].
//!
//! A typed table encodes its values (not its keys: see [`crate::key`]) with the codec named by
//! its third type parameter. Each codec has a stable one-byte [`Codec::ID`], written into the
//! [value header](crate::write_header) of every stored value and recorded with the table, so
//! that a value is never decoded with a codec other than the one that wrote it.
//!
//! | codec | `ID` | `NAME` | format |
//! | --- | --- | --- | --- |
//! | [`Postcard`] (default) | `1` | `"postcard"` | postcard 1.x: compact, varint integers, specified wire format |
//! | [`Bincode`] | `2` | `"bincode"` | bincode 2.0.1 serde API, `config::standard()` (varint integers, little-endian) |
//! | [`Json`] | `3` | `"json"` | `serde_json`: self-describing UTF-8 JSON |
//!
//! ID `0` is reserved and never used by a codec. IDs are part of the file format and never change.
//!
//! [`Postcard`] is always built; [`Bincode`] and [`Json`] are behind the default-on cargo
//! features `bincode` and `json` (of `emdb` and of this crate). A build without one still opens
//! tables written with it, names its codec in errors and in [`codec_name`], and refuses to
//! decode its values with an error that names the feature.
//!
//! Postcard and bincode are not self-describing: they cannot decode types whose `Deserialize`
//! calls `deserialize_any` (`#[serde(flatten)]`, `#[serde(untagged)]`, `#[serde(tag = "…")]`,
//! `serde_json::Value`) and they break on `#[serde(skip_serializing_if)]`. Use [`Json`] for such
//! types.
//!
//! All three codecs reject trailing bytes after a complete value ([`Json`] allows trailing
//! whitespace, as JSON does), so a value cut or extended by a bug is an error, not a silently
//! different value.
//!
//! The trait is sealed: the codec id is part of the on-disk format, and a user-defined codec
//! could pick an id that collides with a built-in one (or with another user's) and make stored
//! values decode as garbage. New codecs are added here, with an id of their own.

use emdb_core::BoxError;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(feature = "bincode")]
use crate::dynamic::Shaped;
use crate::dynamic::{Value, read_shaped};
use crate::shape::Shape;

mod sealed {
    /// Keeps [`Codec`](super::Codec) implementable only inside this crate.
    pub trait Sealed {}
}

/// A value encoding for typed tables. Sealed: pick one of [`Postcard`], [`Bincode`] or [`Json`].
///
/// # Examples
///
/// ```
/// use emdb::{Codec, Json, Postcard};
///
/// let mut bytes = Vec::new();
/// Postcard::encode_into(&(1u8, "two"), &mut bytes)?;
/// assert_eq!(bytes, [1, 3, b't', b'w', b'o']);
/// let back: (u8, String) = Postcard::decode(&bytes)?;
/// assert_eq!(back, (1, "two".to_owned()));
/// assert_eq!(Json::encode(&(1u8, "two"))?, br#"[1,"two"]"#);
/// # Ok::<(), emdb::BoxError>(())
/// ```
pub trait Codec: sealed::Sealed + Send + Sync + 'static + Default + Copy + std::fmt::Debug {
    /// The codec's stable id, written into each stored value's header.
    const ID: u8;

    /// The codec's name, for error messages and table metadata.
    const NAME: &'static str;

    /// Appends the encoding of `value` to `out`.
    ///
    /// On error, `out` is left as it was before the call.
    ///
    /// # Errors
    ///
    /// The codec's error if `value`'s `Serialize` implementation fails or uses a shape the codec
    /// cannot write (postcard and bincode need sequence lengths up front, for example).
    fn encode_into<V: Serialize + ?Sized>(value: &V, out: &mut Vec<u8>) -> Result<(), BoxError>;

    /// Decodes a value from exactly `bytes`.
    ///
    /// # Errors
    ///
    /// The codec's error if the bytes are not one complete encoding of a `V` (truncated, trailing
    /// bytes, wrong type, or written by another codec). Never panics.
    fn decode<V: DeserializeOwned>(bytes: &[u8]) -> Result<V, BoxError>;

    /// Encodes `value` into a new buffer.
    ///
    /// # Errors
    ///
    /// The same as [`encode_into`](Self::encode_into).
    fn encode<V: Serialize + ?Sized>(value: &V) -> Result<Vec<u8>, BoxError> {
        let mut out = Vec::new();
        Self::encode_into(value, &mut out)?;
        Ok(out)
    }
}

/// The codec ids, also of the codecs a build leaves out (see the module documentation).
pub(crate) mod id {
    /// [`Postcard`](super::Postcard).
    pub(crate) const POSTCARD: u8 = 1;
    /// [`Bincode`](super::Bincode), feature `bincode`.
    pub(crate) const BINCODE: u8 = 2;
    /// [`Json`](super::Json), feature `json`.
    pub(crate) const JSON: u8 = 3;
}

/// Returns the name of the codec with id `id`, or `None` if no codec has that id. Codecs a
/// build leaves out (features `bincode`, `json`) are named too.
///
/// # Examples
///
/// ```
/// use emdb::{Codec, Postcard, codec_name};
///
/// assert_eq!(codec_name(Postcard::ID), Some("postcard"));
/// assert_eq!(codec_name(3), Some("json"));
/// assert_eq!(codec_name(0), None);
/// ```
pub fn codec_name(codec_id: u8) -> Option<&'static str> {
    match codec_id {
        id::POSTCARD => Some("postcard"),
        id::BINCODE => Some("bincode"),
        id::JSON => Some("json"),
        _ => None,
    }
}

/// Whether codec `C` reports itself human-readable to serde (JSON does), which changes how some
/// types serialize; shapes are traced and dynamic values read with the same setting.
pub(crate) fn human_readable<C: Codec>() -> bool {
    C::ID == id::JSON
}

/// Decodes exactly `bytes`, written by codec `C`, through `shape` into a dynamic value.
///
/// # Errors
/// The codec's error if the bytes are not one complete value of `shape`.
pub(crate) fn decode_shaped<C: Codec>(bytes: &[u8], shape: &Shape) -> Result<Value, BoxError> {
    decode_shaped_as(C::ID, bytes, shape)
}

/// Decodes exactly `bytes`, written by the codec with id `codec_id`, through `shape` into a
/// dynamic value.
///
/// # Errors
/// The codec's error if the bytes are not one complete value of `shape`; an error naming the
/// feature when the codec is left out of this build, or the id when no codec has it.
pub(crate) fn decode_shaped_as(
    codec_id: u8,
    bytes: &[u8],
    shape: &Shape,
) -> Result<Value, BoxError> {
    let name = codec_name(codec_id).unwrap_or("unknown");
    let trailing = |count: usize| -> BoxError { Box::new(TrailingBytes { codec: name, count }) };
    match codec_id {
        id::POSTCARD => {
            let mut de = postcard::Deserializer::from_bytes(bytes);
            let value = read_shaped(shape, &mut de)?;
            match de.finalize()? {
                [] => Ok(value),
                rest => Err(trailing(rest.len())),
            }
        }
        #[cfg(feature = "bincode")]
        id::BINCODE => {
            let config = bincode::config::standard().with_limit::<BINCODE_DECODE_LIMIT>();
            let (value, read) =
                bincode::serde::seed_decode_from_slice(Shaped(shape), bytes, config)?;
            match bytes.len().checked_sub(read) {
                Some(0) => Ok(value),
                _ => Err(trailing(bytes.len().saturating_sub(read))),
            }
        }
        #[cfg(feature = "json")]
        id::JSON => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let value = read_shaped(shape, &mut de)?;
            de.end()?;
            Ok(value)
        }
        other => Err(Box::new(CodecUnavailable { id: other, name: codec_name(other) })),
    }
}

/// The error for values of a codec this build leaves out, or of an id no codec has.
#[derive(Debug, thiserror::Error)]
#[error("{}", match name {
    Some(name) => format!("the value was written by the {name} codec, which this build leaves out: enable emdb's `{name}` feature"),
    None => format!("the value was written by an unknown codec (id {id})"),
})]
struct CodecUnavailable {
    id: u8,
    name: Option<&'static str>,
}

/// Runs `encode` on `out` and cuts `out` back to its original length if it fails.
fn restore_on_error(
    out: &mut Vec<u8>,
    encode: impl FnOnce(&mut Vec<u8>) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    let start = out.len();
    encode(out).inspect_err(|_| out.truncate(start))
}

/// The error a codec returns when bytes follow a complete value.
#[derive(Debug, thiserror::Error)]
#[error("{count} trailing bytes after a complete {codec} value")]
struct TrailingBytes {
    codec: &'static str,
    count: usize,
}

/// The [postcard](https://docs.rs/postcard) codec: compact, with a specified wire format. The
/// default codec of typed tables.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Postcard;

/// Lets postcard append to a borrowed `Vec` (its `to_extend` takes the writer by value).
struct Append<'a>(&'a mut Vec<u8>);

impl Extend<u8> for Append<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl sealed::Sealed for Postcard {}

impl Codec for Postcard {
    const ID: u8 = id::POSTCARD;
    const NAME: &'static str = "postcard";

    fn encode_into<V: Serialize + ?Sized>(value: &V, out: &mut Vec<u8>) -> Result<(), BoxError> {
        restore_on_error(out, |out| {
            postcard::to_extend(value, Append(out))?;
            Ok(())
        })
    }

    fn decode<V: DeserializeOwned>(bytes: &[u8]) -> Result<V, BoxError> {
        let (value, rest) = postcard::take_from_bytes(bytes)?;
        if rest.is_empty() {
            Ok(value)
        } else {
            Err(Box::new(TrailingBytes { codec: Self::NAME, count: rest.len() }))
        }
    }
}

/// The [bincode](https://docs.rs/bincode) 2.0.1 codec, through its serde API with
/// `bincode::config::standard()` (little-endian, varint integers).
///
/// Decoding runs with bincode's memory limit set to 1 GiB: bincode allocates a container's full
/// declared length before reading its contents, so without a limit a corrupt length prefix could
/// request an allocation of up to 2⁶⁴ bytes and abort the process. The limit counts bincode's
/// estimate of the decoded size in memory; a value beyond it fails to decode with an error. The
/// limit does not change the wire format.
///
/// Needs the `bincode` feature (on by default).
#[cfg(feature = "bincode")]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bincode;

/// The most memory, in bytes, bincode may claim while decoding one value.
#[cfg(feature = "bincode")]
const BINCODE_DECODE_LIMIT: usize = 1 << 30;

#[cfg(feature = "bincode")]
impl sealed::Sealed for Bincode {}

#[cfg(feature = "bincode")]
impl Codec for Bincode {
    const ID: u8 = id::BINCODE;
    const NAME: &'static str = "bincode";

    fn encode_into<V: Serialize + ?Sized>(value: &V, out: &mut Vec<u8>) -> Result<(), BoxError> {
        restore_on_error(out, |out| {
            bincode::serde::encode_into_std_write(value, out, bincode::config::standard())?;
            Ok(())
        })
    }

    fn decode<V: DeserializeOwned>(bytes: &[u8]) -> Result<V, BoxError> {
        let config = bincode::config::standard().with_limit::<BINCODE_DECODE_LIMIT>();
        let (value, read) = bincode::serde::decode_from_slice(bytes, config)?;
        match bytes.len().checked_sub(read) {
            Some(0) => Ok(value),
            _ => Err(Box::new(TrailingBytes {
                codec: Self::NAME,
                count: bytes.len().saturating_sub(read),
            })),
        }
    }
}

/// The JSON codec ([`serde_json`]): self-describing, so it handles `#[serde(flatten)]`,
/// `#[serde(untagged)]`, internally tagged enums and `skip_serializing_if`; readable when
/// debugging; larger and slower than the binary codecs.
///
/// Finite floats round-trip exactly (`serde_json`'s `float_roundtrip` feature is enabled).
/// JSON has a single `null`: `Some(None)` in an `Option<Option<T>>` decodes as `None`, and
/// non-finite floats (`NaN`, `±inf`) are written as `null` and then fail to decode as a float.
/// Map keys must serialize as strings (or integers), else encoding fails.
///
/// Needs the `json` feature (on by default).
#[cfg(feature = "json")]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Json;

#[cfg(feature = "json")]
impl sealed::Sealed for Json {}

#[cfg(feature = "json")]
impl Codec for Json {
    const ID: u8 = id::JSON;
    const NAME: &'static str = "json";

    fn encode_into<V: Serialize + ?Sized>(value: &V, out: &mut Vec<u8>) -> Result<(), BoxError> {
        restore_on_error(out, |out| Ok(serde_json::to_writer(out, value)?))
    }

    fn decode<V: DeserializeOwned>(bytes: &[u8]) -> Result<V, BoxError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}

#[cfg(all(test, feature = "bincode", feature = "json"))]
mod tests {
    use super::*;

    #[test]
    fn codec_ids_are_distinct_and_nonzero() {
        let ids = [Postcard::ID, Bincode::ID, Json::ID];
        assert!(!ids.contains(&0));
        assert_eq!((ids[0], ids[1], ids[2]), (1, 2, 3), "codec ids are part of the file format");
        assert_eq!(codec_name(Postcard::ID), Some("postcard"));
        assert_eq!(codec_name(Bincode::ID), Some("bincode"));
        assert_eq!(codec_name(Json::ID), Some("json"));
        assert_eq!(codec_name(4), None);
    }

    #[test]
    fn a_failed_encode_leaves_the_buffer_as_it_was() {
        // Postcard and bincode need sequence lengths up front; a filtered iterator has none.
        // serde_json fails on a map key that is not a string.
        struct Unsized;
        impl Serialize for Unsized {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(std::iter::from_fn(|| Some(1u8)).take(3).filter(|_| true))
            }
        }
        let mut out = vec![9];
        assert!(Postcard::encode_into(&Unsized, &mut out).is_err());
        assert_eq!(out, [9]);
        assert!(Bincode::encode_into(&Unsized, &mut out).is_err());
        assert_eq!(out, [9]);
        let map = std::collections::BTreeMap::from([((1u8, 2u8), "pair keys are not JSON")]);
        assert!(Json::encode_into(&(7u8, map), &mut out).is_err());
        assert_eq!(out, [9]);
    }
}
