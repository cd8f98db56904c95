//! Leaf pages: the compact layout this program writes (type 8, format 3), the bounded reader of
//! both leaf layouts and the leaf builder. The fixed layout of formats 1 and 2 (type 2) is in
//! `legacy_leaf.rs`.
//!
//! Compact leaf page (type 8, format 3; the only leaf layout this program writes):
//!
//! ```text
//! 0          16                16+2n
//! +----------+-----------------+---------------------------------------------+
//! |  header  | slot[n]: u16    | entries, in key order                       |
//! | (type 8) | entry offsets   |                                             |
//! +----------+-----------------+---------------------------------------------+
//!
//! entry:
//! +0      +1                   +1(+v)                  +1(+v)(+8)
//! +-------+--------------------+-----------------------+-----------+--------------+
//! |  tag  | key_len - 31       | expires_at u64 (ms)   | key       | value part   |
//! |  u8   | varint, only when  | only when the tag has | [key_len] |              |
//! |       | the tag says 31    | bit 2 set             |           |              |
//! +-------+--------------------+-----------------------+-----------+--------------+
//!
//! tag: bits 7..3 the key length 0..30, or 31 when it is longer (the rest follows as a varint)
//!      bit 2     the entry stores an expiry (a key that never expires stores none)
//!      bits 1..0 the value kind:
//!
//! 0 inline:   len varint, bytes[len]
//! 1 packed:   page varint, span varint   (bytes in a bare value page, type 7)
//! 2 overflow: page varint, len varint    (an overflow run)
//! 3 record:   page varint, span varint   (a record in a value page of formats 1-2, type 5)
//!
//! span = len * 4096 + offset (offset < 4096: where the value, or record, starts in its page)
//! ```
//!
//! Varints are unsigned LEB128 in their shortest form (`page::get_varint` refuses any other),
//! and every field has one encoding (a short key in the tag, a stored expiry never 0), so an
//! entry is exactly `encode(decode(entry))`. A 28-byte key with a 150-byte value in a value
//! page of a file below 8 GiB takes 35 bytes and its slot 2, where the fixed layout
//! (`legacy_leaf.rs`) takes 45 and 2: the tag holds the key length and the kind, the page
//! number takes 3 bytes, and the span 3 (two for the offset and two for the length would be 4). Kind 3 exists for the values
//! of a format-1 or format-2 file: a checkpoint that rewrites an old leaf writes it in this
//! layout, but its values stay where they are (in type-5 pages) until compaction, or a checkpoint
//! emptying their page, moves them.
//!
//! An entry is self-contained bytes, so rewriting a leaf copies unchanged entries verbatim
//! without decoding them (an entry of an old leaf is decoded and encoded again in the compact
//! layout).

use std::cmp::Ordering;

use super::PageError;
use super::legacy_leaf;
use super::value::{ValueLoc, ValueRef};
use super::{
    HEADER_LEN, MAX_KEY_LEN, PAGE_SIZE, PageBuf, PageId, PageType, compare_keys, get_u64,
    get_varint, new_page, put, put_varint, slot, u16_of, varint_len, write_header,
};

/// Value kinds of a compact entry (the tag's kind bits): an inline value.
const KIND_INLINE: u8 = 0;
/// A value in a bare value page.
const KIND_PACKED: u8 = 1;
/// A value in an overflow run.
const KIND_OVERFLOW: u8 = 2;
/// A record in a value page of formats 1 and 2 (compact leaves only).
const KIND_RECORD: u8 = 3;

/// The kind bits of a compact entry's tag.
const TAG_KIND: u8 = 0b11;
/// Set in a compact entry's tag when the entry stores an expiry.
pub(super) const TAG_EXPIRY: u8 = 0b100;
/// The key length field of a compact entry's tag is `tag >> TAG_KEY_SHIFT`.
const TAG_KEY_SHIFT: u32 = 3;
/// The tag's key length that says "longer: the length minus this follows as a varint".
const TAG_LONG_KEY: usize = 31;

/// In a compact location, `span = len * SPAN_LEN_UNIT + offset`.
const SPAN_LEN_UNIT: u64 = PAGE_SIZE as u64;

