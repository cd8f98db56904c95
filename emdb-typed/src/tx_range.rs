//! Ordered reads of a typed table inside a transaction: [`TxTable::iter`], [`TxTable::range`],
//! [`TxTable::first`] and [`TxTable::last`], over the raw transaction reads (the committed rows
//! merged with the transaction's own writes).

use std::fmt;
use std::marker::PhantomData;

use emdb_core::{Result, TxIter};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, Postcard};
use crate::key::KeyRange;
use crate::owned::{TableKey, TableValue};
use crate::schema::Schema;
use crate::snapshot::encoded_bounds;
use crate::tx::TxTable;

/// An ascending iterator over `(key, row)` pairs of a table as a transaction sees them; made
/// by [`TxTable::iter`] and [`TxTable::range`]. It borrows the transaction.
pub struct TxTableIter<'a, K, V, C = Postcard> {
    raw: TxIter<'a>,
    schema: &'a Schema<V>,
    types: PhantomData<fn() -> (K, C)>,
}

impl<K, V, C> fmt::Debug for TxTableIter<'_, K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxTableIter").field("table", &self.schema.name).finish_non_exhaustive()
    }
}

impl<K, V, C> Iterator for TxTableIter<'_, K, V, C>
where
    K: DeserializeOwned,
    V: Serialize + DeserializeOwned,
    C: Codec,
{
    type Item = Result<(K, V)>;

    fn next(&mut self) -> Option<Self::Item> {
        let (raw_key, stored) = match self.raw.next()? {
            Ok(entry) => entry,
            Err(e) => return Some(Err(e)),
        };
        Some(decode_row::<K, V, C>(self.schema, &raw_key, &stored))
    }
}

impl<K, V, C> std::iter::FusedIterator for TxTableIter<'_, K, V, C>
where
    K: DeserializeOwned,
    V: Serialize + DeserializeOwned,
    C: Codec,
{
}

fn decode_row<K, V, C>(schema: &Schema<V>, raw_key: &[u8], stored: &[u8]) -> Result<(K, V)>
where
    K: DeserializeOwned,
    V: Serialize + DeserializeOwned,
    C: Codec,
{
    Ok((schema.decode_key(raw_key)?, schema.decode_value::<C>(raw_key, stored)?))
}

impl<K, V, C> TxTable<'_, '_, K, V, C>
where
    K: TableKey,
    V: TableValue,
    C: Codec,
{
    /// Every row in the order of `K`, as this transaction sees the table (its own writes
    /// included).
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u32, String>::open(&db, "t")?;
    /// t.insert(&2, &"committed".to_owned())?;
    /// let rows = db.transaction(|tx| {
    ///     let mut t = t.tx(tx);
    ///     t.insert(&1, &"mine".to_owned())?;
    ///     t.iter()?.collect::<emdb::Result<Vec<_>>>()
    /// })?;
    /// assert_eq!(rows, vec![(1, "mine".to_owned()), (2, "committed".to_owned())]);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    ///
    /// # Errors
    /// None today; each item reports a row that does not decode, or an I/O error.
    pub fn iter(&mut self) -> Result<TxTableIter<'_, K, V, C>> {
        let schema = self.typed_schema();
        let raw = self.raw().iter()?;
        Ok(TxTableIter { raw, schema, types: PhantomData })
    }

    /// The rows whose keys fall in `range`, as this transaction sees them; see
    /// [`Table::range`](crate::Table::range) for the bounds it takes.
    ///
    /// # Errors
    /// [`UnsupportedKey`](emdb_core::Error::UnsupportedKey) if a bound cannot be encoded as a
    /// key; otherwise as [`iter`](Self::iter).
    #[expect(
        clippy::needless_pass_by_value,
        reason = "a range is passed by value, as to BTreeMap::range: `t.range(3..10)`"
    )]
    pub fn range<R: KeyRange<K>>(&mut self, range: R) -> Result<TxTableIter<'_, K, V, C>> {
        let schema = self.typed_schema();
        let bounds = encoded_bounds(schema, &range)?;
        let raw = self.raw().range::<Vec<u8>, _>(bounds)?;
        Ok(TxTableIter { raw, schema, types: PhantomData })
    }

    /// The row with the smallest key, as this transaction sees the table.
    ///
    /// # Errors
    /// As [`iter`](Self::iter).
    pub fn first(&mut self) -> Result<Option<(K, V)>> {
        self.iter()?.next().transpose()
    }

    /// The row with the largest key, as this transaction sees the table.
    ///
    /// # Errors
    /// As [`iter`](Self::iter).
    pub fn last(&mut self) -> Result<Option<(K, V)>> {
        let schema = self.typed_schema();
        match self.raw().last()? {
            Some((raw_key, stored)) => decode_row::<K, V, C>(schema, &raw_key, &stored).map(Some),
            None => Ok(None),
        }
    }
}
