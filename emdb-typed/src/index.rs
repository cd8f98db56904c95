//! Secondary indexes: the typed [`Index`] handle a table is opened with and queried by, the
//! uniqueness markers, and the one implementation of index entries — their layout, their upkeep
//! inside the row's transaction, their queries, their build at open and their verification.
//!
//! # Storage layout
//!
//! The entries of every index of table `t` live in the core namespace `emdb.index.<t>`
//! ([`INDEX_NAMESPACE_PREFIX`]), one entry per (index, value, row):
//!
//! ```text
//! key   = key::encode(index name) ++ key::encode(value) ++ key::encode(primary key)
//! value = key::encode(primary key)
//! ```
//!
//! except that a unique index, whose values have one row each, leaves the primary key out of
//! the entry's key (`key::encode(index name) ++ key::encode(value)`), so that claiming a value
//! and [`get_by`](crate::Table::get_by) are point reads.
//!
//! Every part is in the order-preserving key encoding, which is prefix-free per type, so the
//! entries of one index value are one prefix scan in primary-key order, and a range of index
//! values is one range scan in value order, then primary-key order. The stored value is the
//! primary key, so that a query never has to split the key. An entry is written with the
//! row's time-to-live, and a query reads the row and checks that it is live and still has the
//! value, so an expired row is never returned.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Bound;
use std::sync::Arc;

use emdb_core::{Emdb, Error, Namespace, Operation, Result, Snapshot, Ttl, TxNamespace};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::Codec;
use crate::key::{self, KeyRange};
use crate::schema::Schema;

/// The prefix of the core namespace of a table's index entries: table `users` keeps them in
/// `emdb.index.users`.
pub const INDEX_NAMESPACE_PREFIX: &str = "emdb.index.";

mod sealed {
    /// Keeps [`Uniqueness`](super::Uniqueness) implementable only inside this crate.
    pub trait Sealed {}
}

/// Marks an [`Index`] whose values each belong to at most one row:
/// [`Table::get_by`](crate::Table::get_by) takes only these.
#[derive(Debug, Clone, Copy)]
pub struct Unique;

/// Marks an [`Index`] whose values may belong to many rows.
#[derive(Debug, Clone, Copy)]
pub struct NonUnique;

/// Whether an index is unique: implemented by [`Unique`] and [`NonUnique`] only.
pub trait Uniqueness: sealed::Sealed {
    /// `true` for [`Unique`].
    const UNIQUE: bool;
}

impl sealed::Sealed for Unique {}
impl sealed::Sealed for NonUnique {}
impl Uniqueness for Unique {
    const UNIQUE: bool = true;
}
impl Uniqueness for NonUnique {
    const UNIQUE: bool = false;
}

/// Implemented by [`Unique`] only: what [`get_by`](crate::Table::get_by) asks of an index.
#[diagnostic::on_unimplemented(
    message = "`get_by` needs a unique index, and this index is `{Self}`",
    label = "not a unique index",
    note = "use `find_by`, which returns every row with the value, or declare the index unique: `#[emdb(index(unique))]` or `Index::unique`"
)]
pub trait IsUnique: Uniqueness {}
impl IsUnique for Unique {}

/// The key function of an index: the values a row is found by.
type KeysFn<V, I> = dyn Fn(&V) -> Vec<I> + Send + Sync;

/// A secondary index of a table of `V` rows, by values of type `I`; `U` is [`Unique`] or
/// [`NonUnique`]. A handle: a name and a key function that gives the values a row is found by
/// (none, one, or several — one entry each).
///
/// Declare it when opening the table ([`TableOptions::index`](crate::TableOptions::index), or
/// `#[emdb(index)]` on a field of a `#[derive(Record)]`, which makes `by_<field>()`), then query
/// with [`Table::find_by`](crate::Table::find_by), [`range_by`](crate::Table::range_by) and, for
/// unique indexes, [`get_by`](crate::Table::get_by).
///
/// # Examples
///
/// ```
/// use emdb::{Emdb, Index, Table};
///
/// let db = Emdb::open_in_memory();
/// let by_len = Index::non_unique("len", |word: &String| vec![word.len()]);
/// let words = Table::<u32, String>::options("words").index(by_len.clone()).open(&db)?;
/// words.insert(&1, &"cat".to_owned())?;
/// words.insert(&2, &"horse".to_owned())?;
/// words.insert(&3, &"dog".to_owned())?;
/// let three: Vec<u32> = words.find_by(&by_len, &3)?.map(|r| r.map(|(k, _)| k)).collect::<Result<_, _>>()?;
/// assert_eq!(three, [1, 3]);
/// # Ok::<(), emdb::Error>(())
/// ```
pub struct Index<V, I, U = NonUnique> {
    name: Arc<str>,
    keys: Arc<KeysFn<V, I>>,
    marker: PhantomData<fn() -> U>,
}

