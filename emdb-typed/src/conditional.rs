//! Writes of a typed table that depend on what is stored: insert-if-absent, compare-and-swap,
//! get-or-insert and a new TTL for a live row, each atomic as its raw counterpart on
//! [`Namespace`](emdb_core::Namespace) is. A table with secondary indexes runs each as one
//! transaction through [`TxTable`](crate::TxTable), so that its index entries change with the
//! row (and take the row's new TTL).

use std::borrow::Borrow;

use emdb_core::{CompareAndSwapError, Result, Ttl};
use serde::Serialize;

use crate::codec::Codec;
use crate::owned::{TableKey, TableValue};
use crate::table::Table;

impl<K, V, C> Table<K, V, C>
where
    K: TableKey,
    V: TableValue,
    C: Codec,
{
    /// Writes `value` under `key` only if the key has no live row; returns whether it wrote.
    ///
    /// ```
    /// let db = emdb::Emdb::open_in_memory();
    /// let t = emdb::Table::<String, u32>::open(&db, "t")?;
    /// assert!(t.insert_if_absent("a", &1)?);
    /// assert!(!t.insert_if_absent("a", &2)?);
    /// assert_eq!(t.get("a")?, Some(1));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub fn insert_if_absent<Q>(&self, key: &Q, value: &V) -> Result<bool>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        if !self.schema.indexes.is_empty() {
            return self.db.transaction(|tx| {
                let mut t = self.tx(tx);
                if t.contains_key(key)? {
                    return Ok(false);
                }
                t.insert(key, value)?;
                Ok(true)
            });
        }
        let raw = self.schema.encode_key(key)?;
        self.ns.insert_if_absent(raw, self.schema.encode_value::<C>(value)?)
    }

    /// Replaces the row of `key` with `new` (or removes it, for `None`) only if its live row
    /// equals `expected` (`None`: the key must have no live row). On a mismatch nothing is
    /// written and the inner error holds the row found.
    ///
    /// ```
    /// let db = emdb::Emdb::open_in_memory();
    /// let seats = emdb::Table::<String, u32>::open(&db, "seats")?;
    /// seats.insert("flight-1", &3)?;
    /// seats.compare_and_swap("flight-1", Some(&3), Some(&2))?.expect("was 3");
    /// let stale = seats.compare_and_swap("flight-1", Some(&3), Some(&1))?.unwrap_err();
    /// assert_eq!(stale.current, Some(2));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    ///
    /// # Errors
    /// The outer error as for [`insert`](Self::insert) and [`get`](Self::get).
    pub fn compare_and_swap<Q>(
        &self,
        key: &Q,
        expected: Option<&V>,
        new: Option<&V>,
    ) -> Result<std::result::Result<(), CompareAndSwapError<V>>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
        V: PartialEq,
    {
        if !self.schema.indexes.is_empty() {
            return self.db.transaction(|tx| {
                let mut t = self.tx(tx);
                let current = t.get(key)?;
                if current.as_ref() != expected {
                    return Ok(Err(CompareAndSwapError { current }));
                }
                match new {
                    Some(row) => t.insert(key, row)?,
                    None => drop(t.remove(key)?),
                }
                Ok(Ok(()))
            });
        }
        let raw = self.schema.encode_key(key)?;
        let new = new.map(|v| self.schema.encode_value::<C>(v)).transpose()?;
        loop {
            // The row is compared as a value (an older schema version reads as the current
            // type), then swapped only if its stored bytes are still the ones compared.
            let stored = self.ns.get(&raw)?;
            let current =
                stored.as_deref().map(|s| self.schema.decode_value::<C>(&raw, s)).transpose()?;
            if current.as_ref() != expected {
                return Ok(Err(CompareAndSwapError { current }));
            }
            if self.ns.compare_and_swap(&raw, stored, new.as_deref())?.is_ok() {
                return Ok(Ok(()));
            }
        }
    }

    /// The live row of `key`; if it has none, the row `f` makes, written. `f` runs at most
    /// once, only while the key has no row, even when threads race for it; it runs under the
    /// writer lock (see [`Namespace::get_or_insert_with`](emdb_core::Namespace::get_or_insert_with)).
    ///
    /// ```
    /// let db = emdb::Emdb::open_in_memory();
    /// let cache = emdb::Table::<u64, String>::open(&db, "cache")?;
    /// let v = cache.get_or_insert_with(&7, || "computed".to_owned())?;
    /// assert_eq!(v, "computed");
    /// assert_eq!(cache.get_or_insert_with(&7, || unreachable!())?, "computed");
    /// # Ok::<(), emdb::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`insert`](Self::insert) and [`get`](Self::get).
    pub fn get_or_insert_with<Q>(&self, key: &Q, f: impl FnOnce() -> V) -> Result<V>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        if !self.schema.indexes.is_empty() {
            if let Some(row) = self.get(key)? {
                return Ok(row);
            }
            return self.db.transaction(|tx| {
                let mut t = self.tx(tx);
                if let Some(row) = t.get(key)? {
                    return Ok(row);
                }
                let row = f();
                t.insert(key, &row)?;
                Ok(row)
            });
        }
        let raw = self.schema.encode_key(key)?;
        let stored =
            self.ns.try_get_or_insert_with(&raw, || self.schema.encode_value::<C>(&f()))?;
        self.schema.decode_value::<C>(&raw, &stored)
    }

    /// Gives the live row of `key` a new time-to-live (the row stays as it is); returns whether
    /// there was one. See [`Namespace::expire`](emdb_core::Namespace::expire).
    ///
    /// # Errors
    /// As [`insert_with_ttl`](Self::insert_with_ttl).
    pub fn expire<Q>(&self, key: &Q, ttl: Ttl) -> Result<bool>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        if !self.schema.indexes.is_empty() {
            return self.db.transaction(|tx| {
                let mut t = self.tx(tx);
                let Some(row) = t.get(key)? else { return Ok(false) };
                t.insert_with_ttl(key, &row, ttl)?;
                Ok(true)
            });
        }
        self.ns.expire(self.schema.encode_key(key)?, ttl)
    }
}
