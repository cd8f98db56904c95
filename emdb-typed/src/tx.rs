//! [`TxTable`]: a typed table seen through a closure transaction, so that writes to several
//! tables (and raw namespaces) commit as one atomic batch.

use std::borrow::Borrow;
use std::fmt;
use std::time::Duration;

use emdb_core::{Result, Ttl, TxNamespace};
use serde::Serialize;

use crate::codec::{Codec, Postcard};
use crate::index::Change;
use crate::owned::{TableKey, TableValue};
use crate::record::Record;
use crate::schema::Schema;
use crate::store::Typed;

/// A [`Table`](crate::Table) inside a [`transaction`](emdb_core::Emdb::transaction): reads see
/// the transaction's own writes, and writes commit with the rest of the transaction, or not at
/// all. Made by [`Table::tx`](crate::Table::tx); cheap, so make one per use.
///
/// # Examples
///
/// ```
/// use emdb::{Emdb, Error, Table};
///
/// let db = Emdb::open_in_memory();
/// let stock = Table::<String, u32>::open(&db, "stock")?;
/// let orders = Table::<u64, String>::open(&db, "orders")?;
/// stock.insert("apple", &1)?;
/// let sold_out = db.transaction::<_, ()>(|tx| {
///     orders.tx(tx).insert(&1, &"apple".to_owned())?;
///     orders.tx(tx).insert(&2, &"apple".to_owned())?;
///     let left = stock.tx(tx).update("apple", |n| *n = n.saturating_sub(2))?;
///     if left == Some(0) {
///         return Err(Error::TransactionAborted("not enough apples"));
///     }
///     Ok(())
/// });
/// assert!(sold_out.is_err());
/// assert_eq!(orders.len()?, 0);
/// assert_eq!(stock.get("apple")?, Some(1));
/// # Ok::<(), emdb::Error>(())
/// ```
pub struct TxTable<'t, 'db, K, V, C = Postcard> {
    pub(crate) typed: Typed<'t, TxNamespace<'t, 'db>, K, V, C>,
}

impl<K, V, C> fmt::Debug for TxTable<'_, '_, K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxTable").field("table", &self.typed.schema().name).finish_non_exhaustive()
    }
}