impl<V, I, U> Clone for Index<V, I, U> {
    fn clone(&self) -> Self {
        Index { name: Arc::clone(&self.name), keys: Arc::clone(&self.keys), marker: PhantomData }
    }
}

impl<V, I, U: Uniqueness> fmt::Debug for Index<V, I, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Index")
            .field("name", &self.name)
            .field("unique", &U::UNIQUE)
            .field("value", &std::any::type_name::<I>())
            .finish_non_exhaustive()
    }
}

impl<V, I> Index<V, I, Unique> {
    /// A unique index called `name`: no two live rows may share a value `keys` returns. A write
    /// that would is refused with [`UniqueViolation`](emdb_core::Error::UniqueViolation).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Index, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let by_email = Index::unique("email", |row: &(String, String)| vec![row.1.clone()]);
    /// let users = Table::<u64, (String, String)>::options("users").index(by_email.clone()).open(&db)?;
    /// users.insert(&1, &("ada".into(), "ada@x.org".into()))?;
    /// assert!(users.insert(&2, &("eve".into(), "ada@x.org".into())).is_err());
    /// assert_eq!(users.get_by(&by_email, "ada@x.org")?.map(|u| u.0), Some("ada".to_owned()));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn unique(
        name: impl Into<String>,
        keys: impl Fn(&V) -> Vec<I> + Send + Sync + 'static,
    ) -> Self {
        Index { name: name.into().into(), keys: Arc::new(keys), marker: PhantomData }
    }
}

impl<V, I> Index<V, I, NonUnique> {
    /// An index called `name` whose values may be shared by many rows.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Index, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let by_tag = Index::non_unique("tag", |tags: &Vec<String>| tags.clone());
    /// let posts = Table::<u32, Vec<String>>::options("posts").index(by_tag.clone()).open(&db)?;
    /// posts.insert(&1, &vec!["rust".into(), "db".into()])?;
    /// posts.insert(&2, &vec!["rust".into()])?;
    /// assert_eq!(posts.find_by(&by_tag, "rust")?.count(), 2);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn non_unique(
        name: impl Into<String>,
        keys: impl Fn(&V) -> Vec<I> + Send + Sync + 'static,
    ) -> Self {
        Index { name: name.into().into(), keys: Arc::new(keys), marker: PhantomData }
    }
}

impl<V, I, U> Index<V, I, U> {
    /// The index name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The values `row` is found by in this index.
    pub fn values(&self, row: &V) -> Vec<I> {
        (self.keys)(row)
    }
}

/// Encodes a row's values for one index: each value once, in byte order.
type EncodeFn<V> = dyn Fn(&V) -> Result<Vec<Vec<u8>>> + Send + Sync;

/// Whether a row has the encoded value given in one index.
type HoldsFn<V> = dyn Fn(&V, &[u8]) -> Result<bool> + Send + Sync;

/// An index with its value type erased: what a table keeps.
pub(crate) struct IndexDef<V> {
    pub(crate) name: String,
    pub(crate) unique: bool,
    /// `key::encode(name)`: the prefix of every entry of this index.
    prefix: Vec<u8>,
    encode: Box<EncodeFn<V>>,
    holds: Box<HoldsFn<V>>,
    /// Shows an encoded value as JSON, for messages.
    render: fn(&[u8]) -> String,
}

/// Shows an encoded value of type `I` as JSON (through the crate's own dynamic value, so no
/// feature is needed), or its bytes when it does not decode.
fn render<I: Serialize + DeserializeOwned>(raw: &[u8]) -> String {
    crate::schema::key_text::<I>(raw).unwrap_or_else(|| format!("{raw:02x?}"))
}

