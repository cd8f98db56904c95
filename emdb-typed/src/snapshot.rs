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
use crate::iter::TableIter;
use crate::key::KeyRange;
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
    K: Serialize + DeserializeOwned + 'static,
    V: Serialize + DeserializeOwned + 'static,
    C: Codec,
{
    /// A consistent, read-only view of the table as it is now, for many reads that must agree.
    pub fn snapshot(&self) -> TableSnapshot<K, V, C> {
        TableSnapshot {
            snapshot: self.ns.snapshot(),
            schema: Arc::clone(&self.schema),
            types: PhantomData,
        }
    }
}

impl<K, V, C> TableSnapshot<K, V, C>
where
    K: Serialize + DeserializeOwned + 'static,
    V: Serialize + DeserializeOwned + 'static,
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
