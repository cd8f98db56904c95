//! Free-list pages: the durable list of free page extents, a chain from the meta page's
//! free-list root.
//!
//! ```text
//! 0          16          24
//! +----------+-----------+------------------------------------------+
//! |  header  | next page | extents[count]: start u64, length u64    |
//! | (type 4) |    u64    |                                          |
//! +----------+-----------+------------------------------------------+
//! ```
//!
//! `next` is 0 on the last page. The list a checkpoint writes holds every page that is free
//! once that checkpoint is durable: the reusable pages, the pages still held back for readers
//! of older roots, and the pages the checkpoint itself replaced.

use super::{HEADER_LEN, PAGE_SIZE, PageBuf, PageError, PageId, PageType, get_u64, new_page, put};

/// A run of `len` consecutive pages starting at `start`.
pub(crate) type Extent = (PageId, u64);

/// Offset of the next-page pointer.
const NEXT_OFFSET: usize = HEADER_LEN;
/// Offset of the first extent.
const EXTENTS_OFFSET: usize = NEXT_OFFSET + 8;
/// The number of extents one free-list page holds.
pub(crate) const EXTENTS_PER_PAGE: usize = (PAGE_SIZE - EXTENTS_OFFSET) / 16;

/// Builds a free-list page holding `extents` (at most [`EXTENTS_PER_PAGE`]) and `next`.
pub(crate) fn build(extents: &[Extent], next: PageId) -> PageBuf {
    let mut p = new_page();
    let n = extents.len().min(EXTENTS_PER_PAGE);
    super::write_header(&mut p, PageType::FreeList, 0, super::u16_of(n));
    put(&mut p[..], NEXT_OFFSET, &next.to_le_bytes());
    for (i, (start, len)) in extents.iter().take(n).enumerate() {
        let at = EXTENTS_OFFSET + 16 * i;
        put(&mut p[..], at, &start.to_le_bytes());
        put(&mut p[..], at + 8, &len.to_le_bytes());
    }
    p
}

/// Reads a verified free-list page: its next pointer and its extents.
pub(crate) fn parse(page: &[u8]) -> Result<(PageId, Vec<Extent>), PageError> {
    let n = usize::from(super::count(page));
    if n > EXTENTS_PER_PAGE {
        return Err(PageError::TooManyExtents { count: n, max: EXTENTS_PER_PAGE });
    }
    let next =
        get_u64(page, NEXT_OFFSET).ok_or(PageError::Truncated { what: "short free-list page" })?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let at = EXTENTS_OFFSET + 16 * i;
        let start =
            get_u64(page, at).ok_or(PageError::Truncated { what: "short free-list page" })?;
        let len =
            get_u64(page, at + 8).ok_or(PageError::Truncated { what: "short free-list page" })?;
        out.push((start, len));
    }
    Ok((next, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_list_page_round_trips() {
        let extents: Vec<Extent> =
            (0..EXTENTS_PER_PAGE as u64).map(|i| (i * 10 + 2, i + 1)).collect();
        let p = build(&extents, 77);
        assert_eq!(parse(&p[..]).unwrap(), (77, extents));
    }

    #[test]
    fn an_impossible_extent_count_is_an_error() {
        let mut p = build(&[], 0);
        p[6] = 0xff;
        assert!(parse(&p[..]).is_err());
    }
}
