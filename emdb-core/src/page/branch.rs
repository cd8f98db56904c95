//! Branch pages: separator keys and child pointers, their bounded reader and builder.
//!
//! Branch page (level >= 1; `n` separator keys, `n + 1` children; child `i` holds the keys `k`
//! with `key[i-1] <= k < key[i]`; unchanged since format 1):
//!
//! ```text
//! 0          16         24              24+2n
//! +----------+----------+---------------+------------------------------------+
//! |  header  | child 0  | slot[n]: u16  | items: key_len u16, key, child u64 |
//! | (type 3) |   u64    | item offsets  | (the child right of the key)       |
//! +----------+----------+---------------+------------------------------------+
//! ```
//!
//! An item is self-contained bytes, so rewriting a branch copies unchanged items verbatim
//! without decoding them.

use std::cmp::Ordering;

use super::{
    HEADER_LEN, MAX_KEY_LEN, PAGE_SIZE, PageBuf, PageError, PageId, PageType, compare_keys,
    get_u16, get_u64, new_page, put, slot, u16_of, write_header,
};

/// Offset of child 0 in a branch page.
const B_CHILD0: usize = HEADER_LEN;
/// Offset of the slot array in a branch page.
const B_SLOTS: usize = B_CHILD0 + 8;
/// Bytes of a branch page available to slots and items.
pub(crate) const BRANCH_SPACE: usize = PAGE_SIZE - B_SLOTS;

const _: () = assert!(3 * (2 + 2 + MAX_KEY_LEN + 8) <= BRANCH_SPACE);

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

/// A verified branch page, read without copying.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Branch<'a> {
    page: &'a [u8],
    n: usize,
}

impl<'a> Branch<'a> {
    /// Wraps a page whose checksum and type were verified.
    #[inline]
    pub(crate) fn new(page: &'a [u8]) -> Result<Self, PageError> {
        // A branch with no key (one child) exists only for a moment inside a checkpoint,
        // which merges it away; readers accept it, the integrity check reports it.
        let n = usize::from(super::count(page));
        if B_SLOTS + 2 * n > PAGE_SIZE || page.len() != PAGE_SIZE {
            return Err(PageError::CountTooLarge { what: "branch key", count: n });
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
    fn item(&self, i: usize) -> Result<(&'a [u8], usize), PageError> {
        let off = slot(self.page, B_SLOTS, self.n, i)?;
        let e =
            self.page.get(off..).ok_or(PageError::Truncated { what: "item out of the page" })?;
        let key_len = usize::from(
            get_u16(e, 0).ok_or(PageError::Truncated { what: "item header out of the page" })?,
        );
        if key_len > MAX_KEY_LEN {
            return Err(PageError::KeyTooLong {
                what: "separator",
                len: key_len,
                max: MAX_KEY_LEN,
            });
        }
        let raw = e
            .get(..2 + key_len + 8)
            .ok_or(PageError::Truncated { what: "item runs past the page end" })?;
        Ok((raw, key_len))
    }

    /// The separator key left of child `i` (`1 <= i <= n`).
    #[inline]
    pub(crate) fn key(&self, child: usize) -> Result<&'a [u8], PageError> {
        let (raw, key_len) =
            self.item(child.checked_sub(1).ok_or(PageError::NoKeyLeftOfChild0)?)?;
        raw.get(2..2 + key_len).ok_or(PageError::Truncated { what: "key out of the item" })
    }

    /// Child `i` (`i <= n`).
    #[inline]
    pub(crate) fn child(&self, i: usize) -> Result<PageId, PageError> {
        if i == 0 {
            return get_u64(self.page, B_CHILD0)
                .ok_or(PageError::Truncated { what: "child 0 out of the page" });
        }
        let (raw, key_len) = self.item(i - 1)?;
        get_u64(raw, 2 + key_len).ok_or(PageError::Truncated { what: "child out of the item" })
    }

    /// The child whose key range holds `key`.
    #[inline]
    pub(crate) fn route(&self, key: &[u8]) -> Result<usize, PageError> {
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
    pub(crate) fn raw(&self, i: usize) -> Result<&'a [u8], PageError> {
        Ok(self.item(i)?.0)
    }

    /// The bytes used by slots and items.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn used(&self) -> Result<usize, PageError> {
        let mut total = 0;
        for i in 0..self.n {
            total += 2 + self.item(i)?.0.len();
        }
        Ok(total)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
