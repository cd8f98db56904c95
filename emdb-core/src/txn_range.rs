//! Ordered reads inside a transaction: [`TxIter`] over the committed entries merged with the
//! transaction's own writes (a buffered put wins over the committed value of its key, a
//! buffered removal hides it).

use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

use crate::error::Result;
use crate::iter::{owned_bounds, prefix_bounds};
use crate::keyspace::{KeyBounds, RawIter};
use crate::txn::{Transaction, TxNamespace};

/// An ascending iterator over `(key, value)` pairs as a transaction sees them; made by
/// [`Transaction::range`] and its siblings. It borrows the transaction, so the transaction's
/// writes wait until it is dropped (collect it first to write what it finds).
///
/// Items are `Result`s because a persistent database reads pages while iterating; after an
/// error the iterator ends.
pub struct TxIter<'tx> {
    committed: RawIter,
    /// The next committed entry, read ahead to compare with the next buffered write.
    peeked: Option<(Vec<u8>, Vec<u8>)>,
    /// The transaction's writes in range, by key, from the back (the next one is last).
    pending: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    failed: bool,
    _tx: PhantomData<&'tx mut ()>,
}

impl std::fmt::Debug for TxIter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxIter")
            .field("pending_writes", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl TxIter<'_> {
    fn new(view: &mut TxNamespace<'_, '_>, (lower, upper): KeyBounds) -> Self {
        let now = view.now();
        let mut pending = view.pending_in(&(lower.clone(), upper.clone()), now);
        pending.reverse();
        TxIter {
            committed: view.committed(lower, upper),
            peeked: None,
            pending,
            failed: false,
            _tx: PhantomData,
        }
    }

    fn next_committed(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        if let Some(entry) = self.peeked.take() {
            return Ok(Some(entry));
        }
        self.committed.next_owned(true, 0).transpose()
    }
}

impl Iterator for TxIter<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let committed = match self.next_committed() {
                Ok(c) => c,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            let take_pending = match (&committed, self.pending.last()) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some((ck, _)), Some((pk, _))) => pk <= ck,
            };
            if !take_pending {
                return committed.map(Ok);
            }
            let Some((key, value)) = self.pending.pop() else { return committed.map(Ok) };
            // A buffered write of the same key replaces the committed entry; a smaller key
            // comes first and the committed entry waits.
            if let Some(entry) = committed.filter(|(ck, _)| *ck != key) {
                self.peeked = Some(entry);
            }
            if let Some(value) = value {
                return Some(Ok((key, value)));
            }
        }
    }
}

impl std::iter::FusedIterator for TxIter<'_> {}

impl TxNamespace<'_, '_> {
    /// The entries within `range`, in ascending key order, as this transaction sees them (its
    /// own writes included).
    ///
    /// # Errors
    /// None today; the iterator reports I/O and corruption errors of a persistent database.
    pub fn range<K, R>(&mut self, range: R) -> Result<TxIter<'_>>
    where
        K: AsRef<[u8]> + ?Sized,
        R: RangeBounds<K>,
    {
        Ok(TxIter::new(self, owned_bounds(&range)))
    }

    /// The entries whose key starts with `prefix`, in ascending key order, as this transaction
    /// sees them.
    ///
    /// # Errors
    /// As [`range`](Self::range).
    pub fn prefix(&mut self, prefix: impl AsRef<[u8]>) -> Result<TxIter<'_>> {
        Ok(TxIter::new(self, prefix_bounds(prefix.as_ref())))
    }

    /// Every entry, in ascending key order, as this transaction sees them.
    ///
    /// # Errors
    /// As [`range`](Self::range).
    pub fn iter(&mut self) -> Result<TxIter<'_>> {
        Ok(TxIter::new(self, (Bound::Unbounded, Bound::Unbounded)))
    }

    /// The entry with the smallest key, as this transaction sees it.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn first(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.iter()?.next().transpose()
    }

    /// The entry with the largest key, as this transaction sees it.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn last(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        // The committed entries from the back, each checked against the buffered writes,
        // against the largest buffered put.
        let now = self.now();
        let all = (Bound::Unbounded, Bound::Unbounded);
        let pending = self.pending_in(&all, now);
        let largest_put = pending.iter().rev().find(|(_, v)| v.is_some()).cloned();
        let mut committed = self.committed(Bound::Unbounded, Bound::Unbounded);
        let committed_last = loop {
            match committed.next_owned(false, 0).transpose()? {
                None => break None,
                // A key the transaction wrote is decided by its write, not the committed value.
                Some((key, _)) if pending.binary_search_by(|(k, _)| k.cmp(&key)).is_ok() => {}
                Some(entry) => break Some(entry),
            }
        };
        Ok(match (committed_last, largest_put) {
            (Some(c), Some((pk, Some(pv)))) => Some(if pk > c.0 { (pk, pv) } else { c }),
            (Some(c), _) => Some(c),
            (None, Some((pk, Some(pv)))) => Some((pk, pv)),
            (None, _) => None,
        })
    }
}

impl Transaction<'_> {
    /// The entries of the default namespace within `range`, in ascending key order, merged with
    /// this transaction's own writes; [`namespace`](Self::namespace) reads another namespace.
    ///
    /// ```
    /// let db = emdb::Emdb::open_in_memory();
    /// db.insert("k1", "committed")?;
    /// db.insert("k3", "to remove")?;
    /// let seen = db.transaction(|tx| {
    ///     tx.insert("k2", "mine")?;
    ///     tx.remove("k3")?;
    ///     tx.range("k0".."k9")?.map(|e| e.map(|(k, _)| k)).collect::<emdb::Result<Vec<_>>>()
    /// })?;
    /// assert_eq!(seen, vec![b"k1".to_vec(), b"k2".to_vec()]);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`TxNamespace::range`].
    pub fn range<K, R>(&mut self, range: R) -> Result<TxIter<'_>>
    where
        K: AsRef<[u8]> + ?Sized,
        R: RangeBounds<K>,
    {
        let bounds = owned_bounds(&range);
        Ok(TxIter::new(&mut self.default_view(), bounds))
    }

    /// The entries of the default namespace whose key starts with `prefix`, merged with this
    /// transaction's own writes.
    ///
    /// # Errors
    /// As [`TxNamespace::range`].
    pub fn prefix(&mut self, prefix: impl AsRef<[u8]>) -> Result<TxIter<'_>> {
        Ok(TxIter::new(&mut self.default_view(), prefix_bounds(prefix.as_ref())))
    }

    /// Every entry of the default namespace, merged with this transaction's own writes.
    ///
    /// # Errors
    /// As [`TxNamespace::range`].
    pub fn iter(&mut self) -> Result<TxIter<'_>> {
        Ok(TxIter::new(&mut self.default_view(), (Bound::Unbounded, Bound::Unbounded)))
    }

    /// The entry of the default namespace with the smallest key, as this transaction sees it.
    ///
    /// # Errors
    /// As [`TxNamespace::first`].
    pub fn first(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.default_view().first()
    }

    /// The entry of the default namespace with the largest key, as this transaction sees it.
    ///
    /// # Errors
    /// As [`TxNamespace::last`].
    pub fn last(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.default_view().last()
    }
}
