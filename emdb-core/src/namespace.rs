//! [`Namespace`]: an isolated keyspace with the full key-value API. The database's own key-value
//! methods act on its default namespace through the same code.

use std::ops::{Bound, RangeBounds};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::batch::{Batch, NO_EXPIRY, Op, is_expired};
use crate::error::Result;
use crate::group::Prefix;
use crate::iter::{ALL_KEYS, Iter, Keys, OrderedReads, owned_bounds, prefix_bounds};
use crate::keyspace::RawIter;
use crate::keyspace::{Keyspace, NsState, SlotRef};
use crate::limits::{check_key, check_value};
use crate::ttl::{Ttl, remaining};

/// How many expired keys one purge commit removes.
const PURGE_BATCH: usize = 4096;

/// An isolated keyspace inside a database, with the same key-value API as [`Emdb`](crate::Emdb).
///
/// Keys of different namespaces never collide: `a` in namespace `sessions` and `a` in the default
/// namespace are different entries. A handle is cheap to clone (two `Arc`s) and `Send + Sync`.
///
/// # Examples
///
/// ```
/// use emdb::Emdb;
///
/// let db = Emdb::open_in_memory();
/// let sessions = db.namespace("sessions")?;
/// sessions.insert("a", "session data")?;
/// db.insert("a", "default namespace")?;
/// assert_eq!(sessions.get("a")?, Some(b"session data".to_vec()));
/// assert_eq!(db.get("a")?, Some(b"default namespace".to_vec()));
/// # Ok::<(), emdb::Error>(())
/// ```
#[derive(Clone)]
pub struct Namespace {
    pub(crate) ks: Arc<Keyspace>,
    pub(crate) ns: Arc<NsState>,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace").field("name", &self.ns.name).finish_non_exhaustive()
    }
}

