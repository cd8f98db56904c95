//! The leaf layout of formats 1 and 2 (type 2; read, never written): the entry head and value
//! part that [`Leaf`](super::leaf::Leaf) decodes when a leaf's type says it is an old one, and,
//! for tests, the encoder and builder of old leaves.
//!
//! The page is laid out as a compact leaf is (header, slot table, entries in key order); its
//! entries are fixed-width:
//!
//! ```text
//! entry with an expiry (kind byte < 0x80):
//! +0         +2     +3              +11        +11+k
//! +----------+------+---------------+----------+------------------------------+
//! | key_len  | kind | expires_at    | key      | value part                   |
//! |   u16    |  u8  |   u64 (ms)    | [key_len]|                              |
//! +----------+------+---------------+----------+------------------------------+
//!
//! entry without one (kind byte has bit 0x80 set; format 2):
//! +0         +2     +3         +3+k
//! +----------+------+----------+------------------------------+
//! | key_len  | kind | key      | value part                   |
//! |   u16    |  u8  | [key_len]|                              |
//! +----------+------+----------+------------------------------+
//!
//! kind & 0x7f = 0 inline:   len u16, bytes[len]
//! kind & 0x7f = 1 record:   page u64, offset u16, len u32     (a record in a type-5 page)
//! kind & 0x7f = 2 overflow: page u64, len u32                 (an overflow run)
//! ```
//!
//! Format 1 always stored the expiry (0 for none), so its entries are format-2 entries with the
//! expiry present. The page type tells a reader which entry layout a leaf holds; a leaf is
//! written in one layout only.

use super::PageError;
use super::value::{ValueLoc, ValueRef};
#[cfg(test)]
use super::{PageBuf, PageType, u16_of};
use super::{get_u16, get_u32, get_u64};

/// Offset of the key length in a fixed-layout leaf entry.
const E_KEY_LEN: usize = 0;
/// Offset of the value kind in a fixed-layout leaf entry.
const E_KIND: usize = E_KEY_LEN + 2;
/// Offset of the expiry in a fixed-layout leaf entry.
const E_EXPIRES: usize = E_KIND + 1;
/// Offset of the key bytes in a fixed-layout leaf entry that stores an expiry (right after the
/// kind byte when it stores none).
#[cfg(test)]
const E_KEY: usize = E_EXPIRES + 8;

/// Value kinds of a fixed-layout entry (the kind byte with [`KIND_NO_EXPIRY`] removed): an
/// inline value.
const KIND_INLINE: u8 = 0;
/// A record in a value page of formats 1 and 2.
const KIND_RECORD: u8 = 1;
/// A value in an overflow run.
const KIND_OVERFLOW: u8 = 2;
/// Set in the kind byte of a fixed-layout entry that stores no expiry (format 2).
const KIND_NO_EXPIRY: u8 = 0x80;

/// Reads the head of the fixed-layout entry `e` (the bytes from the entry's start to the page's
/// end): the key length, the value kind (`KIND_*`, the flag removed), whether an expiry is
/// stored, and the offset where the expiry would be (the key follows it, or that offset when
/// none is stored).
#[expect(
    clippy::inline_always,
    reason = "per entry of every scan of an old leaf; see `Head::read`, which it is part of"
)]
#[inline(always)]
pub(super) fn read_head(e: &[u8]) -> Result<(usize, u8, bool, usize), PageError> {
    let len = get_u16(e, E_KEY_LEN)
        .ok_or(PageError::Truncated { what: "entry header out of the page" })?;
    let kind = e
        .get(E_KIND)
        .copied()
        .ok_or(PageError::Truncated { what: "entry header out of the page" })?;
    if kind & !KIND_NO_EXPIRY > KIND_OVERFLOW {
        return Err(PageError::UnknownValueKind { kind: kind & !KIND_NO_EXPIRY });
    }
    Ok((usize::from(len), kind & !KIND_NO_EXPIRY, kind & KIND_NO_EXPIRY == 0, E_EXPIRES))
}

