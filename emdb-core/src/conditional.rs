//! Writes that depend on what is stored: [`insert_if_absent`](Namespace::insert_if_absent),
//! [`compare_and_swap`](Namespace::compare_and_swap),
//! [`get_or_insert_with`](Namespace::get_or_insert_with) and
//! [`expire`](Namespace::expire). Each reads and writes under the writer lock, so no other
//! commit comes between its check and its write.

use std::sync::Arc;

use crate::batch::{Batch, Op};
use crate::error::Result;
use crate::limits::{check_key, check_value};
use crate::namespace::Namespace;
use crate::ttl::Ttl;

/// Why a [`compare_and_swap`](Namespace::compare_and_swap) did not swap: the value it found
/// (raw bytes, or a typed table's value type `T`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "compare-and-swap found {} where another was expected; read the current value and try again",
    if .current.is_some() { "a different value" } else { "no value" }
)]
pub struct CompareAndSwapError<T = Vec<u8>> {
    /// The live value the key has (`None`: absent or expired).
    pub current: Option<T>,
}

impl Namespace {
    /// The live value of `key`, read by a caller that holds the writer lock.
    fn live_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut value = Vec::new();
        let live = self
            .ns
            .index
            .with_source(key, |slot, source| self.ks.read_live_into(slot, source, &mut value))?;
        Ok(live.then_some(value))
    }

    /// The operation that puts `value` under `key` with the default TTL.
    fn put_op(&self, key: &[u8], value: &[u8]) -> Result<Op> {
        check_key(key)?;
        check_value(value)?;
        let expires_at =
            Ttl::Default.expires_at(self.ks.config.default_ttl, || self.ks.clock_ms())?;
        Ok(Op::Put { ns: self.ns.id, key: Arc::from(key), value: Arc::from(value), expires_at })
    }

    /// Inserts `value` under `key` only if the key is absent (or expired); returns whether it
    /// inserted. The entry gets the default TTL.
    ///
    /// ```
    /// let db = emdb::Emdb::open_in_memory();
    /// assert!(db.insert_if_absent("k", "first")?);
    /// assert!(!db.insert_if_absent("k", "second")?);
    /// assert_eq!(db.get("k")?, Some(b"first".to_vec()));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub fn insert_if_absent(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<bool> {
        let (key, value) = (key.as_ref(), value.as_ref());
        let op = self.put_op(key, value)?;
        let writer = self.ks.lock_writer()?;
        if self.live_value(key)?.is_some() {
            return Ok(false);
        }
        writer.commit(Batch { ops: vec![op] })?;
        Ok(true)
    }

    /// Replaces the value of `key` with `new` (or removes it, for `None`) only if its live value
    /// is `expected` (`None`: the key must be absent or expired). On a mismatch nothing is
    /// written and the inner error holds the value found. A new value gets the default TTL.
    ///
    /// ```
    /// let db = emdb::Emdb::open_in_memory();
    /// db.compare_and_swap("n", None::<&[u8]>, Some("1"))?.expect("was absent");
    /// db.compare_and_swap("n", Some("1"), Some("2"))?.expect("was 1");
    /// let stale = db.compare_and_swap("n", Some("1"), Some("3"))?.unwrap_err();
    /// assert_eq!(stale.current, Some(b"2".to_vec()));
    /// db.compare_and_swap("n", Some("2"), None::<&[u8]>)?.expect("removed");
    /// assert!(!db.contains_key("n")?);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    ///
    /// # Errors
    /// The outer error as for [`insert`](Self::insert) (and [`remove`](Self::remove)).
    #[expect(
        clippy::needless_pass_by_value,
        reason = "the values are taken as `insert` takes them: `Some(\"v\")`, `None::<&[u8]>`"
    )]
    pub fn compare_and_swap(
        &self,
        key: impl AsRef<[u8]>,
        expected: Option<impl AsRef<[u8]>>,
        new: Option<impl AsRef<[u8]>>,
    ) -> Result<std::result::Result<(), CompareAndSwapError>> {
        let key = key.as_ref();
        check_key(key)?;
        let op = match &new {
            Some(value) => self.put_op(key, value.as_ref())?,
            None => Op::Remove { ns: self.ns.id, key: Arc::from(key) },
        };
        let writer = self.ks.lock_writer()?;
        let current = self.live_value(key)?;
        if current.as_deref() != expected.as_ref().map(AsRef::as_ref) {
            return Ok(Err(CompareAndSwapError { current }));
        }
        if new.is_some() || current.is_some() {
            writer.commit(Batch { ops: vec![op] })?;
        }
        Ok(Ok(()))
    }

    /// The live value of `key`; if it has none, the value `f` makes, inserted with the default
    /// TTL. `f` runs at most once per call and only while the key is absent: threads that race
    /// for one absent key compute it once, and the others get that value.
    ///
    /// `f` runs under the writer lock, so other writers wait for it; it must not write to this
    /// database (that is [`Error::WriteInTransaction`](crate::Error::WriteInTransaction)).
    ///
    /// ```
    /// let db = emdb::Emdb::open_in_memory();
    /// let v = db.get_or_insert_with("answer", || b"42".to_vec())?;
    /// assert_eq!(v, b"42");
    /// let again = db.get_or_insert_with("answer", || -> Vec<u8> { unreachable!("present") })?;
    /// assert_eq!(again, b"42");
    /// # Ok::<(), emdb::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub fn get_or_insert_with<V: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        f: impl FnOnce() -> V,
    ) -> Result<Vec<u8>> {
        self.try_get_or_insert_with(key, || Ok(f()))
    }

    /// As [`get_or_insert_with`](Self::get_or_insert_with), for an `f` that can fail: its error
    /// is returned and nothing is written.
    ///
    /// # Errors
    /// The error of `f`; as [`insert`](Self::insert).
    pub fn try_get_or_insert_with<V: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        f: impl FnOnce() -> Result<V>,
    ) -> Result<Vec<u8>> {
        let key = key.as_ref();
        if let Some(value) = self.get(key)? {
            return Ok(value);
        }
        check_key(key)?;
        let writer = self.ks.lock_writer()?;
        if let Some(value) = self.live_value(key)? {
            return Ok(value);
        }
        let value = f()?;
        let op = self.put_op(key, value.as_ref())?;
        writer.commit(Batch { ops: vec![op] })?;
        Ok(value.as_ref().to_vec())
    }

    /// Gives the live entry `key` a new time-to-live (its value stays as it is) and returns
    /// whether there was one. [`Ttl::Never`] makes it permanent; [`Ttl::Default`] gives it the
    /// database's default TTL.
    ///
    /// ```
    /// use std::time::Duration;
    /// use emdb::Ttl;
    ///
    /// let db = emdb::Emdb::open_in_memory();
    /// db.insert("session", "s1")?;
    /// assert!(db.expire("session", Ttl::After(Duration::from_secs(60)))?);
    /// assert!(db.ttl("session")?.is_some());
    /// assert!(!db.expire("absent", Ttl::Never)?);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`TtlOverflow`](crate::Error::TtlOverflow) if `ttl` puts the expiry past the clock's
    /// range; as [`insert`](Self::insert).
    pub fn expire(&self, key: impl AsRef<[u8]>, ttl: Ttl) -> Result<bool> {
        let key = key.as_ref();
        let expires_at = ttl.expires_at(self.ks.config.default_ttl, || self.ks.clock_ms())?;
        let writer = self.ks.lock_writer()?;
        let Some(value) = self.live_value(key)? else { return Ok(false) };
        let op =
            Op::Put { ns: self.ns.id, key: Arc::from(key), value: Arc::from(value), expires_at };
        writer.commit(Batch { ops: vec![op] })?;
        Ok(true)
    }
}
