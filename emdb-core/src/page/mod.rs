//! Page formats of the page file: 4 KiB pages, little-endian integers, a CRC32C on every page;
//! the common page header and the slot table of node pages, the page file itself, and the
//! allocator.
//!
//! Every data page (all but the two meta pages, see [`meta`]) opens with the same header:
//!
//! ```text
//! 0        4        5        6        8                16
//! +--------+--------+--------+--------+----------------+
//! | crc32c |  type  | level  | count  |    page id     |
//! |  u32   |   u8   |   u8   |  u16   |      u64       |
//! +--------+--------+--------+--------+----------------+
//! ```
//!
//! `crc32c` covers bytes 4..4096 of the page (for an overflow run: bytes 4.. of the whole run);
//! `page id` is the page's own number, so a page read from the wrong place fails the check.
//!
//! Types: 2 leaf (formats 1 and 2), 3 branch, 4 free-list, 5 value page with a header per record
//! (formats 1 and 2), 6 overflow run, 7 value page of bare values (format 3), 8 compact leaf
//! (format 3). Format 3 writes only 3, 4, 6, 7 and 8, and reads all of them: the pages of an
//! older file keep their layout until a checkpoint rewrites them or compaction rewrites the file.

use std::cmp::Ordering;

pub(crate) mod alloc;
pub(crate) mod branch;
mod error;
pub(crate) mod file;
pub(crate) mod freelist;
pub(crate) mod leaf;
mod legacy_leaf;
pub(crate) mod meta;
pub(crate) mod pack;
pub(crate) mod value;
mod verified;

pub(crate) use error::{Checksummed, PageError};

/// The size of every page in bytes.
pub(crate) const PAGE_SIZE: usize = 4096;

/// [`PAGE_SIZE`] as a file offset unit.
pub(crate) const PAGE_SIZE_U64: u64 = 4096;

/// The number of a page; its byte offset in the file is `id * PAGE_SIZE`. Pages 0 and 1 are the
/// meta pages, so 0 also means "no page" in pointers.
pub(crate) type PageId = u64;

/// [`PAGE_SIZE`] as stored in the meta page.
pub(crate) const PAGE_SIZE_U32: u32 = 4096;

/// A length or offset known to fit a page, as the `u16` the formats store.
pub(crate) fn u16_of(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// The longest key the tree stores: a 4-byte namespace prefix and a 1024-byte user key.
pub(crate) const MAX_KEY_LEN: usize = 1024 + 4;

/// Byte order of two keys, as `a.cmp(b)`, eight bytes at a time as big-endian integers: a
/// tree key is a 4-byte namespace prefix and the user's key, so the keys a search compares
/// often share their first eight bytes (an integer id below 2^32 has four zero bytes first),
/// and a call to `memcmp` for the few bytes after them costs more than the comparison.
#[inline]
fn compare_keys(mut a: &[u8], mut b: &[u8]) -> Ordering {
    while let (Some((x, rest_a)), Some((y, rest_b))) =
        (a.split_first_chunk::<8>(), b.split_first_chunk::<8>())
    {
        let (x, y) = (u64::from_be_bytes(*x), u64::from_be_bytes(*y));
        if x != y {
            return x.cmp(&y);
        }
        (a, b) = (rest_a, rest_b);
    }
    // At least one of them has fewer than eight bytes left: compare them zero-padded, and a
    // tie (one is the other followed by zeros, or equal) by length.
    let padded = |s: &[u8]| {
        let mut word = [0u8; 8];
        for (w, byte) in word.iter_mut().zip(s) {
            *w = *byte;
        }
        u64::from_be_bytes(word)
    };
    padded(a).cmp(&padded(b)).then(a.len().cmp(&b.len()))
}

/// Reads the slot table of a node page: `n` offsets at `slots`, each pointing into the page
/// past the table.
#[inline]
fn slot(page: &[u8], slots: usize, n: usize, i: usize) -> Result<usize, PageError> {
    if i >= n {
        return Err(PageError::SlotOutOfRange { i, n });
    }
    let off = usize::from(
        get_u16(page, slots + 2 * i)
            .ok_or(PageError::Truncated { what: "slot table out of the page" })?,
    );
    if off < slots + 2 * n || off >= PAGE_SIZE {
        return Err(PageError::BadSlot { i, offset: off });
    }
    Ok(off)
}

/// A page in memory.
pub(crate) type PageBuf = Box<[u8; PAGE_SIZE]>;

/// A zeroed page buffer.
pub(crate) fn new_page() -> PageBuf {
    Box::new([0u8; PAGE_SIZE])
}

/// Offset of the checksum in the common header.
pub(crate) const CRC_OFFSET: usize = 0;
/// Offset of the page type.
pub(crate) const TYPE_OFFSET: usize = CRC_OFFSET + 4;
/// Offset of the tree level (0 for leaves and non-tree pages).
pub(crate) const LEVEL_OFFSET: usize = TYPE_OFFSET + 1;
/// Offset of the item count.
pub(crate) const COUNT_OFFSET: usize = LEVEL_OFFSET + 1;
/// Offset of the page's own id.
pub(crate) const ID_OFFSET: usize = COUNT_OFFSET + 2;
/// Size of the common header; page bodies start here.
pub(crate) const HEADER_LEN: usize = ID_OFFSET + 8;

/// What a page holds, as stored in its `type` byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum PageType {
    /// A B+tree leaf of formats 1 and 2: keys, expiries and values or value locations, with
    /// fixed-width lengths and locations (read, never written by format 3).
    Leaf = 2,
    /// A B+tree branch: separator keys and child pointers.
    Branch = 3,
    /// A page of the free-list chain.
    FreeList = 4,
    /// A page of formats 1 and 2 packed with values too large to sit in a leaf, each with its
    /// own length and checksum (read, never written by format 3).
    Value = 5,
    /// The first page of an overflow run holding one large value.
    Overflow = 6,
    /// A page of format 3 packed with values too large to sit in a leaf, back to back without
    /// headers: the leaf's location is the only description of a value, the page checksum
    /// the only check.
    BareValue = 7,
    /// A B+tree leaf of format 3: varint lengths and compact value locations.
    CompactLeaf = 8,
}

