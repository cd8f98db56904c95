//! Ordered iterators over a consistent snapshot: [`Iter`] over entries and [`Keys`] over keys.
//!
//! An iterator registers a read snapshot when it is created and reads the namespace in chunks at
//! that snapshot, so it never holds a lock between calls to `next` (writers go on, and writing to
//! the database while iterating it is fine) and never sees part of a commit made after it started.

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use crate::batch::ExpiresAt;
use crate::error::Result;
use crate::keyspace::{Keyspace, NsState, SnapshotGuard, View, is_expired};
use crate::page::node::{ValueLoc, ValueRef};
use crate::tree::Cursor;

/// The most entries one refill reads from the memtable and from the tree.
const CHUNK: usize = 128;

/// How many entries the first refill reads. Refills double up to [`CHUNK`], so a short range
/// (`take(10)`) descends the tree once and decodes a few keys, not a hundred, while a long scan
/// soon reads in full chunks. Values are read only as entries are yielded.
const FIRST_CHUNK: usize = 16;

/// A value as a chunk holds it: the bytes, or where they are in the snapshot's page file (read
/// when the entry is yielded, so keys read past the end of a short range cost no value read).
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// The bytes, shared with the memtable or copied from a leaf.
    Bytes(Arc<[u8]>),
    /// A value page record or overflow run of the snapshot's tree.
    Stored(ValueLoc),
}

/// A key and its value.
pub(crate) type Entry = (Arc<[u8]>, Value);

/// A tree entry as a refill reads it: the key and, unless removed, the value and expiry.
type TreeItem = (Arc<[u8]>, Option<(Value, ExpiresAt)>);

/// The lower and upper bound of a key range.
pub(crate) type KeyBounds = (Bound<Arc<[u8]>>, Bound<Arc<[u8]>>);

/// The machinery shared by every iterator: bounds that shrink from both ends as chunks are read,
/// each chunk merged from the memtable and the tree beneath it (the memtable wins on equal keys;
/// its removals hide tree entries).
#[derive(Debug)]
pub(crate) struct RawIter {
    /// Keeps the snapshot registered (its versions and tree pages stay) while the iterator lives.
    _snapshot: Option<SnapshotGuard>,
    view: View,
    /// The namespace's key prefix in the tree.
    prefix: [u8; 4],
    now: u64,
    /// Yield keys only (values are not read from disk).
    keys_only: bool,
    lower: Bound<Arc<[u8]>>,
    upper: Bound<Arc<[u8]>>,
    /// Entries read from the low end, ascending.
    front: VecDeque<Entry>,
    /// Entries read from the high end, ascending.
    back: VecDeque<Entry>,
    /// Every entry between the bounds has been read into `front` or `back`.
    drained: bool,
    /// How many entries the next refill reads from each source.
    chunk: usize,
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

impl RawIter {
    pub(crate) fn new(
        ks: &Arc<Keyspace>,
        ns: &Arc<NsState>,
        lower: Bound<Arc<[u8]>>,
        upper: Bound<Arc<[u8]>>,
    ) -> Self {
        let (snapshot, view) = ks.snapshot(ns);
        Self::with_view(Some(snapshot), view, ks, ns, lower, upper)
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
        Self::with_view(None, view, ks, ns, lower, upper)
    }