/// A point in time `ms` milliseconds after the Unix epoch.
pub(crate) fn system_time(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

impl Namespace {
    pub(crate) fn new(ks: Arc<Keyspace>, ns: Arc<NsState>) -> Self {
        Namespace { ks, ns }
    }

    /// The namespace's name (empty for the default namespace).
    pub fn name(&self) -> &str {
        &self.ns.name
    }

    /// Runs `f` on the live (present and unexpired) slot of `key`, under its shard's read lock
    /// (which also keeps a value on disk from being replaced while `f` reads it).
    fn with_live<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(SlotRef<'_>) -> Result<R>,
    ) -> Result<Option<R>> {
        self.ns.index.with(key, |slot| {
            let Some(slot) = slot else { return Ok(None) };
            if self.ks.expired(slot.expires_at) {
                return Ok(None);
            }
            f(slot).map(Some)
        })
    }

    /// Inserts `value` under `key`, replacing any previous value. The entry gets the database's
    /// default TTL (none unless [`EmdbBuilder::default_ttl`](crate::EmdbBuilder::default_ttl) set
    /// one).
    ///
    /// # Errors
    /// [`KeyTooLarge`](crate::Error::KeyTooLarge) or [`ValueTooLarge`](crate::Error::ValueTooLarge)
    /// past the [limits](crate::MAX_KEY_LEN); [`TtlOverflow`](crate::Error::TtlOverflow) if the
    /// default TTL overflows the clock; [`WriteInTransaction`](crate::Error::WriteInTransaction)
    /// when called inside a transaction closure on this database.
    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.insert_with_ttl(key, value, Ttl::Default)
    }

    /// Inserts `value` under `key` with a time-to-live, replacing any previous value and expiry.
    ///
    /// # Errors
    /// As [`insert`](Self::insert); [`TtlOverflow`](crate::Error::TtlOverflow) if `ttl` puts the
    /// expiry past the clock's range.
    pub fn insert_with_ttl(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Ttl,
    ) -> Result<()> {
        let (key, value) = (key.as_ref(), value.as_ref());
        check_key(key)?;
        check_value(value)?;
        let expires_at = ttl.expires_at(self.ks.config.default_ttl, || self.ks.clock_ms())?;
        let op =
            Op::Put { ns: self.ns.id, key: Arc::from(key), value: Arc::from(value), expires_at };
        self.ks.lock_writer()?.commit(Batch { ops: vec![op] })?;
        Ok(())
    }

    /// The value of `key`, or `None` if it is absent or expired.
    ///
    /// # Errors
    /// None in memory; a persistent database reports I/O and corruption errors.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let mut value = Vec::new();
        Ok(self.get_into(key, &mut value)?.then_some(value))
    }

    /// Copies the value of `key` into `buf`, replacing its contents, and returns whether the
    /// key is present and unexpired (`buf` is left empty when it is not).
    ///
    /// This is [`get`](Self::get) without the allocation of a new `Vec` per read: a loop that
    /// reads many values can reuse one buffer, whose capacity grows to the largest value read.
    ///
    /// ```
    /// # fn main() -> emdb::Result<()> {
    /// let db = emdb::Emdb::open_in_memory();
    /// db.insert("a", "first")?;
    /// db.insert("b", "second")?;
    /// let mut buf = Vec::new();
    /// assert!(db.get_into("b", &mut buf)?);
    /// assert_eq!(buf, b"second");
    /// assert!(db.get_into("a", &mut buf)?);
    /// assert_eq!(buf, b"first");
    /// assert!(!db.get_into("c", &mut buf)?);
    /// assert!(buf.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`get`](Self::get); `buf` is left empty on error.
    pub fn get_into(&self, key: impl AsRef<[u8]>, buf: &mut Vec<u8>) -> Result<bool> {
        buf.clear();
        self.ns
            .index
            .with_source(key.as_ref(), |slot, source| self.ks.read_live_into(slot, source, buf))
    }

    /// Whether `key` is present and unexpired.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.with_live(key.as_ref(), |_| Ok(()))?.is_some())
    }

    /// Removes `key` and returns its value, or `None` if it was absent or expired.
    ///
    /// # Errors
    /// [`WriteInTransaction`](crate::Error::WriteInTransaction) when called inside a transaction
    /// closure on this database.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let key = key.as_ref();
        let writer = self.ks.lock_writer()?;
        let mut value = Vec::new();
        let live = self
            .ns
            .index
            .with_source(key, |slot, source| self.ks.read_live_into(slot, source, &mut value))?;
        if !live && self.ns.index.slot(key)?.is_none() {
            return Ok(None);
        }
        let old = live.then_some(value);
        writer.commit(Batch { ops: vec![Op::Remove { ns: self.ns.id, key: Arc::from(key) }] })?;
        Ok(old)
    }

    /// The expiry of `key` as stored, expired or not (`Some(0)`: stored without one; `None`:
    /// not stored), for tests that tell apart states with different expired entries.
    #[cfg(test)]
    pub(crate) fn stored_expiry(&self, key: &[u8]) -> Result<Option<u64>> {
        Ok(self.ns.index.slot(key)?.map(|s| s.expires_at))
    }

    /// The number of live (unexpired) entries.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    #[inline]
    pub fn len(&self) -> Result<usize> {
        // One word: the count, unless some key can expire or the index is still being built.
        match self.ns.stats.len_without_expiry() {
            Some(len) => Ok(len),
            None => self.len_slow(),
        }
    }

    /// `len` when the count needs the clock or the index build: out of line, so that the one
    /// word of the common case is all a caller's code holds.
    #[cold]
    #[inline(never)]
    fn len_slow(&self) -> Result<usize> {
        self.ks.wait_loaded()?;
        if let Some(len) = self.ns.stats.len_without_expiry() {
            return Ok(len);
        }
        Ok(self.len_with_expiry())
    }

    /// `len` when some key has an expiry: the keys expired by now are not counted.
    fn len_with_expiry(&self) -> usize {
        let stats = self.ns.stats.read();
        // The clock is read only when some key can have expired.
        let now = if stats.expiring() == 0 { 0 } else { self.ks.now() };
        stats.len(now)
    }

    /// Whether the namespace has no live entries.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Removes every entry, as one atomic commit.
    ///
    /// # Errors
    /// [`WriteInTransaction`](crate::Error::WriteInTransaction) when called inside a transaction
    /// closure on this database.
    pub fn clear(&self) -> Result<()> {
        self.ks.lock_writer()?.commit(Batch { ops: vec![Op::Clear { ns: self.ns.id }] })?;
        Ok(())
    }

    /// Every live entry in ascending key order, read from a snapshot taken now.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn iter(&self) -> Result<Iter> {
        Ok(self.entries_in(ALL_KEYS, 0))
    }

    /// Every live key in ascending order, read from a snapshot taken now.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn keys(&self) -> Result<Keys> {
        Ok(self.keys_in(ALL_KEYS, 0))
    }

    /// The live entries whose keys fall in `range`, in ascending key order.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn range<K, R>(&self, range: R) -> Result<Iter>
    where
        K: AsRef<[u8]> + ?Sized,
        R: RangeBounds<K>,
    {
        Ok(self.entries_in(owned_bounds(&range), 0))
    }

    /// The live entries whose keys start with `prefix`, in ascending key order.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Iter> {
        Ok(self.entries_in(prefix_bounds(prefix.as_ref()), 0))
    }

    /// The time `key` has left to live; `None` if it is absent, expired, or never expires.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn ttl(&self, key: impl AsRef<[u8]>) -> Result<Option<Duration>> {
        // Counted from the clock, as the time-to-live was.
        let clock = self.ks.clock_ms();
        Ok(self.with_live(key.as_ref(), |slot| Ok(remaining(slot.expires_at, clock)))?.flatten())
    }

    /// When `key` expires; `None` if it is absent, expired, or never expires.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn expires_at(&self, key: impl AsRef<[u8]>) -> Result<Option<SystemTime>> {
        Ok(self
            .with_live(key.as_ref(), |slot| Ok(slot.expires_at))?
            .filter(|&t| t != NO_EXPIRY)
            .map(system_time))
    }

    /// Removes the expiry of `key`, so it lives until removed. Returns whether the key was live
    /// and had an expiry.
    ///
    /// # Errors
    /// [`WriteInTransaction`](crate::Error::WriteInTransaction) when called inside a transaction
    /// closure on this database.
    pub fn persist(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        let key = key.as_ref();
        let writer = self.ks.lock_writer()?;
        let now = self.ks.now();
        let mut value = Vec::new();
        let expiring = self.ns.index.with_source(key, |slot, source| match slot {
            Some(s) if s.expires_at != NO_EXPIRY && !is_expired(s.expires_at, now) => {
                self.ks.read_value_into(s.held, source, &mut value)?;
                Ok(true)
            }
            _ => Ok(false),
        })?;
        if !expiring {
            return Ok(false);
        }
        let value = Arc::from(value);
        let op = Op::Put { ns: self.ns.id, key: Arc::from(key), value, expires_at: NO_EXPIRY };
        writer.commit(Batch { ops: vec![op] })?;
        Ok(true)
    }

    /// Removes every expired entry for good, in commits of a few thousand keys. Returns how many
    /// were removed. Expired entries are already invisible; this reclaims their space.
    ///
    /// # Errors
    /// [`WriteInTransaction`](crate::Error::WriteInTransaction) when called inside a transaction
    /// closure on this database.
    pub fn purge_expired(&self) -> Result<usize> {
        // The expiry index is complete once the build of a lazy open has run.
        self.ks.wait_loaded()?;
        let mut removed = 0;
        loop {
            let writer = self.ks.lock_writer()?;
            let keys = self.ns.stats.read().expired_keys(self.ks.now(), PURGE_BATCH);
            if keys.is_empty() {
                return Ok(removed);
            }
            removed += keys.len();
            let ops = keys.into_iter().map(|key| Op::Remove { ns: self.ns.id, key }).collect();
            writer.commit(Batch { ops })?;
        }
    }

    /// Every live entry under `prefix.` at any depth, in key order, with full keys.
    ///
    /// Its cost grows with the size of the group, not of the database.
    ///
    /// # Errors
    /// [`InvalidPrefix`](crate::Error::InvalidPrefix) if `prefix` is empty, not UTF-8, or has an
    /// empty segment.
    pub fn group(&self, prefix: impl AsRef<[u8]>) -> Result<Iter> {
        let prefix = Prefix::root_bytes(prefix.as_ref()).into_bytes()?;
        Ok(self.entries_in(prefix_bounds(&prefix), 0))
    }

    /// Removes every key under `prefix.` at any depth, as one atomic commit. Returns how many
    /// entries were removed.
    ///
    /// # Errors
    /// [`InvalidPrefix`](crate::Error::InvalidPrefix) as for [`group`](Self::group);
    /// [`WriteInTransaction`](crate::Error::WriteInTransaction) inside a transaction closure.
    pub fn delete_group(&self, prefix: impl AsRef<[u8]>) -> Result<usize> {
        let prefix = Prefix::root_bytes(prefix.as_ref()).into_bytes()?;
        self.delete_under(&prefix)
    }

    /// Removes every key that starts with the raw bytes `prefix`, atomically.
    pub(crate) fn delete_under(&self, prefix: &[u8]) -> Result<usize> {
        let writer = self.ks.lock_writer()?;
        let (lower, upper) = prefix_bounds(prefix);
        // The writer lock is held, so the snapshot is the newest state and stays it. Expired but
        // unpurged keys go too (`now` = 0 sees them).
        let mut raw = RawIter::under_writer_lock(&self.ks, &self.ns, lower, upper)
            .including_expired()
            .keys_only();
        let mut ops = Vec::new();
        while let Some(entry) = raw.next_entry() {
            let (key, _) = entry?;
            ops.push(Op::Remove { ns: self.ns.id, key });
        }
        let removed = ops.len();
        writer.commit(Batch { ops })?;
        Ok(removed)
    }
}

impl OrderedReads for Namespace {
    /// Reads at a snapshot taken now.
    fn raw_iter(&self, lower: Bound<Arc<[u8]>>, upper: Bound<Arc<[u8]>>) -> RawIter {
        RawIter::new(&self.ks, &self.ns, lower, upper)
    }
}