/// The bytes of a compact entry before its expiry: the tag and, for a long key, the varint.
const fn tag_len(key_len: usize) -> usize {
    if key_len < TAG_LONG_KEY { 1 } else { 1 + varint_len((key_len - TAG_LONG_KEY) as u64) }
}

/// Offset of the slot array in a leaf page.
const L_SLOTS: usize = HEADER_LEN;

/// Bytes of a leaf page available to slots and entries.
pub(crate) const LEAF_SPACE: usize = PAGE_SIZE - L_SLOTS;
/// The largest leaf entry (slot included): two always fit in one leaf, so splits terminate.
pub(crate) const MAX_LEAF_ENTRY: usize = LEAF_SPACE / 2;

/// The size of a compact leaf entry holding `key` with an expiry and an inline value of
/// `value_len` bytes (the largest such an entry can be).
pub(crate) const fn inline_entry_len(key_len: usize, value_len: usize) -> usize {
    tag_len(key_len) + 8 + key_len + varint_len(value_len as u64) + value_len
}

const _: () = assert!(inline_entry_len(MAX_KEY_LEN, 0) + 2 <= MAX_LEAF_ENTRY);

/// One decoded leaf entry, borrowing the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LeafEntry<'a> {
    /// The key (namespace prefix included).
    pub(crate) key: &'a [u8],
    /// Absolute expiry in ms since the Unix epoch, 0 for none.
    pub(crate) expires_at: u64,
    /// The value or its location.
    pub(crate) value: ValueRef<'a>,
}

/// The entry layout of a leaf page, told by its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeafLayout {
    /// Type 2 (formats 1 and 2): `u16` key length, `u64` pages, `u32` lengths.
    Fixed,
    /// Type 8 (format 3): varint lengths and pages.
    Compact,
}

/// Appends the encoding of a leaf entry in the compact layout (the one this program writes)
/// to `out`.
///
/// # Errors
/// A location whose offset is not below 4096 has no compact encoding (no sound file holds
/// one): an error, and `out` is unchanged.
pub(crate) fn encode_leaf_entry(
    out: &mut Vec<u8>,
    key: &[u8],
    expires_at: u64,
    v: ValueRef<'_>,
) -> Result<(), PageError> {
    let (kind, span) = match v {
        ValueRef::Inline(_) => (KIND_INLINE, 0),
        ValueRef::Stored(ValueLoc::Overflow { .. }) => (KIND_OVERFLOW, 0),
        ValueRef::Stored(
            ValueLoc::Packed { offset, len, .. } | ValueLoc::Record { offset, len, .. },
        ) => {
            if u64::from(offset) >= SPAN_LEN_UNIT {
                return Err(PageError::OffsetPastPage { offset });
            }
            let kind = if matches!(v, ValueRef::Stored(ValueLoc::Packed { .. })) {
                KIND_PACKED
            } else {
                KIND_RECORD
            };
            (kind, u64::from(len) * SPAN_LEN_UNIT + u64::from(offset))
        }
    };
    let short = key.len().min(TAG_LONG_KEY);
    let expiry = if expires_at == 0 { 0 } else { TAG_EXPIRY };
    out.push(u8::try_from(short << TAG_KEY_SHIFT).unwrap_or(0xf8) | expiry | kind);
    if short == TAG_LONG_KEY {
        put_varint(out, (key.len() - TAG_LONG_KEY) as u64);
    }
    if expires_at != 0 {
        out.extend_from_slice(&expires_at.to_le_bytes());
    }
    out.extend_from_slice(key);
    match v {
        ValueRef::Inline(bytes) => {
            put_varint(out, bytes.len() as u64);
            out.extend_from_slice(bytes);
        }
        ValueRef::Stored(ValueLoc::Packed { page, .. } | ValueLoc::Record { page, .. }) => {
            put_varint(out, page);
            put_varint(out, span);
        }
        ValueRef::Stored(ValueLoc::Overflow { page, len }) => {
            put_varint(out, page);
            put_varint(out, u64::from(len));
        }
    }
    Ok(())
}

/// What the head of a leaf entry says: where its key lies and what kind of value follows.
#[derive(Debug, Clone, Copy)]
struct Head {
    /// The offset of the key inside the entry.
    key_at: usize,
    /// The key's length, at most [`MAX_KEY_LEN`].
    key_len: usize,
    /// The value kind (`KIND_*`, the layout's flags removed).
    kind: u8,
    /// Whether an expiry is stored right before the key.
    has_expiry: bool,
}

