//! The secondary-index queries of [`Table`] and [`TxTable`]: `get_by`, `find_by` and
//! `range_by` on both, and [`Table::verify_indexes`]. The entries they read are laid out and
//! kept in step with the rows in `index.rs`.

use std::borrow::Borrow;

use emdb_core::Result;
use serde::Serialize;

use crate::codec::Codec;
use crate::index::{EntryBounds, Index, IndexDef, IndexIter, Indexes, IsUnique};
use crate::key::KeyRange;
use crate::owned::{TableKey, TableValue};
use crate::table::Table;
use crate::tx::TxTable;

impl<K, V, C> Table<K, V, C>
where
    K: TableKey,
    V: TableValue,
    C: Codec,
{
    /// The row whose value in the unique index `index` is `value`, or `None`. Only a
    /// [`Unique`](crate::Unique) index compiles here; use [`find_by`](Self::find_by) for others.
    ///
    /// # Errors
    /// [`UnknownIndex`](emdb_core::Error::UnknownIndex) if the table was not opened with
    /// `index`; [`UnsupportedKey`](emdb_core::Error::UnsupportedKey) if `value` cannot be encoded
    /// as a key; otherwise as [`get`](Self::get).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Index, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let by_name = Index::unique("name", |name: &String| vec![name.clone()]);
    /// let ids = Table::<u32, String>::options("ids").index(by_name.clone()).open(&db)?;
    /// ids.insert(&7, &"ada".to_owned())?;
    /// assert_eq!(ids.get_by(&by_name, "ada")?.as_deref(), Some("ada"));
    /// assert_eq!(ids.get_by(&by_name, "bob")?, None);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn get_by<I, U, Q>(&self, index: &Index<V, I, U>, value: &Q) -> Result<Option<V>>
    where
        U: IsUnique,
        I: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let def = crate::index::lookup(&self.schema, index)?;
        let Some(entries) = &self.schema.indexes.ns else { return Ok(None) };
        let entry = Indexes::<V>::unique_key(def, value)?;
        let pk = entries.get(&entry)?;
        Indexes::unique_row::<C>(&self.schema, def, &entry, pk, |pk| self.ns.get(pk))
    }

    /// Every live row whose values in `index` include `value`, in primary-key order, as
    /// `(key, row)` pairs. The rows are read when this is called.
    ///
    /// # Errors
    /// [`UnknownIndex`](emdb_core::Error::UnknownIndex) if the table was not opened with
    /// `index`; [`UnsupportedKey`](emdb_core::Error::UnsupportedKey) if `value` cannot be encoded
    /// as a key. A row that does not decode is an error item.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Index, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let by_even = Index::non_unique("even", |n: &u32| vec![n % 2 == 0]);
    /// let t = Table::<u32, u32>::options("t").index(by_even.clone()).open(&db)?;
    /// for n in [5, 2, 4] {
    ///     t.insert(&n, &n)?;
    /// }
    /// let even: Vec<(u32, u32)> = t.find_by(&by_even, &true)?.collect::<Result<_, _>>()?;
    /// assert_eq!(even, [(2, 2), (4, 4)]);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn find_by<I, U, Q>(&self, index: &Index<V, I, U>, value: &Q) -> Result<IndexIter<K, V>>
    where
        I: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let def = crate::index::lookup(&self.schema, index)?;
        if let (true, Some(index_ns)) = (def.unique, &self.schema.indexes.ns) {
            let entry = Indexes::<V>::unique_key(def, value)?;
            let found = index_ns.get(&entry)?.map(|pk| (entry, pk)).into_iter().collect();
            let rows = Indexes::resolve::<K, C>(&self.schema, def, found, |pk| self.ns.get(pk));
            return Ok(IndexIter::new(rows));
        }
        self.scan(def, Indexes::<V>::exact(def, value)?)
    }

    /// Every live row with a value of `index` in `range`, in index-value order, then
    /// primary-key order, as `(key, row)` pairs. A row with several values in the range comes
    /// once per value. Bounds are encoded with the order-preserving key encoding: inclusive and
    /// exclusive bounds, signed numbers, strings and tuples range as their [`Ord`].
    ///
    /// # Errors
    /// As [`find_by`](Self::find_by).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Index, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let by_score = Index::non_unique("score", |s: &i64| vec![*s]);
    /// let t = Table::<String, i64>::options("t").index(by_score.clone()).open(&db)?;
    /// for (name, score) in [("ada", 5), ("bob", -3), ("cy", 12)] {
    ///     t.insert(name, &score)?;
    /// }
    /// let low: Vec<String> = t.range_by(&by_score, -10..=5)?.map(|r| r.map(|(k, _)| k)).collect::<Result<_, _>>()?;
    /// assert_eq!(low, ["bob", "ada"]);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    #[expect(
        clippy::needless_pass_by_value,
        reason = "a range is passed by value, as to BTreeMap::range: `t.range_by(&i, 3..10)`"
    )]
    pub fn range_by<I, U, R>(&self, index: &Index<V, I, U>, range: R) -> Result<IndexIter<K, V>>
    where
        R: KeyRange<I>,
    {
        let def = crate::index::lookup(&self.schema, index)?;
        match Indexes::<V>::bounds(def, &range)? {
            Some(bounds) => self.scan(def, bounds),
            None => Ok(IndexIter::new(Vec::new())),
        }
    }

    /// The rows of the entries of `def` within `bounds`.
    fn scan(&self, def: &IndexDef<V>, bounds: EntryBounds) -> Result<IndexIter<K, V>> {
        let Some(index_ns) = &self.schema.indexes.ns else {
            return Ok(IndexIter::new(Vec::new()));
        };
        let found = index_ns.range::<Vec<u8>, _>(bounds)?.collect::<Result<Vec<_>>>()?;
        let rows = Indexes::resolve::<K, C>(&self.schema, def, found, |pk| self.ns.get(pk));
        Ok(IndexIter::new(rows))
    }

    /// Checks every secondary index against the rows, under the writer lock: every live row
    /// has exactly its entries and every entry points at a live row that has its value.
    /// [`Emdb::check_integrity`](emdb_core::Emdb::check_integrity) runs the same check for
    /// every table opened on the database with secondary indexes.
    ///
    /// # Errors
    /// [`IndexEntryMismatch`](emdb_core::Error::IndexEntryMismatch) naming the first index that
    /// disagrees, the first disagreement and how many there are; as [`get`](Self::get) for a
    /// row that does not decode.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Index, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let by_len = Index::non_unique("len", |s: &String| vec![s.len()]);
    /// let t = Table::<u32, String>::options("t").index(by_len).open(&db)?;
    /// t.insert(&1, &"abc".to_owned())?;
    /// t.verify_indexes()?;
    /// db.namespace("emdb.index.t")?.insert(b"junk", b"\x00")?;
    /// assert!(t.verify_indexes().is_err());
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn verify_indexes(&self) -> Result<()> {
        if self.schema.indexes.ns.is_none() {
            return Ok(());
        }
        self.db.transaction(|tx| {
            self.schema.indexes.verify::<C>(&self.schema, &mut tx.namespace(&self.ns)).map(drop)
        })
    }
}

