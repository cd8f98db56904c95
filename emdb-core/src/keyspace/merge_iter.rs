//! The engine's ordered read: a cursor over the tree merged with the memtable, at a registered
//! snapshot. [`RawIter`] is what the public [`Iter`](crate::Iter) and [`Keys`](crate::Keys)
//! wrap.
//!
//! An iterator registers a read snapshot when it is created and reads the namespace at that
//! snapshot, so it never holds a lock between calls to `next` (writers go on, and writing to the
//! database while iterating it is fine) and never sees part of a commit made after it started.

use std::cmp::Ordering;
use std::ops::{Bound, Range};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};

use super::tree_key;
use super::{Keyspace, NsState, SnapshotGuard, TreeSnap, View, Visible};
use crate::batch::{ExpiresAt, is_expired};
use crate::error::Result;
use crate::io::SharedMap;
use crate::page::file::{Page, PageFile};
use crate::page::leaf::{Leaf, LeafEntry};
use crate::page::value::{ValueLoc, ValueRef};
use crate::page::{PAGE_SIZE_U64, PageId};
use crate::tree::Position;

/// The most memtable entries one read-ahead of an end takes.
const MEM_CHUNK: usize = 128;

/// How many memtable entries the first read-ahead of an end takes. Read-aheads double up to
/// [`MEM_CHUNK`], so a short range (`take(10)`) clones a few memtable entries, not a hundred,
/// while a long scan soon reads in full chunks. The tree is not read ahead at all: each end
/// keeps its position in the tree and decodes an entry only when it reaches it.
const FIRST_MEM_CHUNK: usize = 8;

/// A key and its value (empty for a keys-only iterator), as [`RawIter::next_entry`] hands them
/// out.
pub(crate) type Entry = (Arc<[u8]>, Vec<u8>);

/// The lower and upper bound of a key range.
pub(crate) type KeyBounds = (Bound<Arc<[u8]>>, Bound<Arc<[u8]>>);

/// Where the value of the entry an end stands on is.
#[derive(Debug, Clone, Copy)]
enum ValueAt<'a> {
    /// In the memtable.
    Mem(&'a Arc<[u8]>),
    /// Inline in the leaf.
    Inline(&'a [u8]),
    /// In a value page or overflow run.
    Stored(ValueLoc),
    /// Not read (a keys-only iterator).
    Skipped,
}

/// A live entry as an end of the iterator reaches it, borrowed from the memtable's read-ahead or
/// the tree's leaf: nothing is copied until the caller asks for it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a> {
    /// The key within the namespace.
    key: &'a [u8],
    value: ValueAt<'a>,
    /// The snapshot's page file, for stored values.
    file: Option<&'a PageFile>,
    /// The mapping the current leaf was read through, which stored values are read from when
    /// it covers them (no lock, no system call).
    map: Option<&'a SharedMap>,
    /// The value page this iterator last read a value from, its checks done.
    checked: &'a AtomicU64,
}

impl<'a> Item<'a> {
    /// The value's bytes, read and checked from the page file if they are stored there.
    ///
    /// # Errors
    /// [`Error::Corruption`](crate::Error::Corruption) or an I/O error reading a stored value.
    fn value_vec(&self) -> Result<Vec<u8>> {
        match (self.value, self.file) {
            (ValueAt::Mem(bytes), _) => Ok(bytes.to_vec()),
            (ValueAt::Inline(bytes), _) => Ok(bytes.to_vec()),
            (ValueAt::Stored(loc), Some(file)) => {
                if let Some(map) = self.map
                    && let Some(bytes) = file.value_in_map(map, loc, self.checked)?
                {
                    return Ok(bytes.to_vec());
                }
                file.read_value(loc)
            }
            // A stored value always comes from the tree; without one there is nothing to read.
            (ValueAt::Stored(_) | ValueAt::Skipped, _) => Ok(Vec::new()),
        }
    }