    fn with_view(
        snapshot: Option<SnapshotGuard>,
        view: View,
        ks: &Keyspace,
        ns: &NsState,
        lower: Bound<Arc<[u8]>>,
        upper: Bound<Arc<[u8]>>,
    ) -> Self {
        RawIter {
            _snapshot: snapshot,
            view,
            prefix: ns.tree_prefix(),
            now: ks.now(),
            keys_only: false,
            lower,
            upper,
            front: VecDeque::new(),
            back: VecDeque::new(),
            drained: false,
            chunk: FIRST_CHUNK,
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

    /// Reads up to `self.chunk` tree entries of this namespace within the bounds, in the
    /// direction asked. Returns whether the tree range is exhausted.
    fn scan_tree(&self, forward: bool, out: &mut Vec<TreeItem>) -> Result<bool> {
        let Some(tree) = &self.view.tree else { return Ok(true) };
        let (lower, upper) = (as_slice(&self.lower), as_slice(&self.upper));
        let full = |k: &[u8]| {
            let mut v = Vec::with_capacity(4 + k.len());
            v.extend_from_slice(&self.prefix);
            v.extend_from_slice(k);
            v
        };
        let mut cursor = Cursor::new(&tree.file, tree.root);
        if forward {
            match lower {
                Bound::Included(k) | Bound::Excluded(k) => cursor.seek_at_or_after(&full(k))?,
                Bound::Unbounded => cursor.seek_at_or_after(&self.prefix)?,
            }
        } else {
            match upper {
                Bound::Included(k) | Bound::Excluded(k) => cursor.seek_at_or_before(&full(k))?,
                Bound::Unbounded => match crate::iter::prefix_end(&self.prefix) {
                    Some(end) => cursor.seek_at_or_before(&end)?,
                    None => cursor.seek_last()?,
                },
            }
        }
        let mut taken = 0;
        while let Some(e) = cursor.entry()? {
            let Some((prefix, key)) = e.key.split_first_chunk::<4>() else {
                return Err(tree.file.corruption(0, "a tree key is shorter than its prefix"));
            };
            if *prefix != self.prefix {
                if forward || prefix.as_slice() < self.prefix.as_slice() {
                    return Ok(true);
                }
                cursor.prev()?;
                continue;
            }
            if !above(key, lower) {
                if forward {
                    cursor.next()?;
                    continue;
                }
                return Ok(true);
            }
            if !below(key, upper) {
                if forward {
                    return Ok(true);
                }
                cursor.prev()?;
                continue;
            }
            if taken == self.chunk {
                return Ok(false);
            }
            let value = match e.value {
                _ if self.keys_only => Value::Bytes(Arc::from(&[][..])),
                ValueRef::Inline(b) => Value::Bytes(Arc::from(b)),
                ValueRef::Stored(loc) => Value::Stored(loc),
            };
            out.push((Arc::from(key), Some((value, e.expires_at))));
            taken += 1;
            if forward { cursor.next()? } else { cursor.prev()? }
        }
        Ok(true)
    }

    /// Reads the next chunk from one end: merges the memtable and the tree, and moves that end's
    /// bound past what was read.
    fn refill(&mut self, forward: bool) -> Result<()> {
        let mut mem = Vec::with_capacity(self.chunk);
        let mem_done = self.view.mem.read().scan(
            as_slice(&self.lower),
            as_slice(&self.upper),
            self.view.lsn,
            forward,
            self.chunk,
            &mut mem,
        );
        let mut tree = Vec::new();
        let tree_done = self.scan_tree(forward, &mut tree)?;
        // Only keys up to the last one BOTH sources have read past are known to be complete.
        let mut bound: Option<Arc<[u8]>> = None;
        let lasts = [(mem_done, mem.last().map(|e| &e.0)), (tree_done, tree.last().map(|e| &e.0))];
        for (done, last) in lasts {
            if !done && let Some(last) = last {
                bound = Some(match bound {
                    Some(b) if (forward && b <= *last) || (!forward && b >= *last) => b,
                    _ => Arc::clone(last),
                });
            }
        }
        let within = |k: &Arc<[u8]>| match &bound {
            None => true,
            Some(b) => (forward && k <= b) || (!forward && k >= b),
        };
        let mut chunk: Vec<Entry> = Vec::with_capacity(mem.len() + tree.len());
        let mem = mem.into_iter().map(|(k, v)| (k, v.map(|(v, e)| (Value::Bytes(v), e))));
        let (mut m, mut t) = (mem.peekable(), tree.into_iter().peekable());
        loop {
            let take_mem = match (m.peek(), t.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((a, _)), Some((b, _))) => {
                    if a == b {
                        t.next();
                        true
                    } else {
                        (a < b) == forward
                    }
                }
            };
            let Some((key, value)) = (if take_mem { m.next() } else { t.next() }) else { break };
            if !within(&key) {
                break;
            }
            if let Some((value, expires_at)) = value
                && !is_expired(expires_at, self.now)
            {
                chunk.push((key, value));
            }
        }
        match bound {
            Some(b) if forward => self.lower = Bound::Excluded(b),
            Some(b) => self.upper = Bound::Excluded(b),
            None => self.drained = true,
        }
        self.chunk = (self.chunk * 2).min(CHUNK);
        if forward {
            self.front.extend(chunk);
        } else {
            for entry in chunk {
                self.back.push_front(entry);
            }
        }
        Ok(())
    }

    pub(crate) fn next_entry(&mut self) -> Option<Result<Entry>> {
        loop {
            if let Some(entry) = self.front.pop_front() {
                return Some(Ok(entry));
            }
            if self.drained {
                return self.back.pop_front().map(Ok);
            }
            if let Err(e) = self.refill(true) {
                self.fail();
                return Some(Err(e));
            }
        }
    }

    pub(crate) fn next_back_entry(&mut self) -> Option<Result<Entry>> {
        loop {
            if let Some(entry) = self.back.pop_back() {
                return Some(Ok(entry));
            }
            if self.drained {
                return self.front.pop_back().map(Ok);
            }
            if let Err(e) = self.refill(false) {
                self.fail();
                return Some(Err(e));
            }
        }
    }

    /// The bytes of a value this iterator yielded (read and checked from the snapshot's page
    /// file if it was stored there).
    ///
    /// # Errors
    /// [`Error::Corruption`](crate::Error::Corruption) or an I/O error reading a stored value.
    pub(crate) fn value(&self, value: Value) -> Result<Vec<u8>> {
        match (value, &self.view.tree) {
            (Value::Bytes(bytes), _) => Ok(bytes.to_vec()),
            (Value::Stored(loc), Some(tree)) => tree.file.read_value(loc),
            // A stored value always comes from the tree; without one there is nothing to read.
            (Value::Stored(_), None) => Ok(Vec::new()),
        }
    }

    /// After an error the iterator ends (what follows it is not guaranteed).
    fn fail(&mut self) {
        self.drained = true;
        self.front.clear();
        self.back.clear();
    }
}

/// An iterator over `(key, value)` pairs in ascending key order (or descending, with
/// [`rev`](Iterator::rev)), reading a consistent snapshot taken when it was created.
///
/// Items are `Result`s because a persistent database reads pages while iterating; after an error
/// the iterator ends.
#[derive(Debug)]
pub struct Iter {
    raw: RawIter,
    /// How many leading bytes to cut from every key (a focus yields keys relative to itself).
    strip: usize,
}

impl Iter {
    pub(crate) fn new(raw: RawIter, strip: usize) -> Self {
        Iter { raw, strip }
    }

