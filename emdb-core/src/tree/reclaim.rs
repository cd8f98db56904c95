//! [`LiveValues`]: how many live values, and bytes of them, each value page holds, so that a
//! checkpoint can free a value page the moment its last value dies and name the pages worth
//! emptying by moving their live values elsewhere.
//!
//! The count covers every value page a leaf of the durable tree refers to (bare value pages,
//! type 7, and value pages of formats 1 and 2, type 5). It lives in memory only: the index
//! build at open counts every entry it scans ([`LiveValues::add`]), compaction counts the file
//! it wrote, and each checkpoint's tree writer adds the values it places and takes away the
//! ones it drops. Until it is complete (`Store::set_live_values`), nothing is freed by it.

use std::collections::HashMap;

use super::{TreeRoot, scan};
use crate::error::Result;
use crate::page::file::PageFile;
use crate::page::value::{R_VALUE, VALUE_SPACE, ValueLoc, ValueRef};
use crate::page::{PageError, PageId};

/// The live values of one value page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Live {
    values: u32,
    /// Bytes of the live values (with their record headers in a type-5 page).
    bytes: u64,
}

/// Live values per value page; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LiveValues {
    pages: HashMap<PageId, Live>,
    /// The sum of every page's live bytes.
    bytes: u64,
    /// Pages whose last live value died since the count began.
    emptied: u64,
    /// Of those, the pages left in use (not freed): dead space until compaction.
    kept_empty: u64,
}

/// The page of a value that lives in a value page, and the bytes it takes there; `None` for an
/// overflow run (freed on its own when its value dies).
fn in_value_page(loc: ValueLoc) -> Option<(PageId, u64)> {
    match loc {
        ValueLoc::Packed { page, len, .. } => Some((page, u64::from(len))),
        ValueLoc::Record { page, len, .. } => Some((page, u64::from(len) + R_VALUE as u64)),
        ValueLoc::Overflow { .. } => None,
    }
}

impl LiveValues {
    /// Counts a live value at `loc` (nothing for an overflow run).
    pub(crate) fn add(&mut self, loc: ValueLoc) {
        if let Some((page, bytes)) = in_value_page(loc) {
            let live = self.pages.entry(page).or_default();
            live.values = live.values.saturating_add(1);
            live.bytes += bytes;
            self.bytes += bytes;
        }
    }

    /// Takes away the value at `loc`, which died. Returns the page when that was its last live
    /// value (the page is then no longer counted).
    ///
    /// # Errors
    /// The page holds no live value by this count: the count does not match the tree.
    pub(crate) fn remove(&mut self, loc: ValueLoc) -> Result<Option<PageId>, PageError> {
        let Some((page, bytes)) = in_value_page(loc) else { return Ok(None) };
        let Some(live) = self.pages.get_mut(&page) else {
            return Err(PageError::NoLiveValue { page });
        };
        if live.bytes < bytes {
            return Err(PageError::LiveBytesUnderflow { bytes, page });
        }
        live.values -= 1;
        live.bytes -= bytes;
        self.bytes -= bytes;
        if live.values > 0 {
            return Ok(None);
        }
        self.pages.remove(&page);
        self.emptied += 1;
        Ok(Some(page))
    }

    /// The number of value pages holding a live value.
    pub(crate) fn pages(&self) -> u64 {
        self.pages.len() as u64
    }

    /// Records that a page whose last live value died stays in use (it is not freed).
    pub(crate) fn keep_empty(&mut self) {
        self.kept_empty += 1;
    }

    /// Bytes of the value areas of the pages counted that hold no live value (dead values and
    /// unused tails), and of the emptied pages left in use since the count began.
    pub(crate) fn reclaimable_bytes(&self) -> u64 {
        ((self.pages() + self.kept_empty) * VALUE_SPACE as u64).saturating_sub(self.bytes)
    }

    /// The pages at least `dead_percent` % of whose value area holds no live value, emptiest
    /// first, as many as hold at most `budget` live bytes together (at least one page when any
    /// qualifies).
    pub(crate) fn victims(&self, dead_percent: u8, budget: u64) -> PageSet {
        let space = VALUE_SPACE as u64;
        let most_live = space * u64::from(100 - dead_percent.min(100)) / 100;
        let mut found: Vec<(u64, PageId)> = self
            .pages
            .iter()
            .filter(|(_, l)| l.bytes <= most_live)
            .map(|(&page, l)| (l.bytes, page))
            .collect();
        found.sort_unstable();
        let mut set = PageSet::default();
        let mut taken = 0u64;
        for (bytes, page) in found {
            if taken > 0 && taken + bytes > budget {
                break;
            }
            taken += bytes;
            set.insert(page);
        }
        set
    }

    /// How many pages lost their last live value since the count began.
    #[cfg(test)]
    pub(crate) fn emptied(&self) -> u64 {
        self.emptied
    }

    /// Counts the live values of every entry of the tree at `root`.
    ///
    /// # Errors
    /// [`Error::Corruption`](crate::Error::Corruption) for a damaged page, or an I/O error.
    pub(crate) fn count(file: &PageFile, root: TreeRoot) -> Result<LiveValues> {
        let mut live = LiveValues::default();
        scan(file, root, |e| {
            if let ValueRef::Stored(loc) = e.value {
                live.add(loc);
            }
            Ok(())
        })?;
        Ok(live)
    }