    /// The value's bytes, borrowed where they lie (the memtable, the leaf, the mapping) or read
    /// into `buf` (a stored value the mapping does not cover, or reads without a mapping).
    ///
    /// # Errors
    /// As [`value_vec`](Self::value_vec).
    #[inline]
    fn value_ref<'b>(&self, buf: &'b mut Vec<u8>) -> Result<&'b [u8]>
    where
        'a: 'b,
    {
        match (self.value, self.file) {
            (ValueAt::Mem(bytes), _) => Ok(bytes),
            (ValueAt::Inline(bytes), _) => Ok(bytes),
            (ValueAt::Stored(loc), Some(file)) => {
                if let Some(map) = self.map
                    && let Some(bytes) = file.value_in_map(map, loc, self.checked)?
                {
                    return Ok(bytes);
                }
                buf.clear();
                file.read_value_into(loc, buf)?;
                Ok(buf)
            }
            (ValueAt::Stored(_) | ValueAt::Skipped, _) => Ok(&[]),
        }
    }

    /// The key (without its first `strip` bytes) and the value, as owned copies.
    fn to_owned_pair(self, strip: usize) -> Result<(Vec<u8>, Vec<u8>)> {
        let value = self.value_vec()?;
        Ok((self.key.get(strip..).unwrap_or_default().to_vec(), value))
    }
}

/// The entry as [`RawIter::next_entry`] hands it out.
fn owned_entry(item: Item<'_>) -> Result<Entry> {
    Ok((Arc::from(item.key), item.value_vec()?))
}

/// A settled tree entry, decoded: where its key (without the namespace prefix) and inline value
/// lie in the leaf page, or where its value is stored.
#[derive(Debug, Clone)]
struct Cur {
    key: Range<usize>,
    value: CurValue,
    expires_at: ExpiresAt,
}

#[derive(Debug, Clone)]
enum CurValue {
    Inline(Range<usize>),
    Stored(ValueLoc),
}

impl Cur {
    /// Records `e`, an entry of the leaf `pos` is on, by its offsets in the page.
    #[expect(
        clippy::inline_always,
        reason = "called once per entry; out of line, the returned struct is copied through \
                  memory right after the callee stored it, a store-forwarding stall"
    )]
    #[inline(always)]
    fn of(pos: &Position, e: &LeafEntry<'_>, prefix_len: usize) -> Cur {
        let base = pos.leaf_page().map_or(0, |p| p.bytes().as_ptr().addr());
        let span = |b: &[u8]| {
            let at = b.as_ptr().addr().wrapping_sub(base);
            at..at + b.len()
        };
        let key = span(e.key.get(prefix_len..).unwrap_or_default());
        let value = match e.value {
            ValueRef::Inline(b) => CurValue::Inline(span(b)),
            ValueRef::Stored(loc) => CurValue::Stored(loc),
        };
        Cur { key, value, expires_at: e.expires_at }
    }
}

/// How many entries ahead of an end's position [`touch_ahead`] reaches.
const TOUCH_AHEAD: usize = 10;

/// Prefetches the first byte of the stored values of the next [`TOUCH_AHEAD`] entries of the
/// leaf `pos` is on, unless done already. The prefetches are independent and never wait for
/// their data, so the processor has the cache (and TLB) misses of all of them in flight at
/// once; read one by one as the entries are yielded, every value page of a short range would
/// cost a full miss in turn. (Loads instead of prefetches stall the loop once its decoding of
/// the entries fills the reorder buffer behind the first miss.) Only a hint: nothing is checked
/// or kept, and a leaf not read through the mapping is left alone.
fn touch_ahead(touched: &mut Option<(PageId, usize)>, pos: &Position, forward: bool) {
    let Some((id, page, i)) = pos.leaf_at() else { return };
    if let Some((leaf_id, until)) = *touched
        && leaf_id == id
        && (if forward { i < until } else { i > until })
    {
        return;
    }
    let (Some(map), Ok(leaf)) = (page.map(), Leaf::new(page.bytes())) else { return };
    let (from, until) = if forward {
        (i, i.saturating_add(TOUCH_AHEAD).min(leaf.len()))
    } else {
        (i.saturating_sub(TOUCH_AHEAD - 1), i.saturating_sub(TOUCH_AHEAD))
    };
    let end = if forward { until } else { i.saturating_add(1) };
    for j in from..end {
        if let Some((page, offset)) = leaf.value_start(j)
            && let Some(byte) = page
                .checked_mul(PAGE_SIZE_U64)
                .and_then(|at| usize::try_from(at + u64::from(offset)).ok())
                .and_then(|at| map.get(at))
        {
            crate::os::prefetch(byte);
        }
    }
    *touched = Some((id, until));
}

