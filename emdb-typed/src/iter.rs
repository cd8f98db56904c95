//! [`TableIter`]: a table's entries in key order, decoded item by item from a core iterator.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use emdb_core::Result;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, Postcard};
use crate::schema::Schema;

/// The entries of a [`Table`](crate::Table) as `(key, value)` pairs, in the order of `K`'s
/// [`Ord`] (or reversed, with [`rev`](Iterator::rev)), read from a consistent snapshot taken
/// when the iterator was made. Made by [`Table::iter`](crate::Table::iter) and
/// [`Table::range`](crate::Table::range).
///
/// Every item is decoded on its own: an entry that cannot be decoded yields an
/// [`Error::Decode`](emdb_core::Error::Decode) (or
/// [`Error::UnknownSchemaVersion`](emdb_core::Error::UnknownSchemaVersion)) naming the table and
/// its key, and the next call to `next` goes on with the following entry. Nothing is skipped
/// silently and nothing panics.
///
/// # Examples
///
/// ```
/// use emdb::{Emdb, Table};
///
/// let db = Emdb::open_in_memory();
/// let t = Table::<u32, String>::open(&db, "t")?;
/// t.insert(&2, &"two".to_owned())?;
/// t.insert(&1, &"one".to_owned())?;
/// let all: Vec<(u32, String)> = t.iter()?.collect::<Result<_, _>>()?;
/// assert_eq!(all, [(1, "one".to_owned()), (2, "two".to_owned())]);
/// let newest_first: Vec<u32> = t.iter()?.rev().map(|e| e.map(|(k, _)| k)).collect::<Result<_, _>>()?;
/// assert_eq!(newest_first, [2, 1]);
/// # Ok::<(), emdb::Error>(())
/// ```
pub struct TableIter<K, V, C = Postcard> {
    raw: emdb_core::Iter,
    schema: Arc<Schema<V>>,
    types: PhantomData<fn() -> (K, C)>,
}

impl<K, V, C> fmt::Debug for TableIter<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableIter").field("table", &self.schema.name).finish_non_exhaustive()
    }
}

impl<K, V, C> TableIter<K, V, C>
where
    K: Serialize + DeserializeOwned,
    V: Serialize + DeserializeOwned,
    C: Codec,
{
    pub(crate) fn new(raw: emdb_core::Iter, schema: Arc<Schema<V>>) -> Self {
        TableIter { raw, schema, types: PhantomData }
    }

    /// Decodes the next raw entry from the front or the back, borrowed from the core iterator
    /// (no copy of the encoded key or value).
    fn decode_next(&mut self, back: bool) -> Option<Result<(K, V)>> {
        let item = if back { self.raw.next_back_ref() } else { self.raw.next_ref() }?;
        Some(item.and_then(|(raw_key, stored)| {
            let key = self.schema.decode_key(raw_key)?;
            let value = self.schema.decode_value::<C>(raw_key, stored)?;
            Ok((key, value))
        }))
    }
}

impl<K, V, C> Iterator for TableIter<K, V, C>
where
    K: Serialize + DeserializeOwned,
    V: Serialize + DeserializeOwned,
    C: Codec,
{
    type Item = Result<(K, V)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.decode_next(false)
    }
}

impl<K, V, C> DoubleEndedIterator for TableIter<K, V, C>
where
    K: Serialize + DeserializeOwned,
    V: Serialize + DeserializeOwned,
    C: Codec,
{
    fn next_back(&mut self) -> Option<Self::Item> {
        self.decode_next(true)
    }
}

impl<K, V, C> std::iter::FusedIterator for TableIter<K, V, C>
where
    K: Serialize + DeserializeOwned,
    V: Serialize + DeserializeOwned,
    C: Codec,
{
}