impl Head {
    /// Reads the head of the entry `e` (the bytes from the entry's start to the page's end).
    #[expect(
        clippy::inline_always,
        reason = "per entry of every scan; out of line, its result comes back through memory \
                  in stores of other widths than the caller's loads, which stall store forwarding"
    )]
    #[inline(always)]
    fn read(layout: LeafLayout, e: &[u8]) -> Result<Head, PageError> {
        let (key_len, kind, has_expiry, expiry_at) = match layout {
            LeafLayout::Fixed => legacy_leaf::read_head(e)?,
            LeafLayout::Compact => {
                let tag = e
                    .first()
                    .copied()
                    .ok_or(PageError::Truncated { what: "entry out of the page" })?;
                let short = usize::from(tag >> TAG_KEY_SHIFT);
                let (key_len, at) = if short < TAG_LONG_KEY {
                    (short, 1)
                } else {
                    let (rest, n) =
                        get_varint(e, 1).ok_or(PageError::BadVarint { what: "key length" })?;
                    let len = usize::try_from(rest).ok().and_then(|r| r.checked_add(TAG_LONG_KEY));
                    (len.unwrap_or(usize::MAX), 1 + n)
                };
                (key_len, tag & TAG_KIND, tag & TAG_EXPIRY != 0, at)
            }
        };
        if key_len > MAX_KEY_LEN {
            return Err(PageError::KeyTooLong { what: "key", len: key_len, max: MAX_KEY_LEN });
        }
        let key_at = expiry_at + if has_expiry { 8 } else { 0 };
        Ok(Head { key_at, key_len, kind, has_expiry })
    }

    /// The key, out of the entry `e`.
    #[inline]
    fn key(self, e: &[u8]) -> Result<&[u8], PageError> {
        e.get(self.key_at..self.key_at + self.key_len)
            .ok_or(PageError::Truncated { what: "key out of the page" })
    }

    /// The offset of the value part inside the entry.
    #[inline]
    fn value_at(self) -> usize {
        self.key_at + self.key_len
    }

    /// The expiry stored in the entry `e` (0 when it stores none).
    fn expires_at(self, e: &[u8]) -> Result<u64, PageError> {
        if !self.has_expiry {
            return Ok(0);
        }
        get_u64(e, self.key_at - 8).ok_or(PageError::Truncated { what: "expiry out of the entry" })
    }
}

/// A value length read from a varint, as the `u32` locations hold.
fn varint_u32(e: &[u8], at: usize, what: &'static str) -> Result<(u32, usize), PageError> {
    let (v, n) = get_varint(e, at).ok_or(PageError::BadVarint { what })?;
    let v = u32::try_from(v).map_err(|_| PageError::Over32Bits { what, value: v })?;
    Ok((v, n))
}

/// Decodes the value part (of kind `kind`) at `v` of the entry `e` (bounded by `e`); returns
/// it and the offset just past it.
#[expect(
    clippy::inline_always,
    reason = "per entry of every scan; out of line, its result comes back through memory in \
              stores of other widths than the caller's loads, which stall store forwarding"
)]
#[inline(always)]
fn decode_value(
    layout: LeafLayout,
    kind: u8,
    e: &[u8],
    v: usize,
) -> Result<(ValueRef<'_>, usize), PageError> {
    match layout {
        LeafLayout::Fixed => legacy_leaf::decode_value(kind, e, v),
        LeafLayout::Compact => match kind {
            KIND_INLINE => {
                let (len, n) = varint_u32(e, v, "inline length")?;
                let len = usize::try_from(len).unwrap_or(usize::MAX).min(PAGE_SIZE + 1);
                let start = v + n;
                let bytes = e
                    .get(start..start + len)
                    .ok_or(PageError::Truncated { what: "inline value out of the page" })?;
                Ok((ValueRef::Inline(bytes), start + len))
            }
            KIND_PACKED | KIND_RECORD => {
                let (page, n1) =
                    get_varint(e, v).ok_or(PageError::BadVarint { what: "value page" })?;
                let (span, n2) =
                    get_varint(e, v + n1).ok_or(PageError::BadVarint { what: "value span" })?;
                let len = u32::try_from(span / SPAN_LEN_UNIT)
                    .map_err(|_| PageError::SpanTooLong { span })?;
                let offset = u16::try_from(span % SPAN_LEN_UNIT).unwrap_or(u16::MAX);
                let loc = if kind == KIND_PACKED {
                    ValueLoc::Packed { page, offset, len }
                } else {
                    ValueLoc::Record { page, offset, len }
                };
                Ok((ValueRef::Stored(loc), v + n1 + n2))
            }
            _ => {
                let (page, n1) =
                    get_varint(e, v).ok_or(PageError::BadVarint { what: "overflow page" })?;
                let (len, n2) = varint_u32(e, v + n1, "overflow length")?;
                Ok((ValueRef::Stored(ValueLoc::Overflow { page, len }), v + n1 + n2))
            }
        },
    }
}

