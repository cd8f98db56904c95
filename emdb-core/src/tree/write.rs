//! Writing trees: [`Writer::apply`] turns sorted changes into a new root, writing only the
//! changed paths as new pages (copy-on-write), and [`TreeBuilder`] builds a tree from sorted
//! entries (a fresh file, compaction). Both place values: inline in the leaf, packed into
//! value pages, or in an overflow run.

use std::collections::HashSet;

use super::reclaim::LiveValues;

use crate::error::{Error, Result};
use crate::page::alloc::Allocator;
use crate::page::branch::{
    BRANCH_SPACE, branch_item_child, branch_item_key, build_branch, encode_branch_item,
};
use crate::page::file::PageFile;
use crate::page::leaf::{
    LEAF_SPACE, Leaf, LeafLayout, MAX_LEAF_ENTRY, build_leaf, encode_leaf_entry, inline_entry_len,
    leaf_places, parse_leaf_entry,
};
use crate::page::meta::MAX_HEIGHT;
use crate::page::pack::pack;
use crate::page::value::{
    FIRST_RECORD, MAX_VALUE_LEN, O_VALUE, PACKED_MAX, R_VALUE, ValueLoc, ValueRef, overflow_header,
    put_bare, run_pages,
};
use crate::page::{
    MAX_KEY_LEN, PAGE_SIZE, PAGE_SIZE_U64, PageBuf, PageError, PageId, PageType, new_page, seal,
    u16_of, write_header,
};

/// How many changes ahead of the one being encoded the writer asks for the value's bytes.
const PREFETCH_AHEAD: usize = 8;

/// Asks the CPU to start loading the first bytes of a change's value. The values of a large
/// batch lie in the order they were written, not in key order, so each one is a cache miss that
/// the prefetch overlaps with encoding the changes before it.
fn prefetch_value(change: Option<&Change<'_>>) {
    if let Some((value, _)) = change.and_then(|c| c.value)
        && let Some(first) = value.first()
    {
        crate::os::prefetch(first);
    }
}

/// Value pages are sent to the file in runs of up to this many bytes.
const PENDING_VALUE_BYTES: usize = 1 << 20;

use super::{TreeRoot, branch, leaf, read_node};

/// One change for [`Writer::apply`]: put `key` with `(value, expires_at)`, or remove it, or
/// move its value out of a value page being emptied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change<'a> {
    /// The key (namespace prefix included), at most [`MAX_KEY_LEN`] bytes.
    pub(crate) key: &'a [u8],
    /// The new value and expiry, or `None` to remove the key.
    pub(crate) value: Option<(&'a [u8], u64)>,
    /// `Some(loc)` for a move: `value` holds the bytes stored at `loc`, and the entry is
    /// written again (with its own expiry, its value placed anew) only while it still refers
    /// to `loc`; otherwise the change is skipped and the entry stays as it is.
    pub(crate) from: Option<ValueLoc>,
}

impl<'a> Change<'a> {
    /// Puts `key` with `value` and expiry `expires_at`, or removes it (`None`).
    pub(crate) fn new(key: &'a [u8], value: Option<(&'a [u8], u64)>) -> Self {
        Change { key, value, from: None }
    }
}

/// How many bytes of merged neighbouring leaves a writer holds before writing them out (about
/// 64 leaves): packing is as dense within a run of this size, and memory stays bounded.
const LEAF_RUN_BYTES: usize = 64 * LEAF_SPACE;

/// A node written (or kept) at some level, with the separator left of it in its parent.
#[derive(Debug)]
struct Piece {
    /// `None` for the leftmost node of a parent (it inherits the parent's lower bound).
    sep: Option<Vec<u8>>,
    id: PageId,
    /// Bytes used by the node as [`pack`] counts them (only meaningful when `fresh`).
    used: usize,
    /// Entries (leaf) or keys (branch) of the node (only meaningful when `fresh`).
    items: usize,
    /// Written by this writer (else: an untouched node of the old tree).
    fresh: bool,
}

impl Piece {
    fn underfull(&self, lvl: u32) -> bool {
        let space = if lvl == 0 { LEAF_SPACE } else { BRANCH_SPACE };
        self.fresh && (self.used < space / 4 || (lvl > 0 && self.items == 0))
    }
}