/// Decodes the value part (of kind `kind`) at `v` of the fixed-layout entry `e` (bounded by
/// `e`); returns it and the offset just past it.
#[expect(
    clippy::inline_always,
    reason = "per entry of every scan of an old leaf; see `leaf::decode_value`, which it is \
              part of"
)]
#[inline(always)]
pub(super) fn decode_value(
    kind: u8,
    e: &[u8],
    v: usize,
) -> Result<(ValueRef<'_>, usize), PageError> {
    match kind {
        KIND_INLINE => {
            let len =
                usize::from(get_u16(e, v).ok_or(PageError::Truncated { what: "inline length" })?);
            let end = v + 2 + len;
            let bytes = e
                .get(v + 2..end)
                .ok_or(PageError::Truncated { what: "inline value out of the page" })?;
            Ok((ValueRef::Inline(bytes), end))
        }
        KIND_RECORD => {
            let loc = ValueLoc::Record {
                page: get_u64(e, v).ok_or(PageError::Truncated { what: "value page" })?,
                offset: get_u16(e, v + 8).ok_or(PageError::Truncated { what: "value offset" })?,
                len: get_u32(e, v + 10).ok_or(PageError::Truncated { what: "value length" })?,
            };
            Ok((ValueRef::Stored(loc), v + 14))
        }
        KIND_OVERFLOW => {
            let loc = ValueLoc::Overflow {
                page: get_u64(e, v).ok_or(PageError::Truncated { what: "overflow page" })?,
                len: get_u32(e, v + 8).ok_or(PageError::Truncated { what: "overflow length" })?,
            };
            Ok((ValueRef::Stored(loc), v + 12))
        }
        kind => Err(PageError::UnknownValueKind { kind }),
    }
}

/// The offset just past the value part (of kind `kind`) at `v` of the fixed-layout entry `e`,
/// without decoding it (not checked against the end of `e`).
#[inline]
pub(super) fn value_end(kind: u8, e: &[u8], v: usize) -> Result<usize, PageError> {
    match kind {
        KIND_INLINE => Ok(v
            + 2
            + usize::from(get_u16(e, v).ok_or(PageError::Truncated { what: "inline length" })?)),
        KIND_RECORD => Ok(v + 14),
        KIND_OVERFLOW => Ok(v + 12),
        _ => decode_value(kind, e, v).map(|(_, end)| end),
    }
}