impl<V: 'static> IndexDef<V> {
    pub(crate) fn new<I, U>(index: Index<V, I, U>) -> Result<Self>
    where
        I: Serialize + DeserializeOwned + 'static,
        U: Uniqueness,
    {
        let keys = index.keys;
        let of_row = Arc::clone(&keys);
        Ok(IndexDef {
            prefix: key::encode(&*index.name)?,
            name: index.name.to_string(),
            unique: U::UNIQUE,
            encode: Box::new(move |row: &V| {
                let mut values: Vec<Vec<u8>> =
                    keys(row).iter().map(|value| key::encode(value)).collect::<Result<_>>()?;
                values.sort_unstable();
                values.dedup();
                Ok(values)
            }),
            holds: Box::new(move |row: &V, wanted: &[u8]| {
                let mut buf = Vec::with_capacity(wanted.len());
                for value in of_row(row) {
                    buf.clear();
                    key::encode_into(&value, &mut buf)?;
                    if buf == wanted {
                        return Ok(true);
                    }
                }
                Ok(false)
            }),
            render: render::<I>,
        })
    }
}

impl<V> IndexDef<V> {
    /// The start of the keys of every entry of `value`: the index prefix, then the value.
    fn value_prefix(&self, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.prefix.len() + value.len() + 16);
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(value);
        out
    }

    /// The key of the entry of `value` for the row `pk`.
    fn entry_key(&self, value: &[u8], pk: &[u8]) -> Vec<u8> {
        let mut out = self.value_prefix(value);
        if !self.unique {
            out.extend_from_slice(pk);
        }
        out
    }

    /// The encoded value of an entry, between the index prefix and the primary key.
    fn value_of<'a>(&self, entry_key: &'a [u8], pk: &[u8]) -> Option<&'a [u8]> {
        let end =
            if self.unique { entry_key.len() } else { entry_key.len().checked_sub(pk.len())? };
        entry_key.get(self.prefix.len()..end)
    }
}

/// The smallest byte string greater than every string that starts with `prefix`; `None` if
/// there is none (the prefix is empty or all `0xFF`).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The bounds of a scan of index entries.
pub(crate) type EntryBounds = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The index declarations of a table and the namespace of their entries.
pub(crate) struct Indexes<V> {
    /// `None` when the table declares no index.
    pub(crate) ns: Option<Namespace>,
    /// Shared with the table's registered integrity check, which holds no handle of the
    /// database.
    pub(crate) defs: Arc<[IndexDef<V>]>,
}

impl<V> Default for Indexes<V> {
    fn default() -> Self {
        Indexes { ns: None, defs: Arc::new([]) }
    }
}

/// A row's change, as the index upkeep needs it.
pub(crate) struct Change<'a, V> {
    pub(crate) pk: &'a [u8],
    pub(crate) old: Option<&'a V>,
    pub(crate) new: Option<&'a V>,
    /// The new row's time-to-live, given to its entries.
    pub(crate) ttl: Ttl,
}

impl<V: Serialize + DeserializeOwned> Indexes<V> {
    pub(crate) fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    pub(crate) fn def(&self, table: &str, name: &str) -> Result<&IndexDef<V>> {
        self.defs
            .iter()
            .find(|def| def.name == name)
            .ok_or_else(|| Error::UnknownIndex { table: table.to_owned(), index: name.to_owned() })
    }

    fn ns(&self, table: &str) -> Result<&Namespace> {
        self.ns.as_ref().ok_or_else(|| Error::Internal {
            detail: format!("table {table:?} declares indexes but has no index namespace"),
        })
    }

    /// Writes the index entries of one row change through `rows`, the transaction's view of
    /// the table: checks every unique index first, then removes the entries the old row had and
    /// the new one has not, and writes the new row's entries with its time-to-live. Nothing is
    /// written when a unique index refuses.
    pub(crate) fn apply<C: Codec>(
        &self,
        schema: &Schema<V>,
        rows: &mut TxNamespace<'_, '_>,
        change: &Change<'_, V>,
    ) -> Result<()> {
        let ns = self.ns(&schema.name)?;
        let none = Vec::new();
        // (entry key, whether it is a unique index's: removed only if it is still this row's)
        let mut removes = Vec::new();
        let mut puts = Vec::new();
        for def in self.defs.iter() {
            let old = change.old.map(|row| (def.encode)(row)).transpose()?;
            let new = change.new.map(|row| (def.encode)(row)).transpose()?;
            let (old, new) = (old.as_ref().unwrap_or(&none), new.as_ref().unwrap_or(&none));
            for value in old.iter().filter(|value| new.binary_search(value).is_err()) {
                removes.push((def.entry_key(value, change.pk), def.unique));
            }
            for value in new {
                if def.unique && old.binary_search(value).is_err() {
                    Self::claim::<C>(schema, def, rows, ns, value, change.pk)?;
                }
                puts.push(def.entry_key(value, change.pk));
            }
        }
        let mut entries = rows.namespace(ns);
        for (key, unique) in removes {
            if !unique || entries.get(&key)?.as_deref() == Some(change.pk) {
                entries.discard(key);
            }
        }
        for key in puts {
            entries.insert_with_ttl(key, change.pk, change.ttl)?;
        }
        Ok(())
    }

