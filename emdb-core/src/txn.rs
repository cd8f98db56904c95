//! Closure transactions: [`Transaction`] buffers writes, reads its own writes, and commits them as
//! one atomic batch when the closure returns `Ok`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::batch::{Batch, ExpiresAt, NO_EXPIRY, NsId, Op};
use crate::error::Result;
use crate::focus::Prefix;
use crate::iter::{RawIter, prefix_bounds};
use crate::keyspace::{Keyspace, NsState, is_expired};
use crate::limits::{check_key, check_value};
use crate::namespace::Namespace;
use crate::ttl::{Ttl, remaining};

/// A buffered write.
#[derive(Debug, Clone)]
enum Write {
    Put { value: Arc<[u8]>, expires_at: ExpiresAt },
    Remove,
}

/// The writes buffered for one namespace, by key: a hash map, so that buffering a million writes
/// costs a hash each rather than an ordered insert each; the batch is sorted once at commit.
type Pending = HashMap<Arc<[u8]>, Write, foldhash::fast::RandomState>;

/// The first eight bytes of `key` as a big-endian number, zero-padded: ordering by it agrees
/// with ordering by the whole key wherever it differs.
fn key_prefix(key: &[u8]) -> u64 {
    let mut head = [0u8; 8];
    for (to, from) in head.iter_mut().zip(key) {
        *to = *from;
    }
    u64::from_be_bytes(head)
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
/// use emdb_core::{Emdb, Error};
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
    /// Buffered writes per namespace (a transaction touches few).
    writes: Vec<(NsId, Pending)>,
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("pending_writes", &self.writes.iter().map(|(_, w)| w.len()).sum::<usize>())
            .finish_non_exhaustive()
    }
}

impl<'db> Transaction<'db> {
    pub(crate) fn new(ks: &'db Keyspace, default_ns: Arc<NsState>) -> Self {
        Transaction { ks, default_ns, writes: Vec::new() }
    }

    /// The batch to commit: one operation per written key, in key order.
    pub(crate) fn into_batch(self) -> Batch {
        // Each key carries its first eight bytes as a number, so most comparisons of the sort
        // decide without reaching the key's own allocation.
        let mut writes: Vec<(NsId, u64, Arc<[u8]>, Write)> = self
            .writes
            .into_iter()
            .flat_map(|(ns, pending)| {
                pending.into_iter().map(move |(k, w)| (ns, key_prefix(&k), k, w))
            })
            .collect();
        // Key order: the memtable and the checkpoint take sorted runs fastest.
        writes.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| a.2.cmp(&b.2)));
        let ops = writes
            .into_iter()
            .map(|(ns, _, key, write)| match write {
                Write::Put { value, expires_at } => Op::Put { ns, key, value, expires_at },
                Write::Remove => Op::Remove { ns, key },
            })
            .collect();
        Batch { ops }
    }

    /// The writes buffered for namespace `ns`.
    fn pending(&self, ns: NsId) -> Option<&Pending> {
        self.writes.iter().find(|(id, _)| *id == ns).map(|(_, w)| w)
    }

    /// A view of this transaction that reads and writes namespace `ns` instead of the default one.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb_core::Emdb;
    ///
    /// let db = Emdb::open_in_memory();
    /// let audit = db.namespace("audit")?;
    /// db.transaction(|tx| {
    ///     tx.insert("user:1", "alice")?;
    ///     tx.namespace(&audit).insert("1", "created user:1")?;
    ///     Ok(())
    /// })?;
    /// assert_eq!(audit.len()?, 1);
    /// # Ok::<(), emdb_core::Error>(())
    /// ```
    pub fn namespace<'tx>(&'tx mut self, ns: &Namespace) -> TxNamespace<'tx, 'db> {
        let state = Arc::clone(&ns.ns);
        TxNamespace { tx: self, ns: state }
    }

    fn default_view(&mut self) -> TxNamespace<'_, 'db> {
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

impl TxNamespace<'_, '_> {
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
        let expires_at = ttl.expires_at(self.tx.ks.config.default_ttl, self.tx.ks.now())?;
        self.write(key, Write::Put { value: Arc::from(value), expires_at });
        Ok(())
    }

    fn write(&mut self, key: &[u8], write: Write) {
        let ns = self.ns.id;
        let writes = &mut self.tx.writes;
        if !writes.iter().any(|(id, _)| *id == ns) {
            writes.push((ns, Pending::default()));
        }
        let Some((_, pending)) = writes.iter_mut().find(|(id, _)| *id == ns) else { return };
        // An overwrite keeps the key already buffered: no second copy of it.
        match pending.get_mut(key) {
            Some(slot) => *slot = write,
            None => drop(pending.insert(Arc::from(key), write)),
        }
    }

    /// The buffered write of `key` in this view's namespace.
    fn pending(&self, key: &[u8]) -> Option<&Write> {
        self.tx.pending(self.ns.id).and_then(|p| p.get(key))
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
            Some(Write::Put { value, expires_at }) => {
                (!is_expired(*expires_at, now)).then(|| value.to_vec())
            }
            Some(Write::Remove) => None,
            None => self.ns.index.with_source(key, |slot, source| {
                slot.filter(|s| s.expires_at == NO_EXPIRY || !s.is_expired(now))
                    .map(|s| self.tx.ks.read_held_in(&s.held, source))
                    .transpose()
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
            Some(Write::Put { expires_at, .. }) => Some(*expires_at),
            Some(Write::Remove) => None,
            None => self.ns.index.with(key, |slot| slot.map(|s| s.expires_at)),
        };
        Ok(expires_at.filter(|&t| !is_expired(t, now)).and_then(|t| remaining(t, now)))
    }

    /// Removes `key`, returning the value this transaction saw.
    ///
    /// # Errors
    /// As [`Transaction::get`].
    pub fn remove(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let key = key.as_ref();
        let old = self.get(key)?;
        self.write(key, Write::Remove);
        Ok(old)
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
        for (key, write) in self.tx.pending(self.ns.id).into_iter().flatten() {
            if key.starts_with(&prefix) && matches!(write, Write::Put { .. }) {
                keys.push(Arc::clone(key));
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let mut removed = 0;
        for key in keys {
            let live = match self.pending(&key) {
                Some(Write::Put { expires_at, .. }) => !is_expired(*expires_at, now),
                Some(Write::Remove) => false,
                None => self.ns.index.with(&key, |s| s.is_some_and(|s| !s.is_expired(now))),
            };
            removed += usize::from(live);
            self.write(&key, Write::Remove);
        }
        Ok(removed)
    }
}
