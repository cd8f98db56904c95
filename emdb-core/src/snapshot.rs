//! [`Snapshot`]: a consistent, read-only view of one namespace that many reads share.

use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use crate::error::Result;
use crate::iter::{ALL_KEYS, Iter, Keys, OrderedReads, owned_bounds, prefix_bounds};
use crate::keyspace::{Keyspace, NsState, SlotRef, ValueSource};
use crate::keyspace::{Pinned, RawIter};
use crate::namespace::Namespace;

/// A read-only view of one namespace as it was when the snapshot was taken: every read through
/// it sees the same commits, whatever is written meanwhile, like a read transaction of LMDB or
/// redb.
///
/// Take one with [`Emdb::snapshot`](crate::Emdb::snapshot) or
/// [`Namespace::snapshot`](crate::Namespace::snapshot). Its iterators start in the snapshot's
/// view without registering a snapshot of their own, which makes many short range reads cheaper
/// through one snapshot than through the database handle. A point read while nothing has been
/// committed since the snapshot was taken goes through the point index, as
/// [`Emdb::get`](crate::Emdb::get) does; after a later commit it reads the snapshot's view.
///
/// Entries are judged expired or not at the time of each read (an entry whose time-to-live
/// runs out while the snapshot is open disappears from it, as from the database).
///
/// While a snapshot lives, the versions it sees stay in memory and the file pages it reads are
/// not reused, so the file grows under writes instead of filling the space they free: drop a
/// snapshot once its reads are done. A snapshot is `Send + Sync` and cheap to clone (the clones
/// share the one view).
///
/// # Examples
///
/// ```
/// use emdb::Emdb;
///
/// let db = Emdb::open_in_memory();
/// db.insert("a", "1")?;
/// let snapshot = db.snapshot();
/// db.insert("a", "2")?;
/// db.insert("b", "3")?;
/// assert_eq!(snapshot.get("a")?, Some(b"1".to_vec()));
/// assert_eq!(snapshot.get("b")?, None);
/// assert_eq!(snapshot.iter()?.count(), 1);
/// assert_eq!(db.get("a")?, Some(b"2".to_vec()));
/// # Ok::<(), emdb::Error>(())
/// ```
#[derive(Clone)]
pub struct Snapshot {
    ks: Arc<Keyspace>,
    ns: Arc<NsState>,
    pinned: Arc<Pinned>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("namespace", &self.ns.name)
            .field("lsn", &self.pinned.view.lsn)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Takes a snapshot of namespace `ns` at the newest published commit.
    pub(crate) fn new(ks: &Arc<Keyspace>, ns: &Arc<NsState>) -> Self {
        Snapshot { ks: Arc::clone(ks), ns: Arc::clone(ns), pinned: Arc::new(Pinned::take(ks, ns)) }
    }

    /// Snapshots of several namespaces of one database at the same commit, in the order given:
    /// what a read that spans namespaces needs (a typed table and its secondary index, say).
    /// Namespaces of different databases get snapshots of their own database each.
    ///
    /// ```
    /// let db = emdb::Emdb::open_in_memory();
    /// let (rows, index) = (db.namespace("rows")?, db.namespace("index")?);
    /// let both = emdb::Snapshot::together(&[&rows, &index]);
    /// db.transaction(|tx| {
    ///     tx.namespace(&rows).insert("1", "ada")?;
    ///     tx.namespace(&index).insert("ada", "1")?;
    ///     Ok(())
    /// })?;
    /// // Neither snapshot sees the transaction: no commit falls between them.
    /// assert!(both[0].get("1")?.is_none() && both[1].get("ada")?.is_none());
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn together(namespaces: &[&Namespace]) -> Vec<Snapshot> {
        let mut out: Vec<Option<Snapshot>> = namespaces.iter().map(|_| None).collect();
        let mut done = vec![false; namespaces.len()];
        for (first, ns) in namespaces.iter().enumerate() {
            if done.get(first).copied().unwrap_or(true) {
                continue;
            }
            // Every namespace of this one's database, taken under one registry lock.
            let same: Vec<usize> = (first..namespaces.len())
                .filter(|&i| namespaces.get(i).is_some_and(|o| Arc::ptr_eq(&o.ks, &ns.ks)))
                .collect();
            let states: Vec<&NsState> =
                same.iter().filter_map(|&i| namespaces.get(i).map(|o| &*o.ns)).collect();
            for (&i, pinned) in same.iter().zip(Pinned::take_together(&ns.ks, &states)) {
                if let (Some(slot), Some(flag), Some(o)) =
                    (out.get_mut(i), done.get_mut(i), namespaces.get(i))
                {
                    *slot = Some(Snapshot {
                        ks: Arc::clone(&o.ks),
                        ns: Arc::clone(&o.ns),
                        pinned: Arc::new(pinned),
                    });
                    *flag = true;
                }
            }
        }
        out.into_iter().flatten().collect()
    }