/// Which source the entry an end stands on comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Mem,
    Tree,
    /// Both hold the key: the memtable's version wins, the tree's is passed over.
    Both,
}

/// One end of an iterator: where it stands in the tree and in the memtable.
#[derive(Debug)]
struct End {
    /// The position in the tree, on the next tree entry this end has not passed; `None` before
    /// the end's first read.
    tree: Option<Position>,
    /// The leaf and the index up to which (exclusive, in this end's direction) the stored values
    /// of its entries were touched by [`touch_ahead`].
    touched: Option<(PageId, usize)>,
    /// The entry the position is on, once checked to be of this namespace and within the
    /// bounds (decoded once, however often it is looked at).
    cur: Option<Cur>,
    /// The tree holds nothing more for this end.
    tree_done: bool,
    /// Memtable entries read ahead (removal markers included), in this end's order.
    mem: Vec<Visible>,
    /// The next entry of `mem` this end has not passed.
    mem_at: usize,
    /// The memtable holds nothing for this end past `mem`.
    mem_done: bool,
    /// How many entries the next memtable read-ahead takes.
    mem_chunk: usize,
    /// The source of the entry this end yielded last, which it passes at its next step (the
    /// entry stays in place while the caller borrows it).
    pending: Option<Source>,
    /// Nothing more comes from this end.
    done: bool,
}

/// The key an end yielded last: the other end stops before it, so the two never cross.
#[derive(Debug, Default)]
struct Last {
    key: Vec<u8>,
    set: bool,
}

impl Last {
    /// Whether `key`, met by the end moving `forward`, lies at or past this (the other end's)
    /// last key.
    #[inline]
    fn reached(&self, key: &[u8], forward: bool) -> bool {
        self.set && if forward { key >= self.key.as_slice() } else { key <= self.key.as_slice() }
    }

    #[inline]
    fn record(&mut self, key: &[u8]) {
        self.key.clear();
        self.key.extend_from_slice(key);
        self.set = true;
    }
}

/// The key range of an iterator, borrowed.
type Bounds<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

/// A view pinned for readers: the registered snapshot that keeps it readable and the view.
#[derive(Debug)]
pub(crate) struct Pinned {
    _snapshot: SnapshotGuard,
    pub(crate) view: View,
}

impl Pinned {
    /// Registers a snapshot of namespace `ns` at the newest published commit.
    pub(crate) fn take(ks: &Arc<Keyspace>, ns: &NsState) -> Self {
        let (snapshot, view) = ks.snapshot(ns);
        Pinned { _snapshot: snapshot, view }
    }

    /// Pins a view of each namespace of `namespaces` at one commit.
    pub(crate) fn take_together(ks: &Arc<Keyspace>, namespaces: &[&NsState]) -> Vec<Self> {
        ks.snapshots_of(namespaces)
            .into_iter()
            .map(|(snapshot, view)| Pinned { _snapshot: snapshot, view })
            .collect()
    }
}

