//! Value pages (many medium values packed per page) and overflow runs (one large value over
//! consecutive pages), and the locations of values in them that leaves hold ([`ValueLoc`]).
//!
//! Bare value page (type 7, format 3), filled front to back once and never rewritten (a
//! location stays valid until compaction, or a checkpoint emptying the page, moves the value):
//!
//! ```text
//! 0          16
//! +----------+--------------------------------------------------------+
//! |  header  | values, back to back, no header of their own            |
//! | (type 7) | (count = the number of values written)                  |
//! +----------+--------------------------------------------------------+
//! ```
//!
//! The leaf's location `(page, offset, len)` is the only description of a value: 150-byte
//! values fit 27 to a page instead of 25. The page CRC in the header covers every value in it
//! and is the only check: a read through the mapping checks the page once (then remembered
//! until the file writes the page again, see `verified.rs`) and afterwards only bounds-checks
//! the slice; a read through `pread` reads the whole page and checks it likewise. A page whose
//! checksum fails fails every read of a value in it.
//!
//! Value page of formats 1 and 2 (type 5; read, never written), each record with its own length
//! and CRC32C so that a `pread` reads and checks only the record, and an intact record of a
//! page whose checksum fails still reads:
//!
//! ```text
//! 0          16
//! +----------+--------------------------------------------------------+
//! |  header  | records: len u32, crc32c(value) u32, value[len] ...    |
//! | (type 5) |                                                        |
//! +----------+--------------------------------------------------------+
//! ```
//!
//! Overflow run of `ceil((24 + len) / 4096)` consecutive pages, no header on the later pages:
//!
//! ```text
//! 0          16         24
//! +----------+----------+---------------------------------------------------->
//! |  header  |  len u64 | value[len], continuing over the following pages
//! | (type 6) |          |
//! +----------+----------+---------------------------------------------------->
//! ```
//!
//! The header's CRC32C covers bytes 4..24+len of the run.

use super::{
    Checksummed, HEADER_LEN, PAGE_SIZE, PAGE_SIZE_U64, PageError, PageId, PageType, get_u32,
    get_u64,
};