    /// The value of `key` in the snapshot, or `None` if it is absent or expired.
    ///
    /// # Errors
    /// None in memory; a persistent database reports I/O and corruption errors.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let mut value = Vec::new();
        Ok(self.get_into(key, &mut value)?.then_some(value))
    }

    /// Copies the value of `key` in the snapshot into `buf`, replacing its contents, and
    /// returns whether the key is present and unexpired (`buf` is left empty when it is not).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn get_into(&self, key: impl AsRef<[u8]>, buf: &mut Vec<u8>) -> Result<bool> {
        buf.clear();
        let key = key.as_ref();
        let indexed =
            self.with_index(key, |slot, source| self.ks.read_live_into(slot, source, buf))?;
        if let Some(found) = indexed {
            return Ok(found);
        }
        let mut raw = self.raw_iter_of(key);
        match raw.next_ref(true) {
            None => Ok(false),
            Some(Ok((_, value))) => {
                buf.extend_from_slice(value);
                Ok(true)
            }
            Some(Err(e)) => Err(e),
        }
    }

    /// Whether `key` is present and unexpired in the snapshot.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        let key = key.as_ref();
        let indexed = self
            .with_index(key, |slot, _| Ok(slot.is_some_and(|s| !self.ks.expired(s.expires_at))))?;
        if let Some(found) = indexed {
            return Ok(found);
        }
        Keys::new(self.raw_iter_of(key), 0).next().transpose().map(|key| key.is_some())
    }

    /// Runs `f` on the index slot of `key` under its shard's read lock when the index holds the
    /// snapshot's state of it; `None` when it may not (a later commit, or an index still being
    /// built after the open): the snapshot's view must answer then.
    fn with_index<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(Option<SlotRef<'_>>, Option<&ValueSource>) -> Result<R>,
    ) -> Result<Option<R>> {
        if self.ks.is_loading() {
            return Ok(None);
        }
        let lsn = self.pinned.view.lsn;
        self.ns.index.with_source(key, |slot, source| {
            // A commit publishes its LSN before it releases the index shards it changed, so
            // under the shard's lock an unchanged LSN means the shard holds no later commit's
            // change: the index answers for the snapshot.
            if self.ks.committed_lsn() != lsn {
                return Ok(None);
            }
            f(slot, source).map(Some)
        })
    }

    /// An iterator over `key` alone in the snapshot's view.
    fn raw_iter_of(&self, key: &[u8]) -> RawIter {
        let key: Arc<[u8]> = Arc::from(key);
        self.raw_iter(Bound::Included(Arc::clone(&key)), Bound::Included(key))
    }

    /// The number of live (unexpired) entries in the snapshot.
    ///
    /// While nothing has been committed since the snapshot was taken (and no key can expire)
    /// this is the namespace's count, one atomic read; otherwise the snapshot's keys are
    /// counted, which reads all of them.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// let db = Emdb::open_in_memory();
    /// db.insert("a", "1")?;
    /// let snapshot = db.snapshot();
    /// db.insert("b", "2")?;
    /// assert_eq!(snapshot.len()?, 1);
    /// assert_eq!(db.len()?, 2);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn len(&self) -> Result<usize> {
        let lsn = self.pinned.view.lsn;
        // A commit stores its LSN before the count it changed (both under the registry lock a
        // snapshot registers under), so a count read between two reads of the snapshot's LSN
        // includes every commit up to it and none after.
        if !self.ks.is_loading()
            && self.ks.committed_lsn() == lsn
            && let Some(len) = self.ns.stats.len_without_expiry()
            && self.ks.committed_lsn() == lsn
        {
            return Ok(len);
        }
        let mut count = 0;
        for key in self.keys()? {
            key?;
            count += 1;
        }
        Ok(count)
    }

    /// Whether the snapshot has no live entries.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.keys()?.next().transpose()?.is_none())
    }

    /// Every live entry of the snapshot in ascending key order.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn iter(&self) -> Result<Iter> {
        Ok(self.entries_in(ALL_KEYS, 0))
    }

    /// Every live key of the snapshot in ascending order.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn keys(&self) -> Result<Keys> {
        Ok(self.keys_in(ALL_KEYS, 0))
    }

    /// The live entries of the snapshot whose keys fall in `range`, in ascending key order.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// let db = Emdb::open_in_memory();
    /// for k in ["a", "f", "m", "z"] {
    ///     db.insert(k, "")?;
    /// }
    /// let snapshot = db.snapshot();
    /// db.remove("f")?;
    /// // Many short ranges through one snapshot, all of them before the removal.
    /// assert_eq!(snapshot.range("a".."m")?.count(), 2);
    /// assert_eq!(snapshot.range("f"..)?.count(), 3);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn range<K, R>(&self, range: R) -> Result<Iter>
    where
        K: AsRef<[u8]> + ?Sized,
        R: RangeBounds<K>,
    {
        Ok(self.entries_in(owned_bounds(&range), 0))
    }

    /// The live entries of the snapshot whose keys start with `prefix`, in ascending key order.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Iter> {
        Ok(self.entries_in(prefix_bounds(prefix.as_ref()), 0))
    }
}

impl OrderedReads for Snapshot {
    /// Reads at the snapshot's own commit.
    fn raw_iter(&self, lower: Bound<Arc<[u8]>>, upper: Bound<Arc<[u8]>>) -> RawIter {
        RawIter::in_snapshot(&self.pinned, &self.ks, &self.ns, lower, upper)
    }
}

impl Namespace {
    /// A consistent, read-only view of this namespace as it is now, for many reads that must
    /// agree with each other (see [`Snapshot`]).
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::new(&self.ks, &self.ns)
    }
}