impl<K, V, C> TxTable<'_, '_, K, V, C>
where
    K: TableKey,
    V: TableValue,
    C: Codec,
{
    /// The row whose value in the unique index `index` is `value`, as this transaction sees
    /// it (its own writes included).
    ///
    /// # Errors
    /// As [`Table::get_by`](crate::Table::get_by).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Index, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let by_name = Index::unique("name", |name: &String| vec![name.clone()]);
    /// let t = Table::<u32, String>::options("t").index(by_name.clone()).open(&db)?;
    /// let found = db.transaction(|tx| {
    ///     t.tx(tx).insert(&1, &"ada".to_owned())?;
    ///     t.tx(tx).get_by(&by_name, "ada")
    /// })?;
    /// assert_eq!(found.as_deref(), Some("ada"));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn get_by<I, U, Q>(&mut self, index: &Index<V, I, U>, value: &Q) -> Result<Option<V>>
    where
        U: IsUnique,
        I: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let schema = self.typed.schema();
        let def = crate::index::lookup(schema, index)?;
        let Some(entries) = &schema.indexes.ns else { return Ok(None) };
        let entry = Indexes::<V>::unique_key(def, value)?;
        let rows = self.typed.store_mut();
        let pk = rows.namespace(entries).get(&entry)?;
        Indexes::unique_row::<C>(schema, def, &entry, pk, |pk| rows.get(pk))
    }

    /// Every live row whose values in `index` include `value`, in primary-key order, as this
    /// transaction sees them.
    ///
    /// # Errors
    /// As [`Table::find_by`](crate::Table::find_by).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Index, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let by_len = Index::non_unique("len", |s: &String| vec![s.len()]);
    /// let t = Table::<u32, String>::options("t").index(by_len.clone()).open(&db)?;
    /// t.insert(&1, &"abc".to_owned())?;
    /// let n = db.transaction(|tx| {
    ///     t.tx(tx).insert(&2, &"xyz".to_owned())?;
    ///     Ok(t.tx(tx).find_by(&by_len, &3)?.count())
    /// })?;
    /// assert_eq!(n, 2);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn find_by<I, U, Q>(&mut self, index: &Index<V, I, U>, value: &Q) -> Result<IndexIter<K, V>>
    where
        I: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let schema = self.typed.schema();
        let def = crate::index::lookup(schema, index)?;
        if let (true, Some(index_ns)) = (def.unique, &schema.indexes.ns) {
            let entry = Indexes::<V>::unique_key(def, value)?;
            let rows = self.typed.store_mut();
            let found = rows.namespace(index_ns).get(&entry)?.map(|pk| (entry, pk));
            let rows = Indexes::resolve::<K, C>(schema, def, found.into_iter().collect(), |pk| {
                rows.get(pk)
            });
            return Ok(IndexIter::new(rows));
        }
        self.scan(def, Indexes::<V>::exact(def, value)?)
    }

    /// Every live row with a value of `index` in `range`, in index-value order, then
    /// primary-key order, as this transaction sees them.
    ///
    /// # Errors
    /// As [`Table::range_by`](crate::Table::range_by).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Index, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let by_n = Index::non_unique("n", |n: &u64| vec![*n]);
    /// let t = Table::<u64, u64>::options("t").index(by_n.clone()).open(&db)?;
    /// let n = db.transaction(|tx| {
    ///     for k in 0..20 {
    ///         t.tx(tx).insert(&k, &k)?;
    ///     }
    ///     Ok(t.tx(tx).range_by(&by_n, 10..20)?.count())
    /// })?;
    /// assert_eq!(n, 10);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    #[expect(
        clippy::needless_pass_by_value,
        reason = "a range is passed by value, as to BTreeMap::range"
    )]
    pub fn range_by<I, U, R>(&mut self, index: &Index<V, I, U>, range: R) -> Result<IndexIter<K, V>>
    where
        R: KeyRange<I>,
    {
        let schema = self.typed.schema();
        let def = crate::index::lookup(schema, index)?;
        match Indexes::<V>::bounds(def, &range)? {
            Some(bounds) => self.scan(def, bounds),
            None => Ok(IndexIter::new(Vec::new())),
        }
    }

    /// The rows of the entries of `def` within `bounds`, as the transaction sees them.
    fn scan(&mut self, def: &IndexDef<V>, bounds: EntryBounds) -> Result<IndexIter<K, V>> {
        let schema = self.typed.schema();
        let Some(index_ns) = &schema.indexes.ns else { return Ok(IndexIter::new(Vec::new())) };
        let rows = self.typed.store_mut();
        let found =
            rows.namespace(index_ns).range::<Vec<u8>, _>(bounds)?.collect::<Result<Vec<_>>>()?;
        let rows = Indexes::resolve::<K, C>(schema, def, found, |pk| rows.get(pk));
        Ok(IndexIter::new(rows))
    }
}
