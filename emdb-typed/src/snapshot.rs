//! A consistent, read-only view of a typed table: [`TableSnapshot`].

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Bound;
use std::sync::Arc;

use emdb_core::{Result, Snapshot};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, Postcard};
use crate::index::{EntryBounds, Index, IndexDef, IndexIter, Indexes, IsUnique, lookup};
use crate::iter::TableIter;
use crate::key::KeyRange;
use crate::owned::{TableKey, TableValue};
use crate::schema::Schema;
use crate::table::Table;

/// A table as it was when the snapshot was taken: every read through it sees the same commits,
/// whatever is written meanwhile (see [`Snapshot`]). Made by [`Table::snapshot`].
///
/// # Examples
///
/// ```
/// use emdb::{Emdb, Table};
///
/// let db = Emdb::open_in_memory();
/// let stock = Table::<String, u32>::open(&db, "stock")?;
/// stock.insert("apple", &3)?;
/// let before = stock.snapshot();
/// stock.insert("apple", &2)?;
/// stock.insert("pear", &7)?;
/// assert_eq!(before.get("apple")?, Some(3));
/// assert_eq!(before.len()?, 1);
/// assert_eq!(stock.len()?, 2);
/// # Ok::<(), emdb::Error>(())
/// ```
pub struct TableSnapshot<K, V, C = Postcard> {
    snapshot: Snapshot,
    /// The table's secondary-index entries at the same commit (`None`: no index declared).
    index: Option<Snapshot>,
    schema: Arc<Schema<V>>,
    types: PhantomData<fn() -> (K, C)>,
}

impl<K, V, C> fmt::Debug for TableSnapshot<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableSnapshot").field("table", &self.schema.name).finish_non_exhaustive()
    }
}

impl<K, V, C> Table<K, V, C>
where
    K: TableKey,
    V: TableValue,
    C: Codec,
{
    /// A consistent, read-only view of the table (and of its secondary indexes, at the same
    /// commit) as it is now, for many reads that must agree.
    pub fn snapshot(&self) -> TableSnapshot<K, V, C> {
        let (snapshot, index) = match &self.schema.indexes.ns {
            Some(index_ns) => {
                let mut both = Snapshot::together(&[&self.ns, index_ns]).into_iter();
                let rows = both.next().unwrap_or_else(|| self.ns.snapshot());
                (rows, both.next())
            }
            None => (self.ns.snapshot(), None),
        };
        TableSnapshot { snapshot, index, schema: Arc::clone(&self.schema), types: PhantomData }
    }
}

