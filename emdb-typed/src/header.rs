//! The value header: the codec id and schema version in front of every stored typed value.
//!
//! ```text
//! offset  size   field
//! 0       1      codec id (see crate::codec: 1 = postcard, 2 = bincode, 3 = json; 0 reserved)
//! 1       1..=5  schema version, a u32 in unsigned LEB128: 7 bits per byte, least
//!                significant group first, high bit set on every byte but the last;
//!                the shortest form only (no trailing 0x80 … 0x00 padding)
//! 2..=6   rest   the codec's payload
//! ```
//!
//! Examples: codec 1, version 0 is `01 00`; codec 3, version 300 is `03 ac 02`; codec 2, version
//! `u32::MAX` is `02 ff ff ff ff 0f`.
//!
//! Tables and groups frame a value with [`encode_framed`] and read one back through one check,
//! [`check_header`]: the header parses, its codec is the reader's, and its schema version is not
//! newer than the reader's.

use emdb_core::{BoxError, Error, Result};
use serde::Serialize;

use crate::codec::{Codec, codec_name};

/// The longest header: one codec byte and a five-byte version.
pub const MAX_HEADER_LEN: usize = CODEC_LEN + MAX_VERSION_LEN;

const CODEC_LEN: usize = 1;
const MAX_VERSION_LEN: usize = 5;

/// The parsed header of a stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The [`Codec::ID`](crate::Codec::ID) of the codec that wrote the payload.
    pub codec_id: u8,
    /// The schema version of the value type that wrote the payload.
    pub schema_version: u32,
}

/// Appends the header for a value written by codec `codec_id` at schema version `version` to
/// `out`; the codec's payload follows it.
///
/// # Examples
///
/// ```
/// use emdb::{Codec, Json, write_header};
///
/// let mut value = Vec::new();
/// write_header(Json::ID, 300, &mut value);
/// assert_eq!(value, [3, 0xac, 0x02]);
/// ```
pub fn write_header(codec_id: u8, version: u32, out: &mut Vec<u8>) {
    out.push(codec_id);
    let mut rest = version;
    loop {
        let low = u8::try_from(rest & 0x7f).unwrap_or_default();
        rest >>= 7;
        if rest == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// Splits a stored value into its header and the codec payload after it.
///
/// # Errors
///
/// [`Error::Decode`] with an empty table name and key (the caller knows them and fills them in)
/// if `bytes` is empty, the version is cut off, longer than five bytes, larger than `u32::MAX` or
/// not in its shortest form. Never panics.
///
/// # Examples
///
/// ```
/// use emdb::{Header, read_header};
///
/// let (header, payload) = read_header(&[1, 0xac, 0x02, 42])?;
/// assert_eq!(header, Header { codec_id: 1, schema_version: 300 });
/// assert_eq!(payload, [42]);
/// assert!(read_header(&[1, 0xac]).is_err());
/// # Ok::<(), emdb::Error>(())
/// ```
pub fn read_header(bytes: &[u8]) -> Result<(Header, &[u8])> {
    parse(bytes).map_err(unlocated)
}

/// A value framed for storage: the header (codec `C`, schema `version`), then `C`'s payload.
///
/// # Errors
/// What `C` reports if it cannot encode `value`.
pub(crate) fn encode_framed<C: Codec, T: Serialize + ?Sized>(
    version: u32,
    value: &T,
) -> std::result::Result<Vec<u8>, BoxError> {
    // Room for the header and a small payload, so that small values need one allocation.
    let mut out = Vec::with_capacity(64);
    write_header(C::ID, version, &mut out);
    C::encode_into(value, &mut out)?;
    Ok(out)
}

/// Splits a value stored for a reader with codec `C` at schema version `known` into its header
/// and payload, checking that the header parses, that `C` wrote it and that its version is not
/// newer than `known`.
///
/// # Errors
///
/// As [`read_header`], and: [`Error::Decode`] if another codec wrote the value;
/// [`Error::UnknownSchemaVersion`] if its version is newer than `known`. Both with an empty table
/// name and key, which the caller fills in.
pub(crate) fn check_header<C: Codec>(stored: &[u8], known: u32) -> Result<(Header, &[u8])> {
    let (header, payload) = read_header(stored)?;
    if header.codec_id != C::ID {
        return Err(unlocated(HeaderError::WrongCodec {
            found: codec_name(header.codec_id).unwrap_or("unknown"),
            found_id: header.codec_id,
            expected: C::NAME,
            expected_id: C::ID,
        }));
    }
    if header.schema_version > known {
        return Err(Error::UnknownSchemaVersion {
            table: String::new(),
            found: header.schema_version,
            known,
        });
    }
    Ok((header, payload))
}

/// A decode error whose table and key the caller fills in.
fn unlocated(source: HeaderError) -> Error {
    Error::Decode {
        table: String::new(),
        key: Vec::new(),
        key_text: None,
        source: Box::new(source),
    }
}

/// What is wrong with a value header, for the type reading it.
#[derive(Debug, thiserror::Error)]
enum HeaderError {
    #[error("the stored value is empty; it has no header")]
    Empty,
    #[error("the value header ends inside its schema version after {len} bytes")]
    Truncated { len: usize },
    #[error("the schema version in the value header does not fit in a u32")]
    Overflow,
    #[error("the schema version in the value header is not in its shortest form")]
    NotMinimal,
    #[error(
        "the value was written by the {found} codec but is read with {expected} (codec id {found_id}, expected {expected_id}); read it with the codec that wrote it"
    )]
    WrongCodec { found: &'static str, found_id: u8, expected: &'static str, expected_id: u8 },
}

