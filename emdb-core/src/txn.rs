//! Closure transactions: [`Transaction`] buffers writes, reads its own writes, and commits them as
//! one atomic batch when the closure returns `Ok`.

use std::hash::BuildHasher;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use hashbrown::HashTable;

use crate::batch::{ExpiresAt, NsId, WritesBuilder, is_expired};
use crate::error::Result;
use crate::group::Prefix;
use crate::iter::prefix_bounds;
use crate::keyspace::{KeyBounds, RawIter};
use crate::keyspace::{Keyspace, NsState};
use crate::limits::{check_key, check_value};
use crate::namespace::Namespace;
use crate::ttl::{Ttl, remaining};

/// A buffered write as the transaction's reads see it.
enum Seen<'a> {
    Put { value: &'a [u8], expires_at: ExpiresAt },
    Remove,
}

/// The handle a [`transaction`](crate::Emdb::transaction) closure works through.
///
/// Transactions are serializable: the closure runs while holding the database's single writer
/// lock, so nothing else commits in between its reads and its writes. Readers never wait for it.
/// Writes are buffered, visible to the transaction's own reads, and committed as one atomic batch
/// when the closure returns `Ok`; an `Err` or a panic discards them without a trace.
///
/// # Examples
///
/// ```
/// use emdb::{Emdb, Error};
///
/// let db = Emdb::open_in_memory();
/// db.insert("balance:alice", "100")?;
/// db.transaction::<_, ()>(|tx| {
///     tx.insert("balance:alice", "70")?;
///     tx.insert("balance:bob", "30")?;
///     assert_eq!(tx.get("balance:bob")?, Some(b"30".to_vec()));
///     Ok(())
/// })?;
/// let failed = db.transaction::<_, ()>(|tx| {
///     tx.remove("balance:alice")?;
///     Err(Error::TransactionAborted("changed my mind"))
/// });
/// assert!(failed.is_err());
/// assert!(db.contains_key("balance:alice")?);
/// # Ok::<(), Error>(())
/// ```
pub struct Transaction<'db> {
    ks: &'db Keyspace,
    default_ns: Arc<NsState>,
    /// The buffered writes, in the order they were made (a key written again is logged
    /// again; the last write wins).
    buf: WritesBuilder,
    /// (namespace, key) → the position of its last write, over the first `indexed` writes:
    /// built only when the transaction reads, so a write costs no hash.
    index: HashTable<(u64, usize)>,
    indexed: usize,
    hasher: foldhash::fast::RandomState,
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("pending_writes", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl<'db> Transaction<'db> {
    pub(crate) fn new(ks: &'db Keyspace, default_ns: Arc<NsState>) -> Self {
        Transaction {
            ks,
            default_ns,
            buf: WritesBuilder::default(),
            index: HashTable::new(),
            indexed: 0,
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// The writes to commit.
    pub(crate) fn into_writes(self) -> WritesBuilder {
        self.buf
    }

    /// Brings the index of buffered writes up to date with the log.
    fn catch_up(&mut self) {
        for pos in self.indexed..self.buf.len() {
            let written = self.buf.key(pos);
            let hash = self.hasher.hash_one(written);
            let buf = &self.buf;
            match self.index.find_mut(hash, |&(_, p)| buf.key(p) == written) {
                Some(entry) => entry.1 = pos,
                None => drop(self.index.insert_unique(hash, (hash, pos), |e| e.0)),
            }
        }
        self.indexed = self.buf.len();
    }

    /// The last buffered write of `key` in namespace `ns`.
    fn pending(&mut self, ns: NsId, key: &[u8]) -> Option<Seen<'_>> {
        self.catch_up();
        let hash = self.hasher.hash_one((ns, key));
        let buf = &self.buf;
        let &(_, pos) = self.index.find(hash, |&(_, p)| buf.key(p) == (ns, key))?;
        Some(match buf.write(pos) {
            Some((value, expires_at)) => Seen::Put { value, expires_at },
            None => Seen::Remove,
        })
    }

    /// Buffers a put (`Some`) or a removal (`None`) of `key` in namespace `ns`.
    fn write(&mut self, ns: NsId, key: &[u8], value: Option<(&[u8], ExpiresAt)>) {
        self.buf.push(ns, key, value);
    }

    /// A view of this transaction that reads and writes namespace `ns` instead of the default one.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// let db = Emdb::open_in_memory();
    /// let audit = db.namespace("audit")?;
    /// db.transaction(|tx| {
    ///     tx.insert("user:1", "alice")?;
    ///     tx.namespace(&audit).insert("1", "created user:1")?;
    ///     Ok(())
    /// })?;
    /// assert_eq!(audit.len()?, 1);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn namespace<'tx>(&'tx mut self, ns: &Namespace) -> TxNamespace<'tx, 'db> {
        let state = Arc::clone(&ns.ns);
        TxNamespace { tx: self, ns: state }
    }

    pub(crate) fn default_view(&mut self) -> TxNamespace<'_, 'db> {
        let state = Arc::clone(&self.default_ns);
        TxNamespace { tx: self, ns: state }
    }

    /// Inserts `value` under `key` with the database's default TTL.
    ///
    /// # Errors
    /// [`KeyTooLarge`](crate::Error::KeyTooLarge), [`ValueTooLarge`](crate::Error::ValueTooLarge),
    /// [`TtlOverflow`](crate::Error::TtlOverflow).
    pub fn insert(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.default_view().insert(key, value)
    }

    /// Inserts `value` under `key` with a time-to-live.
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub fn insert_with_ttl(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Ttl,
    ) -> Result<()> {
        self.default_view().insert_with_ttl(key, value, ttl)
    }

    /// The value of `key` as this transaction sees it: its own writes first, then the database.
    ///
    /// # Errors
    /// None in memory; a persistent database reports I/O and corruption errors.
    pub fn get(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.default_view().get(key)
    }

    /// Whether `key` is present as this transaction sees it.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn contains_key(&mut self, key: impl AsRef<[u8]>) -> Result<bool> {
        self.default_view().contains_key(key)
    }

    /// Removes `key`, returning the value this transaction saw.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn remove(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.default_view().remove(key)
    }

    /// Removes `key` without reading its value: [`remove`](Self::remove) for when the old
    /// value is not wanted (as [`get_into`](crate::Emdb::get_into) is `get` without the
    /// allocation), at the cost of a buffered write only. Removing an absent key is not an
    /// error.
    ///
    /// ```
    /// let db = emdb::Emdb::open_in_memory();
    /// db.insert("session:1", "alice")?;
    /// db.transaction(|tx| {
    ///     tx.discard("session:1");
    ///     tx.discard("session:2"); // absent: a no-op
    ///     assert_eq!(tx.get("session:1")?, None);
    ///     Ok(())
    /// })?;
    /// assert!(db.is_empty()?);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn discard(&mut self, key: impl AsRef<[u8]>) {
        self.default_view().discard(key);
    }

    /// The old name of [`discard`](Self::discard).
    ///
    /// # Errors
    /// None; the signature matches the transaction's other writes.
    #[deprecated(
        since = "0.1.0",
        note = "use `remove`, or `discard` when the old value is not wanted"
    )]
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> Result<()> {
        self.discard(key);
        Ok(())
    }

    /// The time `key` has left to live as this transaction sees it.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn ttl(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Duration>> {
        self.default_view().ttl(key)
    }

    /// Removes every key under the group `prefix.` at any depth (as this transaction sees them),
    /// returning how many were removed.
    ///
    /// # Errors
    /// [`InvalidPrefix`](crate::Error::InvalidPrefix).
    pub fn delete_group(&mut self, prefix: impl AsRef<[u8]>) -> Result<usize> {
        self.default_view().delete_group(prefix)
    }
}