/// Decodes the entry at the start of `e` (which may run on past it): the entry and its length.
#[expect(
    clippy::inline_always,
    reason = "per entry of every scan; out of line, its result comes back through memory in \
              stores of other widths than the caller's loads, which stall store forwarding"
)]
#[inline(always)]
fn decode_entry(layout: LeafLayout, e: &[u8]) -> Result<(LeafEntry<'_>, usize), PageError> {
    let head = Head::read(layout, e)?;
    let key = head.key(e)?;
    let expires_at = head.expires_at(e)?;
    if expires_at == 0 && head.has_expiry && layout == LeafLayout::Compact {
        // Format 3 never stores "no expiry" as 0, so every compact entry has one encoding.
        return Err(PageError::ZeroExpiry);
    }
    let (value, end) = decode_value(layout, head.kind, e, head.value_at())?;
    Ok((LeafEntry { key, expires_at, value }, end))
}

/// The length of the value part at `v` of the entry `e`, checked to lie within `e`.
#[inline]
fn value_len(layout: LeafLayout, kind: u8, e: &[u8], v: usize) -> Result<usize, PageError> {
    let end = match layout {
        LeafLayout::Fixed => legacy_leaf::value_end(kind, e, v)?,
        LeafLayout::Compact => decode_value(layout, kind, e, v)?.1,
    };
    if end > e.len() {
        return Err(PageError::Truncated { what: "entry runs past the page end" });
    }
    Ok(end - v)
}

/// The bit of a leaf entry's place ([`Leaf::place`]) that says its leaf has the fixed layout.
pub(crate) const FIXED_PLACE: u16 = 1 << 15;

/// The entry whose place in the leaf `page` is `place` (see [`Leaf::place`]), decoded without
/// reading the leaf's header or slot table: the point index reads a key's entry this way, in a
/// page it has verified and knows to be the key's leaf.
///
/// # Errors
/// The entry's bounds or encoding are wrong.
#[inline]
pub(crate) fn entry_at(page: &[u8], place: u16) -> Result<LeafEntry<'_>, PageError> {
    let layout = if place & FIXED_PLACE == 0 { LeafLayout::Compact } else { LeafLayout::Fixed };
    let off = usize::from(place & !FIXED_PLACE);
    if !(L_SLOTS..PAGE_SIZE).contains(&off) {
        return Err(PageError::BadSlot { i: 0, offset: off });
    }
    let e = page.get(off..).ok_or(PageError::Truncated { what: "entry out of the page" })?;
    Ok(decode_entry(layout, e)?.0)
}

/// A verified leaf page, read without copying.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Leaf<'a> {
    page: &'a [u8],
    n: usize,
    layout: LeafLayout,
}

impl<'a> Leaf<'a> {
    /// Wraps a page whose checksum and type were verified; its type (2 or 8) picks the entry
    /// layout.
    #[inline]
    pub(crate) fn new(page: &'a [u8]) -> Result<Self, PageError> {
        let layout = match super::page_type(page) {
            Some(PageType::CompactLeaf) => LeafLayout::Compact,
            Some(PageType::Leaf) => LeafLayout::Fixed,
            other => return Err(PageError::NotALeaf { found: other }),
        };
        let n = usize::from(super::count(page));
        if L_SLOTS + 2 * n > PAGE_SIZE || page.len() != PAGE_SIZE {
            return Err(PageError::CountTooLarge { what: "leaf entry", count: n });
        }
        Ok(Leaf { page, n, layout })
    }