fn parse(bytes: &[u8]) -> Result<(Header, &[u8]), HeaderError> {
    let (&codec_id, rest) = bytes.split_first().ok_or(HeaderError::Empty)?;
    let mut version: u32 = 0;
    for (index, &byte) in rest.iter().take(MAX_VERSION_LEN).enumerate() {
        let group = u32::from(byte & 0x7f);
        let shift = 7 * index;
        if index == MAX_VERSION_LEN - 1 && group > (u32::MAX >> shift) {
            return Err(HeaderError::Overflow);
        }
        version |= group << shift;
        if byte & 0x80 == 0 {
            if byte == 0 && index > 0 {
                return Err(HeaderError::NotMinimal);
            }
            let payload = rest.get(index + 1..).unwrap_or_default();
            return Ok((Header { codec_id, schema_version: version }, payload));
        }
    }
    if rest.len() >= MAX_VERSION_LEN {
        Err(HeaderError::Overflow)
    } else {
        Err(HeaderError::Truncated { len: bytes.len() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_bytes(codec_id: u8, version: u32) -> Vec<u8> {
        let mut out = Vec::new();
        write_header(codec_id, version, &mut out);
        out
    }

    #[test]
    fn header_layout_is_fixed() {
        assert_eq!(header_bytes(1, 0), [1, 0x00]);
        assert_eq!(header_bytes(2, 127), [2, 0x7f]);
        assert_eq!(header_bytes(2, 128), [2, 0x80, 0x01]);
        assert_eq!(header_bytes(3, 300), [3, 0xac, 0x02]);
        assert_eq!(header_bytes(2, u32::MAX), [2, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(header_bytes(2, u32::MAX).len(), MAX_HEADER_LEN);
    }

    #[test]
    fn headers_round_trip_and_leave_the_payload() {
        let versions = [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 1 << 28, u32::MAX];
        for version in versions {
            for codec_id in [0, 1, 3, 255] {
                let mut bytes = header_bytes(codec_id, version);
                bytes.extend_from_slice(b"payload");
                let (header, payload) = read_header(&bytes).unwrap();
                assert_eq!(header, Header { codec_id, schema_version: version });
                assert_eq!(payload, b"payload");
            }
        }
    }

    #[test]
    fn an_empty_payload_is_allowed() {
        let (header, payload) = read_header(&[1, 5]).unwrap();
        assert_eq!(header.schema_version, 5);
        assert!(payload.is_empty());
    }

    #[test]
    fn every_truncation_of_a_header_is_an_error() {
        let bytes = header_bytes(1, u32::MAX);
        for len in 0..bytes.len() {
            let err = read_header(&bytes[..len]).unwrap_err();
            assert!(matches!(err, Error::Decode { .. }), "{len}: {err}");
        }
    }

    #[test]
    fn oversized_and_padded_versions_are_errors() {
        // Six version bytes.
        assert!(matches!(
            parse(&[1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
            Err(HeaderError::Overflow)
        ));
        // Five bytes whose top group overflows a u32.
        assert!(matches!(parse(&[1, 0xff, 0xff, 0xff, 0xff, 0x10]), Err(HeaderError::Overflow)));
        // 0 written in two bytes.
        assert!(matches!(parse(&[1, 0x80, 0x00]), Err(HeaderError::NotMinimal)));
        assert!(matches!(parse(&[]), Err(HeaderError::Empty)));
        assert!(matches!(parse(&[1, 0x80]), Err(HeaderError::Truncated { len: 2 })));
    }

    #[test]
    fn the_check_refuses_another_codec_and_a_newer_version_and_passes_the_rest() {
        use crate::codec::{Json, Postcard};

        let mut stored = header_bytes(Json::ID, 2);
        stored.push(b'7');
        let (header, payload) = check_header::<Json>(&stored, 2).unwrap();
        assert_eq!((header.schema_version, payload), (2, &b"7"[..]));
        assert!(check_header::<Json>(&stored, 3).is_ok(), "an older version is the caller's");
        let err = check_header::<Postcard>(&stored, 2).unwrap_err();
        assert!(matches!(err, Error::Decode { ref table, .. } if table.is_empty()), "{err}");
        assert!(err.to_string().contains("json codec but is read with postcard"), "{err}");
        assert!(matches!(
            check_header::<Json>(&stored, 1),
            Err(Error::UnknownSchemaVersion { found: 2, known: 1, .. })
        ));
        assert!(matches!(check_header::<Json>(&[3], 1), Err(Error::Decode { .. })));
    }

    #[test]
    fn reading_arbitrary_bytes_never_panics() {
        // Every input of up to three bytes, plus long runs of continuation bytes.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let _ = read_header(&[a, b]);
                let _ = read_header(&[a, b, 0x80]);
                let _ = read_header(&[a, b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
            }
        }
        assert!(read_header(&[0xff; 64]).is_err());
    }
}