/// The merged entries of neighbouring changed leaves, not yet written.
#[derive(Debug, Default)]
struct LeafRun {
    entries: Run,
    /// The separator of the first merged leaf that left an entry (`None` for a parent's
    /// leftmost child). A leaf emptied by its changes leaves no key between its separator and
    /// the next one, so the run may start at the next leaf's.
    sep: Option<Vec<u8>>,
}

/// Raw entries (or branch items) in one buffer.
#[derive(Debug, Default)]
struct Run {
    buf: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl Run {
    fn push(&mut self, raw: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(raw);
        self.spans.push((start, self.buf.len()));
    }

    fn close(&mut self, start: usize) {
        self.spans.push((start, self.buf.len()));
    }

    /// Appends entry `i` of leaf `l`: its bytes as they are when the leaf is compact, else
    /// decoded and encoded again in the compact layout (the values stay where they are).
    fn push_entry(&mut self, l: &Leaf<'_>, i: usize) -> Result<(), PageError> {
        if l.layout() == LeafLayout::Compact {
            self.push(l.raw(i)?);
            return Ok(());
        }
        let e = l.entry(i)?;
        let start = self.buf.len();
        encode_leaf_entry(&mut self.buf, e.key, e.expires_at, e.value)?;
        // Never larger than the fixed entry it came from for any value a sound file holds; a
        // forged one must not overfill a leaf.
        if self.buf.len() - start + 2 > MAX_LEAF_ENTRY {
            self.buf.truncate(start);
            return Err(PageError::EntryTooLarge { i });
        }
        self.close(start);
        Ok(())
    }

    fn get(&self, i: usize) -> &[u8] {
        self.spans.get(i).and_then(|&(a, b)| self.buf.get(a..b)).unwrap_or_default()
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    /// Sizes as [`pack`] counts them: the entry and its slot.
    fn sizes(&self) -> Vec<usize> {
        self.spans.iter().map(|&(a, b)| b - a + 2).collect()
    }

    fn range(&self, a: usize, b: usize) -> impl ExactSizeIterator<Item = &[u8]> {
        (a..b).map(|i| self.get(i))
    }
}

/// The key of a raw leaf entry.
fn leaf_entry_key(raw: &[u8]) -> &[u8] {
    parse_leaf_entry(raw).map(|e| e.key).unwrap_or_default()
}

/// Writes new pages for one checkpoint (or one bulk build) and tracks what they free.
#[derive(Debug)]
pub(crate) struct Writer<'f> {
    file: &'f PageFile,
    alloc: &'f mut Allocator,
    /// Pages (and run starts) allocated by this writer: reusable at once when dropped again.
    fresh: HashSet<PageId>,
    inline_max: usize,
    /// The bare value page being filled: its id (0: none), buffer, next offset and value count.
    vpage: (PageId, PageBuf, usize, usize),
    /// Full value pages not yet written: consecutive pages from the id, sent to the file in one
    /// write (value pages are never read back while the writer runs).
    vpending: (PageId, Vec<u8>),
    /// Change of the number of entries.
    pub(crate) entry_delta: i64,
    /// Bytes of values in value pages no entry refers to any more (with their record headers
    /// in pages of formats 1 and 2).
    pub(crate) dead_value_bytes: u64,
    /// Per change, in order, the expiry of the entry it replaced or removed (`None`: the tree
    /// held no entry of its key). Callers count live keys with it instead of looking each up.
    pub(crate) prior: Vec<Option<u64>>,
    /// The live values per value page of the tree being changed, kept up to date (`None`: not
    /// counted), and whether a value page whose last live value dies is freed.
    live: Option<(&'f mut LiveValues, bool)>,
    /// The leaves of the old tree this writer replaced, and the leaves of the new tree it wrote.
    pub(crate) leaves: LeafChanges,
}

/// The leaves one writer replaced and the ones it wrote in their place: every key whose leaf
/// changed lies in one of the first in the old tree and in one of the second in the new one (the
/// point index follows its keys to their new leaves with this).
#[derive(Debug, Default, Clone)]
pub(crate) struct LeafChanges {
    /// Leaves of the old tree that were freed.
    pub(crate) replaced: Vec<PageId>,
    /// Leaves of the new tree that were written (none of them freed again by the same writer).
    pub(crate) written: HashSet<PageId>,
}

impl<'f> Writer<'f> {
    /// A writer allocating from `alloc`; values up to `inline_max` bytes stay in their leaf
    /// (when the entry fits half a leaf).
    pub(crate) fn new(file: &'f PageFile, alloc: &'f mut Allocator, inline_max: usize) -> Self {
        Writer {
            file,
            alloc,
            fresh: HashSet::new(),
            inline_max,
            vpage: (0, new_page(), FIRST_RECORD, 0),
            vpending: (0, Vec::new()),
            entry_delta: 0,
            dead_value_bytes: 0,
            prior: Vec::new(),
            live: None,
            leaves: LeafChanges::default(),
        }
    }

    /// Keeps `live` (the count of the tree this writer changes) up to date, and frees each
    /// value page whose last live value dies when `free_emptied`.
    pub(crate) fn count_live(mut self, live: &'f mut LiveValues, free_emptied: bool) -> Self {
        self.live = Some((live, free_emptied));
        self
    }

    fn bad(&self, id: PageId) -> impl Fn(PageError) -> Error + '_ {
        move |d| self.file.bad_page(id, d)
    }

    fn alloc_pages(&mut self, n: u64) -> PageId {
        let id = self.alloc.alloc(n);
        self.fresh.insert(id);
        id
    }

    /// Frees `n` pages at `id`: at once if this writer wrote them, else after the checkpoint.
    fn free(&mut self, id: PageId, n: u64) -> Result<()> {
        if self.fresh.remove(&id) {
            self.alloc.free_fresh(id, n).map_err(|e| self.file.bad_page(e.0, PageError::from(e)))
        } else {
            self.alloc.free_later(id, n);
            Ok(())
        }
    }

    /// Frees leaf `id`, recording it as replaced (a leaf of the old tree) or as no longer
    /// written (one this writer wrote).
    fn free_leaf(&mut self, id: PageId) -> Result<()> {
        if !self.leaves.written.remove(&id) {
            self.leaves.replaced.push(id);
        }
        self.free(id, 1)
    }

    fn write_new(&mut self, page: &mut PageBuf) -> Result<PageId> {
        let id = self.alloc_pages(1);
        self.file.write_page(id, page)?;
        Ok(id)
    }

    /// Places `value` and appends the leaf entry for it to `out`.
    fn encode_entry(
        &mut self,
        out: &mut Vec<u8>,
        key: &[u8],
        value: &[u8],
        exp: u64,
    ) -> Result<()> {
        if key.len() > MAX_KEY_LEN {
            return Err(Error::KeyTooLarge { len: key.len(), max: MAX_KEY_LEN });
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(Error::ValueTooLarge { len: value.len(), max: MAX_VALUE_LEN });
        }
        let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
        let v = if value.len() <= self.inline_max
            && inline_entry_len(key.len(), value.len()) + 2 <= MAX_LEAF_ENTRY
        {
            ValueRef::Inline(value)
        } else if value.len() <= PACKED_MAX {
            ValueRef::Stored(self.put_packed(value, len)?)
        } else {
            let n = run_pages(value.len());
            let page = self.alloc_pages(n);
            let at = page.saturating_mul(PAGE_SIZE_U64);
            self.file.write_at(&overflow_header(page, value), at)?;
            self.file.write_at(value, at + O_VALUE as u64)?;
            ValueRef::Stored(ValueLoc::Overflow { page, len })
        };
        if let (ValueRef::Stored(loc), Some((live, _))) = (v, &mut self.live) {
            live.add(loc);
        }
        // The locations were placed just above, inside their pages.
        encode_leaf_entry(out, key, exp, v)
            .map_err(|e| Error::Internal { detail: format!("a value was placed badly: {e}") })
    }

    /// Appends a value to the bare value page being filled, starting a new one when it is full.
    fn put_packed(&mut self, value: &[u8], len: u32) -> Result<ValueLoc> {
        let fits = self.vpage.0 != 0 && self.vpage.2 + value.len() <= crate::page::PAGE_SIZE;
        if !fits {
            self.flush_values()?;
            let id = self.alloc_pages(1);
            self.vpage = (id, new_page(), FIRST_RECORD, 0);
        }
        let (page, buf, at, count) = &mut self.vpage;
        let offset = *at;
        *at = put_bare(buf, offset, value)
            .ok_or_else(|| self.file.bad_page(*page, "value does not fit its page"))?;
        *count += 1;
        Ok(ValueLoc::Packed { page: *page, offset: u16_of(offset), len })
    }

    /// Writes the value page being filled, if any (into the pending run of value pages).
    fn flush_values(&mut self) -> Result<()> {
        let (id, buf, _, count) = &mut self.vpage;
        if *id == 0 {
            return Ok(());
        }
        let id = std::mem::replace(id, 0);
        write_header(buf, PageType::BareValue, 0, u16_of(*count));
        seal(buf, id);
        let (start, run) = &self.vpending;
        let next = start.saturating_add((run.len() / PAGE_SIZE) as u64);
        if run.is_empty() || next != id || run.len() >= PENDING_VALUE_BYTES {
            self.write_pending_values()?;
            self.vpending.0 = id;
        }
        self.vpending.1.extend_from_slice(&self.vpage.1[..]);
        Ok(())
    }

    /// Sends the pending run of value pages to the file.
    fn write_pending_values(&mut self) -> Result<()> {
        let (start, run) = &mut self.vpending;
        if !run.is_empty() {
            self.file.write_at(run, start.saturating_mul(PAGE_SIZE_U64))?;
            run.clear();
        }
        Ok(())
    }

    /// Accounts for the value of an old entry that is replaced or removed.
    fn drop_value(&mut self, value: ValueRef<'_>) -> Result<()> {
        if let (ValueRef::Stored(loc), Some((live, free_emptied))) = (value, &mut self.live) {
            let free_emptied = *free_emptied;
            let emptied = live.remove(loc).map_err(|d| self.file.bad_page(loc.page(), d))?;
            // A page this writer wrote holds only values placed by it, none of which dies here.
            match emptied {
                Some(page) if free_emptied && !self.fresh.contains(&page) => self.free(page, 1)?,
                Some(_) => live.keep_empty(),
                None => {}
            }
        }
        match value {
            ValueRef::Inline(_) => {}
            ValueRef::Stored(ValueLoc::Packed { len, .. }) => {
                self.dead_value_bytes += u64::from(len);
            }
            ValueRef::Stored(ValueLoc::Record { len, .. }) => {
                self.dead_value_bytes += u64::from(len) + R_VALUE as u64;
            }
            ValueRef::Stored(ValueLoc::Overflow { page, len }) => {
                let n = run_pages(usize::try_from(len).unwrap_or(usize::MAX));
                self.free(page, n)?;
            }
        }
        Ok(())
    }

    /// Applies `changes` (strictly increasing keys) to the tree at `root`; returns the new
    /// root. Pages of the old tree are never written, only freed for after the checkpoint.
    ///
    /// # Errors
    /// A page of the old tree fails a check, a key or value is too large, or I/O fails.
    pub(crate) fn apply(&mut self, root: TreeRoot, changes: &[Change<'_>]) -> Result<TreeRoot> {
        debug_assert!(
            changes.windows(2).all(|w| w.first().map(|c| c.key) < w.get(1).map(|c| c.key))
        );
        if changes.is_empty() {
            return Ok(root);
        }
        if root.height == 0 {
            let mut run = Run::default();
            for (i, c) in changes.iter().enumerate() {
                prefetch_value(changes.get(i + PREFETCH_AHEAD));
                self.prior.push(None);
                if c.from.is_some() {
                    // A move of a value the (empty) tree does not hold.
                    continue;
                }
                if let Some((v, exp)) = c.value {
                    let start = run.buf.len();
                    self.encode_entry(&mut run.buf, c.key, v, exp)?;
                    run.close(start);
                    self.entry_delta += 1;
                }
            }
            let pieces = self.write_leaves(&run)?;
            return self.grow(pieces, 0);
        }
        let pieces = self.apply_node(root.root, root.height - 1, changes)?;
        self.grow(pieces, root.height - 1)
    }

    /// Applies changes to the subtree at `id` (level `lvl`); returns its replacement nodes.
    fn apply_node(&mut self, id: PageId, lvl: u32, changes: &[Change<'_>]) -> Result<Vec<Piece>> {
        let file = self.file;
        if lvl == 0 {
            let mut run = Run::default();
            self.merge_leaf(id, changes, &mut run)?;
            return self.write_leaves(&run);
        }
        let page = read_node(file, id, lvl)?;
        let b = branch(file, id, &page)?;
        let mut kids = Vec::with_capacity(b.children() + 2);
        // Above the leaves, neighbouring leaves that change are merged into one run and packed
        // together: a leaf that overflows lends entries to its neighbours instead of splitting
        // into two thirds-full pages, and leaves that lose entries fill up from theirs.
        let mut leaves = LeafRun::default();
        let mut rest = changes;
        for c in 0..b.children() {
            let sep = if c == 0 { None } else { Some(b.key(c).map_err(self.bad(id))?) };
            let upper =
                if c + 1 < b.children() { Some(b.key(c + 1).map_err(self.bad(id))?) } else { None };
            let cut = upper.map_or(rest.len(), |u| rest.partition_point(|ch| ch.key < u));
            let (mine, later) = rest.split_at(cut);
            rest = later;
            let child = b.child(c).map_err(self.bad(id))?;
            if lvl == 1 && !mine.is_empty() {
                if leaves.entries.len() == 0 {
                    leaves.sep = sep.map(<[u8]>::to_vec);
                }
                self.merge_leaf(child, mine, &mut leaves.entries)?;
                if leaves.entries.buf.len() >= LEAF_RUN_BYTES {
                    self.flush_leaves(&mut leaves, &mut kids)?;
                }
                continue;
            }
            self.flush_leaves(&mut leaves, &mut kids)?;
            if mine.is_empty() {
                kids.push(Piece {
                    sep: sep.map(<[u8]>::to_vec),
                    id: child,
                    used: 0,
                    items: 0,
                    fresh: false,
                });
                continue;
            }
            let mut pieces = self.apply_node(child, lvl - 1, mine)?;
            if let Some(first) = pieces.first_mut() {
                first.sep = sep.map(<[u8]>::to_vec);
            }
            kids.append(&mut pieces);
        }
        self.flush_leaves(&mut leaves, &mut kids)?;
        drop(page);
        self.free(id, 1)?;
        if let Some(first) = kids.first_mut() {
            first.sep = None;
        }
        self.fix_underfull(lvl - 1, &mut kids)?;
        self.write_branches(lvl, kids)
    }

    /// Appends the entries of leaf `id` with `changes` applied (in key order) to `run`, and
    /// frees the leaf.
    fn merge_leaf(&mut self, id: PageId, changes: &[Change<'_>], run: &mut Run) -> Result<()> {
        let file = self.file;
        let page = read_node(file, id, 0)?;
        let l = leaf(file, id, &page)?;
        let n = l.len();
        let mut i = 0;
        for c in changes {
            while i < n && l.key(i).map_err(self.bad(id))? < c.key {
                run.push_entry(&l, i).map_err(self.bad(id))?;
                i += 1;
            }
            let exists = i < n && l.key(i).map_err(self.bad(id))? == c.key;
            let prior =
                if exists { Some(l.entry(i).map_err(self.bad(id))?.expires_at) } else { None };
            self.prior.push(prior);
            let mut value = c.value;
            if let Some(from) = c.from {
                let old = if exists { Some(l.entry(i).map_err(self.bad(id))?) } else { None };
                match (old, value) {
                    // Still where the mover found it: written again with its own expiry.
                    (Some(old_entry), Some((bytes, _)))
                        if old_entry.value == ValueRef::Stored(from) =>
                    {
                        value = Some((bytes, old_entry.expires_at));
                    }
                    // Changed or gone since: the entry (if any) stays as it is.
                    _ => continue,
                }
            }
            if exists {
                self.drop_value(l.entry(i).map_err(self.bad(id))?.value)?;
                i += 1;
            }
            match (value, exists) {
                (None, true) => self.entry_delta -= 1,
                (Some(_), false) => self.entry_delta += 1,
                _ => {}
            }
            if let Some((v, exp)) = value {
                let start = run.buf.len();
                self.encode_entry(&mut run.buf, c.key, v, exp)?;
                run.close(start);
            }
        }
        for j in i..n {
            run.push_entry(&l, j).map_err(self.bad(id))?;
        }
        drop(page);
        self.free_leaf(id)
    }

    /// Writes the merged entries of neighbouring leaves as evenly filled leaves and appends
    /// them to `kids`, the first under the separator of the first merged leaf.
    fn flush_leaves(&mut self, leaves: &mut LeafRun, kids: &mut Vec<Piece>) -> Result<()> {
        let LeafRun { entries, sep } = std::mem::take(leaves);
        let mut pieces = self.write_leaves(&entries)?;
        if let Some(first) = pieces.first_mut() {
            first.sep = sep;
        }
        kids.append(&mut pieces);
        Ok(())
    }

    /// Merges underfull nodes written by this writer with a neighbour until none is left
    /// (or only one node remains).
    fn fix_underfull(&mut self, lvl: u32, kids: &mut Vec<Piece>) -> Result<()> {
        let mut j = 0;
        while kids.len() > 1 && j < kids.len() {
            if kids.get(j).is_some_and(|k| k.underfull(lvl)) {
                let left = if j + 1 < kids.len() { j } else { j - 1 };
                self.merge(lvl, kids, left)?;
                j = left;
            } else {
                j += 1;
            }
        }
        Ok(())
    }

    /// Replaces `kids[j]` and `kids[j + 1]` (level `lvl`) by the repacked union of both.
    fn merge(&mut self, lvl: u32, kids: &mut Vec<Piece>, j: usize) -> Result<()> {
        let mut pair = kids.splice(j..j + 2, std::iter::empty()).collect::<Vec<_>>().into_iter();
        let (Some(left), Some(right)) = (pair.next(), pair.next()) else { return Ok(()) };
        let file = self.file;
        let mut run = Run::default();
        let lp = read_node(file, left.id, lvl)?;
        let rp = read_node(file, right.id, lvl)?;
        let mut pieces = if lvl == 0 {
            for (id, p) in [(left.id, &lp), (right.id, &rp)] {
                let l = leaf(file, id, p)?;
                for i in 0..l.len() {
                    run.push_entry(&l, i).map_err(self.bad(id))?;
                }
            }
            drop((lp, rp));
            self.free_leaf(left.id)?;
            self.free_leaf(right.id)?;
            self.write_leaves(&run)?
        } else {
            let lb = branch(file, left.id, &lp)?;
            let rb = branch(file, right.id, &rp)?;
            let child0 = lb.child(0).map_err(self.bad(left.id))?;
            for i in 0..lb.children() - 1 {
                run.push(lb.raw(i).map_err(self.bad(left.id))?);
            }
            let start = run.buf.len();
            let sep = right.sep.as_deref().unwrap_or_default();
            encode_branch_item(&mut run.buf, sep, rb.child(0).map_err(self.bad(right.id))?);
            run.close(start);
            for i in 0..rb.children() - 1 {
                run.push(rb.raw(i).map_err(self.bad(right.id))?);
            }
            drop((lp, rp));
            self.free(left.id, 1)?;
            self.free(right.id, 1)?;
            self.write_branch_run(lvl, child0, &run)?
        };
        if let Some(first) = pieces.first_mut() {
            first.sep = left.sep;
        }
        let tail = kids.split_off(j);
        kids.append(&mut pieces);
        kids.extend(tail);
        Ok(())
    }

    /// Writes raw leaf entries as evenly filled leaves.
    fn write_leaves(&mut self, run: &Run) -> Result<Vec<Piece>> {
        if run.len() == 0 {
            return Ok(Vec::new());
        }
        let sizes = run.sizes();
        let mut pieces = Vec::new();
        let mut start = 0;
        for (k, end) in pack(&sizes, LEAF_SPACE).into_iter().enumerate() {
            let mut page = build_leaf(run.range(start, end));
            let id = self.write_new(&mut page)?;
            self.leaves.written.insert(id);
            let sep = (k > 0).then(|| leaf_entry_key(run.get(start)).to_vec());
            let used = sizes.get(start..end).unwrap_or_default().iter().sum();
            pieces.push(Piece { sep, id, used, items: end - start, fresh: true });
            start = end;
        }
        Ok(pieces)
    }

    /// Writes the branch level `lvl` over `kids` (the first one's separator is ignored).
    fn write_branches(&mut self, lvl: u32, kids: Vec<Piece>) -> Result<Vec<Piece>> {
        let mut it = kids.into_iter();
        let Some(first) = it.next() else { return Ok(Vec::new()) };
        let mut run = Run::default();
        for k in it {
            let start = run.buf.len();
            encode_branch_item(&mut run.buf, k.sep.as_deref().unwrap_or_default(), k.id);
            run.close(start);
        }
        self.write_branch_run(lvl, first.id, &run)
    }

    /// Writes branch pages at `lvl` from child 0 and raw items.
    fn write_branch_run(&mut self, lvl: u32, child0: PageId, run: &Run) -> Result<Vec<Piece>> {
        let level = u8::try_from(lvl).unwrap_or(u8::MAX);
        let sizes = run.sizes();
        if run.len() == 0 {
            let mut page = build_branch(level, child0, std::iter::empty());
            let id = self.write_new(&mut page)?;
            return Ok(vec![Piece { sep: None, id, used: 0, items: 0, fresh: true }]);
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        for (k, end) in pack(&sizes, BRANCH_SPACE).into_iter().enumerate() {
            let used = sizes.get(start..end).unwrap_or_default().iter().sum();
            let (sep, c0, from) = if k == 0 {
                (None, child0, start)
            } else {
                let first = run.get(start);
                (Some(branch_item_key(first).to_vec()), branch_item_child(first), start + 1)
            };
            let mut page = build_branch(level, c0, run.range(from, end));
            let id = self.write_new(&mut page)?;
            pieces.push(Piece { sep, id, used, items: end - from, fresh: true });
            start = end;
        }
        Ok(pieces)
    }

    /// Builds the levels above `pieces` (at `lvl`) up to one root, then drops root branches
    /// with a single child.
    fn grow(&mut self, mut pieces: Vec<Piece>, mut lvl: u32) -> Result<TreeRoot> {
        loop {
            if pieces.len() > 1 {
                self.fix_underfull(lvl, &mut pieces)?;
            }
            if pieces.len() <= 1 {
                break;
            }
            if lvl + 2 > MAX_HEIGHT {
                return Err(Error::Internal {
                    detail: format!("the tree would exceed the maximum height of {MAX_HEIGHT}"),
                });
            }
            lvl += 1;
            pieces = self.write_branches(lvl, pieces)?;
        }
        let Some(mut root) = pieces.pop().map(|p| p.id) else { return Ok(TreeRoot::default()) };
        while lvl > 0 {
            let page = read_node(self.file, root, lvl)?;
            let b = branch(self.file, root, &page)?;
            if b.children() != 1 {
                break;
            }
            let child = b.child(0).map_err(self.bad(root))?;
            drop(page);
            self.free(root, 1)?;
            root = child;
            lvl -= 1;
        }
        Ok(TreeRoot { root, height: lvl + 1 })
    }

    /// Writes the value page being filled; call once after the last apply or push.
    ///
    /// # Errors
    /// An I/O error.
    pub(crate) fn finish(&mut self) -> Result<()> {
        self.flush_values()?;
        self.write_pending_values()
    }
}

/// Adds the next entry (key, value, expiry) to a tree being built ([`TreeBuilder::push`]).
pub(crate) type Push<'a> = &'a mut dyn FnMut(&[u8], &[u8], u64) -> Result<()>;

/// Where each raw entry a [`TreeBuilder`] wrote went: its leaf, its place in the leaf
/// ([`Leaf::place`](crate::page::leaf::Leaf::place)), the entry.
pub(crate) type Placed<'f> = &'f mut dyn FnMut(PageId, u16, &[u8]) -> Result<()>;

/// Builds a tree from entries pushed in strictly increasing key order, writing each leaf as
/// soon as it is full: memory holds about two leaves plus one key per leaf.
pub(crate) struct TreeBuilder<'f> {
    w: Writer<'f>,
    run: Run,
    leaves: Vec<Piece>,
    bytes: usize,
    /// Told where each entry went, as its leaf is written (compaction's point index).
    placed: Option<Placed<'f>>,
}

impl std::fmt::Debug for TreeBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeBuilder")
            .field("leaves", &self.leaves.len())
            .field("pending", &self.run.len())
            .finish_non_exhaustive()
    }
}

impl<'f> TreeBuilder<'f> {
    /// A builder writing through `file`, allocating from `alloc` (an empty file's allocator);
    /// it tells `placed`, if any, where each entry went.
    pub(crate) fn new(
        file: &'f PageFile,
        alloc: &'f mut Allocator,
        inline_max: usize,
        placed: Option<Placed<'f>>,
    ) -> Self {
        TreeBuilder {
            w: Writer::new(file, alloc, inline_max),
            run: Run::default(),
            leaves: Vec::new(),
            bytes: 0,
            placed,
        }
    }

    /// Tells `placed` where the entries `start..end` of the run went: leaf `id`, in order.
    fn report(&mut self, id: PageId, start: usize, end: usize) -> Result<()> {
        if let Some(placed) = self.placed.as_mut() {
            for (place, entry) in leaf_places(self.run.range(start, end)) {
                placed(id, place, entry)?;
            }
        }
        Ok(())
    }

    /// Adds the next entry; keys must be strictly increasing.
    ///
    /// # Errors
    /// A key or value too large, or an I/O error.
    pub(crate) fn push(&mut self, key: &[u8], value: &[u8], expires_at: u64) -> Result<()> {
        debug_assert!(
            self.run.len() == 0 || leaf_entry_key(self.run.get(self.run.len() - 1)) < key
        );
        let start = self.run.buf.len();
        self.w.encode_entry(&mut self.run.buf, key, value, expires_at)?;
        self.bytes += self.run.buf.len() - start + 2;
        self.run.close(start);
        self.w.entry_delta += 1;
        if self.bytes > 2 * LEAF_SPACE {
            // Write one full leaf from the front; keep the rest for even packing at the end.
            let mut used = 0;
            let mut n = 0;
            for s in self.run.sizes() {
                if used + s > LEAF_SPACE {
                    break;
                }
                used += s;
                n += 1;
            }
            let mut page = build_leaf(self.run.range(0, n));
            let id = self.w.write_new(&mut page)?;
            self.report(id, 0, n)?;
            let sep = (!self.leaves.is_empty()).then(|| leaf_entry_key(self.run.get(0)).to_vec());
            self.leaves.push(Piece { sep, id, used, items: n, fresh: true });
            let mut rest = Run::default();
            for i in n..self.run.len() {
                rest.push(self.run.get(i));
            }
            self.run = rest;
            self.bytes -= used;
        }
        Ok(())
    }

    /// Writes the last leaves and the branch levels; returns the root and the entry count.
    ///
    /// # Errors
    /// An I/O error.
    pub(crate) fn finish(mut self) -> Result<(TreeRoot, u64)> {
        let mut tail = self.w.write_leaves(&self.run)?;
        let mut start = 0;
        for piece in &tail {
            self.report(piece.id, start, start + piece.items)?;
            start += piece.items;
        }
        if !self.leaves.is_empty()
            && let Some(first) = tail.first_mut()
        {
            first.sep = Some(leaf_entry_key(self.run.get(0)).to_vec());
        }
        self.leaves.append(&mut tail);
        let root = self.w.grow(self.leaves, 0)?;
        self.w.finish()?;
        Ok((root, u64::try_from(self.w.entry_delta).unwrap_or(0)))
    }
}
