//! B+tree node pages: the leaf and branch layouts, their bounded readers, and the packing of a
//! sorted run of entries into as few, evenly filled pages as fit.
//!
//! Leaf page (keys with their expiry and value or value location):
//!
//! ```text
//! 0          16                16+2n
//! +----------+-----------------+---------------------------------------------+
//! |  header  | slot[n]: u16    | entries, in key order                       |
//! | (type 2) | entry offsets   |                                             |
//! +----------+-----------------+---------------------------------------------+
//!
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
//! kind & 0x7f = 1 packed:   page u64, offset u16, len u32     (a record in a value page)
//! kind & 0x7f = 2 overflow: page u64, len u32                 (an overflow run)
//! ```
//!
//! Format 1 always stored the expiry (0 for none), so its entries are format-2 entries with the
//! expiry present; format 2 writes an entry without it whenever the key never expires, which
//! saves 8 bytes per such key.
//!
//! Branch page (level >= 1; `n` separator keys, `n + 1` children; child `i` holds the keys `k`
//! with `key[i-1] <= k < key[i]`):
//!
//! ```text
//! 0          16         24              24+2n
//! +----------+----------+---------------+------------------------------------+
//! |  header  | child 0  | slot[n]: u16  | items: key_len u16, key, child u64 |
//! | (type 3) |   u64    | item offsets  | (the child right of the key)       |
//! +----------+----------+---------------+------------------------------------+
//! ```
//!
//! An entry or item is self-contained bytes, so rewriting a node copies unchanged entries
//! verbatim without decoding them.

use std::cmp::Ordering;

use super::{HEADER_LEN, PAGE_SIZE, PageBuf, PageId, PageType, get_u16, get_u32, get_u64};
use super::{new_page, put, u16_of, write_header};

/// The longest key the tree stores: a 4-byte namespace prefix and a 1024-byte user key.
pub(crate) const MAX_KEY_LEN: usize = 1024 + 4;

/// Offset of the key length in a leaf entry.
const E_KEY_LEN: usize = 0;
/// Offset of the value kind in a leaf entry.
const E_KIND: usize = E_KEY_LEN + 2;
/// Offset of the expiry in a leaf entry.
const E_EXPIRES: usize = E_KIND + 1;
/// Offset of the key bytes in a leaf entry that stores an expiry.
const E_KEY: usize = E_EXPIRES + 8;
/// Offset of the key bytes in a leaf entry without an expiry.
const E_KEY_NO_EXPIRY: usize = E_EXPIRES;

const KIND_INLINE: u8 = 0;
const KIND_PACKED: u8 = 1;
const KIND_OVERFLOW: u8 = 2;
/// Set in the kind byte when the entry stores no expiry (the key never expires).
const KIND_NO_EXPIRY: u8 = 0x80;

/// Where the key of an entry with kind byte `kind` starts.
const fn key_offset(kind: u8) -> usize {
    if kind & KIND_NO_EXPIRY != 0 { E_KEY_NO_EXPIRY } else { E_KEY }
}

/// Offset of child 0 in a branch page.
const B_CHILD0: usize = HEADER_LEN;
/// Offset of the slot array in a branch page.
const B_SLOTS: usize = B_CHILD0 + 8;
/// Offset of the slot array in a leaf page.
const L_SLOTS: usize = HEADER_LEN;

/// Bytes of a leaf page available to slots and entries.
pub(crate) const LEAF_SPACE: usize = PAGE_SIZE - L_SLOTS;
/// Bytes of a branch page available to slots and items.
pub(crate) const BRANCH_SPACE: usize = PAGE_SIZE - B_SLOTS;
/// The largest leaf entry (slot included): two always fit in one leaf, so splits terminate.
pub(crate) const MAX_LEAF_ENTRY: usize = LEAF_SPACE / 2;

/// The largest size of a leaf entry holding `key` and an inline value of `value_len` bytes
/// (the size with an expiry stored).
pub(crate) const fn inline_entry_len(key_len: usize, value_len: usize) -> usize {
    E_KEY + key_len + 2 + value_len
}

const _: () = assert!(inline_entry_len(MAX_KEY_LEN, 0) + 2 <= MAX_LEAF_ENTRY);
const _: () = assert!(3 * (2 + 2 + MAX_KEY_LEN + 8) <= BRANCH_SPACE);