impl<K, V, C> TableSnapshot<K, V, C>
where
    K: TableKey,
    V: TableValue,
    C: Codec,
{
    /// The row of `key` in the snapshot, or `None` if it is absent or expired.
    ///
    /// # Errors
    /// As [`Table::get`].
    pub fn get<Q>(&self, key: &Q) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let raw = self.schema.encode_key(key)?;
        match self.snapshot.get(&raw)? {
            Some(stored) => self.schema.decode_value::<C>(&raw, &stored).map(Some),
            None => Ok(None),
        }
    }

    /// Whether `key` has a live row in the snapshot.
    ///
    /// # Errors
    /// As [`Table::contains_key`].
    pub fn contains_key<Q>(&self, key: &Q) -> Result<bool>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.snapshot.contains_key(self.schema.encode_key(key)?)
    }

    /// The number of live rows in the snapshot.
    ///
    /// # Errors
    /// As [`Snapshot::len`].
    pub fn len(&self) -> Result<usize> {
        self.snapshot.len()
    }

    /// Whether the snapshot has no live rows.
    ///
    /// # Errors
    /// As [`Snapshot::len`].
    pub fn is_empty(&self) -> Result<bool> {
        self.snapshot.is_empty()
    }

    /// Every live row of the snapshot in the order of `K`.
    ///
    /// # Errors
    /// As [`Table::iter`].
    pub fn iter(&self) -> Result<TableIter<K, V, C>> {
        Ok(TableIter::new(self.snapshot.iter()?, Arc::clone(&self.schema)))
    }

    /// The live rows of the snapshot whose keys fall in `range`; see [`Table::range`].
    ///
    /// # Errors
    /// As [`Table::range`].
    #[expect(
        clippy::needless_pass_by_value,
        reason = "a range is passed by value, as to BTreeMap::range: `s.range(3..10)`"
    )]
    pub fn range<R: KeyRange<K>>(&self, range: R) -> Result<TableIter<K, V, C>> {
        let bounds = encoded_bounds(&self.schema, &range)?;
        Ok(TableIter::new(self.snapshot.range::<Vec<u8>, _>(bounds)?, Arc::clone(&self.schema)))
    }

    /// The row whose value in the unique index `index` is `value` in the snapshot; see
    /// [`Table::get_by`].
    ///
    /// # Errors
    /// As [`Table::get_by`].
    pub fn get_by<I, U, Q>(&self, index: &Index<V, I, U>, value: &Q) -> Result<Option<V>>
    where
        U: IsUnique,
        I: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let def = lookup(&self.schema, index)?;
        let Some(entries) = &self.index else { return Ok(None) };
        let entry = Indexes::<V>::unique_key(def, value)?;
        let pk = entries.get(&entry)?;
        Indexes::unique_row::<C>(&self.schema, def, &entry, pk, |pk| self.snapshot.get(pk))
    }

    /// Every row of the snapshot whose values in `index` include `value`, in primary-key
    /// order; see [`Table::find_by`].
    ///
    /// # Errors
    /// As [`Table::find_by`].
    pub fn find_by<I, U, Q>(&self, index: &Index<V, I, U>, value: &Q) -> Result<IndexIter<K, V>>
    where
        I: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let def = lookup(&self.schema, index)?;
        if def.unique
            && let Some(entries) = &self.index
        {
            let entry = Indexes::<V>::unique_key(def, value)?;
            let found = entries.get(&entry)?.map(|pk| (entry, pk)).into_iter().collect();
            let rows =
                Indexes::resolve::<K, C>(&self.schema, def, found, |pk| self.snapshot.get(pk));
            return Ok(IndexIter::new(rows));
        }
        self.scan(def, Indexes::<V>::exact(def, value)?)
    }

    /// Every row of the snapshot with a value of `index` in `range`, in index-value order,
    /// then primary-key order; see [`Table::range_by`].
    ///
    /// # Errors
    /// As [`Table::range_by`].
    #[expect(
        clippy::needless_pass_by_value,
        reason = "a range is passed by value, as to BTreeMap::range: `s.range_by(&i, 3..10)`"
    )]
    pub fn range_by<I, U, R>(&self, index: &Index<V, I, U>, range: R) -> Result<IndexIter<K, V>>
    where
        R: KeyRange<I>,
    {
        let def = lookup(&self.schema, index)?;
        match Indexes::<V>::bounds(def, &range)? {
            Some(bounds) => self.scan(def, bounds),
            None => Ok(IndexIter::new(Vec::new())),
        }
    }

    /// The rows of the entries of `def` within `bounds`, both read at the snapshot's commit.
    fn scan(&self, def: &IndexDef<V>, bounds: EntryBounds) -> Result<IndexIter<K, V>> {
        let Some(entries) = &self.index else { return Ok(IndexIter::new(Vec::new())) };
        let found = entries.range::<Vec<u8>, _>(bounds)?.collect::<Result<Vec<_>>>()?;
        let rows = Indexes::resolve::<K, C>(&self.schema, def, found, |pk| self.snapshot.get(pk));
        Ok(IndexIter::new(rows))
    }

    /// The row with the smallest key in the snapshot.
    ///
    /// # Errors
    /// As [`Table::first`].
    pub fn first(&self) -> Result<Option<(K, V)>> {
        self.iter()?.next().transpose()
    }

    /// The row with the largest key in the snapshot.
    ///
    /// # Errors
    /// As [`Table::last`].
    pub fn last(&self) -> Result<Option<(K, V)>> {
        self.iter()?.next_back().transpose()
    }
}

/// A key range's bounds, encoded.
pub(crate) type EncodedBounds = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The bounds of a typed key range, encoded with the key encoding (whose byte order is `K`'s).
pub(crate) fn encoded_bounds<K, V, R>(schema: &Schema<V>, range: &R) -> Result<EncodedBounds>
where
    V: Serialize + DeserializeOwned,
    R: KeyRange<K>,
{
    let bound = |b: Bound<&R::Bound>| -> Result<Bound<Vec<u8>>> {
        Ok(match b {
            Bound::Included(k) => Bound::Included(schema.encode_key(k)?),
            Bound::Excluded(k) => Bound::Excluded(schema.encode_key(k)?),
            Bound::Unbounded => Bound::Unbounded,
        })
    };
    Ok((bound(range.start())?, bound(range.end())?))
}