impl<'t, 'db, K, V, C> TxTable<'t, 'db, K, V, C>
where
    K: TableKey,
    V: TableValue,
    C: Codec,
{
    pub(crate) fn new(ns: TxNamespace<'t, 'db>, schema: &'t Schema<V>) -> Self {
        TxTable { typed: Typed::new(ns, schema) }
    }

    /// The table's schema, for the ordered reads (`tx_range.rs`).
    pub(crate) fn typed_schema(&self) -> &'t Schema<V> {
        self.typed.schema()
    }

    /// The transaction's raw view of the table's namespace.
    pub(crate) fn raw(&mut self) -> &mut TxNamespace<'t, 'db> {
        self.typed.store_mut()
    }

    /// Inserts `value` under `key` with the database's default TTL.
    ///
    /// # Errors
    /// As [`Table::insert`](crate::Table::insert), except that it is never
    /// [`WriteInTransaction`](emdb_core::Error::WriteInTransaction).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u8, String>::open(&db, "t")?;
    /// db.transaction(|tx| t.tx(tx).insert(&1, &"one".to_owned()))?;
    /// assert_eq!(t.get(&1)?.as_deref(), Some("one"));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn insert<Q>(&mut self, key: &Q, value: &V) -> Result<()>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.insert_with_ttl(key, value, Ttl::Default)
    }

    /// Inserts `value` under `key` with a time-to-live.
    ///
    /// # Errors
    /// As [`insert`](Self::insert); [`TtlOverflow`](emdb_core::Error::TtlOverflow).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use emdb::{Emdb, Table, Ttl};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u8, u8>::open(&db, "t")?;
    /// db.transaction(|tx| t.tx(tx).insert_with_ttl(&1, &1, Ttl::After(Duration::from_secs(9))))?;
    /// assert!(t.ttl(&1)?.is_some());
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn insert_with_ttl<Q>(&mut self, key: &Q, value: &V, ttl: Ttl) -> Result<()>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let schema = self.typed.schema();
        if !schema.indexes.is_empty() {
            let raw = schema.encode_key(key)?;
            let old = self.read(&raw)?;
            let change = Change { pk: &raw, old: old.as_ref(), new: Some(value), ttl };
            schema.indexes.apply::<C>(schema, self.typed.store_mut(), &change)?;
        }
        self.typed.insert_with_ttl(key, value, ttl)
    }

    /// Inserts a [`Record`] under its own key.
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    ///
    /// # Examples
    ///
    /// ```
    /// # use emdb::{Emdb, Postcard, Record};
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Serialize, Deserialize)]
    /// struct Tag { name: String }
    ///
    /// impl Record for Tag {
    ///     type Key = String;
    ///     type Codec = Postcard;
    ///     const TABLE: &'static str = "tags";
    ///     fn key(&self) -> String { self.name.clone() }
    /// }
    ///
    /// let db = Emdb::open_in_memory();
    /// let tags = Tag::table(&db)?;
    /// db.transaction(|tx| tags.tx(tx).put(&Tag { name: "rust".into() }))?;
    /// assert!(tags.contains_key("rust")?);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn put(&mut self, value: &V) -> Result<()>
    where
        V: Record<Key = K>,
    {
        self.insert(&value.key(), value)
    }

    /// The value under `key` as this transaction sees it.
    ///
    /// # Errors
    /// As [`Table::get`](crate::Table::get).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u8, u8>::open(&db, "t")?;
    /// let seen = db.transaction(|tx| {
    ///     t.tx(tx).insert(&1, &10)?;
    ///     t.tx(tx).get(&1)
    /// })?;
    /// assert_eq!(seen, Some(10));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn get<Q>(&mut self, key: &Q) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.typed.get(key)
    }

    /// The stored bytes of `key` (header and payload) as this transaction sees them.
    ///
    /// # Errors
    /// [`UnsupportedKey`](emdb_core::Error::UnsupportedKey) if `K` cannot be encoded as a key.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u8, u8>::open(&db, "t")?;
    /// t.insert(&1, &7)?;
    /// let raw = db.transaction(|tx| t.tx(tx).get_raw(&1))?;
    /// assert_eq!(raw, Some(vec![1, 1, 7])); // postcard, version 1, the byte 7
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn get_raw<Q>(&mut self, key: &Q) -> Result<Option<Vec<u8>>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.typed.get_raw(key)
    }

    /// Whether `key` is present as this transaction sees it.
    ///
    /// # Errors
    /// [`UnsupportedKey`](emdb_core::Error::UnsupportedKey) if `K` cannot be encoded as a key.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u8, u8>::open(&db, "t")?;
    /// let present = db.transaction(|tx| {
    ///     t.tx(tx).insert(&1, &1)?;
    ///     t.tx(tx).contains_key(&1)
    /// })?;
    /// assert!(present);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn contains_key<Q>(&mut self, key: &Q) -> Result<bool>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.typed.contains_key(key)
    }

    /// Removes `key`, returning the value this transaction saw.
    ///
    /// # Errors
    /// As [`get`](Self::get) for the removed value (which is removed all the same).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u8, u8>::open(&db, "t")?;
    /// t.insert(&1, &1)?;
    /// assert_eq!(db.transaction(|tx| t.tx(tx).remove(&1))?, Some(1));
    /// assert!(t.is_empty()?);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn remove<Q>(&mut self, key: &Q) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let schema = self.typed.schema();
        if !schema.indexes.is_empty() {
            let raw = schema.encode_key(key)?;
            // A row that does not decode is removed all the same; its entries, unknown, stay
            // (queries skip them, `verify_indexes` reports them).
            if let Ok(Some(old)) = self.read(&raw) {
                let change = Change { pk: &raw, old: Some(&old), new: None, ttl: Ttl::Never };
                schema.indexes.apply::<C>(schema, self.typed.store_mut(), &change)?;
            }
        }
        self.typed.remove(key)
    }

    /// The time `key` has left to live as this transaction sees it; `None` if it is absent,
    /// expired, or never expires.
    ///
    /// # Errors
    /// [`UnsupportedKey`](emdb_core::Error::UnsupportedKey) if `K` cannot be encoded as a key.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u8, u8>::open(&db, "t")?;
    /// t.insert(&1, &1)?;
    /// assert_eq!(db.transaction(|tx| t.tx(tx).ttl(&1))?, None);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn ttl<Q>(&mut self, key: &Q) -> Result<Option<Duration>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.typed.ttl(key)
    }

    /// Reads the value under `key`, lets `f` change it and writes it back, keeping the entry's
    /// time-to-live. Returns the new value, or `None` (without calling `f`) if the key is absent.
    ///
    /// # Errors
    /// As [`get`](Self::get) and [`insert`](Self::insert).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u8, Vec<u8>>::open(&db, "t")?;
    /// t.insert(&1, &vec![1])?;
    /// let new = db.transaction(|tx| t.tx(tx).update(&1, |v| v.push(2)))?;
    /// assert_eq!(new, Some(vec![1, 2]));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn update<Q, F>(&mut self, key: &Q, f: F) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
        F: FnOnce(&mut V),
    {
        let schema = self.typed.schema();
        if schema.indexes.is_empty() {
            return self.typed.update(key, f);
        }
        let raw = schema.encode_key(key)?;
        let ttl = self.typed.store_mut().ttl(&raw)?;
        let Some(stored) = self.typed.get_stored(&raw)? else { return Ok(None) };
        let old = schema.decode_value::<C>(&raw, &stored)?;
        let mut new = schema.decode_value::<C>(&raw, &stored)?;
        f(&mut new);
        let ttl = ttl.map_or(Ttl::Never, Ttl::After);
        let change = Change { pk: &raw, old: Some(&old), new: Some(&new), ttl };
        schema.indexes.apply::<C>(schema, self.typed.store_mut(), &change)?;
        let bytes = schema.encode_value::<C>(&new)?;
        self.typed.store_mut().insert_with_ttl(&raw, &bytes, ttl)?;
        Ok(Some(new))
    }

    /// The row under the encoded key `raw`, as the transaction sees it.
    fn read(&mut self, raw: &[u8]) -> Result<Option<V>> {
        let schema = self.typed.schema();
        match self.typed.get_stored(raw)? {
            Some(stored) => schema.decode_value::<C>(raw, &stored).map(Some),
            None => Ok(None),
        }
    }

    /// The stored bytes under an encoded key, as the transaction sees them.
    pub(crate) fn get_stored(&mut self, raw_key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.typed.get_stored(raw_key)
    }

    /// Writes `value` at the stored key `raw_key` in the declared version, keeping the entry's
    /// time-to-live; does nothing and returns `false` if the entry is gone (expired).
    pub(crate) fn rewrite(&mut self, raw_key: &[u8], value: &V) -> Result<bool> {
        self.typed.rewrite(raw_key, value)
    }
}