/// A [`Transaction`] seen through one namespace; made by [`Transaction::namespace`].
pub struct TxNamespace<'tx, 'db> {
    tx: &'tx mut Transaction<'db>,
    ns: Arc<NsState>,
}

impl std::fmt::Debug for TxNamespace<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxNamespace").field("namespace", &self.ns.name).finish_non_exhaustive()
    }
}

impl<'db> TxNamespace<'_, 'db> {
    /// A view of the same transaction onto namespace `ns`: what it writes commits with this
    /// view's writes, atomically. The typed layer keeps a table's secondary indexes in step with
    /// its rows through it.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// let db = Emdb::open_in_memory();
    /// let (rows, index) = (db.namespace("rows")?, db.namespace("rows_by_name")?);
    /// db.transaction(|tx| {
    ///     let mut view = tx.namespace(&rows);
    ///     view.insert("1", "ada")?;
    ///     view.namespace(&index).insert("ada", "1")
    /// })?;
    /// assert_eq!(index.get("ada")?, Some(b"1".to_vec()));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn namespace(&mut self, ns: &Namespace) -> TxNamespace<'_, 'db> {
        TxNamespace { tx: &mut *self.tx, ns: Arc::clone(&ns.ns) }
    }
}

impl TxNamespace<'_, '_> {
    /// The committed entries of this view's namespace within `lower..upper`, as the writer lock
    /// keeps them (unexpired, in key order).
    pub(crate) fn committed(&self, lower: Bound<Arc<[u8]>>, upper: Bound<Arc<[u8]>>) -> RawIter {
        RawIter::under_writer_lock(self.tx.ks, &self.ns, lower, upper)
    }