    /// Checks that no other live row holds `value` in the unique index `def`. An entry of a
    /// row that is gone or no longer has the value is stale: the claim's write replaces it.
    fn claim<C: Codec>(
        schema: &Schema<V>,
        def: &IndexDef<V>,
        rows: &mut TxNamespace<'_, '_>,
        ns: &Namespace,
        value: &[u8],
        pk: &[u8],
    ) -> Result<()> {
        let Some(holder) = rows.namespace(ns).get(def.entry_key(value, pk))? else {
            return Ok(());
        };
        if holder == pk {
            return Ok(());
        }
        let live = match rows.get(&holder)? {
            Some(stored) => (def.holds)(&schema.decode_value::<C>(&holder, &stored)?, value)?,
            None => false,
        };
        if live {
            return Err(Error::UniqueViolation {
                table: schema.name.clone(),
                index: def.name.clone(),
                value: (def.render)(value),
                existing: (schema.key_text)(&holder).unwrap_or_else(|| format!("{holder:02x?}")),
            });
        }
        Ok(())
    }

    /// The bounds of the entries of `def` whose values fall in `range`, or `None` if none can.
    pub(crate) fn bounds<I, R>(def: &IndexDef<V>, range: &R) -> Result<Option<EntryBounds>>
    where
        R: KeyRange<I>,
    {
        let lower = match range.start() {
            Bound::Unbounded => Bound::Included(def.prefix.clone()),
            Bound::Included(v) => Bound::Included(def.value_prefix(&key::encode(v)?)),
            Bound::Excluded(v) => match prefix_end(&def.value_prefix(&key::encode(v)?)) {
                Some(end) => Bound::Included(end),
                None => return Ok(None),
            },
        };
        let upper = match range.end() {
            Bound::Unbounded => prefix_end(&def.prefix).map_or(Bound::Unbounded, Bound::Excluded),
            Bound::Included(v) => prefix_end(&def.value_prefix(&key::encode(v)?))
                .map_or(Bound::Unbounded, Bound::Excluded),
            Bound::Excluded(v) => Bound::Excluded(def.value_prefix(&key::encode(v)?)),
        };
        Ok(Some((lower, upper)))
    }

    /// The key of the one entry of `value` in the unique index `def`.
    pub(crate) fn unique_key<Q: Serialize + ?Sized>(
        def: &IndexDef<V>,
        value: &Q,
    ) -> Result<Vec<u8>> {
        let mut entry = Vec::with_capacity(def.prefix.len() + 32);
        entry.extend_from_slice(&def.prefix);
        key::encode_into(value, &mut entry)?;
        Ok(entry)
    }

    /// The row the unique index `def` maps the value of `entry` (its key, from
    /// [`unique_key`](Self::unique_key)) to, given `pk`, what the entry holds: `row_of` reads the
    /// row. `None` when there is no entry, or its row is gone or no longer has the value (a
    /// write between the two reads, or an entry not yet replaced).
    pub(crate) fn unique_row<C: Codec>(
        schema: &Schema<V>,
        def: &IndexDef<V>,
        entry: &[u8],
        pk: Option<Vec<u8>>,
        row_of: impl FnOnce(&[u8]) -> Result<Option<Vec<u8>>>,
    ) -> Result<Option<V>> {
        let Some(pk) = pk else { return Ok(None) };
        let Some(stored) = row_of(&pk)? else { return Ok(None) };
        let row = schema.decode_value::<C>(&pk, &stored)?;
        let wanted = entry.get(def.prefix.len()..).unwrap_or_default();
        Ok((def.holds)(&row, wanted)?.then_some(row))
    }

    /// The bounds of the entries of `def` with exactly `value`.
    pub(crate) fn exact<Q: Serialize + ?Sized>(
        def: &IndexDef<V>,
        value: &Q,
    ) -> Result<EntryBounds> {
        let start = def.value_prefix(&key::encode(value)?);
        let end = prefix_end(&start).map_or(Bound::Unbounded, Bound::Excluded);
        Ok((Bound::Included(start), end))
    }

