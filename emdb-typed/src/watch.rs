//! The change feed of a typed table: [`Table::watch`] and the [`TableEvent`]s it delivers.

use std::sync::Arc;

use emdb_core::{DEFAULT_WATCH_CAPACITY, RawEvent, Result, Watcher};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::Codec;
use crate::owned::{TableKey, TableValue};
use crate::schema::Schema;
use crate::table::Table;

/// One change to one row of a table, decoded: what a [`Table::watch`] watcher receives, in
/// [`Commit`](emdb_core::Commit)s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableEvent<K, V> {
    /// A row was written under a key that had none.
    Insert {
        /// The row's key.
        key: K,
        /// The row written.
        value: V,
    },
    /// A row was replaced.
    Update {
        /// The row's key.
        key: K,
        /// The row before the commit.
        old: V,
        /// The row after it.
        new: V,
    },
    /// A row was removed (by a removal, a clear, or a purge of expired rows).
    Remove {
        /// The row's key.
        key: K,
        /// The row removed.
        old: V,
    },
}

impl<K, V, C> Table<K, V, C>
where
    K: TableKey,
    V: TableValue + Send + Sync,
    C: Codec,
{
    /// A [`Watcher`] of the commits that change this table, each change decoded into a
    /// [`TableEvent`] (a row of an older schema version is read as the current type, as
    /// [`get`](Self::get) reads it). See [`Watcher`] for ordering, lag and closing.
    ///
    /// ```
    /// use std::time::Duration;
    /// use emdb::{Emdb, Table, TableEvent};
    ///
    /// let db = Emdb::open_in_memory();
    /// let users = Table::<u64, String>::open(&db, "users")?;
    /// let feed = users.watch()?;
    /// users.insert(&1, &"ada".to_owned())?;
    /// users.insert(&1, &"ada lovelace".to_owned())?;
    /// let first = feed.recv_timeout(Duration::from_secs(1))?.expect("a commit");
    /// assert_eq!(first.events, vec![TableEvent::Insert { key: 1, value: "ada".to_owned() }]);
    /// let second = feed.recv()?;
    /// assert_eq!(
    ///     second.events,
    ///     vec![TableEvent::Update { key: 1, old: "ada".to_owned(), new: "ada lovelace".to_owned() }]
    /// );
    /// # Ok::<(), emdb::Error>(())
    /// ```
    ///
    /// # Errors
    /// None today; receiving reports a row that does not decode
    /// ([`Decode`](emdb_core::Error::Decode)).
    pub fn watch(&self) -> Result<Watcher<TableEvent<K, V>>> {
        self.watch_with_capacity(DEFAULT_WATCH_CAPACITY)
    }

    /// As [`watch`](Self::watch), with room for `capacity` commits not yet received.
    ///
    /// # Errors
    /// As [`watch`](Self::watch).
    pub fn watch_with_capacity(&self, capacity: usize) -> Result<Watcher<TableEvent<K, V>>> {
        let schema = Arc::clone(&self.schema);
        let raw = self.ns.watch_prefix_with_capacity("", capacity)?;
        Ok(raw.map_events(move |event| decode_event::<K, V, C>(&schema, event)))
    }
}

/// Decodes a raw change of a table's namespace.
fn decode_event<K, V, C>(schema: &Schema<V>, event: RawEvent) -> Result<TableEvent<K, V>>
where
    K: DeserializeOwned,
    V: Serialize + DeserializeOwned,
    C: Codec,
{
    let RawEvent { key: raw, old, new } = event;
    let key = schema.decode_key(&raw)?;
    let value = |stored: &[u8]| schema.decode_value::<C>(&raw, stored);
    Ok(match (old, new) {
        (None, Some(new)) => TableEvent::Insert { key, value: value(&new)? },
        (Some(old), Some(new)) => TableEvent::Update { key, old: value(&old)?, new: value(&new)? },
        (Some(old), None) => TableEvent::Remove { key, old: value(&old)? },
        // A raw event always has one side; nothing was there and nothing is.
        (None, None) => {
            return Err(emdb_core::Error::Internal { detail: "a change with no value".into() });
        }
    })
}
