//! The typed point operations of a table, written once for both places a table is used: over a
//! [`Namespace`] (for [`Table`](crate::Table)) and over a transaction's [`TxNamespace`] (for
//! [`TxTable`](crate::TxTable)).
//!
//! The two differ only in the raw store under them: a namespace reads and writes through `&self`
//! and commits each write, a transaction view through `&mut self` and buffers. [`RawStore`] is
//! that difference, five byte-level methods; [`Typed`] is everything above it (encode the key,
//! frame and check the value, decode), so a typed operation has one body. The public handles keep
//! their own methods, documented for their setting, and each is one call into [`Typed`].
//!
//! A private trait and a struct rather than shared free functions: each operation needs the
//! store, the schema and the key, value and codec types together, and `update` uses the store
//! three times; [`Typed`] carries them once, and the trait keeps the raw calls statically
//! dispatched (no closure or trait object per call).

use std::borrow::Borrow;
use std::marker::PhantomData;
use std::time::Duration;

use emdb_core::{Namespace, Result, Ttl, TxNamespace};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::Codec;
use crate::schema::Schema;

/// Where a table's bytes live: a namespace, or a namespace seen through a transaction.
pub(crate) trait RawStore {
    /// The stored bytes of `key`, if present and unexpired.
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Whether `key` is present and unexpired.
    fn contains_key(&mut self, key: &[u8]) -> Result<bool>;
    /// Stores `value` under `key` with `ttl`.
    fn insert_with_ttl(&mut self, key: &[u8], value: &[u8], ttl: Ttl) -> Result<()>;
    /// Removes `key`, returning its stored bytes if it was present and unexpired.
    fn remove(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// The time `key` has left to live.
    fn ttl(&mut self, key: &[u8]) -> Result<Option<Duration>>;
}

impl RawStore for &Namespace {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Namespace::get(self, key)
    }

    fn contains_key(&mut self, key: &[u8]) -> Result<bool> {
        Namespace::contains_key(self, key)
    }

    fn insert_with_ttl(&mut self, key: &[u8], value: &[u8], ttl: Ttl) -> Result<()> {
        Namespace::insert_with_ttl(self, key, value, ttl)
    }

    fn remove(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Namespace::remove(self, key)
    }

    fn ttl(&mut self, key: &[u8]) -> Result<Option<Duration>> {
        Namespace::ttl(self, key)
    }
}

impl RawStore for TxNamespace<'_, '_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        TxNamespace::get(self, key)
    }

    fn contains_key(&mut self, key: &[u8]) -> Result<bool> {
        TxNamespace::contains_key(self, key)
    }

    fn insert_with_ttl(&mut self, key: &[u8], value: &[u8], ttl: Ttl) -> Result<()> {
        TxNamespace::insert_with_ttl(self, key, value, ttl)
    }

    fn remove(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        TxNamespace::remove(self, key)
    }

    fn ttl(&mut self, key: &[u8]) -> Result<Option<Duration>> {
        TxNamespace::ttl(self, key)
    }
}

/// A table's schema over a raw store: the one implementation of the typed point operations.
pub(crate) struct Typed<'s, S, K, V, C> {
    store: S,
    schema: &'s Schema<V>,
    types: PhantomData<fn() -> (K, C)>,
}

impl<'s, S, K, V, C> Typed<'s, S, K, V, C> {
    pub(crate) fn new(store: S, schema: &'s Schema<V>) -> Self {
        Typed { store, schema, types: PhantomData }
    }

    pub(crate) fn schema(&self) -> &'s Schema<V> {
        self.schema
    }

    /// The raw store, for what a handle does beyond the shared operations (its ordered reads,
    /// the index upkeep that writes beside the row).
    pub(crate) fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }
}

impl<S, K, V, C> Typed<'_, S, K, V, C>
where
    S: RawStore,
    V: Serialize + DeserializeOwned,
    C: Codec,
{
    pub(crate) fn insert_with_ttl<Q>(&mut self, key: &Q, value: &V, ttl: Ttl) -> Result<()>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let key = self.schema.encode_key(key)?;
        let value = self.schema.encode_value::<C>(value)?;
        self.store.insert_with_ttl(&key, &value, ttl)
    }

    pub(crate) fn get<Q>(&mut self, key: &Q) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let key = self.schema.encode_key(key)?;
        match self.store.get(&key)? {
            None => Ok(None),
            Some(stored) => self.schema.decode_value::<C>(&key, &stored).map(Some),
        }
    }

    pub(crate) fn get_raw<Q>(&mut self, key: &Q) -> Result<Option<Vec<u8>>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let key = self.schema.encode_key(key)?;
        self.store.get(&key)
    }

    pub(crate) fn contains_key<Q>(&mut self, key: &Q) -> Result<bool>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let key = self.schema.encode_key(key)?;
        self.store.contains_key(&key)
    }

    /// Removes `key`; the entry is removed even if its value does not decode.
    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let key = self.schema.encode_key(key)?;
        match self.store.remove(&key)? {
            None => Ok(None),
            Some(stored) => self.schema.decode_value::<C>(&key, &stored).map(Some),
        }
    }

    pub(crate) fn ttl<Q>(&mut self, key: &Q) -> Result<Option<Duration>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let key = self.schema.encode_key(key)?;
        self.store.ttl(&key)
    }

    /// Reads, changes with `f` and writes back the value under `key`, keeping its expiry. Atomic
    /// only when the store is a transaction's.
    pub(crate) fn update<Q, F>(&mut self, key: &Q, f: F) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
        F: FnOnce(&mut V),
    {
        let key = self.schema.encode_key(key)?;
        // Read the expiry first: if the entry expires between the two reads, `get` sees it gone.
        let ttl = self.store.ttl(&key)?;
        let Some(stored) = self.store.get(&key)? else { return Ok(None) };
        let mut value = self.schema.decode_value::<C>(&key, &stored)?;
        f(&mut value);
        let bytes = self.schema.encode_value::<C>(&value)?;
        self.store.insert_with_ttl(&key, &bytes, ttl.map_or(Ttl::Never, Ttl::After))?;
        Ok(Some(value))
    }

    /// The stored bytes under an encoded key.
    pub(crate) fn get_stored(&mut self, raw_key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.store.get(raw_key)
    }

    /// Writes `value` at the stored key `raw_key` in the declared version, keeping the entry's
    /// time-to-live; does nothing and returns `false` if the entry is gone (expired).
    pub(crate) fn rewrite(&mut self, raw_key: &[u8], value: &V) -> Result<bool> {
        let ttl = self.store.ttl(raw_key)?;
        if !self.store.contains_key(raw_key)? {
            return Ok(false);
        }
        let bytes = self.schema.encode_value::<C>(value)?;
        self.store.insert_with_ttl(raw_key, &bytes, ttl.map_or(Ttl::Never, Ttl::After))?;
        Ok(true)
    }
}