    /// The number of entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// The layout of the entries.
    #[inline]
    pub(crate) fn layout(&self) -> LeafLayout {
        self.layout
    }

    /// Where entry `i` lies: its byte offset in the page, and the layout (see [`entry_at`]).
    #[inline]
    pub(crate) fn place(&self, i: usize) -> Result<u16, PageError> {
        let off = slot(self.page, L_SLOTS, self.n, i)?;
        let fixed = if self.layout == LeafLayout::Fixed { FIXED_PLACE } else { 0 };
        // `slot` checked the offset against the page size.
        Ok(u16::try_from(off).unwrap_or(u16::MAX) | fixed)
    }

    /// Entry `i` from its start to the end of the page, and its head.
    #[inline]
    fn head(&self, i: usize) -> Result<(&'a [u8], Head), PageError> {
        let off = slot(self.page, L_SLOTS, self.n, i)?;
        let e =
            self.page.get(off..).ok_or(PageError::Truncated { what: "entry out of the page" })?;
        Ok((e, Head::read(self.layout, e)?))
    }

    /// The raw bytes of entry `i`, for copying it unchanged into a new leaf of the same layout.
    pub(crate) fn raw(&self, i: usize) -> Result<&'a [u8], PageError> {
        let (e, head) = self.head(i)?;
        let v = head.value_at();
        let end = v + value_len(self.layout, head.kind, e, v)?;
        e.get(..end).ok_or(PageError::Truncated { what: "entry runs past the page end" })
    }

    /// The key of entry `i`.
    #[inline]
    pub(crate) fn key(&self, i: usize) -> Result<&'a [u8], PageError> {
        let (e, head) = self.head(i)?;
        head.key(e)
    }

    /// Entry `i`, decoded.
    #[inline]
    pub(crate) fn entry(&self, i: usize) -> Result<LeafEntry<'a>, PageError> {
        let off = slot(self.page, L_SLOTS, self.n, i)?;
        let e =
            self.page.get(off..).ok_or(PageError::Truncated { what: "entry out of the page" })?;
        Ok(decode_entry(self.layout, e)?.0)
    }

    /// Where the value of entry `i` starts when it lies in a value page: the page and the
    /// offset in it; `None` for a value inline or in an overflow run, or a damaged entry. A
    /// hint for prefetching, which decodes no more of the entry than that.
    #[inline]
    pub(crate) fn value_start(&self, i: usize) -> Option<(PageId, u16)> {
        let (e, head) = self.head(i).ok()?;
        if self.layout == LeafLayout::Compact {
            if head.kind != KIND_PACKED && head.kind != KIND_RECORD {
                return None;
            }
            let v = head.value_at();
            let (page, n) = get_varint(e, v)?;
            let (span, _) = get_varint(e, v + n)?;
            return Some((page, u16::try_from(span % SPAN_LEN_UNIT).unwrap_or(u16::MAX)));
        }
        match decode_value(self.layout, head.kind, e, head.value_at()).ok()?.0 {
            ValueRef::Stored(
                ValueLoc::Packed { page, offset, .. } | ValueLoc::Record { page, offset, .. },
            ) => Some((page, offset)),
            _ => None,
        }
    }

    /// Binary search: `Ok(i)` when entry `i` has `key`, `Err(i)` where it would go.
    #[inline]
    pub(crate) fn search(&self, key: &[u8]) -> Result<Result<usize, usize>, PageError> {
        let (mut lo, mut hi) = (0, self.n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match compare_keys(self.key(mid)?, key) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(Ok(mid)),
            }
        }
        Ok(Err(lo))
    }

    /// The bytes used by slots and entries.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn used(&self) -> Result<usize, PageError> {
        let mut total = 0;
        for i in 0..self.n {
            total += 2 + self.raw(i)?.len();
        }
        Ok(total)
    }
}

/// Decodes a raw compact leaf entry (as produced by [`encode_leaf_entry`], or [`Leaf::raw`]
/// of a compact leaf); the entry must be the whole of `raw`.
pub(crate) fn parse_leaf_entry(raw: &[u8]) -> Result<LeafEntry<'_>, PageError> {
    parse_leaf_entry_in(LeafLayout::Compact, raw)
}