/// What keeps an iterator's view readable.
#[derive(Debug)]
enum Pin {
    /// A view of the iterator's own: its registered snapshot, or none for an iterator used
    /// under the writer lock.
    Own { _snapshot: Option<SnapshotGuard>, view: View },
    /// The view of a [`Snapshot`](crate::Snapshot), shared with it and its other readers (one
    /// reference count to take, where a snapshot of its own registers with the keyspace).
    Shared(Arc<Pinned>),
}

impl Pin {
    #[inline]
    fn view(&self) -> &View {
        match self {
            Pin::Own { view, .. } => view,
            Pin::Shared(pinned) => &pinned.view,
        }
    }
}

/// The machinery shared by every iterator: two ends, each merging the memtable and the tree
/// beneath it in its direction (the memtable wins on equal keys; its removals hide tree
/// entries); each end stops at the key the other end yielded last.
#[derive(Debug)]
pub(crate) struct RawIter {
    /// The view the iterator reads, kept readable (its versions and tree pages stay) while the
    /// iterator lives.
    pin: Pin,
    /// The namespace's key prefix in the tree.
    prefix: [u8; 4],
    now: u64,
    /// Yield keys only (values are not read from disk).
    keys_only: bool,
    lower: Bound<Arc<[u8]>>,
    upper: Bound<Arc<[u8]>>,
    front: End,
    back: End,
    front_last: Last,
    back_last: Last,
    /// Where [`next_ref`](Self::next_ref) reads a value it cannot borrow in place.
    value_buf: Vec<u8>,
    /// A value read failed after its end had moved onto it: the iterator ends.
    failed: AtomicBool,
    /// The value page the iterator last read a value from (see [`PageFile::value_in_map`]).
    checked_page: AtomicU64,
}