    /// The last buffered write of every key of this view's namespace within `bounds`, sorted by
    /// key: the value of a put that is live at `now`, or `None` for a removal (or an expired
    /// put, which reads as one).
    pub(crate) fn pending_in(
        &mut self,
        bounds: &KeyBounds,
        now: u64,
    ) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        self.tx.catch_up();
        let tx = &*self.tx;
        let mut found: Vec<_> = tx
            .index
            .iter()
            .filter_map(|&(_, pos)| {
                let (ns, key) = tx.buf.key(pos);
                (ns == self.ns.id && within(bounds, key)).then(|| {
                    let value = tx
                        .buf
                        .write(pos)
                        .filter(|&(_, expires_at)| !is_expired(expires_at, now))
                        .map(|(value, _)| value.to_vec());
                    (key.to_vec(), value)
                })
            })
            .collect();
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        found
    }

    /// The clock expiry is judged at.
    pub(crate) fn now(&self) -> u64 {
        self.tx.ks.now()
    }

    /// Inserts `value` under `key` with the database's default TTL.
    ///
    /// # Errors
    /// As [`Transaction::insert`].
    pub fn insert(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.insert_with_ttl(key, value, Ttl::Default)
    }

    /// Inserts `value` under `key` with a time-to-live.
    ///
    /// # Errors
    /// As [`Transaction::insert`].
    pub fn insert_with_ttl(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Ttl,
    ) -> Result<()> {
        let (key, value) = (key.as_ref(), value.as_ref());
        check_key(key)?;
        check_value(value)?;
        let expires_at = ttl.expires_at(self.tx.ks.config.default_ttl, || self.tx.ks.clock_ms())?;
        self.tx.write(self.ns.id, key, Some((value, expires_at)));
        Ok(())
    }

    /// The buffered write of `key` in this view's namespace.
    fn pending(&mut self, key: &[u8]) -> Option<Seen<'_>> {
        self.tx.pending(self.ns.id, key)
    }

    /// The value of `key` as this transaction sees it.
    ///
    /// # Errors
    /// As [`Transaction::get`].
    pub fn get(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let key = key.as_ref();
        let now = self.tx.ks.now();
        let pending = self.pending(key);
        Ok(match pending {
            Some(Seen::Put { value, expires_at }) => {
                (!is_expired(expires_at, now)).then(|| value.to_vec())
            }
            Some(Seen::Remove) => None,
            None => self.ns.index.with_source(key, |slot, source| {
                let mut value = Vec::new();
                Ok(self.tx.ks.read_live_into(slot, source, &mut value)?.then_some(value))
            })?,
        })
    }

    /// Whether `key` is present as this transaction sees it.
    ///
    /// # Errors
    /// As [`Transaction::get`].
    pub fn contains_key(&mut self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.get(key)?.is_some())
    }

    /// The time `key` has left to live as this transaction sees it; `None` if it is absent,
    /// expired, or never expires. Use it to keep an entry's expiry when rewriting it.
    ///
    /// # Errors
    /// As [`Transaction::get`].
    pub fn ttl(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Duration>> {
        let key = key.as_ref();
        let now = self.tx.ks.now();
        let expires_at = match self.pending(key) {
            Some(Seen::Put { expires_at, .. }) => Some(expires_at),
            Some(Seen::Remove) => None,
            None => self.ns.index.with(key, |slot| Ok(slot.map(|s| s.expires_at)))?,
        };
        let clock = self.tx.ks.clock_ms();
        Ok(expires_at.filter(|&t| !is_expired(t, now)).and_then(|t| remaining(t, clock)))
    }

    /// Removes `key`, returning the value this transaction saw.
    ///
    /// # Errors
    /// As [`Transaction::get`].
    pub fn remove(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let key = key.as_ref();
        let old = self.get(key)?;
        self.discard(key);
        Ok(old)
    }

    /// The old name of [`discard`](Self::discard).
    ///
    /// # Errors
    /// None; the signature matches the transaction's other writes.
    #[deprecated(
        since = "0.1.0",
        note = "use `remove`, or `discard` when the old value is not wanted"
    )]
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> Result<()> {
        self.discard(key);
        Ok(())
    }

    /// Removes `key` without reading its value; see [`Transaction::discard`].
    pub fn discard(&mut self, key: impl AsRef<[u8]>) {
        let key = key.as_ref();
        // No key that long was ever stored, so there is nothing to remove.
        if check_key(key).is_ok() {
            self.tx.write(self.ns.id, key, None);
        }
    }

    /// Removes every key under the group `prefix.` at any depth, returning how many were removed.
    ///
    /// # Errors
    /// [`InvalidPrefix`](crate::Error::InvalidPrefix).
    pub fn delete_group(&mut self, prefix: impl AsRef<[u8]>) -> Result<usize> {
        let prefix = Prefix::root_bytes(prefix.as_ref()).into_bytes()?;
        let now = self.tx.ks.now();
        // Committed keys under the prefix (the writer lock is held, so they cannot change) ...
        let (lower, upper) = prefix_bounds(&prefix);
        let mut keys: Vec<Arc<[u8]>> = Vec::new();
        let mut raw = RawIter::under_writer_lock(self.tx.ks, &self.ns, lower, upper)
            .including_expired()
            .keys_only();
        while let Some(entry) = raw.next_entry() {
            keys.push(entry?.0);
        }
        // ... and keys this transaction put there.
        self.tx.catch_up();
        let tx = &*self.tx;
        for &(_, pos) in &tx.index {
            let (ns, key) = tx.buf.key(pos);
            if ns == self.ns.id && key.starts_with(&prefix) && tx.buf.is_put(pos) {
                keys.push(Arc::from(key));
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let mut removed = 0;
        for key in keys {
            let live = match self.pending(&key) {
                Some(Seen::Put { expires_at, .. }) => !is_expired(expires_at, now),
                Some(Seen::Remove) => false,
                None => self
                    .ns
                    .index
                    .with(&key, |s| Ok(s.is_some_and(|s| !is_expired(s.expires_at, now))))?,
            };
            removed += usize::from(live);
            self.tx.write(self.ns.id, &key, None);
        }
        Ok(removed)
    }
}

/// Whether `key` lies within `bounds`.
fn within((lower, upper): &KeyBounds, key: &[u8]) -> bool {
    let above = match lower {
        Bound::Included(l) => key >= &l[..],
        Bound::Excluded(l) => key > &l[..],
        Bound::Unbounded => true,
    };
    let below = match upper {
        Bound::Included(u) => key <= &u[..],
        Bound::Excluded(u) => key < &u[..],
        Bound::Unbounded => true,
    };
    above && below
}