/// Decodes a raw leaf entry of `layout`; the entry must be the whole of `raw`.
pub(crate) fn parse_leaf_entry_in(
    layout: LeafLayout,
    raw: &[u8],
) -> Result<LeafEntry<'_>, PageError> {
    let (entry, end) = decode_entry(layout, raw)?;
    if end != raw.len() {
        return Err(PageError::TrailingBytes { len: end, extra: raw.len() - end });
    }
    Ok(entry)
}

/// Builds a compact leaf page from raw compact entries (in key order); the caller checked they
/// fit.
pub(crate) fn build_leaf<'e>(entries: impl ExactSizeIterator<Item = &'e [u8]>) -> PageBuf {
    build_leaf_of(PageType::CompactLeaf, entries)
}

/// Builds a leaf page of type `ty` from raw entries of its layout (in key order).
pub(super) fn build_leaf_of<'e>(
    ty: PageType,
    entries: impl ExactSizeIterator<Item = &'e [u8]>,
) -> PageBuf {
    let mut p = new_page();
    let n = entries.len();
    write_header(&mut p, ty, 0, u16::try_from(n).unwrap_or(u16::MAX));
    for (i, (at, e)) in leaf_places(entries).enumerate() {
        put(&mut p[..], L_SLOTS + 2 * i, &at.to_le_bytes());
        put(&mut p[..], usize::from(at), e);
    }
    p
}

/// Each raw entry of a compact leaf built from `entries` (as [`build_leaf`] does) with its
/// place in the page ([`Leaf::place`]): the entries follow the slot table in order.
pub(crate) fn leaf_places<'e>(
    entries: impl ExactSizeIterator<Item = &'e [u8]>,
) -> impl Iterator<Item = (u16, &'e [u8])> {
    let mut at = L_SLOTS + 2 * entries.len();
    entries.map(move |e| {
        let place = u16_of(at);
        at += e.len();
        (place, e)
    })
}

#[cfg(test)]
mod tests {
    use super::super::branch::Branch;
    use super::super::legacy_leaf::encode_fixed_leaf_entry;
    use super::*;

    fn leaf_of(entries: &[Vec<u8>]) -> PageBuf {
        build_leaf(entries.iter().map(Vec::as_slice))
    }

    /// The key of entry `i` of the round-trip test: short ones, and a 44-byte one last.
    fn key_of(i: usize) -> Vec<u8> {
        let mut k = format!("key{i}").into_bytes();
        if i == 6 {
            k.resize(44, b'x');
        }
        k
    }

    #[test]
    fn a_leaf_round_trips_every_value_kind() {
        let mut raws = Vec::new();
        let vals = [
            ValueRef::Inline(b"small"),
            ValueRef::Stored(ValueLoc::Packed { page: 9, offset: 16, len: 300 }),
            ValueRef::Stored(ValueLoc::Overflow { page: 11, len: 1 << 20 }),
            ValueRef::Inline(b""),
            ValueRef::Stored(ValueLoc::Record { page: 1 << 40, offset: 4095, len: u32::MAX }),
            ValueRef::Inline(&[7u8; 200]),
            ValueRef::Stored(ValueLoc::Packed { page: u64::MAX, offset: 0, len: 0 }),
        ];
        for (i, v) in vals.iter().enumerate() {
            let mut e = Vec::new();
            encode_leaf_entry(&mut e, &key_of(i), i as u64 * 1000, *v).unwrap();
            raws.push(e);
        }
        let page = leaf_of(&raws);
        assert_eq!(page[crate::page::TYPE_OFFSET], PageType::CompactLeaf as u8);
        let leaf = Leaf::new(&page[..]).unwrap();
        assert_eq!(leaf.len(), vals.len());
        assert_eq!(leaf.layout(), LeafLayout::Compact);
        for (i, v) in vals.iter().enumerate() {
            let e = leaf.entry(i).unwrap();
            assert_eq!(e.key, key_of(i));
            assert_eq!(leaf.key(i).unwrap(), key_of(i));
            assert_eq!(e.expires_at, i as u64 * 1000);
            assert_eq!(e.value, *v);
            assert_eq!(leaf.raw(i).unwrap(), &raws[i][..]);
            assert_eq!(parse_leaf_entry(&raws[i]).unwrap(), e);
            let start = match *v {
                ValueRef::Stored(
                    ValueLoc::Packed { page, offset, .. } | ValueLoc::Record { page, offset, .. },
                ) => Some((page, offset)),
                _ => None,
            };
            assert_eq!(leaf.value_start(i), start, "{i}");
        }
        assert_eq!(leaf.value_start(vals.len()), None);
        assert_eq!(leaf.search(b"key2").unwrap(), Ok(2));
        assert_eq!(leaf.search(b"key25").unwrap(), Err(3));
        assert_eq!(leaf.search(b"a").unwrap(), Err(0));
        assert_eq!(leaf.search(&key_of(6)).unwrap(), Ok(6));
        // A raw entry with a byte more or less is not an entry.
        let mut longer = raws[1].clone();
        longer.push(0);
        assert!(parse_leaf_entry(&longer).is_err());
        assert!(parse_leaf_entry(&raws[1][..raws[1].len() - 1]).is_err());
    }