fn as_slice(bound: &Bound<Arc<[u8]>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Whether `key` lies on the inner side of `bound` seen as a lower bound.
fn above(key: &[u8], lower: Bound<&[u8]>) -> bool {
    match lower {
        Bound::Included(b) => key >= b,
        Bound::Excluded(b) => key > b,
        Bound::Unbounded => true,
    }
}

/// Whether `key` lies on the inner side of `bound` seen as an upper bound.
fn below(key: &[u8], upper: Bound<&[u8]>) -> bool {
    match upper {
        Bound::Included(b) => key <= b,
        Bound::Excluded(b) => key < b,
        Bound::Unbounded => true,
    }
}

impl End {
    fn new() -> Self {
        End {
            tree: None,
            cur: None,
            touched: None,
            tree_done: false,
            mem: Vec::new(),
            mem_at: 0,
            mem_done: false,
            mem_chunk: FIRST_MEM_CHUNK,
            pending: None,
            done: false,
        }
    }

    /// Makes sure the next memtable entry of this end is read ahead, unless there is none.
    #[inline]
    fn settle_mem(&mut self, view: &View, forward: bool, (lower, upper): Bounds<'_>) {
        if self.mem_done || self.mem_at < self.mem.len() {
            return;
        }
        // Go on after the last key read (or from the bound, the first time).
        let from = self.mem.last().map(|(k, _)| Arc::clone(k));
        self.mem.clear();
        self.mem_at = 0;
        let (lower, upper) = match &from {
            Some(k) if forward => (Bound::Excluded(&k[..]), upper),
            Some(k) => (lower, Bound::Excluded(&k[..])),
            None => (lower, upper),
        };
        let mem = crate::keyspace::Memtable::read_folded(&view.mem);
        self.mem_done = mem.scan(lower, upper, view.lsn, forward, self.mem_chunk, &mut self.mem);
        self.mem_chunk = (self.mem_chunk * 2).min(MEM_CHUNK);
    }

    /// Makes sure the tree position is on an entry of this namespace within the bounds, or
    /// marks the tree done; the first time, seeks from the bound.
    fn settle_tree(
        &mut self,
        tree: Option<&TreeSnap>,
        prefix: [u8; 4],
        forward: bool,
        (lower, upper): Bounds<'_>,
    ) -> Result<()> {
        if self.tree_done || self.cur.is_some() {
            return Ok(());
        }
        let Some(tree) = tree else {
            self.tree_done = true;
            return Ok(());
        };
        let file = &*tree.file;
        if self.tree.is_none() {
            let mut pos = Position::new(tree.root);
            if forward {
                match lower {
                    Bound::Included(k) | Bound::Excluded(k) => {
                        tree_key::with_encoded(prefix, k, |full| pos.seek_at_or_after(file, full))?;
                    }
                    Bound::Unbounded => pos.seek_at_or_after(file, &prefix)?,
                }
            } else {
                match upper {
                    Bound::Included(k) | Bound::Excluded(k) => {
                        tree_key::with_encoded(prefix, k, |full| {
                            pos.seek_at_or_before(file, full)
                        })?;
                    }
                    Bound::Unbounded => match prefix_end(&prefix) {
                        Some(end) => pos.seek_at_or_before(file, &end)?,
                        None => pos.seek_last(file)?,
                    },
                }
            }
            self.tree = Some(pos);
        }
        let Some(pos) = self.tree.as_mut() else { return Ok(()) };
        loop {
            let Some(e) = pos.entry(file)? else { break };
            let Some((p, key)) = e.key.split_first_chunk::<4>() else {
                return Err(file.corruption(0, "a tree key is shorter than its prefix"));
            };
            if *p != prefix {
                // Only a backward seek from past the namespace lands on a later namespace.
                if forward || *p < prefix {
                    break;
                }
                pos.prev(file)?;
                continue;
            }
            if !above(key, lower) {
                if forward {
                    pos.next(file)?;
                    continue;
                }
                break;
            }
            if !below(key, upper) {
                if forward {
                    break;
                }
                pos.prev(file)?;
                continue;
            }
            self.cur = Some(Cur::of(pos, &e, prefix.len()));
            touch_ahead(&mut self.touched, pos, forward);
            return Ok(());
        }
        self.tree_done = true;
        Ok(())
    }

    /// The tree entry the position is on (settled): the key within the namespace, the value
    /// and the expiry.
    #[inline]
    fn tree_entry(&self, keys_only: bool) -> Option<(&[u8], ValueAt<'_>, ExpiresAt)> {
        let cur = self.cur.as_ref()?;
        let page = self.tree.as_ref()?.leaf_page()?.bytes();
        let key = page.get(cur.key.clone())?;
        let value = match cur.value {
            _ if keys_only => ValueAt::Skipped,
            CurValue::Inline(ref at) => ValueAt::Inline(page.get(at.clone())?),
            CurValue::Stored(loc) => ValueAt::Stored(loc),
        };
        Some((key, value, cur.expires_at))
    }

    /// The entry this end yielded last and has not passed yet.
    #[inline]
    fn item<'a>(
        &'a self,
        tree: Option<&'a TreeSnap>,
        keys_only: bool,
        checked: &'a AtomicU64,
    ) -> Option<Item<'a>> {
        let file = tree.map(|t| &*t.file);
        match self.pending? {
            Source::Tree => {
                let (key, value, _) = self.tree_entry(keys_only)?;
                let map = self.tree.as_ref().and_then(Position::leaf_page).and_then(Page::map);
                Some(Item { key, value, file, map, checked })
            }
            Source::Mem | Source::Both => {
                let (key, Some((v, _))) = self.mem.get(self.mem_at)? else { return None };
                let value = if keys_only { ValueAt::Skipped } else { ValueAt::Mem(v) };
                Some(Item { key, value, file, map: None, checked })
            }
        }
    }

    /// Moves past the entry of `source`.
    #[inline]
    fn pass(&mut self, source: Source, forward: bool, file: Option<&PageFile>) -> Result<()> {
        if source != Source::Tree {
            self.mem_at += 1;
        }
        if source != Source::Mem
            && let (Some(pos), Some(file)) = (&mut self.tree, file)
        {
            self.cur = None;
            if forward { pos.next(file)? } else { pos.prev(file)? }
        }
        Ok(())
    }
}

