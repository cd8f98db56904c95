//! Ordered iterators over a consistent snapshot: [`Iter`] over entries and [`Keys`] over keys,
//! both wrapping the engine's merge iterator.

use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use crate::error::Result;
use crate::keyspace::{KeyBounds, RawIter, prefix_end};

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

    /// The next entry, like [`next`](Iterator::next), but borrowed instead of copied: the key
    /// and the value point into the memtable, the page or the read-only mapping where they lie
    /// (or into a buffer of the iterator) and stay valid until the iterator is used again. A
    /// stored value is still checked (length and checksum) before it is handed out.
    ///
    /// Mixing it with `next` and [`next_back`](DoubleEndedIterator::next_back) is fine: each
    /// entry is yielded once, by whichever call reaches it.
    ///
    /// # Errors
    /// [`Error::Corruption`](crate::Error::Corruption) or an I/O error reading a page or a
    /// value; the iterator then ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// let db = Emdb::open_in_memory();
    /// db.insert("a", "1")?;
    /// db.insert("b", "2")?;
    /// let mut iter = db.range("a"..)?;
    /// let mut total = 0;
    /// while let Some(entry) = iter.next_ref() {
    ///     let (key, value) = entry?;
    ///     total += key.len() + value.len();
    /// }
    /// assert_eq!(total, 4);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    #[inline]
    pub fn next_ref(&mut self) -> Option<Result<(&[u8], &[u8])>> {
        let strip = self.strip;
        let entry = self.raw.next_ref(true)?;
        Some(entry.map(|(k, v)| (k.get(strip..).unwrap_or_default(), v)))
    }

    /// The next entry from the back, like [`next_back`](DoubleEndedIterator::next_back), but
    /// borrowed as [`next_ref`](Self::next_ref) hands it out.
    ///
    /// # Errors
    /// As [`next_ref`](Self::next_ref).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// let db = Emdb::open_in_memory();
    /// db.insert("a", "1")?;
    /// db.insert("b", "2")?;
    /// let mut iter = db.iter()?;
    /// assert_eq!(iter.next_back_ref().transpose()?, Some((&b"b"[..], &b"2"[..])));
    /// assert_eq!(iter.next_ref().transpose()?, Some((&b"a"[..], &b"1"[..])));
    /// assert!(iter.next_ref().is_none());
    /// # Ok::<(), emdb::Error>(())
    /// ```
    #[inline]
    pub fn next_back_ref(&mut self) -> Option<Result<(&[u8], &[u8])>> {
        let strip = self.strip;
        let entry = self.raw.next_ref(false)?;
        Some(entry.map(|(k, v)| (k.get(strip..).unwrap_or_default(), v)))
    }
}

impl Iterator for Iter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let strip = self.strip;
        self.raw.next_owned(true, strip)
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        let strip = self.strip;
        self.raw.next_owned(false, strip)
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
        let strip = self.strip;
        self.raw.next_key(true, strip)
    }
}

impl DoubleEndedIterator for Keys {
    fn next_back(&mut self) -> Option<Self::Item> {
        let strip = self.strip;
        self.raw.next_key(false, strip)
    }
}

impl std::iter::FusedIterator for Keys {}

/// The ordered reads of a raw handle, written once: a handle says how it reads a range of keys
/// (at a snapshot taken now, or at its own), and [`Namespace`](crate::Namespace),
/// [`Snapshot`](crate::Snapshot) and [`Focus`](crate::Focus) build their `iter`, `keys`,
/// `range`, `prefix` and `group` on these.
pub(crate) trait OrderedReads {
    /// The engine's iterator over the live entries within `lower..upper`.
    fn raw_iter(&self, lower: Bound<Arc<[u8]>>, upper: Bound<Arc<[u8]>>) -> RawIter;

    /// The entries within `bounds`, their keys without the first `strip` bytes.
    fn entries_in(&self, (lower, upper): KeyBounds, strip: usize) -> Iter {
        Iter::new(self.raw_iter(lower, upper), strip)
    }

    /// The keys within `bounds`, without their first `strip` bytes.
    fn keys_in(&self, (lower, upper): KeyBounds, strip: usize) -> Keys {
        Keys::new(self.raw_iter(lower, upper), strip)
    }
}

/// No bounds: every key.
pub(crate) const ALL_KEYS: KeyBounds = (Bound::Unbounded, Bound::Unbounded);

/// The bounds of every key that starts with `prefix`.
pub(crate) fn prefix_bounds(prefix: &[u8]) -> KeyBounds {
    let upper = prefix_end(prefix).map_or(Bound::Unbounded, |end| Bound::Excluded(Arc::from(end)));
    (Bound::Included(Arc::from(prefix)), upper)
}

/// Converts user range bounds over any byte-like key into owned bounds.
pub(crate) fn owned_bounds<K: AsRef<[u8]> + ?Sized>(range: &impl RangeBounds<K>) -> KeyBounds {
    let own = |b: Bound<&K>| match b {
        Bound::Included(k) => Bound::Included(Arc::from(k.as_ref())),
        Bound::Excluded(k) => Bound::Excluded(Arc::from(k.as_ref())),
        Bound::Unbounded => Bound::Unbounded,
    };
    (own(range.start_bound()), own(range.end_bound()))
}