/// Where a value that does not sit in its leaf lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ValueLoc {
    /// A record at byte `offset` of value page `page`.
    Packed {
        /// The value page.
        page: PageId,
        /// The record's byte offset inside the page.
        offset: u16,
        /// The value's length.
        len: u32,
    },
    /// An overflow run starting at `page`.
    Overflow {
        /// The first page of the run.
        page: PageId,
        /// The value's length.
        len: u32,
    },
}

impl ValueLoc {
    /// The length of the value.
    #[inline]
    pub(crate) fn len(&self) -> u32 {
        match *self {
            ValueLoc::Packed { len, .. } | ValueLoc::Overflow { len, .. } => len,
        }
    }

    /// The page the value starts on.
    pub(crate) fn page(&self) -> PageId {
        match *self {
            ValueLoc::Packed { page, .. } | ValueLoc::Overflow { page, .. } => page,
        }
    }
}

/// A leaf entry's value: the bytes themselves or where they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueRef<'a> {
    /// The value, stored in the leaf.
    Inline(&'a [u8]),
    /// The value lives in a value page or an overflow run.
    Stored(ValueLoc),
}

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

/// Appends the encoding of a leaf entry to `out`.
pub(crate) fn encode_leaf_entry(out: &mut Vec<u8>, key: &[u8], expires_at: u64, v: ValueRef<'_>) {
    out.extend_from_slice(&u16_of(key.len()).to_le_bytes());
    let kind = match v {
        ValueRef::Inline(_) => KIND_INLINE,
        ValueRef::Stored(ValueLoc::Packed { .. }) => KIND_PACKED,
        ValueRef::Stored(ValueLoc::Overflow { .. }) => KIND_OVERFLOW,
    };
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
        ValueRef::Stored(ValueLoc::Packed { page, offset, len }) => {
            out.extend_from_slice(&page.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
        ValueRef::Stored(ValueLoc::Overflow { page, len }) => {
            out.extend_from_slice(&page.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
    }
}

/// The key of a raw branch item.
pub(crate) fn branch_item_key(raw: &[u8]) -> &[u8] {
    let len = usize::from(get_u16(raw, 0).unwrap_or(0));
    raw.get(2..2 + len).unwrap_or_default()
}

/// The child of a raw branch item.
pub(crate) fn branch_item_child(raw: &[u8]) -> PageId {
    let len = usize::from(get_u16(raw, 0).unwrap_or(0));
    get_u64(raw, 2 + len).unwrap_or(0)
}

/// Appends the encoding of a branch item (a separator key and the child right of it).
pub(crate) fn encode_branch_item(out: &mut Vec<u8>, key: &[u8], child: PageId) {
    out.extend_from_slice(&u16_of(key.len()).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&child.to_le_bytes());
}

/// Byte order of two keys, as `a.cmp(b)`; keys that differ in their first eight bytes (nearly
/// every pair a search meets: the namespace prefix and four key bytes) are told apart with one
/// integer comparison instead of a call to `memcmp`.
#[inline]
fn compare_keys(a: &[u8], b: &[u8]) -> Ordering {
    if let (Some(x), Some(y)) = (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        let (x, y) = (u64::from_be_bytes(*x), u64::from_be_bytes(*y));
        if x != y {
            return x.cmp(&y);
        }
    }
    a.cmp(b)
}

/// Reads the slot table of a node page: `n` offsets at `slots`, each pointing into the page
/// past the table.
#[inline]
fn slot(page: &[u8], slots: usize, n: usize, i: usize) -> Result<usize, String> {
    if i >= n {
        return Err(format!("slot {i} out of {n}"));
    }
    let off = usize::from(get_u16(page, slots + 2 * i).ok_or("slot table out of the page")?);
    if off < slots + 2 * n || off >= PAGE_SIZE {
        return Err(format!("slot {i} points at {off}, outside the entry area"));
    }
    Ok(off)
}

/// A verified leaf page, read without copying.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Leaf<'a> {
    page: &'a [u8],
    n: usize,
}

impl<'a> Leaf<'a> {
    /// Wraps a page whose checksum and type were verified.
    #[inline]
    pub(crate) fn new(page: &'a [u8]) -> Result<Self, String> {
        let n = usize::from(super::count(page));
        if L_SLOTS + 2 * n > PAGE_SIZE || page.len() != PAGE_SIZE {
            return Err(format!("leaf entry count {n} does not fit a page"));
        }
        Ok(Leaf { page, n })
    }

    /// The number of entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// The raw bytes of entry `i` and its key range inside them.
    #[inline]
    fn raw_parts(&self, i: usize) -> Result<(&'a [u8], usize), String> {
        let off = slot(self.page, L_SLOTS, self.n, i)?;
        let e = self.page.get(off..).ok_or("entry out of the page")?;
        let key_len = usize::from(get_u16(e, E_KEY_LEN).ok_or("entry header out of the page")?);
        if key_len > MAX_KEY_LEN {
            return Err(format!("key of {key_len} bytes exceeds {MAX_KEY_LEN}"));
        }
        let kind = e.get(E_KIND).copied().ok_or("entry header out of the page")?;
        let vpart = key_offset(kind) + key_len;
        let vlen = match kind & !KIND_NO_EXPIRY {
            KIND_INLINE => 2 + usize::from(get_u16(e, vpart).ok_or("inline length")?),
            KIND_PACKED => 14,
            KIND_OVERFLOW => 12,
            k => return Err(format!("unknown value kind {k}")),
        };
        let raw = e.get(..vpart + vlen).ok_or("entry runs past the page end")?;
        Ok((raw, key_len))
    }

    /// The raw bytes of entry `i`, for copying it unchanged into a new leaf.
    pub(crate) fn raw(&self, i: usize) -> Result<&'a [u8], String> {
        Ok(self.raw_parts(i)?.0)
    }

    /// The key of entry `i`.
    #[inline]
    pub(crate) fn key(&self, i: usize) -> Result<&'a [u8], String> {
        let (raw, key_len) = self.raw_parts(i)?;
        let at = key_offset(raw.get(E_KIND).copied().unwrap_or(0));
        raw.get(at..at + key_len).ok_or_else(|| "key out of the entry".into())
    }

    /// Entry `i`, decoded.
    #[inline]
    pub(crate) fn entry(&self, i: usize) -> Result<LeafEntry<'a>, String> {
        let (raw, key_len) = self.raw_parts(i)?;
        decode_leaf_entry(raw, key_len)
    }

    /// Binary search: `Ok(i)` when entry `i` has `key`, `Err(i)` where it would go.
    #[inline]
    pub(crate) fn search(&self, key: &[u8]) -> Result<Result<usize, usize>, String> {
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

    /// The bytes used by slots and entries (for the underflow test).
    pub(crate) fn used(&self) -> Result<usize, String> {
        let mut total = 0;
        for i in 0..self.n {
            total += 2 + self.raw(i)?.len();
        }
        Ok(total)
    }
}