    /// Where this count and `other` disagree: the first page whose live values differ, or
    /// `None` when they agree page by page.
    pub(crate) fn differs_from(&self, other: &LiveValues) -> Option<String> {
        let mut pages: Vec<PageId> = self.pages.keys().chain(other.pages.keys()).copied().collect();
        pages.sort_unstable();
        pages.dedup();
        pages.into_iter().find_map(|page| {
            let (a, b) = (self.pages.get(&page), other.pages.get(&page));
            (a != b).then(|| {
                let show = |l: Option<&Live>| l.map_or((0, 0), |l| (l.values, l.bytes));
                format!(
                    "value page {page}: {:?} live values and bytes counted, {:?} in the tree",
                    show(a),
                    show(b)
                )
            })
        })
    }

    /// Whether page `page` holds a live value by this count.
    #[cfg(test)]
    pub(crate) fn holds(&self, page: PageId) -> bool {
        self.pages.contains_key(&page)
    }
}

/// A set of page ids, one bit per page up to the largest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PageSet {
    bits: Vec<u64>,
    len: usize,
}

impl PageSet {
    /// Adds `page`.
    pub(crate) fn insert(&mut self, page: PageId) {
        let (word, bit) = (usize::try_from(page / 64).unwrap_or(usize::MAX), page % 64);
        if self.bits.len() <= word {
            self.bits.resize(word.saturating_add(1), 0);
        }
        if let Some(w) = self.bits.get_mut(word)
            && *w & (1 << bit) == 0
        {
            *w |= 1 << bit;
            self.len += 1;
        }
    }

    /// Whether `page` is in the set.
    #[inline]
    pub(crate) fn contains(&self, page: PageId) -> bool {
        let word = usize::try_from(page / 64).unwrap_or(usize::MAX);
        self.bits.get(word).is_some_and(|w| w & (1 << (page % 64)) != 0)
    }

    /// The number of pages in the set.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the set is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::{LiveValues, PageSet};
    use crate::page::value::{VALUE_SPACE, ValueLoc};

    fn packed(page: u64, len: u32) -> ValueLoc {
        ValueLoc::Packed { page, offset: 16, len }
    }

    #[test]
    fn a_page_is_returned_when_its_last_live_value_dies() {
        let mut live = LiveValues::default();
        live.add(packed(5, 100));
        live.add(packed(5, 200));
        live.add(ValueLoc::Record { page: 6, offset: 16, len: 10 });
        live.add(ValueLoc::Overflow { page: 9, len: 9000 });
        assert_eq!(live.pages(), 2, "an overflow run is not counted");
        assert_eq!(live.reclaimable_bytes(), 2 * VALUE_SPACE as u64 - 300 - 18);
        assert_eq!(live.remove(packed(5, 100)), Ok(None));
        assert_eq!(live.remove(packed(5, 200)), Ok(Some(5)));
        assert!(!live.holds(5));
        assert_eq!(live.remove(ValueLoc::Record { page: 6, offset: 16, len: 10 }), Ok(Some(6)));
        assert_eq!(live.remove(ValueLoc::Overflow { page: 9, len: 9000 }), Ok(None));
        assert_eq!(live.reclaimable_bytes(), 0);
        live.keep_empty();
        assert_eq!(live.reclaimable_bytes(), VALUE_SPACE as u64, "an emptied page left in use");
    }

    #[test]
    fn a_value_that_dies_in_a_page_without_live_values_is_an_error() {
        let mut live = LiveValues::default();
        assert!(live.remove(packed(3, 10)).is_err());
        live.add(packed(3, 10));
        assert!(live.remove(packed(3, 11)).is_err(), "more bytes than the page holds");
    }

    #[test]
    fn victims_are_the_emptiest_pages_past_the_threshold_within_the_budget() {
        let mut live = LiveValues::default();
        let space = u32::try_from(VALUE_SPACE).unwrap();
        live.add(packed(10, space)); // full
        live.add(packed(11, space / 2)); // half dead
        live.add(packed(12, space / 10)); // 90 % dead
        live.add(packed(13, space / 4)); // 75 % dead
        let all = live.victims(50, u64::MAX);
        assert_eq!(all.len(), 3);
        assert!(all.contains(11) && all.contains(12) && all.contains(13) && !all.contains(10));
        let few = live.victims(50, u64::from(space / 10 + space / 4));
        assert_eq!(few.len(), 2);
        assert!(few.contains(12) && few.contains(13));
        let one = live.victims(80, 1);
        assert_eq!(one.len(), 1, "one page even past the budget");
        assert!(one.contains(12));
        assert!(live.victims(100, u64::MAX).is_empty(), "no page is wholly dead");
    }

    #[test]
    fn a_page_set_holds_what_was_inserted() {
        let mut set = PageSet::default();
        assert!(set.is_empty() && !set.contains(0));
        for p in [0, 63, 64, 1000, 1000] {
            set.insert(p);
        }
        assert_eq!(set.len(), 4);
        assert!(set.contains(63) && set.contains(64) && set.contains(1000));
        assert!(!set.contains(1) && !set.contains(999) && !set.contains(1 << 40));
    }
}