    /// The rows of the index entries `found`, read with `get`: those live and still holding
    /// the entry's value, in the entries' order.
    pub(crate) fn resolve<K, C>(
        schema: &Schema<V>,
        def: &IndexDef<V>,
        found: Vec<(Vec<u8>, Vec<u8>)>,
        mut get: impl FnMut(&[u8]) -> Result<Option<Vec<u8>>>,
    ) -> Vec<Result<(K, V)>>
    where
        K: DeserializeOwned,
        C: Codec,
    {
        let mut out = Vec::with_capacity(found.len());
        for (entry, pk) in found {
            let row = (|| {
                let Some(stored) = get(&pk)? else { return Ok(None) };
                let value = schema.decode_value::<C>(&pk, &stored)?;
                let wanted = def.value_of(&entry, &pk).unwrap_or_default();
                if !(def.holds)(&value, wanted)? {
                    return Ok(None);
                }
                Ok(Some((schema.decode_key::<K>(&pk)?, value)))
            })();
            match row {
                Ok(Some(row)) => out.push(Ok(row)),
                Ok(None) => {}
                Err(err) => out.push(Err(err)),
            }
        }
        out
    }

    /// Builds the entries of the declared indexes missing from `recorded` and drops those of
    /// the recorded indexes no longer declared, through `rows` (the transaction's view of the
    /// table). A build reports its progress, rows indexed out of the table's rows, through
    /// `db`'s reporter ([`Operation::IndexBuild`]). Returns the declared set to record.
    pub(crate) fn sync<C: Codec>(
        &self,
        db: &Emdb,
        schema: &Schema<V>,
        rows: &mut TxNamespace<'_, '_>,
        recorded: &[(String, bool)],
    ) -> Result<Vec<(String, bool)>> {
        let declared: Vec<(String, bool)> =
            self.defs.iter().map(|def| (def.name.clone(), def.unique)).collect();
        let Some(ns) = self.ns.as_ref() else { return Ok(declared) };
        for (name, unique) in recorded {
            if declared.contains(&(name.clone(), *unique)) {
                continue;
            }
            let mut entries = rows.namespace(ns);
            let keys: Vec<Vec<u8>> = entries
                .prefix(key::encode(name.as_str())?)?
                .map(|e| e.map(|(k, _)| k))
                .collect::<Result<_>>()?;
            for key in keys {
                entries.discard(key);
            }
        }
        let added: Vec<&IndexDef<V>> = self
            .defs
            .iter()
            .filter(|def| !recorded.contains(&(def.name.clone(), def.unique)))
            .collect();
        if added.is_empty() {
            return Ok(declared);
        }
        let all: Vec<(Vec<u8>, Vec<u8>)> = rows.iter()?.collect::<Result<_>>()?;
        let mut progress = db.track_progress(Operation::IndexBuild, &schema.name, all.len() as u64);
        for (pk, stored) in all {
            let row = schema.decode_value::<C>(&pk, &stored)?;
            let ttl = rows.ttl(&pk)?.map_or(Ttl::Never, Ttl::After);
            for def in &added {
                for value in (def.encode)(&row)? {
                    if def.unique {
                        let holder = rows.namespace(ns).get(def.entry_key(&value, &pk))?;
                        if let Some(holder) = holder {
                            return Err(Error::UniqueViolation {
                                table: schema.name.clone(),
                                index: def.name.clone(),
                                value: (def.render)(&value),
                                existing: (schema.key_text)(&holder)
                                    .unwrap_or_else(|| format!("{holder:02x?}")),
                            });
                        }
                    }
                    rows.namespace(ns).insert_with_ttl(def.entry_key(&value, &pk), &pk, ttl)?;
                }
            }
            progress.advance(1);
        }
        progress.finish();
        Ok(declared)
    }

    /// Compares the entries of every declared index with the rows, through `rows` (a
    /// transaction's view of the table, so that nothing changes meanwhile). Returns how many
    /// entries it proved.
    pub(crate) fn verify<C: Codec>(
        &self,
        schema: &Schema<V>,
        rows: &mut TxNamespace<'_, '_>,
    ) -> Result<u64> {
        let Some(ns) = self.ns.as_ref() else { return Ok(0) };
        let all: Vec<(Vec<u8>, Vec<u8>)> = rows.iter()?.collect::<Result<_>>()?;
        let actual: BTreeMap<Vec<u8>, Vec<u8>> =
            rows.namespace(ns).iter()?.collect::<Result<_>>()?;
        self.compare::<C>(schema, all, &actual)
    }