/// Decodes raw leaf entry bytes whose key length was read and bounded.
#[inline]
fn decode_leaf_entry(raw: &[u8], key_len: usize) -> Result<LeafEntry<'_>, String> {
    let kind = raw.get(E_KIND).copied().ok_or("short entry")?;
    let at = key_offset(kind);
    let key = raw.get(at..at + key_len).ok_or("key out of the entry")?;
    let expires_at = if kind & KIND_NO_EXPIRY != 0 {
        0
    } else {
        get_u64(raw, E_EXPIRES).ok_or("expiry out of the entry")?
    };
    let v = at + key_len;
    let value = match kind & !KIND_NO_EXPIRY {
        KIND_INLINE => {
            let len = usize::from(get_u16(raw, v).ok_or("inline length")?);
            ValueRef::Inline(raw.get(v + 2..v + 2 + len).ok_or("inline value out of the page")?)
        }
        KIND_PACKED => ValueRef::Stored(ValueLoc::Packed {
            page: get_u64(raw, v).ok_or("value page")?,
            offset: get_u16(raw, v + 8).ok_or("value offset")?,
            len: get_u32(raw, v + 10).ok_or("value length")?,
        }),
        KIND_OVERFLOW => ValueRef::Stored(ValueLoc::Overflow {
            page: get_u64(raw, v).ok_or("overflow page")?,
            len: get_u32(raw, v + 8).ok_or("overflow length")?,
        }),
        _ => return Err("unknown value kind".into()),
    };
    Ok(LeafEntry { key, expires_at, value })
}

