//! Ordered iterators over a consistent snapshot: [`Iter`] over entries and [`Keys`] over keys.
//!
//! An iterator registers a read snapshot when it is created and reads the namespace in chunks at
//! that snapshot, so it never holds a lock between calls to `next` (writers go on, and writing to
//! the database while iterating it is fine) and never sees part of a commit made after it started.

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use crate::error::Result;
use crate::keyspace::{Keyspace, NsState, SnapshotGuard};

/// How many entries one refill reads under the namespace's read lock.
const CHUNK: usize = 128;

/// A key and its value, shared with the keyspace.
pub(crate) type Entry = (Arc<[u8]>, Arc<[u8]>);

/// The lower and upper bound of a key range.
pub(crate) type KeyBounds = (Bound<Arc<[u8]>>, Bound<Arc<[u8]>>);

/// The machinery shared by every iterator: bounds that shrink from both ends as chunks are read.
#[derive(Debug)]
pub(crate) struct RawIter {
    ns: Arc<NsState>,
    snapshot: SnapshotGuard,
    now: u64,
    lower: Bound<Arc<[u8]>>,
    upper: Bound<Arc<[u8]>>,
    /// Entries read from the low end, ascending.
    front: VecDeque<Entry>,
    /// Entries read from the high end, ascending.
    back: VecDeque<Entry>,
    /// Every entry between the bounds has been read into `front` or `back`.
    drained: bool,
}

fn as_slice(bound: &Bound<Arc<[u8]>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl RawIter {
    pub(crate) fn new(
        ks: &Arc<Keyspace>,
        ns: Arc<NsState>,
        lower: Bound<Arc<[u8]>>,
        upper: Bound<Arc<[u8]>>,
    ) -> Self {
        let snapshot = ks.snapshot();
        RawIter {
            ns,
            snapshot,
            now: ks.now(),
            lower,
            upper,
            front: VecDeque::new(),
            back: VecDeque::new(),
            drained: false,
        }
    }

    /// Makes the iterator yield expired-but-unpurged entries too (used to delete whole groups).
    pub(crate) fn including_expired(mut self) -> Self {
        self.now = 0;
        self
    }

    fn refill_front(&mut self) {
        let mut chunk = Vec::with_capacity(CHUNK);
        let exhausted = self.ns.ordered.read().scan_forward(
            as_slice(&self.lower),
            as_slice(&self.upper),
            self.snapshot.lsn(),
            self.now,
            CHUNK,
            &mut chunk,
        );
        if let Some((last, _)) = chunk.last() {
            self.lower = Bound::Excluded(Arc::clone(last));
        }
        self.drained = exhausted;
        self.front.extend(chunk);
    }

    fn refill_back(&mut self) {
        let mut chunk = Vec::with_capacity(CHUNK);
        let exhausted = self.ns.ordered.read().scan_backward(
            as_slice(&self.lower),
            as_slice(&self.upper),
            self.snapshot.lsn(),
            self.now,
            CHUNK,
            &mut chunk,
        );
        if let Some((last, _)) = chunk.last() {
            self.upper = Bound::Excluded(Arc::clone(last));
        }
        self.drained = exhausted;
        for entry in chunk {
            self.back.push_front(entry);
        }
    }

    pub(crate) fn next_entry(&mut self) -> Option<Result<Entry>> {
        loop {
            if let Some(entry) = self.front.pop_front() {
                return Some(Ok(entry));
            }
            if self.drained {
                return self.back.pop_front().map(Ok);
            }
            self.refill_front();
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
            self.refill_back();
        }
    }
}

/// An iterator over `(key, value)` pairs in ascending key order (or descending, with
/// [`rev`](Iterator::rev)), reading a consistent snapshot taken when it was created.
///
/// Items are `Result`s because a persistent database reads pages while iterating; an error ends
/// nothing by itself, but the entries after it are not guaranteed.
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

    fn convert(&self, (key, value): Entry) -> (Vec<u8>, Vec<u8>) {
        (key.get(self.strip..).unwrap_or_default().to_vec(), value.to_vec())
    }
}

impl Iterator for Iter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.raw.next_entry()?;
        Some(entry.map(|e| self.convert(e)))
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        let entry = self.raw.next_back_entry()?;
        Some(entry.map(|e| self.convert(e)))
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
        Keys { raw, strip }
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