    #[test]
    fn the_benchmark_record_takes_35_bytes_in_a_compact_leaf_where_the_fixed_one_took_45() {
        let key = [0x5a_u8; 28];
        let loc = ValueRef::Stored(ValueLoc::Packed { page: 30_000, offset: 3_900, len: 150 });
        let mut compact = Vec::new();
        encode_leaf_entry(&mut compact, &key, 0, loc).unwrap();
        // tag 1, key 28, page 3, span 3.
        assert_eq!(compact.len(), 35);
        assert_eq!(compact[0], (28 << 3) | KIND_PACKED);
        let old = ValueRef::Stored(ValueLoc::Record { page: 30_000, offset: 3_900, len: 150 });
        let mut fixed = Vec::new();
        assert!(encode_fixed_leaf_entry(&mut fixed, &key, 0, old));
        assert_eq!(fixed.len(), 45);
        // An inline entry with an expiry is exactly as long as `inline_entry_len` says.
        for (k, v) in [(0, 0), (28, 127), (28, 128), (30, 1), (31, 1), (32, 1), (MAX_KEY_LEN, 900)]
        {
            let mut e = Vec::new();
            let key = vec![1u8; k];
            let value = vec![2u8; v];
            encode_leaf_entry(&mut e, &key, 5, ValueRef::Inline(&value)).unwrap();
            assert_eq!(e.len(), inline_entry_len(k, v), "{k} {v}");
            assert_eq!(parse_leaf_entry(&e).unwrap().key, &key[..]);
        }
    }

    #[test]
    fn compact_entries_refuse_long_varints_and_out_of_range_lengths() {
        let mut e = Vec::new();
        let overflow = ValueRef::Stored(ValueLoc::Overflow { page: 3, len: 7 });
        encode_leaf_entry(&mut e, b"k", 0, overflow).unwrap();
        assert_eq!(e, [(1 << 3) | KIND_OVERFLOW, b'k', 3, 7]);
        // A 31-byte key takes the long form: the tag says 31, a varint says 0 more.
        let mut long = Vec::new();
        encode_leaf_entry(&mut long, &[b'k'; 31], 0, overflow).unwrap();
        assert_eq!(&long[..2], [0xf8 | KIND_OVERFLOW, 0]);
        assert_eq!(parse_leaf_entry(&long).unwrap().key, [b'k'; 31]);
        // A length past 32 bits, a key past the limit, a non-shortest varint: errors.
        let too_long = [(1 << 3) | KIND_OVERFLOW, b'k', 3, 0x80, 0x80, 0x80, 0x80, 0x10];
        assert!(parse_leaf_entry(&too_long).unwrap_err().to_string().contains("32 bits"));
        let mut span = vec![(1 << 3) | KIND_PACKED, b'k', 3];
        put_varint(&mut span, (1u64 << 32) * 4096);
        assert!(parse_leaf_entry(&span).unwrap_err().to_string().contains("32 bits"));
        let mut long_key = vec![0xf8 | KIND_INLINE];
        put_varint(&mut long_key, (MAX_KEY_LEN + 1 - 31) as u64);
        long_key.extend(vec![0u8; MAX_KEY_LEN + 2]);
        assert!(parse_leaf_entry(&long_key).unwrap_err().to_string().contains("exceeds"));
        let padded = [0xf8 | KIND_INLINE, 0x80, 0x00, b'k', 0];
        assert!(parse_leaf_entry(&padded).is_err());
        let padded_span = [(1 << 3) | KIND_PACKED, b'k', 3, 0x81, 0x00];
        assert!(parse_leaf_entry(&padded_span).is_err());
        // An inline length that runs past the entry.
        let inline = [1 << 3, b'k', 0xff, 0x7f];
        assert!(parse_leaf_entry(&inline).is_err());
    }