/// Decodes a raw leaf entry (as produced by [`encode_leaf_entry`] or [`Leaf::raw`]).
pub(crate) fn parse_leaf_entry(raw: &[u8]) -> Result<LeafEntry<'_>, String> {
    let key_len = usize::from(get_u16(raw, E_KEY_LEN).ok_or("short entry")?);
    decode_leaf_entry(raw, key_len)
}

/// A verified branch page, read without copying.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Branch<'a> {
    page: &'a [u8],
    n: usize,
}

impl<'a> Branch<'a> {
    /// Wraps a page whose checksum and type were verified.
    #[inline]
    pub(crate) fn new(page: &'a [u8]) -> Result<Self, String> {
        // A branch with no key (one child) exists only for a moment inside a checkpoint,
        // which merges it away; readers accept it, the integrity check reports it.
        let n = usize::from(super::count(page));
        if B_SLOTS + 2 * n > PAGE_SIZE || page.len() != PAGE_SIZE {
            return Err(format!("branch key count {n} does not fit a page"));
        }
        Ok(Branch { page, n })
    }

    /// The number of children (one more than the number of keys).
    #[inline]
    pub(crate) fn children(&self) -> usize {
        self.n + 1
    }

    /// Item `i` (0-based, `i < n`): its raw bytes and key length.
    #[inline]
    fn item(&self, i: usize) -> Result<(&'a [u8], usize), String> {
        let off = slot(self.page, B_SLOTS, self.n, i)?;
        let e = self.page.get(off..).ok_or("item out of the page")?;
        let key_len = usize::from(get_u16(e, 0).ok_or("item header out of the page")?);
        if key_len > MAX_KEY_LEN {
            return Err(format!("separator of {key_len} bytes exceeds {MAX_KEY_LEN}"));
        }
        let raw = e.get(..2 + key_len + 8).ok_or("item runs past the page end")?;
        Ok((raw, key_len))
    }

    /// The separator key left of child `i` (`1 <= i <= n`).
    #[inline]
    pub(crate) fn key(&self, child: usize) -> Result<&'a [u8], String> {
        let (raw, key_len) = self.item(child.checked_sub(1).ok_or("child 0 has no key")?)?;
        raw.get(2..2 + key_len).ok_or_else(|| "key out of the item".into())
    }

    /// Child `i` (`i <= n`).
    #[inline]
    pub(crate) fn child(&self, i: usize) -> Result<PageId, String> {
        if i == 0 {
            return get_u64(self.page, B_CHILD0).ok_or_else(|| "child 0 out of the page".into());
        }
        let (raw, key_len) = self.item(i - 1)?;
        get_u64(raw, 2 + key_len).ok_or_else(|| "child out of the item".into())
    }

    /// The child whose key range holds `key`.
    #[inline]
    pub(crate) fn route(&self, key: &[u8]) -> Result<usize, String> {
        // The number of separators <= key.
        let (mut lo, mut hi) = (0, self.n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if compare_keys(self.key(mid + 1)?, key) == Ordering::Greater {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(lo)
    }

    /// The raw bytes of item `i` (`i < n`): the key left of child `i + 1` and that child.
    pub(crate) fn raw(&self, i: usize) -> Result<&'a [u8], String> {
        Ok(self.item(i)?.0)
    }

    /// The bytes used by slots and items (for the underflow test).
    pub(crate) fn used(&self) -> Result<usize, String> {
        let mut total = 0;
        for i in 0..self.n {
            total += 2 + self.item(i)?.0.len();
        }
        Ok(total)
    }
}

/// Builds a leaf page from raw entries (in key order); the caller checked they fit.
pub(crate) fn build_leaf<'e>(entries: impl ExactSizeIterator<Item = &'e [u8]>) -> PageBuf {
    let mut p = new_page();
    let n = entries.len();
    write_header(&mut p, PageType::Leaf, 0, u16::try_from(n).unwrap_or(u16::MAX));
    let mut at = L_SLOTS + 2 * n;
    for (i, e) in entries.enumerate() {
        put(&mut p[..], L_SLOTS + 2 * i, &u16_of(at).to_le_bytes());
        put(&mut p[..], at, e);
        at += e.len();
    }
    p
}