/// Where a value that does not sit in its leaf lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ValueLoc {
    /// The bytes `offset..offset + len` of bare value page `page` (type 7, format 3).
    Packed {
        /// The value page.
        page: PageId,
        /// The value's first byte inside the page.
        offset: u16,
        /// The value's length.
        len: u32,
    },
    /// A record (length, checksum, value) at byte `offset` of value page `page` (type 5,
    /// formats 1 and 2).
    Record {
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
            ValueLoc::Packed { len, .. }
            | ValueLoc::Record { len, .. }
            | ValueLoc::Overflow { len, .. } => len,
        }
    }

    /// The page the value starts on.
    pub(crate) fn page(&self) -> PageId {
        match *self {
            ValueLoc::Packed { page, .. }
            | ValueLoc::Record { page, .. }
            | ValueLoc::Overflow { page, .. } => page,
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

/// Offset of the record length inside a value record (type-5 pages).
const R_LEN: usize = 0;
/// Offset of the record checksum.
const R_CRC: usize = R_LEN + 4;
/// Offset of the value bytes.
pub(crate) const R_VALUE: usize = R_CRC + 4;

/// Bytes of a value page available to values (or records).
pub(crate) const VALUE_SPACE: usize = PAGE_SIZE - HEADER_LEN;
/// The largest value packed into value pages (half a page's space); larger ones get an
/// overflow run.
pub(crate) const PACKED_MAX: usize = VALUE_SPACE / 2;
/// The largest value the engine stores (256 MiB).
pub(crate) const MAX_VALUE_LEN: usize = 256 << 20;

/// Offset of the value length in an overflow run.
const O_LEN: usize = HEADER_LEN;
/// Offset of the value bytes in an overflow run.
pub(crate) const O_VALUE: usize = O_LEN + 8;

/// The first offset of a value page where a value (or record) may start.
pub(crate) const FIRST_RECORD: usize = HEADER_LEN;

/// Writes `value` at `at` of a bare value page; returns the offset after it, or `None` when it
/// does not fit.
pub(crate) fn put_bare(page: &mut [u8; PAGE_SIZE], at: usize, value: &[u8]) -> Option<usize> {
    let end = at.checked_add(value.len())?;
    if at < FIRST_RECORD {
        return None;
    }
    page.get_mut(at..end)?.copy_from_slice(value);
    Some(end)
}

/// The value `offset..offset + len` of a bare value page (`page` is the whole page, whose
/// checksum the caller checked): only the bounds are checked, against the page's value area.
#[inline]
pub(crate) fn bare_value(page: &[u8], offset: u16, len: u32) -> Result<&[u8], PageError> {
    let at = usize::from(offset);
    let end = usize::try_from(len).ok().and_then(|l| at.checked_add(l));
    match end {
        Some(end) if at >= FIRST_RECORD && end <= PAGE_SIZE => {
            page.get(at..end).ok_or(PageError::Truncated { what: "short value page" })
        }
        _ => Err(PageError::ValueOutsidePage { len, offset }),
    }
}

/// Checks what the leaves say of one bare value page against the page: `refs` values of
/// `bytes` bytes in all are referred to, and its header counts `count` values written. Values
/// never overlap (each was written once, front to back), so they fit the page's value area.
pub(crate) fn check_bare_usage(count: u16, refs: u64, bytes: u64) -> Result<(), PageError> {
    if refs > u64::from(count) {
        return Err(PageError::TooManyRefs { refs, count });
    }
    if bytes > VALUE_SPACE as u64 {
        return Err(PageError::TooManyBytes { bytes });
    }
    Ok(())
}

/// Writes a record for `value` at `at` of a value page of formats 1 and 2 (type 5), as an old
/// file holds; returns the offset after it, or `None` when it does not fit.
#[cfg(test)]
pub(crate) fn put_record(page: &mut [u8; PAGE_SIZE], at: usize, value: &[u8]) -> Option<usize> {
    let end = at.checked_add(R_VALUE)?.checked_add(value.len())?;
    let rec = page.get_mut(at..end)?;
    let len = u32::try_from(value.len()).ok()?;
    rec.get_mut(R_LEN..R_CRC)?.copy_from_slice(&len.to_le_bytes());
    rec.get_mut(R_CRC..R_VALUE)?.copy_from_slice(&crc32c::crc32c(value).to_le_bytes());
    rec.get_mut(R_VALUE..)?.copy_from_slice(value);
    Some(end)
}

/// The value of a record in a value page whose page checksum was verified (it covers the
/// record): only the length is checked against the leaf's.
#[inline]
pub(crate) fn record_in_checked_page(rec: &[u8], len: u32) -> Result<&[u8], PageError> {
    let stored_len = get_u32(rec, R_LEN).ok_or(PageError::Truncated { what: "short record" })?;
    if stored_len != len {
        return Err(PageError::LengthMismatch {
            what: "value record",
            stored: u64::from(stored_len),
            expected: len,
        });
    }
    rec.get(R_VALUE..).ok_or(PageError::Truncated { what: "short record" })
}

/// Checks a record read from a value page (`R_VALUE + len` bytes) and returns its value.
pub(crate) fn check_record(rec: &[u8], len: u32) -> Result<&[u8], PageError> {
    let value = record_in_checked_page(rec, len)?;
    let stored = get_u32(rec, R_CRC).ok_or(PageError::Truncated { what: "short record" })?;
    let actual = crc32c::crc32c(value);
    if stored != actual {
        return Err(PageError::Checksum {
            of: Checksummed::Value,
            expected: stored,
            found: actual,
        });
    }
    Ok(value)
}

/// The records of a verified value page of formats 1 and 2: `(offset, len)` of each, bounded
/// by the page.
pub(crate) fn records(page: &[u8]) -> Result<Vec<(usize, u32)>, PageError> {
    let n = usize::from(super::count(page));
    let mut out = Vec::with_capacity(n.min(VALUE_SPACE / R_VALUE));
    let mut at = FIRST_RECORD;
    for _ in 0..n {
        let len = get_u32(page, at + R_LEN)
            .ok_or(PageError::Truncated { what: "record header past the page end" })?;
        let end = at
            + R_VALUE
            + usize::try_from(len).map_err(|_| PageError::Truncated { what: "record length" })?;
        if end > PAGE_SIZE {
            return Err(PageError::RecordPastEnd { at, len });
        }
        out.push((at, len));
        at = end;
    }
    Ok(out)
}

/// The number of pages of an overflow run holding `len` bytes.
pub(crate) fn run_pages(len: usize) -> u64 {
    ((O_VALUE + len) as u64).div_ceil(PAGE_SIZE_U64)
}

/// The 24-byte header of an overflow run at `id` holding `value`, checksum included.
pub(crate) fn overflow_header(id: PageId, value: &[u8]) -> [u8; O_VALUE] {
    let mut h = [0u8; O_VALUE];
    h[super::TYPE_OFFSET] = PageType::Overflow as u8;
    h[super::ID_OFFSET..super::ID_OFFSET + 8].copy_from_slice(&id.to_le_bytes());
    h[O_LEN..O_VALUE].copy_from_slice(&(value.len() as u64).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&h[super::TYPE_OFFSET..]), value);
    h[super::CRC_OFFSET..super::CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks an overflow header read at `id` before its value is read: type, id and length.
pub(crate) fn check_overflow_header(h: &[u8], id: PageId, len: u32) -> Result<(), PageError> {
    if h.get(super::TYPE_OFFSET).copied() != Some(PageType::Overflow as u8) {
        return Err(PageError::NotRunStart { id });
    }
    if get_u64(h, super::ID_OFFSET) != Some(id) {
        return Err(PageError::RunMisdirected { id });
    }
    let stored = get_u64(h, O_LEN).ok_or(PageError::Truncated { what: "short overflow header" })?;
    if stored != u64::from(len) {
        return Err(PageError::LengthMismatch { what: "overflow run", stored, expected: len });
    }
    Ok(())
}

/// Checks the checksum of an overflow run given its header and value bytes.
pub(crate) fn check_overflow(h: &[u8], value: &[u8]) -> Result<(), PageError> {
    let stored = get_u32(h, super::CRC_OFFSET)
        .ok_or(PageError::Truncated { what: "short overflow header" })?;
    let head = h
        .get(super::TYPE_OFFSET..O_VALUE)
        .ok_or(PageError::Truncated { what: "short overflow header" })?;
    let actual = crc32c::crc32c_append(crc32c::crc32c(head), value);
    if stored != actual {
        return Err(PageError::Checksum {
            of: Checksummed::Overflow,
            expected: stored,
            found: actual,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::{new_page, seal, verify, write_header};

    #[test]
    fn a_bare_value_page_holds_values_back_to_back_and_bounds_every_slice() {
        let mut p = new_page();
        let a = put_bare(&mut p, FIRST_RECORD, b"first value").unwrap();
        assert_eq!(a, FIRST_RECORD + 11);
        let b = put_bare(&mut p, a, &[7u8; 150]).unwrap();
        assert_eq!(b, a + 150, "no record header");
        assert!(put_bare(&mut p, b, &[0u8; PAGE_SIZE]).is_none());
        assert!(put_bare(&mut p, 3, b"x").is_none(), "the header is not a value area");
        write_header(&mut p, PageType::BareValue, 0, 2);
        seal(&mut p, 5);
        verify(&p[..], 5, PageType::BareValue).unwrap();
        let off = |n: usize| crate::page::u16_of(n);
        assert_eq!(bare_value(&p[..], off(FIRST_RECORD), 11).unwrap(), b"first value");
        assert_eq!(bare_value(&p[..], off(a), 150).unwrap(), &[7u8; 150][..]);
        assert!(bare_value(&p[..], off(PAGE_SIZE - 10), 11).is_err());
        assert!(bare_value(&p[..], off(8), 4).is_err(), "inside the header");
        assert!(bare_value(&p[..], u16::MAX, u32::MAX).is_err());
        assert!(bare_value(&p[..40], off(FIRST_RECORD), 100).is_err(), "short page");
        assert_eq!(bare_value(&p[..], off(PAGE_SIZE), 0).unwrap(), b"");
        // 27 benchmark values (150 bytes) fit a page; 25 records did.
        assert_eq!(VALUE_SPACE / 150, 27);
        assert_eq!(VALUE_SPACE / (R_VALUE + 150), 25);
        check_bare_usage(2, 2, 161).unwrap();
        assert!(check_bare_usage(2, 3, 161).is_err());
        assert!(check_bare_usage(30, 30, VALUE_SPACE as u64 + 1).is_err());
    }

    #[test]
    fn a_value_page_round_trips_its_records() {
        let mut p = new_page();
        let a = put_record(&mut p, FIRST_RECORD, b"first value").unwrap();
        let b = put_record(&mut p, a, &[7u8; 300]).unwrap();
        assert!(put_record(&mut p, b, &[0u8; PAGE_SIZE]).is_none());
        write_header(&mut p, PageType::Value, 0, 2);
        seal(&mut p, 5);
        verify(&p[..], 5, PageType::Value).unwrap();
        let recs = records(&p[..]).unwrap();
        assert_eq!(recs, vec![(FIRST_RECORD, 11), (a, 300)]);
        let rec = &p[a..a + R_VALUE + 300];
        assert_eq!(check_record(rec, 300).unwrap(), &[7u8; 300][..]);
        assert!(check_record(rec, 299).is_err());
        let mut bad = rec.to_vec();
        bad[R_VALUE + 5] ^= 1;
        assert!(check_record(&bad, 300).unwrap_err().to_string().contains("checksum"));
    }

    #[test]
    fn an_overflow_header_round_trips_and_detects_damage() {
        let value = vec![3u8; 10_000];
        assert_eq!(run_pages(value.len()), 3);
        assert_eq!(run_pages(PAGE_SIZE - O_VALUE), 1);
        let h = overflow_header(40, &value);
        check_overflow_header(&h, 40, 10_000).unwrap();
        check_overflow(&h, &value).unwrap();
        assert!(check_overflow_header(&h, 41, 10_000).is_err());
        assert!(check_overflow_header(&h, 40, 9_999).is_err());
        let mut v2 = value.clone();
        v2[9_999] = 4;
        assert!(check_overflow(&h, &v2).is_err());
    }
}
