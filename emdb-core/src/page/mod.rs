//! Page formats of the page file: 4 KiB pages, little-endian integers, a CRC32C on every page;
//! the common page header, the page file itself, and the allocator.
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

pub(crate) mod alloc;
pub(crate) mod file;
pub(crate) mod freelist;
pub(crate) mod meta;
pub(crate) mod node;
pub(crate) mod value;
mod verified;

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
    /// A B+tree leaf: keys, expiries and values or value locations.
    Leaf = 2,
    /// A B+tree branch: separator keys and child pointers.
    Branch = 3,
    /// A page of the free-list chain.
    FreeList = 4,
    /// A page packed with values too large to sit in a leaf.
    Value = 5,
    /// The first page of an overflow run holding one large value.
    Overflow = 6,
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

/// Checks the checksum, id and type of a data page read from `id`; on failure returns what
/// is wrong, for an [`Error::Corruption`](crate::Error::Corruption).
pub(crate) fn verify(page: &[u8], id: PageId, ty: PageType) -> Result<(), String> {
    let stored = get_u32(page, CRC_OFFSET).ok_or("short page")?;
    let actual = crc32c::crc32c(page.get(TYPE_OFFSET..PAGE_SIZE).ok_or("short page")?);
    if stored != actual {
        return Err(format!(
            "page {id} checksum mismatch: stored {stored:#010x}, computed {actual:#010x}"
        ));
    }
    verify_header(page, id, ty)
}

/// The checks of [`verify`] but the checksum: the id and type a reader expects of page `id`.
#[inline]
pub(crate) fn verify_header(page: &[u8], id: PageId, ty: PageType) -> Result<(), String> {
    let found_id = get_u64(page, ID_OFFSET).ok_or("short page")?;
    if found_id != id {
        return Err(format!("page {id} claims to be page {found_id} (misdirected write)"));
    }
    let found = page.get(TYPE_OFFSET).copied().unwrap_or(0);
    if found != ty as u8 {
        return Err(format!("page {id} has type {found}, expected {ty:?}"));
    }
    Ok(())
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
    fn a_sealed_page_verifies_and_any_flipped_bit_does_not() {
        let mut p = new_page();
        write_header(&mut p, PageType::Leaf, 0, 3);
        p[100] = 7;
        seal(&mut p, 42);
        assert!(verify(&p[..], 42, PageType::Leaf).is_ok());
        assert!(verify(&p[..], 43, PageType::Leaf).unwrap_err().contains("misdirected"));
        assert!(verify(&p[..], 42, PageType::Branch).is_err());
        for bit in 0..PAGE_SIZE * 8 {
            let mut q = p.clone();
            q[bit / 8] ^= 1 << (bit % 8);
            assert!(verify(&q[..], 42, PageType::Leaf).is_err(), "bit {bit}");
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