    /// As [`verify`](Self::verify), through snapshots of the table's namespace `rows` and its
    /// index namespace `entries` taken together: it takes no writer lock and writes nothing, so
    /// it also checks a read-only database. What a table's registered integrity check runs.
    pub(crate) fn verify_snapshot<C: Codec>(
        &self,
        schema: &Schema<V>,
        rows: &Namespace,
        entries: &Namespace,
    ) -> Result<u64> {
        let snapshots = Snapshot::together(&[rows, entries]);
        let (Some(rows), Some(entries)) = (snapshots.first(), snapshots.get(1)) else {
            return Err(Error::Internal {
                detail: "Snapshot::together returned fewer snapshots than namespaces".to_owned(),
            });
        };
        let all: Vec<(Vec<u8>, Vec<u8>)> = rows.iter()?.collect::<Result<_>>()?;
        let actual: BTreeMap<Vec<u8>, Vec<u8>> = entries.iter()?.collect::<Result<_>>()?;
        self.compare::<C>(schema, all, &actual)
    }

    /// Compares the index entries `actual` with those the rows `all` (stored key and value
    /// pairs) give; returns how many entries there are when they agree.
    fn compare<C: Codec>(
        &self,
        schema: &Schema<V>,
        all: Vec<(Vec<u8>, Vec<u8>)>,
        actual: &BTreeMap<Vec<u8>, Vec<u8>>,
    ) -> Result<u64> {
        let mut expected: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for (pk, stored) in all {
            let row = schema.decode_value::<C>(&pk, &stored)?;
            for def in self.defs.iter() {
                for value in (def.encode)(&row)? {
                    expected.insert(def.entry_key(&value, &pk), pk.clone());
                }
            }
        }
        let mut problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let index_of = |entry: &[u8]| {
            self.defs
                .iter()
                .find(|def| entry.starts_with(&def.prefix))
                .map_or_else(|| "(undeclared)".to_owned(), |def| def.name.clone())
        };
        let show = |pk: &[u8]| (schema.key_text)(pk).unwrap_or_else(|| format!("{pk:02x?}"));
        for (entry, pk) in &expected {
            match actual.get(entry) {
                None => problems.entry(index_of(entry)).or_default().push(format!(
                    "the row with key {} has no entry for one of its values",
                    show(pk)
                )),
                Some(found) if found != pk => {
                    problems.entry(index_of(entry)).or_default().push(format!(
                        "an entry of the row with key {} points at key {}",
                        show(pk),
                        show(found)
                    ));
                }
                Some(_) => {}
            }
        }
        for (entry, pk) in actual {
            if !expected.contains_key(entry) {
                problems.entry(index_of(entry)).or_default().push(format!(
                    "an entry points at the row with key {}, which is gone or does not have its value",
                    show(pk)
                ));
            }
        }
        match problems.into_iter().next() {
            None => Ok(actual.len() as u64),
            Some((index, list)) => Err(Error::IndexEntryMismatch {
                table: schema.name.clone(),
                index,
                detail: format!(
                    "{} ({} disagreement{} in this index)",
                    list.first().map_or("", String::as_str),
                    list.len(),
                    if list.len() == 1 { "" } else { "s" }
                ),
            }),
        }
    }
}

/// Finds the index `index` names among `indexes`.
pub(crate) fn lookup<'a, V, I, U>(
    schema: &'a Schema<V>,
    index: &Index<V, I, U>,
) -> Result<&'a IndexDef<V>>
where
    V: Serialize + DeserializeOwned,
{
    schema.indexes.def(&schema.name, index.name())
}

/// The rows an index query found, as `(key, row)` pairs: in primary-key order for
/// [`find_by`](crate::Table::find_by), in index-value order then primary-key order for
/// [`range_by`](crate::Table::range_by). The rows are read when the query is made; a row that
/// does not decode is an error item, and the next item goes on.
pub struct IndexIter<K, V> {
    rows: std::vec::IntoIter<Result<(K, V)>>,
}

impl<K, V> fmt::Debug for IndexIter<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexIter").field("remaining", &self.rows.len()).finish()
    }
}

impl<K, V> IndexIter<K, V> {
    pub(crate) fn new(rows: Vec<Result<(K, V)>>) -> Self {
        IndexIter { rows: rows.into_iter() }
    }
}

impl<K, V> Iterator for IndexIter<K, V> {
    type Item = Result<(K, V)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.rows.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for IndexIter<K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.rows.next_back()
    }
}

impl<K, V> ExactSizeIterator for IndexIter<K, V> {}
impl<K, V> std::iter::FusedIterator for IndexIter<K, V> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_first_string_after_every_extension() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(&[]), None);
    }
}