impl PageType {
    /// The type stored in a `type` byte, if it is one.
    pub(crate) fn from_byte(b: u8) -> Option<PageType> {
        Some(match b {
            2 => PageType::Leaf,
            3 => PageType::Branch,
            4 => PageType::FreeList,
            5 => PageType::Value,
            6 => PageType::Overflow,
            7 => PageType::BareValue,
            8 => PageType::CompactLeaf,
            _ => return None,
        })
    }
}

/// Reads a little-endian `u16` at `at`; `None` when out of bounds.
#[inline]
pub(crate) fn get_u16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(b.try_into().ok()?))
}

/// Reads a little-endian `u32` at `at`; `None` when out of bounds.
#[inline]
pub(crate) fn get_u32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

/// Reads a little-endian `u64` at `at`; `None` when out of bounds.
#[inline]
pub(crate) fn get_u64(buf: &[u8], at: usize) -> Option<u64> {
    let b = buf.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

/// Writes `bytes` at `at`; returns `false` (writing nothing) when out of bounds.
pub(crate) fn put(buf: &mut [u8], at: usize, bytes: &[u8]) -> bool {
    match at.checked_add(bytes.len()).and_then(|end| buf.get_mut(at..end)) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

/// Fills in the common header of a data page.
pub(crate) fn write_header(page: &mut [u8; PAGE_SIZE], ty: PageType, level: u8, count: u16) {
    page[TYPE_OFFSET] = ty as u8;
    page[LEVEL_OFFSET] = level;
    page[COUNT_OFFSET..COUNT_OFFSET + 2].copy_from_slice(&count.to_le_bytes());
}

/// Stamps the page id and the checksum of a data page; call last, right before writing it.
pub(crate) fn seal(page: &mut [u8; PAGE_SIZE], id: PageId) {
    page[ID_OFFSET..ID_OFFSET + 8].copy_from_slice(&id.to_le_bytes());
    let crc = crc32c::crc32c(&page[TYPE_OFFSET..]);
    page[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
}

/// The error of a page shorter than its header or a page.
const SHORT_PAGE: PageError = PageError::Truncated { what: "short page" };

/// Checks the checksum, id and type of a data page read from `id`; on failure returns what
/// is wrong, for an [`Error::Corruption`](crate::Error::Corruption).
pub(crate) fn verify(page: &[u8], id: PageId, ty: PageType) -> Result<(), PageError> {
    let stored = get_u32(page, CRC_OFFSET).ok_or(SHORT_PAGE)?;
    let actual = crc32c::crc32c(page.get(TYPE_OFFSET..PAGE_SIZE).ok_or(SHORT_PAGE)?);
    if stored != actual {
        return Err(PageError::Checksum {
            of: Checksummed::Page(id),
            expected: stored,
            found: actual,
        });
    }
    verify_header(page, id, ty)
}

/// The checks of [`verify`] but the checksum: the id and type a reader expects of page `id`.
#[inline]
pub(crate) fn verify_header(page: &[u8], id: PageId, ty: PageType) -> Result<(), PageError> {
    verify_header_of(page, id, &[ty]).map(|_| ())
}

/// The checks of [`verify_header`] for a page that may be of any of the types `tys` (a leaf of
/// either layout); returns the type it has.
#[inline]
pub(crate) fn verify_header_of(
    page: &[u8],
    id: PageId,
    tys: &[PageType],
) -> Result<PageType, PageError> {
    let found_id = get_u64(page, ID_OFFSET).ok_or(SHORT_PAGE)?;
    if found_id != id {
        return Err(PageError::Misdirected { id, found: found_id });
    }
    let found = page.get(TYPE_OFFSET).copied().unwrap_or(0);
    match tys.iter().find(|&&ty| ty as u8 == found) {
        Some(&ty) => Ok(ty),
        None => Err(PageError::BadKind { id, found, expected: tys.to_vec() }),
    }
}

/// The type byte of a page, if it is a known type.
#[inline]
pub(crate) fn page_type(page: &[u8]) -> Option<PageType> {
    page.get(TYPE_OFFSET).copied().and_then(PageType::from_byte)
}

/// The longest LEB128 encoding of a `u64`.
pub(crate) const MAX_VARINT_LEN: usize = 10;

/// Appends `v` as an unsigned LEB128 varint: seven bits per byte, low bits first, the high bit
/// set on every byte but the last (1 byte below 128, 2 below 16,384, 3 below 2,097,152).
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(u8::try_from(v & 0x7f).unwrap_or(0) | 0x80);
        v >>= 7;
    }
    out.push(u8::try_from(v).unwrap_or(0));
}

/// The length of the varint encoding of `v`.
#[inline]
pub(crate) const fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Reads a LEB128 varint at `at`: the value and the bytes it took. `None` when it runs past the
/// end of `buf`, exceeds a `u64`, or is not the shortest encoding of its value (a trailing zero
/// byte), so that every value has exactly one encoding.
#[expect(
    clippy::inline_always,
    reason = "twice per entry of every scan; out of line, its result comes back through memory \
              and the caller's loads of it stall store forwarding"
)]
#[inline(always)]
pub(crate) fn get_varint(buf: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = *buf.get(at)?;
    if first < 0x80 {
        return Some((u64::from(first), 1));
    }
    // Up to 8 bytes at once when the buffer has them: the first byte without the high bit
    // ends the varint.
    if let Some(word) = buf.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let x = u64::from_le_bytes(*word);
        let stops = !x & 0x8080_8080_8080_8080;
        if stops != 0 {
            // Without a branch on the length (it varies, so it would be mispredicted): keep the
            // bytes up to the first stop bit, drop the continuation bits, close the gaps.
            let stop = stops & stops.wrapping_neg();
            let last = stop.trailing_zeros() - 7;
            let x = x & (stop | (stop - 1)) & 0x7f7f_7f7f_7f7f_7f7f;
            if x >> last == 0 {
                return None; // a trailing zero byte: not the shortest form
            }
            let v = (x & 0x7f)
                | ((x >> 1) & (0x7f << 7))
                | ((x >> 2) & (0x7f << 14))
                | ((x >> 3) & (0x7f << 21))
                | ((x >> 4) & (0x7f << 28))
                | ((x >> 5) & (0x7f << 35))
                | ((x >> 6) & (0x7f << 42))
                | ((x >> 7) & (0x7f << 49));
            return Some((v, last as usize / 8 + 1));
        }
    }
    let mut v = u64::from(first & 0x7f);
    for i in 1..MAX_VARINT_LEN {
        let b = *buf.get(at.checked_add(i)?)?;
        let bits = u64::from(b & 0x7f);
        let shift = 7 * i;
        if shift == 63 && bits > 1 {
            return None;
        }
        v |= bits << shift;
        if b < 0x80 {
            return (b != 0).then_some((v, i + 1));
        }
    }
    None
}

