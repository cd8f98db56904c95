//! The page allocator: which pages are free now, which are held back until no reader can see
//! them, and which the checkpoint in progress has replaced.
//!
//! Rule (the invariant of copy-on-write): a page freed by checkpoint N was reachable from the
//! root of checkpoint N-1; it is handed out again only after checkpoint N is durable and every
//! reader pins a root of sequence N or newer.

use std::collections::BTreeMap;

use super::freelist::Extent;
use super::{PageError, PageId};

/// Free space of the page file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Allocator {
    /// Reusable now: start → length, coalesced.
    free: BTreeMap<PageId, u64>,
    /// The first page past every page ever used; the file grows from here.
    end: PageId,
    /// Freed by a durable checkpoint (its sequence), waiting for older readers to go.
    pending: Vec<(u64, Vec<Extent>)>,
    /// Freed by the checkpoint in progress.
    freed_now: Vec<Extent>,
}

/// A page given back to the allocator while it is free: two references to one page, which only
/// a damaged tree (or a bug) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DoubleFree(pub(crate) PageId);

impl From<DoubleFree> for PageError {
    fn from(DoubleFree(page): DoubleFree) -> Self {
        PageError::DoubleFree { page }
    }
}

impl Allocator {
    /// An allocator for a file of `end` pages whose `free` extents are reusable.
    ///
    /// # Errors
    /// [`PageError::ExtentOutside`] when an extent is out of bounds, [`PageError::DoubleFree`]
    /// when it overlaps another.
    pub(crate) fn new(end: PageId, free: &[Extent]) -> Result<Self, PageError> {
        let mut a = Allocator { end, ..Allocator::default() };
        for &(start, len) in free {
            if start < 2 || len == 0 || start.checked_add(len).is_none_or(|e| e > end) {
                return Err(PageError::ExtentOutside { start, len, end });
            }
            a.insert(start, len)?;
        }
        Ok(a)
    }

    /// The first page never used.
    pub(crate) fn end(&self) -> PageId {
        self.end
    }

    /// Adds an extent to the reusable set, merging neighbours; an overlap is an error.
    fn insert(&mut self, start: PageId, len: u64) -> Result<(), DoubleFree> {
        let mut s = start;
        let mut l = len;
        if let Some((&ps, &pl)) = self.free.range(..=start).next_back() {
            if ps + pl > start {
                return Err(DoubleFree(start));
            }
            if ps + pl == start {
                self.free.remove(&ps);
                s = ps;
                l += pl;
            }
        }
        if let Some((&ns, &nl)) = self.free.range(start..).next() {
            if ns < start + len {
                return Err(DoubleFree(ns));
            }
            if ns == start + len {
                self.free.remove(&ns);
                l += nl;
            }
        }
        self.free.insert(s, l);
        Ok(())
    }

    /// Allocates `n` consecutive pages, reusing free ones first.
    pub(crate) fn alloc(&mut self, n: u64) -> PageId {
        let found = self.free.iter().find(|&(_, &l)| l >= n).map(|(&s, &l)| (s, l));
        if let Some((s, l)) = found {
            self.free.remove(&s);
            if l > n {
                self.free.insert(s + n, l - n);
            }
            return s;
        }
        let s = self.end;
        self.end += n;
        s
    }

    /// Allocates `n` pages at the end of the file, never reusing free ones.
    #[cfg(test)]
    pub(crate) fn alloc_at_end(&mut self, n: u64) -> PageId {
        let s = self.end;
        self.end += n;
        s
    }

    /// Frees pages that the checkpoint in progress allocated and no longer needs: nothing
    /// durable can reach them, so they are reusable at once.
    ///
    /// # Errors
    /// [`DoubleFree`] when a page is freed while free.
    pub(crate) fn free_fresh(&mut self, start: PageId, n: u64) -> Result<(), DoubleFree> {
        self.insert(start, n)
    }

    /// Frees pages reachable from the durable root, which the checkpoint in progress replaced.
    pub(crate) fn free_later(&mut self, start: PageId, n: u64) {
        self.freed_now.push((start, n));
    }

    /// Records that checkpoint `sequence` is durable: what it freed waits for older readers.
    pub(crate) fn checkpoint_done(&mut self, sequence: u64) {
        let freed = std::mem::take(&mut self.freed_now);
        if !freed.is_empty() {
            self.pending.push((sequence, freed));
        }
    }

    /// Makes reusable the pages freed by checkpoints up to `oldest_pinned`, the oldest
    /// sequence a reader still holds (pass the durable sequence when no reader holds any).
    ///
    /// # Errors
    /// [`DoubleFree`] when a page is freed while free.
    pub(crate) fn release(&mut self, oldest_pinned: u64) -> Result<(), DoubleFree> {
        let (ready, wait): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(seq, _)| *seq <= oldest_pinned);
        self.pending = wait;
        for (_, extents) in ready {
            for (s, l) in extents {
                self.insert(s, l)?;
            }
        }
        Ok(())
    }

    /// Every extent that is free once the checkpoint in progress is durable (and after a
    /// reopen, when no reader remains), sorted and coalesced: what the free-list records.
    pub(crate) fn persisted(&self) -> Result<Vec<Extent>, DoubleFree> {
        let mut all = Allocator { end: self.end, free: self.free.clone(), ..Allocator::default() };
        for (_, extents) in &self.pending {
            for &(s, l) in extents {
                all.insert(s, l)?;
            }
        }
        for &(s, l) in &self.freed_now {
            all.insert(s, l)?;
        }
        Ok(all.free.into_iter().collect())
    }

    /// The number of pages reusable now.
    pub(crate) fn free_pages(&self) -> u64 {
        self.free.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_pages_wait_for_durability_and_readers() {
        let mut a = Allocator::new(10, &[]).unwrap();
        assert_eq!(a.alloc(1), 10);
        a.free_later(3, 2);
        assert_eq!(a.alloc(1), 11, "pages freed by the running checkpoint are not reused");
        a.checkpoint_done(5);
        a.release(4).unwrap();
        assert_eq!(a.alloc(1), 12, "a reader of sequence 4 may still read them");
        a.release(5).unwrap();
        assert_eq!(a.alloc(2), 3);
    }

    #[test]
    fn extents_coalesce_and_double_frees_are_refused() {
        let mut a = Allocator::new(100, &[(10, 2), (14, 1)]).unwrap();
        a.free_fresh(12, 2).unwrap();
        assert_eq!(a.persisted().unwrap(), vec![(10, 5)]);
        assert!(a.free_fresh(11, 1).is_err());
        assert!(Allocator::new(100, &[(10, 5), (12, 1)]).is_err());
        assert!(Allocator::new(100, &[(99, 2)]).is_err());
        assert!(Allocator::new(100, &[(1, 1)]).is_err());
        assert_eq!(a.alloc(3), 10);
        assert_eq!(a.alloc(3), 100);
        assert_eq!(a.free_pages(), 2);
    }

    #[test]
    fn the_persisted_list_includes_pending_and_current_frees() {
        let mut a = Allocator::new(50, &[(2, 1)]).unwrap();
        a.free_later(20, 1);
        a.checkpoint_done(1);
        a.free_later(30, 3);
        assert_eq!(a.persisted().unwrap(), vec![(2, 1), (20, 1), (30, 3)]);
        assert_eq!(a.alloc_at_end(2), 50);
        assert_eq!(a.end(), 52);
    }
}
