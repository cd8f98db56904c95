//! The integrity check: every checksum, key order and bound, the height, and that every page
//! is used exactly once (tree node, value page, overflow run, free-list page or free).
//!
//! A bare value page (format 3) describes nothing of its values: the check reads it whole
//! (checksum, id, type), reads every value the leaves place in it (bounds), and checks that the
//! leaves place no more values in it than it counts, and no more bytes than it holds.

use std::collections::HashMap;

use crate::error::Result;
use crate::page::file::{Page, PageFile};
use crate::page::freelist;
use crate::page::meta::Meta;
use crate::page::value::{self, ValueLoc, ValueRef, run_pages};
use crate::page::{PAGE_SIZE_U64, PageId, PageType, count};

use super::{branch, leaf, read_node};

/// What the integrity check found in a healthy file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CheckReport {
    /// Branch and leaf pages.
    pub(crate) tree_pages: u64,
    /// Entries in the leaves (equal to the meta page's entry count).
    pub(crate) entries: u64,
    /// Value pages at least one entry refers to.
    pub(crate) value_pages: u64,
    /// Value pages no entry refers to any more (reclaimed by compaction).
    pub(crate) dead_value_pages: u64,
    /// Pages in overflow runs.
    pub(crate) overflow_pages: u64,
    /// Pages of the free-list chain.
    pub(crate) free_list_pages: u64,
    /// Free pages.
    pub(crate) free_pages: u64,
}

/// How a page is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Tree,
    Value,
    Overflow,
    FreeList,
    Free,
}

/// [`check_reporting`] without a report of progress.
///
/// # Errors
/// As [`check_reporting`].
#[cfg(test)]
pub(crate) fn check(file: &PageFile, meta: &Meta) -> Result<CheckReport> {
    check_reporting(file, meta, &mut |_| {})
}

/// Checks the whole file as of `meta`. Reads every used page once; memory holds one
/// marker per page plus the path of the descent. `on_pages(n)` is told of every `n` pages
/// accounted for (the pages of the meta pages, the tree, values, runs and the free-list; the
/// free pages at the end).
///
/// # Errors
/// [`Error::Corruption`](crate::Error::Corruption) naming the first problem found, or an I/O error.
pub(crate) fn check_reporting(
    file: &PageFile,
    meta: &Meta,
    on_pages: &mut dyn FnMut(u64),
) -> Result<CheckReport> {
    let len = file.len()?;
    if meta.page_count.saturating_mul(PAGE_SIZE_U64) > len {
        return Err(file.corruption(len, "file shorter than its page count"));
    }
    let mut c = Checker {
        file,
        marks: HashMap::new(),
        bare: HashMap::new(),
        report: CheckReport::default(),
        meta,
        on_pages,
    };
    for p in [0, 1] {
        c.marks.insert(p, Use::Tree);
    }
    if meta.height > 0 {
        c.node(meta.root, meta.height - 1, None, None)?;
    }
    for (&page, &(values, refs, bytes)) in &c.bare {
        value::check_bare_usage(values, refs, bytes).map_err(|d| file.bad_page(page, d))?;
    }
    if c.report.entries != meta.entry_count {
        return Err(file.corruption(
            meta.slot() * PAGE_SIZE_U64,
            format!(
                "meta counts {} entries, the leaves hold {}",
                meta.entry_count, c.report.entries
            ),
        ));
    }
    let mut next = meta.free_root;
    while next != 0 {
        c.mark(next, 1, Use::FreeList)?;
        let page = file.read_page(next, PageType::FreeList)?;
        let (n, extents) = freelist::parse(page.bytes()).map_err(|d| file.bad_page(next, d))?;
        for (start, len) in extents {
            c.mark(start, len, Use::Free)?;
        }
        next = n;
    }
    for id in 2..meta.page_count {
        if c.marks.contains_key(&id) {
            continue;
        }
        let (page, ty) = file
            .read_page_of(id, &[PageType::BareValue, PageType::Value])
            .map_err(|_| file.bad_page(id, "page is neither reachable nor free (leaked page)"))?;
        if ty == PageType::Value {
            value::records(page.bytes()).map_err(|d| file.bad_page(id, d))?;
        }
        c.report.dead_value_pages += 1;
    }
    for u in c.marks.values() {
        match u {
            Use::Tree => c.report.tree_pages += 1,
            Use::Value => c.report.value_pages += 1,
            Use::Overflow => c.report.overflow_pages += 1,
            Use::FreeList => c.report.free_list_pages += 1,
            Use::Free => c.report.free_pages += 1,
        }
    }
    c.report.tree_pages -= 2;
    Ok(c.report)
}

struct Checker<'a> {
    file: &'a PageFile,
    marks: HashMap<PageId, Use>,
    /// Per bare value page: the values its header counts, and the values and bytes the leaves
    /// place in it.
    bare: HashMap<PageId, (u16, u64, u64)>,
    report: CheckReport,
    meta: &'a Meta,
    on_pages: &'a mut dyn FnMut(u64),
}

