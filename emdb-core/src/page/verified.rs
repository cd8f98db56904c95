//! [`VerifiedPages`]: the data pages whose checksum this process has already checked since they
//! were last written, so that a page read again is not checksummed again.
//!
//! Pages are copy-on-write: a page reachable from a root that a reader can hold is never written,
//! and a page is written again only after it was freed and no reader pins a root that reaches it.
//! So a checksum that held once holds until the page file writes that page again, and
//! [`PageFile::write_at`](super::file::PageFile::write_at) forgets the pages it writes before
//! writing them. Reading a tree descends through the same upper pages every time; with this set
//! their 4 KiB checksums are computed once per process instead of once per descent.
//!
//! One bit per page, in segments of [`SEGMENT_PAGES`] pages allocated on first use and never
//! freed or moved, so that readers test and set bits without a lock. The table of segments is
//! itself allocated on first use: an open writes none of it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::PageId;

/// Pages per segment: 2^17 pages of 4 KiB, 512 MiB of file, 16 KiB of bits.
const SEGMENT_PAGES: u64 = 1 << 17;
/// Words per segment.
const SEGMENT_WORDS: usize = (SEGMENT_PAGES / 64) as usize;
/// Segments: 2^9 of them cover 256 GiB; pages beyond are simply checked every time. The table
/// of segments is written whole when it is first needed (12 KiB), so it is kept small.
const SEGMENTS: usize = 1 << 9;

/// The bits of [`SEGMENT_PAGES`] pages, allocated when the first of them is verified.
type Segment = OnceLock<Box<[AtomicU64]>>;

/// One bit per page: set once the page's checksum was verified, cleared when it is written.
pub(crate) struct VerifiedPages {
    segments: OnceLock<Box<[Segment]>>,
}

impl std::fmt::Debug for VerifiedPages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used =
            self.segments.get().map_or(0, |t| t.iter().filter(|s| s.get().is_some()).count());
        f.debug_struct("VerifiedPages").field("segments_in_use", &used).finish()
    }
}

impl VerifiedPages {
    pub(crate) const fn new() -> Self {
        VerifiedPages { segments: OnceLock::new() }
    }

    /// The word holding page `id`'s bit and the bit's mask; `None` past the covered range, or
    /// when its segment was never allocated and `create` is false.
    fn word(&self, id: PageId, create: bool) -> Option<(&AtomicU64, u64)> {
        let table = if create {
            self.segments.get_or_init(|| (0..SEGMENTS).map(|_| OnceLock::new()).collect())
        } else {
            self.segments.get()?
        };
        let segment = table.get(usize::try_from(id / SEGMENT_PAGES).ok()?)?;
        let words = if create {
            segment.get_or_init(|| (0..SEGMENT_WORDS).map(|_| AtomicU64::new(0)).collect())
        } else {
            segment.get()?
        };
        let in_segment = id % SEGMENT_PAGES;
        let word = words.get(usize::try_from(in_segment / 64).ok()?)?;
        Some((word, 1 << (in_segment % 64)))
    }

    /// Whether page `id` was verified since it was last written.
    pub(crate) fn contains(&self, id: PageId) -> bool {
        // Acquire pairs with the Release in `insert`: seeing the bit means the verified bytes
        // were read before it was set (they do not change while the page is reachable).
        self.word(id, false).is_some_and(|(w, bit)| w.load(Ordering::Acquire) & bit != 0)
    }

    /// Records that page `id` passed its checksum.
    pub(crate) fn insert(&self, id: PageId) {
        if let Some((w, bit)) = self.word(id, true) {
            w.fetch_or(bit, Ordering::Release);
        }
    }

    /// Forgets pages `first..first + count` (they are about to be written).
    pub(crate) fn remove_range(&self, first: PageId, count: u64) {
        for id in first..first.saturating_add(count) {
            if let Some((w, bit)) = self.word(id, false)
                && w.load(Ordering::Relaxed) & bit != 0
            {
                w.fetch_and(!bit, Ordering::Release);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_remembered_until_written_and_far_pages_are_never_remembered() {
        let v = VerifiedPages::new();
        assert!(!v.contains(5));
        v.insert(5);
        v.insert(64);
        v.insert(SEGMENT_PAGES + 3);
        assert!(v.contains(5) && v.contains(64) && v.contains(SEGMENT_PAGES + 3));
        assert!(!v.contains(6) && !v.contains(SEGMENT_PAGES + 4));
        v.remove_range(4, 2);
        assert!(!v.contains(5));
        assert!(v.contains(64));
        let far = SEGMENT_PAGES * SEGMENTS as u64;
        v.insert(far);
        assert!(!v.contains(far), "beyond the covered range every read is checked");
        v.remove_range(u64::MAX - 1, 5);
    }
}