/// Appends the encoding of a leaf entry in the fixed layout of formats 1 and 2 (type-2
/// leaves), which this program only reads: tests build old leaves with it. A location in a
/// bare value page has no such encoding: `false`, nothing appended.
#[cfg(test)]
pub(crate) fn encode_fixed_leaf_entry(
    out: &mut Vec<u8>,
    key: &[u8],
    expires_at: u64,
    v: ValueRef<'_>,
) -> bool {
    let kind = match v {
        ValueRef::Inline(_) => KIND_INLINE,
        ValueRef::Stored(ValueLoc::Record { .. }) => KIND_RECORD,
        ValueRef::Stored(ValueLoc::Overflow { .. }) => KIND_OVERFLOW,
        ValueRef::Stored(ValueLoc::Packed { .. }) => return false,
    };
    out.extend_from_slice(&u16_of(key.len()).to_le_bytes());
    if expires_at == 0 {
        out.push(kind | KIND_NO_EXPIRY);
    } else {
        out.push(kind);
        out.extend_from_slice(&expires_at.to_le_bytes());
    }
    out.extend_from_slice(key);
    match v {
        ValueRef::Inline(bytes) => {
            out.extend_from_slice(&u16_of(bytes.len()).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        ValueRef::Stored(
            ValueLoc::Record { page, offset, len } | ValueLoc::Packed { page, offset, len },
        ) => {
            out.extend_from_slice(&page.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
        ValueRef::Stored(ValueLoc::Overflow { page, len }) => {
            out.extend_from_slice(&page.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
    }
    true
}

/// Builds a leaf page of formats 1 and 2 (type 2) from raw fixed-layout entries, as the
/// tests' old files hold.
#[cfg(test)]
pub(crate) fn build_fixed_leaf<'e>(entries: impl ExactSizeIterator<Item = &'e [u8]>) -> PageBuf {
    super::leaf::build_leaf_of(PageType::Leaf, entries)
}

#[cfg(test)]
mod tests {
    use super::super::leaf::{
        Leaf, LeafEntry, LeafLayout, TAG_EXPIRY, encode_leaf_entry, parse_leaf_entry,
        parse_leaf_entry_in,
    };
    use super::super::value::{ValueLoc, ValueRef};
    use super::*;

    /// Decodes a raw entry of the fixed layout (type-2 leaves).
    fn fixed(raw: &[u8]) -> Result<LeafEntry<'_>, PageError> {
        parse_leaf_entry_in(LeafLayout::Fixed, raw)
    }

    #[test]
    fn an_entry_that_never_expires_skips_the_expiry_and_format_1_entries_still_decode() {
        let loc = ValueRef::Stored(ValueLoc::Record { page: 9, offset: 16, len: 150 });
        let (mut with, mut without) = (Vec::new(), Vec::new());
        assert!(encode_fixed_leaf_entry(&mut with, b"key", 77, loc));
        assert!(encode_fixed_leaf_entry(&mut without, b"key", 0, loc));
        assert_eq!(with.len(), without.len() + 8);
        assert_eq!(fixed(&without).unwrap().expires_at, 0);
        assert_eq!(fixed(&with).unwrap().expires_at, 77);
        // Format 1 wrote every entry with its expiry, 0 for none, and no flag.
        let mut v1 = with.clone();
        v1[E_EXPIRES..E_EXPIRES + 8].copy_from_slice(&0u64.to_le_bytes());
        let e = fixed(&v1).unwrap();
        assert_eq!((e.key, e.expires_at, e.value), (&b"key"[..], 0, loc));
        assert_eq!(&v1[E_KEY..E_KEY + 3], b"key");
        let page = build_fixed_leaf(
            [v1.clone(), {
                let mut e = Vec::new();
                assert!(encode_fixed_leaf_entry(&mut e, b"key2", 0, ValueRef::Inline(b"v")));
                e
            }]
            .iter()
            .map(Vec::as_slice),
        );
        let leaf = Leaf::new(&page[..]).unwrap();
        assert_eq!(leaf.layout(), LeafLayout::Fixed);
        assert_eq!(leaf.key(0).unwrap(), b"key");
        assert_eq!(leaf.key(1).unwrap(), b"key2");
        assert_eq!(leaf.raw(0).unwrap(), &v1[..]);
        assert_eq!(leaf.entry(0).unwrap().value, loc, "kind 1 of a fixed leaf is a record");
        assert_eq!(leaf.value_start(0), Some((9, 16)));
        assert_eq!(leaf.value_start(1), None);
        assert_eq!(leaf.entry(1).unwrap().value, ValueRef::Inline(b"v"));
        // The same bytes in a compact leaf are not the same entries.
        let mut as_compact = page.clone();
        as_compact[crate::page::TYPE_OFFSET] = PageType::CompactLeaf as u8;
        let compact = Leaf::new(&as_compact[..]).unwrap();
        assert_ne!(compact.entry(0).ok(), leaf.entry(0).ok());
        // An unknown kind stays an error with the flag set or not (kind 3 is known to compact
        // leaves only, which have no other).
        v1[E_KIND] = 3 | KIND_NO_EXPIRY;
        assert!(fixed(&v1).is_err());
        v1[E_KIND] = 3;
        assert!(fixed(&v1).is_err());
        // A compact entry never stores an expiry of 0 (it leaves the expiry out instead).
        let mut c = Vec::new();
        encode_leaf_entry(&mut c, b"key", 9, ValueRef::Inline(b"v")).unwrap();
        assert_eq!(c[0] & TAG_EXPIRY, TAG_EXPIRY);
        assert_eq!(parse_leaf_entry(&c).unwrap().expires_at, 9);
        c[1..9].copy_from_slice(&0u64.to_le_bytes());
        assert!(parse_leaf_entry(&c).unwrap_err().to_string().contains("expiry of 0"));
        // A location past its page has no compact encoding.
        let mut out = vec![1, 2];
        let past = ValueRef::Stored(ValueLoc::Record { page: 9, offset: 4096, len: 1 });
        assert!(encode_leaf_entry(&mut out, b"key", 0, past).is_err());
        assert_eq!(out, [1, 2], "nothing appended");
        // A page of another type is no leaf.
        let mut other = page.clone();
        other[crate::page::TYPE_OFFSET] = PageType::Branch as u8;
        assert!(Leaf::new(&other[..]).is_err());
    }
}