    fn convert(&self, (key, value): Entry) -> Result<(Vec<u8>, Vec<u8>)> {
        let value = self.raw.value(value)?;
        Ok((key.get(self.strip..).unwrap_or_default().to_vec(), value))
    }
}

impl Iterator for Iter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.raw.next_entry()?;
        Some(entry.and_then(|e| self.convert(e)))
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        let entry = self.raw.next_back_entry()?;
        Some(entry.and_then(|e| self.convert(e)))
    }
}

impl std::iter::FusedIterator for Iter {}

/// An iterator over keys in ascending order (or descending, with [`rev`](Iterator::rev)),
/// reading a consistent snapshot taken when it was created.
#[derive(Debug)]
pub struct Keys {
    raw: RawIter,
    strip: usize,
}

impl Keys {
    pub(crate) fn new(raw: RawIter, strip: usize) -> Self {
        Keys { raw: raw.keys_only(), strip }
    }
}

impl Iterator for Keys {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.raw.next_entry()?;
        Some(entry.map(|(k, _)| k.get(self.strip..).unwrap_or_default().to_vec()))
    }
}

impl DoubleEndedIterator for Keys {
    fn next_back(&mut self) -> Option<Self::Item> {
        let entry = self.raw.next_back_entry()?;
        Some(entry.map(|(k, _)| k.get(self.strip..).unwrap_or_default().to_vec()))
    }
}

impl std::iter::FusedIterator for Keys {}

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

/// The bounds of every key that starts with `prefix`.
pub(crate) fn prefix_bounds(prefix: &[u8]) -> KeyBounds {
    let upper = prefix_end(prefix).map_or(Bound::Unbounded, |end| Bound::Excluded(Arc::from(end)));
    (Bound::Included(Arc::from(prefix)), upper)
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