impl Checker<'_> {
    /// Marks `n` pages from `start` as used by `u`; a second use is an error.
    fn mark(&mut self, start: PageId, n: u64, u: Use) -> Result<()> {
        let end = start.checked_add(n).filter(|&e| start >= 2 && e <= self.meta.page_count);
        if end.is_none() {
            return Err(self
                .file
                .bad_page(start, format!("{u:?} pages {start}+{n} outside the file")));
        }
        for p in start..start + n {
            if let Some(prev) = self.marks.insert(p, u) {
                return Err(self.file.bad_page(p, format!("page used as {u:?} and as {prev:?}")));
            }
        }
        (self.on_pages)(n);
        Ok(())
    }

    /// Checks the subtree at `id` (level `lvl`), whose keys must lie in `[lo, hi)`. The
    /// recursion depth is the tree height, bounded by the meta page.
    fn node(&mut self, id: PageId, lvl: u32, lo: Option<&[u8]>, hi: Option<&[u8]>) -> Result<()> {
        self.mark(id, 1, Use::Tree)?;
        let file = self.file;
        let page = read_node(file, id, lvl)?;
        let bad = |d: String| file.bad_page(id, d);
        let in_bounds = |k: &[u8]| lo.is_none_or(|l| k >= l) && hi.is_none_or(|h| k < h);
        if lvl == 0 {
            let l = leaf(file, id, &page)?;
            if l.len() == 0 {
                return Err(bad("empty leaf".into()));
            }
            let mut prev: Option<&[u8]> = None;
            for i in 0..l.len() {
                let e = l.entry(i).map_err(|e| bad(e.to_string()))?;
                if prev.is_some_and(|p| p >= e.key) || !in_bounds(e.key) {
                    return Err(bad(format!("key {i} out of order or out of its parent's range")));
                }
                prev = Some(e.key);
                self.report.entries += 1;
                if let ValueRef::Stored(loc) = e.value {
                    self.value(loc)?;
                }
            }
            return Ok(());
        }
        let b = branch(file, id, &page)?;
        if b.children() < 2 {
            return Err(bad("branch with a single child".into()));
        }
        let mut keys = Vec::with_capacity(b.children() - 1);
        for c in 1..b.children() {
            let k = b.key(c).map_err(|e| bad(e.to_string()))?;
            if keys.last().is_some_and(|p: &&[u8]| *p >= k) || !in_bounds(k) {
                return Err(bad(format!("separator {c} out of order or out of range")));
            }
            keys.push(k);
        }
        for c in 0..b.children() {
            let child = b.child(c).map_err(|e| bad(e.to_string()))?;
            let clo = if c == 0 { lo } else { keys.get(c - 1).copied() };
            let chi = keys.get(c).copied().or(hi);
            self.node(child, lvl - 1, clo, chi)?;
        }
        Ok(())
    }

    /// The first reference to value page `page` marks it and checks it is of type `ty`; every
    /// later one that it is still a value page.
    fn value_page(&mut self, page: PageId, ty: PageType) -> Result<Option<Page>> {
        match self.marks.get(&page) {
            Some(Use::Value) => Ok(None),
            Some(other) => {
                Err(self.file.bad_page(page, format!("value page also used as {other:?}")))
            }
            None => {
                self.mark(page, 1, Use::Value)?;
                self.file.read_page(page, ty).map(Some)
            }
        }
    }

    /// Checks a value reference: its page's type and checksum, and the record or run.
    fn value(&mut self, loc: ValueLoc) -> Result<()> {
        match loc {
            ValueLoc::Packed { page, len, .. } => {
                if let Some(p) = self.value_page(page, PageType::BareValue)? {
                    self.bare.insert(page, (count(p.bytes()), 0, 0));
                }
                // Also checks the page's type when another reference marked it first.
                self.file.read_value(loc)?;
                let usage = self
                    .bare
                    .get_mut(&page)
                    .ok_or_else(|| self.file.bad_page(page, "value page of two kinds"))?;
                usage.1 += 1;
                usage.2 += u64::from(len);
            }
            ValueLoc::Record { page, .. } => {
                if let Some(p) = self.value_page(page, PageType::Value)? {
                    value::records(p.bytes()).map_err(|d| self.file.bad_page(page, d))?;
                }
                if self.bare.contains_key(&page) {
                    return Err(self.file.bad_page(page, "value page of two kinds"));
                }
                self.file.read_value(loc)?;
            }
            ValueLoc::Overflow { page, len } => {
                let n = run_pages(usize::try_from(len).unwrap_or(usize::MAX));
                self.mark(page, n, Use::Overflow)?;
                self.file.read_value(loc)?;
            }
        }
        Ok(())
    }
}