/// Builds a branch page at `level` from child 0 and raw items (in key order); the caller
/// checked they fit.
pub(crate) fn build_branch<'e>(
    level: u8,
    child0: PageId,
    items: impl ExactSizeIterator<Item = &'e [u8]>,
) -> PageBuf {
    let mut p = new_page();
    let n = items.len();
    write_header(&mut p, PageType::Branch, level, u16::try_from(n).unwrap_or(u16::MAX));
    put(&mut p[..], B_CHILD0, &child0.to_le_bytes());
    let mut at = B_SLOTS + 2 * n;
    for (i, e) in items.enumerate() {
        put(&mut p[..], B_SLOTS + 2 * i, &u16_of(at).to_le_bytes());
        put(&mut p[..], at, e);
        at += e.len();
    }
    p
}

/// Splits items of the given sizes (slot included) into consecutive runs that each fit in
/// `space` bytes, as evenly filled as possible; returns the end index of each run.
///
/// Every size must be at most `space / 2`; then every run but a lone one is at least a quarter
/// full.
pub(crate) fn pack(sizes: &[usize], space: usize) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    let pages = total.div_ceil(space).max(1);
    let target = total.div_ceil(pages);
    let mut ends = Vec::with_capacity(pages + 1);
    let mut cur = 0;
    for (i, &s) in sizes.iter().enumerate() {
        if cur > 0 && (cur + s > space || cur >= target) {
            ends.push(i);
            cur = 0;
        }
        cur += s;
    }
    ends.push(sizes.len());
    // A small last run shares evenly with the one before it.
    let runs = ends.len();
    if runs >= 2 && cur < space / 4 {
        let start = if runs >= 3 { ends.get(runs - 3).copied().unwrap_or(0) } else { 0 };
        let pair = sizes.get(start..).unwrap_or_default();
        let total2: usize = pair.iter().sum();
        let mut left = 0;
        let mut split = start;
        for &s in pair {
            if left + s > total2 / 2 {
                // Taking one more keeps the right run within a page when it would not be.
                if total2 - left > space {
                    split += 1;
                }
                break;
            }
            left += s;
            split += 1;
        }
        if let Some(slot) = ends.get_mut(runs - 2) {
            *slot = split.clamp(start + 1, sizes.len() - 1);
        }
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf_of(entries: &[Vec<u8>]) -> PageBuf {
        build_leaf(entries.iter().map(Vec::as_slice))
    }

    #[test]
    fn compare_keys_agrees_with_byte_order() {
        let keys: [&[u8]; 9] = [
            b"",
            b"a",
            b"abcdefgh",
            b"abcdefgh\0",
            b"abcdefgi",
            b"abcdefg",
            b"b",
            b"\xff",
            b"abcdefghz",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(compare_keys(a, b), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn a_leaf_round_trips_every_value_kind() {
        let mut raws = Vec::new();
        let vals = [
            ValueRef::Inline(b"small"),
            ValueRef::Stored(ValueLoc::Packed { page: 9, offset: 16, len: 300 }),
            ValueRef::Stored(ValueLoc::Overflow { page: 11, len: 1 << 20 }),
            ValueRef::Inline(b""),
        ];
        for (i, v) in vals.iter().enumerate() {
            let mut e = Vec::new();
            encode_leaf_entry(&mut e, format!("key{i}").as_bytes(), i as u64 * 1000, *v);
            raws.push(e);
        }
        let page = leaf_of(&raws);
        let leaf = Leaf::new(&page[..]).unwrap();
        assert_eq!(leaf.len(), 4);
        for (i, v) in vals.iter().enumerate() {
            let e = leaf.entry(i).unwrap();
            assert_eq!(e.key, format!("key{i}").as_bytes());
            assert_eq!(e.expires_at, i as u64 * 1000);
            assert_eq!(e.value, *v);
            assert_eq!(leaf.raw(i).unwrap(), &raws[i][..]);
            assert_eq!(parse_leaf_entry(&raws[i]).unwrap(), e);
        }
        assert_eq!(leaf.search(b"key2").unwrap(), Ok(2));
        assert_eq!(leaf.search(b"key25").unwrap(), Err(3));
        assert_eq!(leaf.search(b"a").unwrap(), Err(0));
    }

    #[test]
    fn an_entry_that_never_expires_skips_the_expiry_and_format_1_entries_still_decode() {
        let loc = ValueRef::Stored(ValueLoc::Packed { page: 9, offset: 16, len: 150 });
        let (mut with, mut without) = (Vec::new(), Vec::new());
        encode_leaf_entry(&mut with, b"key", 77, loc);
        encode_leaf_entry(&mut without, b"key", 0, loc);
        assert_eq!(with.len(), without.len() + 8);
        assert_eq!(parse_leaf_entry(&without).unwrap().expires_at, 0);
        assert_eq!(parse_leaf_entry(&with).unwrap().expires_at, 77);
        // Format 1 wrote every entry with its expiry, 0 for none, and no flag.
        let mut v1 = with.clone();
        v1[E_EXPIRES..E_EXPIRES + 8].copy_from_slice(&0u64.to_le_bytes());
        let e = parse_leaf_entry(&v1).unwrap();
        assert_eq!((e.key, e.expires_at, e.value), (&b"key"[..], 0, loc));
        let page = leaf_of(&[v1.clone(), {
            let mut e = Vec::new();
            encode_leaf_entry(&mut e, b"key2", 0, ValueRef::Inline(b"v"));
            e
        }]);
        let leaf = Leaf::new(&page[..]).unwrap();
        assert_eq!(leaf.key(0).unwrap(), b"key");
        assert_eq!(leaf.key(1).unwrap(), b"key2");
        assert_eq!(leaf.raw(0).unwrap(), &v1[..]);
        assert_eq!(leaf.entry(1).unwrap().value, ValueRef::Inline(b"v"));
        // An unknown kind stays an error with the flag set or not.
        v1[E_KIND] = 3 | KIND_NO_EXPIRY;
        assert!(parse_leaf_entry(&v1).is_err());
    }

    #[test]
    fn a_branch_round_trips_and_routes_keys() {
        let mut items = Vec::new();
        for (k, c) in [(&b"d"[..], 20u64), (b"m", 30), (b"t", 40)] {
            let mut e = Vec::new();
            encode_branch_item(&mut e, k, c);
            items.push(e);
        }
        let page = build_branch(3, 10, items.iter().map(Vec::as_slice));
        let b = Branch::new(&page[..]).unwrap();
        assert_eq!(b.children(), 4);
        assert_eq!(super::super::level(&page[..]), 3);
        assert_eq!((0..4).map(|i| b.child(i).unwrap()).collect::<Vec<_>>(), [10, 20, 30, 40]);
        assert_eq!(b.key(2).unwrap(), b"m");
        for (key, child) in [(&b"a"[..], 0), (b"d", 1), (b"e", 1), (b"m", 2), (b"z", 3)] {
            assert_eq!(b.route(key).unwrap(), child, "{key:?}");
        }
    }

    #[test]
    fn random_bytes_in_a_node_page_give_errors_not_panics() {
        let mut seed = 0x1234_5678_u64;
        for round in 0..2000usize {
            let mut page = new_page();
            for b in page.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed.to_le_bytes()[0];
            }
            // Keep the count small sometimes so entries get decoded.
            if round % 2 == 0 {
                page[6] = [0, 1, 2, 3, 4, 5, 6][round % 7];
                page[7] = 0;
            }
            if let Ok(l) = Leaf::new(&page[..]) {
                for i in 0..l.len() {
                    let _ = l.entry(i);
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
    }

    #[test]
    fn packing_fills_pages_evenly_and_never_overfills() {
        let mut seed = 7usize;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            seed >> 33
        };
        for _ in 0..2000 {
            let n = next() % 60 + 1;
            let sizes: Vec<usize> = (0..n).map(|_| next() % (LEAF_SPACE / 2) + 1).collect();
            let ends = pack(&sizes, LEAF_SPACE);
            let mut start = 0;
            for (j, &end) in ends.iter().enumerate() {
                assert!(end > start, "empty run in {ends:?}");
                let used: usize = sizes[start..end].iter().sum();
                assert!(used <= LEAF_SPACE, "overfull run");
                if ends.len() > 1 {
                    assert!(used >= LEAF_SPACE / 4 || j + 1 < ends.len() && used > 0);
                }
                start = end;
            }
            assert_eq!(start, n);
        }
    }
}