impl RawIter {
    pub(crate) fn new(
        ks: &Arc<Keyspace>,
        ns: &Arc<NsState>,
        lower: Bound<Arc<[u8]>>,
        upper: Bound<Arc<[u8]>>,
    ) -> Self {
        let (snapshot, view) = ks.snapshot(ns);
        Self::with_pin(Pin::Own { _snapshot: Some(snapshot), view }, ks, ns, lower, upper)
    }

    /// An iterator over the view of a [`Snapshot`](crate::Snapshot).
    pub(crate) fn in_snapshot(
        pinned: &Arc<Pinned>,
        ks: &Keyspace,
        ns: &NsState,
        lower: Bound<Arc<[u8]>>,
        upper: Bound<Arc<[u8]>>,
    ) -> Self {
        Self::with_pin(Pin::Shared(Arc::clone(pinned)), ks, ns, lower, upper)
    }

    /// An iterator over the current state without a registered snapshot: only for callers that
    /// hold the writer lock while they use it.
    pub(crate) fn under_writer_lock(
        ks: &Keyspace,
        ns: &NsState,
        lower: Bound<Arc<[u8]>>,
        upper: Bound<Arc<[u8]>>,
    ) -> Self {
        let view = ks.current_view(ns);
        Self::with_pin(Pin::Own { _snapshot: None, view }, ks, ns, lower, upper)
    }

    fn with_pin(
        pin: Pin,
        ks: &Keyspace,
        ns: &NsState,
        lower: Bound<Arc<[u8]>>,
        upper: Bound<Arc<[u8]>>,
    ) -> Self {
        RawIter {
            pin,
            prefix: ns.tree_prefix(),
            now: ks.now(),
            keys_only: false,
            lower,
            upper,
            front: End::new(),
            back: End::new(),
            front_last: Last::default(),
            back_last: Last::default(),
            value_buf: Vec::new(),
            failed: AtomicBool::new(false),
            checked_page: AtomicU64::new(0),
        }
    }

    /// Makes the iterator yield expired-but-unpurged entries too (used to delete whole groups).
    pub(crate) fn including_expired(mut self) -> Self {
        self.now = 0;
        self
    }

    /// Makes the iterator yield keys with empty values (values are not read).
    pub(crate) fn keys_only(mut self) -> Self {
        self.keys_only = true;
        self
    }