/// The level byte of a page.
#[inline]
pub(crate) fn level(page: &[u8]) -> u8 {
    page.get(LEVEL_OFFSET).copied().unwrap_or(u8::MAX)
}

/// The count field of a page.
#[inline]
pub(crate) fn count(page: &[u8]) -> u16 {
    get_u16(page, COUNT_OFFSET).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    proptest::proptest! {
        /// Keys of a few small byte values, so that long shared prefixes, zero bytes and
        /// lengths around the eight-byte steps all come up.
        #[test]
        fn compare_keys_agrees_with_byte_order_on_any_keys(
            a in proptest::collection::vec(0u8..3, 0..40),
            b in proptest::collection::vec(0u8..3, 0..40),
        ) {
            proptest::prop_assert_eq!(compare_keys(&a, &b), a.cmp(&b));
            let mut c = a.clone();
            c.extend_from_slice(&b);
            proptest::prop_assert_eq!(compare_keys(&a, &c), a.cmp(&c));
            proptest::prop_assert_eq!(compare_keys(&c, &a), c.cmp(&a));
        }
    }

    #[test]
    fn a_sealed_page_verifies_and_any_flipped_bit_does_not() {
        let mut p = new_page();
        write_header(&mut p, PageType::Leaf, 0, 3);
        p[100] = 7;
        seal(&mut p, 42);
        assert!(verify(&p[..], 42, PageType::Leaf).is_ok());
        assert!(
            verify(&p[..], 43, PageType::Leaf).unwrap_err().to_string().contains("misdirected")
        );
        assert!(verify(&p[..], 42, PageType::Branch).is_err());
        for bit in 0..PAGE_SIZE * 8 {
            let mut q = p.clone();
            q[bit / 8] ^= 1 << (bit % 8);
            assert!(verify(&q[..], 42, PageType::Leaf).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn varints_round_trip_and_bad_encodings_are_none() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut values = vec![0, 1, 127, 128, 16_383, 16_384, 2_097_151, u64::MAX, u64::MAX - 1];
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            values.push(seed >> (seed % 64));
        }
        for v in values {
            let mut out = vec![0xAA];
            put_varint(&mut out, v);
            assert_eq!(out.len() - 1, varint_len(v), "{v}");
            let len = out.len() - 1;
            assert_eq!(get_varint(&out, 1), Some((v, len)), "{v}");
            // Cut short, it is not a varint.
            assert_eq!(get_varint(&out[..out.len() - 1], 1), None, "{v}");
            // Followed by more bytes (read 8 at a time), it is the same varint.
            for pad in [0x00, 0x80, 0xff] {
                let mut padded = out.clone();
                padded.extend([pad; 12]);
                assert_eq!(get_varint(&padded, 1), Some((v, len)), "{v} {pad}");
            }
        }
        for pad in [0x00, 0x80, 0xff] {
            let with = |bytes: &[u8]| bytes.iter().copied().chain([pad; 12]).collect::<Vec<_>>();
            assert_eq!(get_varint(&with(&[0x80, 0x00]), 0), None);
            assert_eq!(get_varint(&with(&[0x81, 0x80, 0x80, 0x00]), 0), None);
            assert_eq!(
                get_varint(&with(&[0xff; 9].iter().copied().chain([0x02]).collect::<Vec<_>>()), 0),
                None
            );
            assert_eq!(get_varint(&with(&[0x96, 0x01]), 0), Some((150, 2)));
        }
        assert_eq!(varint_len(150), 2);
        assert_eq!(varint_len(30_000), 3);
        // Not the shortest encoding, or past 64 bits: rejected.
        assert_eq!(get_varint(&[0x80, 0x00], 0), None);
        assert_eq!(get_varint(&[0x81, 0x80, 0x00], 0), None);
        assert_eq!(
            get_varint(&[0xff; 9].iter().copied().chain([0x02]).collect::<Vec<_>>(), 0),
            None
        );
        assert_eq!(get_varint(&[0xff; 10], 0), None);
        assert_eq!(
            get_varint(&[0xff; 9].iter().copied().chain([0x01]).collect::<Vec<_>>(), 0),
            Some((u64::MAX, 10))
        );
        assert_eq!(get_varint(&[], 0), None);
        assert_eq!(get_varint(&[5], usize::MAX), None);
    }

    #[test]
    fn a_page_of_either_leaf_type_passes_a_check_for_both() {
        let mut p = new_page();
        write_header(&mut p, PageType::CompactLeaf, 0, 0);
        seal(&mut p, 9);
        let both = [PageType::CompactLeaf, PageType::Leaf];
        assert_eq!(verify_header_of(&p[..], 9, &both), Ok(PageType::CompactLeaf));
        assert!(verify_header_of(&p[..], 9, &[PageType::Leaf]).is_err());
        assert!(verify_header_of(&p[..], 8, &both).is_err());
        assert_eq!(page_type(&p[..]), Some(PageType::CompactLeaf));
        for b in 0..=255u8 {
            if let Some(ty) = PageType::from_byte(b) {
                assert_eq!(ty as u8, b);
            }
        }
    }

    #[test]
    fn out_of_bounds_integer_reads_are_none() {
        let b = [1u8, 0, 0];
        assert_eq!(get_u16(&b, 0), Some(1));
        assert_eq!(get_u16(&b, 2), None);
        assert_eq!(get_u64(&b, usize::MAX), None);
        let mut m = [0u8; 2];
        assert!(!put(&mut m, 1, &[1, 2]));
    }
}