    #[test]
    fn random_bytes_in_a_node_page_give_errors_not_panics() {
        let mut seed = 0x1234_5678_u64;
        let mut decoded = [0usize; 2];
        for round in 0..4000usize {
            let mut page = new_page();
            for b in page.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed.to_le_bytes()[0];
            }
            // Keep the count small sometimes so entries get decoded; make it a leaf of either
            // layout most of the time.
            if round % 2 == 0 {
                page[6] = [0, 1, 2, 3, 4, 5, 6][round % 7];
                page[7] = 0;
            }
            page[4] = [2, 8, 2, 8, 3, 5][round % 6];
            // Every fourth round, plausible heads (short keys, known kinds) at sound slots, so
            // that the value parts get decoded too.
            if round % 4 == 0 {
                let n = usize::from(page[6]);
                for i in 0..n {
                    let at = L_SLOTS + 2 * n + 60 * i;
                    page[L_SLOTS + 2 * i..L_SLOTS + 2 * i + 2]
                        .copy_from_slice(&u16_of(at).to_le_bytes());
                    let kind = page[at + 2] & 0x83;
                    if page[4] == 2 {
                        let key_len = u16::from(page[at] % 9);
                        page[at..at + 2].copy_from_slice(&key_len.to_le_bytes());
                        page[at + 2] = ((kind & 0x7f) % 3) | (kind & 0x80);
                    } else {
                        page[at] = (page[at] % 9) << 3 | (page[at] & 0b111);
                    }
                }
            }
            if let Ok(l) = Leaf::new(&page[..]) {
                for i in 0..l.len() {
                    if let Ok(e) = l.entry(i) {
                        decoded[usize::from(l.layout() == LeafLayout::Compact)] += 1;
                        let raw = l.raw(i).unwrap();
                        assert_eq!(parse_leaf_entry_in(l.layout(), raw), Ok(e));
                        assert_eq!(l.key(i), Ok(e.key));
                    }
                    let _ = l.key(i);
                }
                let _ = l.search(b"k");
                let _ = l.used();
            }
            if let Ok(b) = Branch::new(&page[..]) {
                for i in 0..b.children() {
                    let _ = b.child(i);
                }
                let _ = b.route(b"k");
                let _ = b.used();
            }
        }
        assert!(decoded[0] > 0 && decoded[1] > 0, "random entries decoded: {decoded:?}");
    }

    #[test]
    fn flipped_bits_in_compact_entries_give_errors_or_entries_never_panics() {
        let vals = [
            ValueRef::Inline(b"small value"),
            ValueRef::Stored(ValueLoc::Packed { page: 70_000, offset: 2_000, len: 150 }),
            ValueRef::Stored(ValueLoc::Overflow { page: 11, len: 1 << 20 }),
            ValueRef::Stored(ValueLoc::Record { page: 12, offset: 16, len: 99 }),
        ];
        let raws: Vec<Vec<u8>> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut e = Vec::new();
                encode_leaf_entry(&mut e, format!("key{i:02}").as_bytes(), (i as u64) * 7, *v)
                    .unwrap();
                e
            })
            .collect();
        let page = leaf_of(&raws);
        let mut changed = 0;
        for bit in 0..PAGE_SIZE * 8 {
            let mut q = page.clone();
            q[bit / 8] ^= 1 << (bit % 8);
            let Ok(l) = Leaf::new(&q[..]) else { continue };
            for i in 0..l.len() {
                if let Ok(e) = l.entry(i)
                    && vals.get(i).is_some_and(|v| e.value != *v)
                {
                    changed += 1;
                }
                let _ = (l.key(i), l.raw(i), l.search(b"key01"), l.used());
            }
        }
        // (The page checksum catches these; the decoder must only stay in bounds.)
        assert!(changed > 0);
    }
}