    /// The next live entry from the end of `forward`, owned, with the first `strip` bytes of
    /// its key cut off (a focus yields keys relative to itself).
    pub(crate) fn next_owned(
        &mut self,
        forward: bool,
        strip: usize,
    ) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        self.next_with(forward, |item| item.to_owned_pair(strip))
    }

    /// The next live key from the end of `forward`, owned, with the first `strip` bytes cut off.
    pub(crate) fn next_key(&mut self, forward: bool, strip: usize) -> Option<Result<Vec<u8>>> {
        self.next_with(forward, |item| Ok(item.key.get(strip..).unwrap_or_default().to_vec()))
    }

    /// Moves the end of `forward` to its next live entry and returns what `f` makes of it;
    /// `None` when the end has met the bounds or the other end. After an error the iterator
    /// ends (what follows it is not guaranteed).
    fn next_with<T>(
        &mut self,
        forward: bool,
        f: impl FnOnce(Item<'_>) -> Result<T>,
    ) -> Option<Result<T>> {
        let found = self.advance(forward).and_then(|found| {
            if !found {
                return Ok(None);
            }
            let end = if forward { &self.front } else { &self.back };
            end.item(self.pin.view().tree.as_deref(), self.keys_only, &self.checked_page)
                .map(f)
                .transpose()
        });
        match found {
            Ok(found) => found.map(Ok),
            Err(e) => {
                self.fail();
                Some(Err(e))
            }
        }
    }

    /// As [`next_with`](Self::next_with), handing out the key and value borrowed from where
    /// they lie (or from the iterator's buffer), valid until the next call.
    pub(crate) fn next_ref(&mut self, forward: bool) -> Option<Result<(&[u8], &[u8])>> {
        match self.advance(forward) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                self.fail();
                return Some(Err(e));
            }
        }
        let RawIter { front, back, pin, keys_only, value_buf, failed, checked_page, .. } = self;
        let end = if forward { &*front } else { &*back };
        let item = end.item(pin.view().tree.as_deref(), *keys_only, checked_page)?;
        match item.value_ref(value_buf) {
            Ok(value) => Some(Ok((item.key, value))),
            Err(e) => {
                // The end stands on the entry; the next call sees the flag and ends.
                failed.store(true, AtomicOrdering::Relaxed);
                Some(Err(e))
            }
        }
    }

    /// After an error the iterator ends (what follows it is not guaranteed).
    fn fail(&mut self) {
        self.front.done = true;
        self.back.done = true;
        self.failed.store(true, AtomicOrdering::Relaxed);
    }

    /// Moves the end of `forward` past the entry it yielded last, onto its next live entry
    /// (which stays in place for [`End::item`]). Returns whether there is one.
    fn advance(&mut self, forward: bool) -> Result<bool> {
        if self.failed.load(AtomicOrdering::Relaxed) {
            self.fail();
            return Ok(false);
        }
        let RawIter { pin, prefix, now, lower, upper, .. } = self;
        let view = pin.view();
        let (end, last, other) = if forward {
            (&mut self.front, &mut self.front_last, &self.back_last)
        } else {
            (&mut self.back, &mut self.back_last, &self.front_last)
        };
        let bounds = (as_slice(lower), as_slice(upper));
        let tree = view.tree.as_deref();
        let file = tree.map(|t| &*t.file);
        if let Some(source) = end.pending.take() {
            end.pass(source, forward, file)?;
        }
        loop {
            if end.done {
                return Ok(false);
            }
            end.settle_mem(view, forward, bounds);
            end.settle_tree(tree, *prefix, forward, bounds)?;
            let mem = end.mem.get(end.mem_at);
            let entry = if end.tree_done { None } else { end.tree_entry(true) };
            let tree_key = entry.map(|(key, _, _)| key);
            let (source, key) = match (mem, tree_key) {
                (None, None) => {
                    end.done = true;
                    return Ok(false);
                }
                (Some((m, _)), None) => (Source::Mem, &m[..]),
                (None, Some(t)) => (Source::Tree, t),
                (Some((m, _)), Some(t)) => match (m[..].cmp(t), forward) {
                    (Ordering::Equal, _) => (Source::Both, &m[..]),
                    (Ordering::Less, true) | (Ordering::Greater, false) => (Source::Mem, &m[..]),
                    _ => (Source::Tree, t),
                },
            };
            if other.reached(key, forward) {
                end.done = true;
                return Ok(false);
            }
            let expires_at = match (source, mem, &entry) {
                (Source::Tree, _, Some((_, _, expires_at))) => Some(*expires_at),
                (Source::Mem | Source::Both, Some((_, version)), _) => {
                    version.as_ref().map(|(_, expires_at)| *expires_at)
                }
                _ => None,
            };
            // Not removed in the memtable, and not expired.
            if expires_at.is_some_and(|e| !is_expired(e, *now)) {
                last.record(key);
                end.pending = Some(source);
                return Ok(true);
            }
            end.pass(source, forward, file)?;
        }
    }

    /// The next entry from the low end.
    pub(crate) fn next_entry(&mut self) -> Option<Result<Entry>> {
        self.next_with(true, owned_entry)
    }
}

/// The smallest key greater than every key that starts with `prefix`, or `None` if there is none
/// (the prefix is empty or all `0xFF`).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_the_last_byte_below_0xff() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }
}
