//! [`Table`]: a typed view of one core namespace, with serde keys in the order-preserving key
//! encoding and values framed by the value header; and [`TableOptions`], how a table is opened.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use emdb_core::{Emdb, Namespace, Result, Transaction, Ttl};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::catalog::{self, Declared, Probe, TABLE_NAMESPACE_PREFIX, Target};
use crate::codec::{Codec, Postcard, human_readable};
use crate::dynamic::{self, Value, to_value};
use crate::index::{Change, INDEX_NAMESPACE_PREFIX, Index, IndexDef, Indexes, Uniqueness};
use crate::iter::TableIter;
use crate::key::KeyRange;
use crate::owned::{TableKey, TableValue};
use crate::record::Record;
use crate::schema::{FromBytes, FromValue, Schema, Step, key_text};
use crate::shape::{self, EnumHint, enum_hint};
use crate::store::Typed;
use crate::tx::TxTable;

/// The most rows [`Table::migrate`] rewrites in one transaction.
const MIGRATE_BATCH: usize = 1024;

/// A typed table: keys of type `K`, values of type `V` encoded with codec `C` ([`Postcard`]
/// unless named).
///
/// A table is a cheap handle (an [`Emdb`], a [`Namespace`] and an `Arc`): clone it and share it
/// between threads. Reads see every committed write at once; [`update`](Self::update) is an
/// atomic read-modify-write; [`tx`](Self::tx) writes to several tables in one transaction.
///
/// Key methods take any `&Q` the key type [borrows](Borrow) as (`&str` for a `String` key), like
/// the standard maps. `Q` must serialize exactly as `K` does, which holds for `str`/`String`,
/// `[T]`/`Vec<T>` and `T`/`T`. [`range`](Self::range) takes `&str` bounds on a `String` key too.
///
/// # Key and value types own their data
///
/// Keys and values are decoded from storage into new values, so `K` and `V` must own what they
/// hold: use `String`, not `&str`, and `Vec<u8>`, not `&[u8]`. A `Table<&str, V>` does not
/// compile: the error says "`&str` must implement `OwnedKey<'0, UseStringOrVecInstead>`"
/// ([`TableKey`]; a borrowed value type names `OwnedValue`, [`TableValue`]). A
/// `Table<String, V>` still takes `&str` arguments: `get("ada")`, `range("a".."b")`.
///
/// # Examples
///
/// ```
/// use emdb::{Bincode, Emdb, Table};
///
/// let db = Emdb::open_in_memory();
/// let scores = Table::<String, i64>::open(&db, "scores")?;
/// scores.insert("ada", &30)?;
/// scores.insert("bob", &12)?;
/// assert_eq!(scores.get("ada")?, Some(30));
/// assert_eq!(scores.update("bob", |s| *s += 1)?, Some(13));
/// assert_eq!(scores.first()?, Some(("ada".to_owned(), 30)));
///
/// let logins = Table::<u64, Vec<u64>, Bincode>::open_with(&db, "logins")?;
/// logins.insert(&7, &vec![1_700_000_000])?;
/// assert_eq!(logins.len()?, 1);
/// # Ok::<(), emdb::Error>(())
/// ```
///
/// # Storage layout (the escape hatch)
///
/// A table is plain data in the core, readable and writable with the raw API:
///
/// * Table `name` lives in the core namespace `emdb.table.<name>` ([`namespace`](Self::namespace)
///   returns it). **Core namespace names that start with `emdb.` are reserved for the typed
///   layer**: do not create or write them through the raw API except as described here.
/// * The stored key is [`key::encode`](crate::key::encode)`(&k)`: the order-preserving key
///   encoding, whose byte order is the [`Ord`] of `K`. No prefix, no length.
/// * The stored value is the [value header](crate::write_header) — the codec's
///   [`ID`](Codec::ID) (1 postcard, 2 bincode, 3 json), then the schema version as an unsigned
///   LEB128 `u32` — followed by the codec's encoding of the value.
///   [`get_raw`](Self::get_raw) returns these bytes; [`read_header`](crate::read_header) splits
///   them.
/// * The entries of its secondary indexes live in the core namespace `emdb.index.<name>`, laid
///   out in `emdb-typed/src/index.rs`; write them only through the table.
/// * The catalog, in the core namespace `emdb.tables`, maps each table name to its codec, the
///   *shape* of its key type and the shape of its value type for every declared schema version
///   (format 2, laid out in `emdb-typed/src/catalog.rs`). [`open_with`](Self::open_with)
///   creates the entry and checks it on every open.
///
/// # Identity: name and shape, not Rust path
///
/// A shape is the serde data model of a type, taken with `serde-reflection` when the table is
/// opened: field names in order, field types, nested structs, enums and their variants,
/// options, sequences, maps. Type names and module paths are not part of it, so the same struct
/// in another crate, module or binary, or renamed, opens the table. Opening with
///
/// * another codec or key shape is [`TableTypeMismatch`](emdb_core::Error::TableTypeMismatch);
/// * a value shape other than the one recorded for the declared version is
///   [`SchemaChanged`](emdb_core::Error::SchemaChanged), naming every difference
///   (`field tier: u8 added`, `field age removed`, `field score: u32 → f64`) and saying to
///   declare the next version;
/// * a declared version older than the newest recorded one is
///   [`UnknownSchemaVersion`](emdb_core::Error::UnknownSchemaVersion): an older program never
///   writes into a table a newer one has evolved.
///
/// Each check runs before anything is written. Types that `serde-reflection` cannot trace
/// (`#[serde(flatten)]`, untagged enums, recursive types, `Deserialize` impls that reject the
/// tracer's placeholder values, and enums held only inside an `Option`, a sequence or a map
/// without a [`with_enum`](TableOptions::with_enum) hint) record no shape: the table opens and
/// its shape is not checked; under postcard and bincode, declaring a newer version is refused
/// until an upgrade from the untraced version is registered (under [`Json`](crate::Json) its
/// values evolve by name all the same).
///
/// # Schema versions
///
/// Every value is written with the table's *declared* version: [`Record::VERSION`] for
/// [`Record::table`], [`TableOptions::version`] otherwise (1 by default). Reading a value
///
/// * of the declared version decodes it;
/// * of a newer version is [`UnknownSchemaVersion`](emdb_core::Error::UnknownSchemaVersion)
///   (this program is older than the data; nothing is guessed);
/// * of an older version evolves it, *lazily*: the stored bytes stay as they are until the entry
///   is written again or [`migrate`](Self::migrate) rewrites every old value.
///
/// Evolution goes step by step from the value's version to the declared one. A step from version
/// `n` is hand-written when [`TableOptions::with_upgrade`] registered one for `n`, and automatic
/// otherwise. An automatic step reads the old value by field name into the next typed step (the
/// `Old` type of the next hand-written step, or `V`): postcard and bincode store no names, so
/// the value is first read through the shape recorded for its version; JSON values are read
/// directly.
///
/// # What evolves by itself, and what needs an upgrade
///
/// | change from one version to the next | automatic |
/// | --- | --- |
/// | add a field with `#[serde(default)]`, or an `Option` field (`None`) | yes |
/// | remove a field | yes (the old value is dropped) |
/// | reorder fields | yes |
/// | rename a field with `#[serde(alias = "old")]` (or `rename` back to the stored name) | yes |
/// | the same changes inside a nested struct, or a struct variant | yes |
/// | add an enum variant | yes |
/// | widen a number (`u8`→`u32`, `i32`→`i64`, unsigned → wider signed, `f32`→`f64`), or `T` → `Option<T>` | yes |
/// | add a field with no serde default | no: refused at open |
/// | change a field's type otherwise (`u32` → `f64`, `String` → `u64`) | no: refused at open |
/// | remove an enum variant, or change a variant's kind | no: refused at open |
/// | rename a field without an alias | no: the old field is dropped and the new one needs a default |
///
/// A refusal is [`SchemaChanged`](emdb_core::Error::SchemaChanged) at open, naming the field and
/// saying to register an upgrade from the version it comes from. Whether a new field has a
/// default is found by reading a sample value of the old shape into the new type.
///
/// Under the *same* version nothing may change: postcard and bincode would misread reordered
/// fields and fail on added ones, which is why the shape is checked at open.
pub struct Table<K, V, C = Postcard> {
    pub(crate) db: Emdb,
    pub(crate) ns: Namespace,
    pub(crate) schema: Arc<Schema<V>>,
    types: PhantomData<fn() -> (K, C)>,
}

impl<K, V, C> Clone for Table<K, V, C> {
    fn clone(&self) -> Self {
        Table {
            db: self.db.clone(),
            ns: self.ns.clone(),
            schema: Arc::clone(&self.schema),
            types: PhantomData,
        }
    }
}

impl<K, V, C> fmt::Debug for Table<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.schema.name)
            .field("key", &std::any::type_name::<K>())
            .field("value", &std::any::type_name::<V>())
            .field("codec", &std::any::type_name::<C>())
            .field("version", &self.schema.version)
            .finish_non_exhaustive()
    }
}

/// Names the types of a [`TableOptions`] without owning any value of them.
type Marker<K, V, C> = PhantomData<fn() -> (K, V, C)>;

/// How to open a [`Table`]: its name and declared schema version. Made by [`Table::options`].
///
/// # Examples
///
/// ```
/// use emdb::{Emdb, Json, Table};
///
/// let db = Emdb::open_in_memory();
/// let notes = Table::<u32, String, Json>::options("notes").version(3).open(&db)?;
/// assert_eq!(notes.version(), 3);
/// # Ok::<(), emdb::Error>(())
/// ```
#[must_use = "options do nothing until open() is called"]
pub struct TableOptions<K, V, C = Postcard> {
    name: String,
    version: u32,
    steps: BTreeMap<u32, Step>,
    hints: Vec<EnumHint>,
    indexes: Vec<Result<IndexDef<V>>>,
    types: Marker<K, V, C>,
}

impl<K, V, C> fmt::Debug for TableOptions<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableOptions")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl<K, V, C> TableOptions<K, V, C>
where
    K: TableKey,
    V: TableValue,
    C: Codec,
{
    /// Declares the schema version of `V` (1 if not called). Values are written with it; see
    /// [Schema versions](Table#schema-versions).
    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    /// Names an enum type that the value type holds inside an `Option`, a sequence or a map, so
    /// that the table's recorded shape has every variant of it. Call it before
    /// [`with_upgrade`](Self::with_upgrade) for the upgrades' types too.
    ///
    /// The shape of `V` is taken with `serde-reflection`, which explores the content of an
    /// `Option`, a sequence or a map once; an enum met only there stays incomplete, and without
    /// this hint the table records no shape for `V`: it opens, but its shape is not checked and
    /// values of older versions read only through upgrades (or, under [`Json`](crate::Json), by
    /// name). Enums held directly in fields need no hint.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// enum Role { Reader, Writer }
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct Member { roles: Vec<Role> }
    ///
    /// let db = Emdb::open_in_memory();
    /// let members = Table::<u32, Member>::options("members").with_enum::<Role>().open(&db)?;
    /// members.insert(&1, &Member { roles: vec![Role::Writer] })?;
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn with_enum<E: DeserializeOwned + 'static>(mut self) -> Self {
        self.hints.push(enum_hint::<E>);
        self
    }

    /// Declares a secondary index: the table keeps an entry for every value `index` gives each
    /// row, in the same commit as the row, so that [`Table::find_by`], [`Table::range_by`] and
    /// (for a [`Unique`](crate::Unique) index) [`Table::get_by`] find rows by them. An index of
    /// the same name declared earlier is replaced.
    ///
    /// Opening builds the entries of an index the table did not have yet, and drops those of an
    /// index it no longer declares, in one transaction with the catalog's record of the
    /// declared set; a unique index whose values the existing rows share fails the open with
    /// [`UniqueViolation`](emdb_core::Error::UniqueViolation) and changes nothing. The build
    /// reports its progress, rows indexed out of the table's rows, as
    /// [`Operation::IndexBuild`](emdb_core::Operation::IndexBuild) (to the callback of
    /// [`EmdbBuilder::on_progress`](emdb_core::EmdbBuilder::on_progress) and in
    /// [`Stats::running`](emdb_core::Stats::running)).
    ///
    /// Opening a table with indexes also registers a check of them with the database:
    /// [`Emdb::check_integrity`] then proves every index entry against the rows, as
    /// [`verify_indexes`](Table::verify_indexes) does, and counts them in
    /// [`IntegrityReport::index_entries`](emdb_core::IntegrityReport::index_entries).
    ///
    /// The catalog records each index by name and uniqueness, not by its key function: give an
    /// index a new name when its key function changes meaning, so that it is rebuilt. Every
    /// handle that writes a table must declare the same indexes; a handle opened without one
    /// drops its entries, and writes through a handle that does not declare it leave it stale
    /// ([`verify_indexes`](Table::verify_indexes) reports it; reopening without it, then with
    /// it, rebuilds it).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Index, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let by_city = Index::non_unique("city", |p: &(String, String)| vec![p.1.clone()]);
    /// let people = Table::<u32, (String, String)>::options("people").index(by_city.clone()).open(&db)?;
    /// people.insert(&1, &("ada".into(), "London".into()))?;
    /// assert_eq!(people.find_by(&by_city, "London")?.count(), 1);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn index<I, U>(mut self, index: Index<V, I, U>) -> Self
    where
        I: Serialize + DeserializeOwned + 'static,
        U: Uniqueness,
    {
        self.indexes.push(IndexDef::new(index));
        self
    }

    /// Registers the hand-written step from schema version `from_version` to the next one:
    /// values of `from_version` read as `Old`, and `upgrade` turns each into a `New`, the type
    /// of version `from_version + 1` (the declared `V` when that is the declared version).
    ///
    /// Steps chain: a value of version 1 in a table declared at version 3 goes through the step
    /// from 1 (hand-written, or automatic when none is registered), then the step from 2. An
    /// automatic step reads the older value by field name as the next step's `Old` type (or as
    /// `V`), so a hand-written step is needed only where a change does not map by name (see
    /// [Schema versions](Table#schema-versions)). Reads apply the steps lazily (the stored bytes
    /// stay old); [`Table::migrate`] rewrites them.
    ///
    /// A second registration for the same version replaces the first.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    /// use serde::{Deserialize, Serialize};
    ///
    /// /// What version 1 of the program stored.
    /// #[derive(Serialize, Deserialize)]
    /// struct PersonV1 { name: String }
    ///
    /// /// Version 2 splits the name: no default maps one field onto two.
    /// #[derive(Debug, PartialEq, Serialize, Deserialize)]
    /// struct Person { first: String, last: String }
    ///
    /// let db = Emdb::open_in_memory();
    /// let v1 = Table::<u32, PersonV1>::open(&db, "people")?;
    /// v1.insert(&1, &PersonV1 { name: "Ada Lovelace".into() })?;
    ///
    /// let people = Table::<u32, Person>::options("people")
    ///     .version(2)
    ///     .with_upgrade(1, |old: PersonV1| {
    ///         let (first, last) = old.name.split_once(' ').unwrap_or((&old.name, ""));
    ///         Person { first: first.to_owned(), last: last.to_owned() }
    ///     })
    ///     .open(&db)?;
    /// let ada = Person { first: "Ada".to_owned(), last: "Lovelace".to_owned() };
    /// assert_eq!(people.get(&1)?, Some(ada));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn with_upgrade<Old, New, F>(mut self, from_version: u32, upgrade: F) -> Self
    where
        Old: DeserializeOwned + 'static,
        New: Serialize + 'static,
        F: Fn(Old) -> New + Send + Sync + 'static,
    {
        let human = human_readable::<C>();
        let upgrade = Arc::new(upgrade);
        let bytes_step = Arc::clone(&upgrade);
        let from_bytes: Arc<FromBytes> = Arc::new(move |payload: &[u8]| {
            let old = C::decode::<Old>(payload)?;
            Ok(to_value(&bytes_step(old))?)
        });
        let from_value: Arc<FromValue> = Arc::new(move |value: Value| {
            let old = dynamic::from_value::<Old>(value, human)?;
            Ok(to_value(&upgrade(old))?)
        });
        let probe: Arc<Probe> =
            Arc::new(move |value: Value| dynamic::from_value::<Old>(value, human).map(drop));
        let step = Step {
            shape: shape::trace::<Old>(human, &self.hints).ok(),
            probe,
            from_bytes,
            from_value,
        };
        self.steps.insert(from_version, step);
        self
    }

    /// Opens the table, creating it (and its catalog entry) on first use.
    ///
    /// # Errors
    /// As [`Table::open_with`].
    pub fn open(self, db: &Emdb) -> Result<Table<K, V, C>> {
        catalog::check_table_name(&self.name)?;
        let human = human_readable::<C>();
        let value = shape::trace::<V>(human, &self.hints).ok();
        let probe = move |value: Value| dynamic::from_value::<V>(value, human).map(drop);
        let declared = Declared {
            codec: C::NAME,
            self_describing: human,
            // The key encoding reports itself not human-readable.
            key: shape::trace::<K>(false, &self.hints).ok(),
            version: self.version,
            value: value.clone(),
            current: Target { shape: value.as_ref(), probe: &probe },
            steps: self
                .steps
                .iter()
                .map(|(&at, step)| (at, Target { shape: step.shape.as_ref(), probe: &*step.probe }))
                .collect(),
        };
        let entry = catalog::register(db, &self.name, &declared)?;
        let ns = db.namespace(&format!("{TABLE_NAMESPACE_PREFIX}{}", self.name))?;
        let mut defs: Vec<IndexDef<V>> = Vec::new();
        for def in self.indexes {
            let def = def?;
            defs.retain(|d| d.name != def.name);
            defs.push(def);
        }
        let index_ns = if defs.is_empty() && entry.indexes.is_empty() {
            None
        } else {
            Some(db.namespace(&format!("{INDEX_NAMESPACE_PREFIX}{}", self.name))?)
        };
        let recorded = entry.indexes.clone();
        let schema = Schema {
            name: self.name,
            version: self.version,
            shapes: entry
                .versions
                .into_iter()
                .filter_map(|(version, shape)| Some((version, shape?)))
                .collect(),
            steps: self.steps,
            key_text: key_text::<K>,
            indexes: Arc::new(Indexes { ns: index_ns, defs: defs.into() }),
            types: PhantomData,
        };
        let declared: Vec<(String, bool)> =
            schema.indexes.defs.iter().map(|def| (def.name.clone(), def.unique)).collect();
        if declared != recorded {
            catalog::record_indexes(db, &schema.name, |tx, recorded| {
                schema.indexes.sync::<C>(db, &schema, &mut tx.namespace(&ns), recorded)
            })?;
        }
        let check = format!("{INDEX_NAMESPACE_PREFIX}{}", schema.name);
        if schema.indexes.is_empty() {
            db.unregister_integrity_check(&check);
        } else {
            db.register_integrity_check(check, index_check::<V, C>(&schema));
        }
        Ok(Table { db: db.clone(), ns, schema: Arc::new(schema), types: PhantomData })
    }
}

/// The integrity check of a table's secondary indexes that [`TableOptions::open`] registers
/// with [`Emdb::register_integrity_check`] (named after the index namespace,
/// `emdb.index.<table>`): every index entry proved against the rows, as
/// [`Table::verify_indexes`] does, through snapshots of both namespaces taken together.
///
/// Every handle of the database holds the check, so the check holds no handle of the database
/// (one that held an `Emdb` would keep the database open for good): a copy of the schema
/// without the index namespace, and the namespaces looked up by name when it runs.
fn index_check<V, C>(schema: &Schema<V>) -> impl Fn(&Emdb) -> Result<u64> + Send + Sync + 'static
where
    V: TableValue,
    C: Codec,
{
    let detached = Schema {
        indexes: Arc::new(Indexes { ns: None, defs: Arc::clone(&schema.indexes.defs) }),
        ..schema.clone()
    };
    move |db: &Emdb| {
        let rows = db.namespace(&format!("{TABLE_NAMESPACE_PREFIX}{}", detached.name))?;
        let entries = db.namespace(&format!("{INDEX_NAMESPACE_PREFIX}{}", detached.name))?;
        detached.indexes.verify_snapshot::<C>(&detached, &rows, &entries)
    }
}

impl<K, V> Table<K, V, Postcard>
where
    K: TableKey,
    V: TableValue,
{
    /// Opens (or creates) the table `name` with the default codec, [`Postcard`], declaring schema
    /// version 1. Use [`open_with`](Self::open_with) to name another codec.
    ///
    /// # Errors
    /// As [`open_with`](Self::open_with).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let scores = Table::<i64, String>::open(&db, "scores")?;
    /// scores.insert(&-5, &"minus five".to_owned())?;
    /// assert_eq!(scores.get(&-5)?.as_deref(), Some("minus five"));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn open(db: &Emdb, name: &str) -> Result<Self> {
        Self::open_with(db, name)
    }
}

impl<K, V, C> Table<K, V, C>
where
    K: TableKey,
    V: TableValue,
    C: Codec,
{
    /// Opens (or creates) the table `name` with the codec `C` of the table type, declaring schema
    /// version 1 (see [`options`](Self::options) for another version).
    ///
    /// The first open records the key type, value type and codec in the catalog; every later open
    /// checks them.
    ///
    /// # Errors
    /// * [`TableTypeMismatch`](emdb_core::Error::TableTypeMismatch) if the table was created with
    ///   another key type, value type or codec. Nothing is written or changed.
    /// * [`InvalidNamespace`](emdb_core::Error::InvalidNamespace) if `name` is empty or longer
    ///   than 244 bytes.
    /// * [`WriteInTransaction`](emdb_core::Error::WriteInTransaction) if the table must be
    ///   created inside a transaction closure: open tables before the transaction.
    /// * [`Decode`](emdb_core::Error::Decode) if the catalog entry is damaged.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Bincode, Emdb, Error, Json, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let users = Table::<u64, String, Bincode>::open_with(&db, "users")?;
    /// users.insert(&1, &"ada".to_owned())?;
    /// let err = Table::<u64, String, Json>::open_with(&db, "users").unwrap_err();
    /// assert!(matches!(err, Error::TableTypeMismatch { .. }));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn open_with(db: &Emdb, name: &str) -> Result<Self> {
        Self::options(name).open(db)
    }

    /// Options for opening the table `name`: set the declared schema version, then
    /// [`open`](TableOptions::open).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u8, String>::options("t").version(2).open(&db)?;
    /// t.insert(&1, &"one".to_owned())?;
    /// assert_eq!(t.get_raw(&1)?.unwrap()[..2], [1, 2]); // postcard, version 2
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn options(name: &str) -> TableOptions<K, V, C> {
        TableOptions {
            name: name.to_owned(),
            version: 1,
            steps: BTreeMap::new(),
            hints: Vec::new(),
            indexes: Vec::new(),
            types: PhantomData,
        }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.schema.name
    }

    /// The schema version this handle declares, and writes values with.
    pub fn version(&self) -> u32 {
        self.schema.version
    }

    /// The core namespace holding the table's entries (`emdb.table.<name>`), for raw access; see
    /// [Storage layout](Table#storage-layout-the-escape-hatch).
    pub fn namespace(&self) -> &Namespace {
        &self.ns
    }

    /// The database the table belongs to.
    pub fn db(&self) -> &Emdb {
        &self.db
    }

    /// The typed operations over the table's namespace.
    fn typed(&self) -> Typed<'_, &Namespace, K, V, C> {
        Typed::new(&self.ns, &self.schema)
    }

    /// Inserts `value` under `key`, replacing any previous value. The entry gets the database's
    /// default TTL (none unless one is configured).
    ///
    /// # Errors
    /// [`UnsupportedKey`](emdb_core::Error::UnsupportedKey) if `K` cannot be encoded as a key;
    /// [`Encode`](emdb_core::Error::Encode) if the codec rejects the value;
    /// [`KeyTooLarge`](emdb_core::Error::KeyTooLarge) and
    /// [`ValueTooLarge`](emdb_core::Error::ValueTooLarge) past the core's limits;
    /// [`WriteInTransaction`](emdb_core::Error::WriteInTransaction) inside a transaction closure
    /// (use [`tx`](Self::tx) there).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<(String, u16), bool>::open(&db, "flags")?;
    /// t.insert(&("beta".to_owned(), 2), &true)?;
    /// assert_eq!(t.get(&("beta".to_owned(), 2))?, Some(true));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn insert<Q>(&self, key: &Q, value: &V) -> Result<()>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.insert_with_ttl(key, value, Ttl::Default)
    }

    /// Inserts `value` under `key` with a time-to-live, replacing any previous value and expiry.
    ///
    /// # Errors
    /// As [`insert`](Self::insert); [`TtlOverflow`](emdb_core::Error::TtlOverflow) if `ttl` puts
    /// the expiry past the clock's range.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use emdb::{Emdb, Table, Ttl};
    ///
    /// let db = Emdb::open_in_memory();
    /// let sessions = Table::<u64, String>::open(&db, "sessions")?;
    /// sessions.insert_with_ttl(&1, &"token".to_owned(), Ttl::After(Duration::from_secs(60)))?;
    /// assert!(sessions.ttl(&1)?.unwrap() <= Duration::from_secs(60));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn insert_with_ttl<Q>(&self, key: &Q, value: &V, ttl: Ttl) -> Result<()>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        if self.schema.indexes.is_empty() {
            return self.typed().insert_with_ttl(key, value, ttl);
        }
        self.db.transaction(|tx| self.tx(tx).insert_with_ttl(key, value, ttl))
    }

    /// Inserts a [`Record`] under its own [`key`](Record::key).
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
    /// struct City { name: String, population: u64 }
    ///
    /// impl Record for City {
    ///     type Key = String;
    ///     type Codec = Postcard;
    ///     const TABLE: &'static str = "cities";
    ///     fn key(&self) -> String { self.name.clone() }
    /// }
    ///
    /// let db = Emdb::open_in_memory();
    /// let cities = City::table(&db)?;
    /// cities.put(&City { name: "Lyon".into(), population: 522_000 })?;
    /// assert_eq!(cities.get("Lyon")?.map(|c| c.population), Some(522_000));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn put(&self, value: &V) -> Result<()>
    where
        V: Record<Key = K>,
    {
        self.insert(&value.key(), value)
    }

    /// The value under `key`, or `None` if it is absent or expired. A value of an older schema
    /// version is upgraded (see [Schema versions](Table#schema-versions)).
    ///
    /// # Errors
    /// [`UnsupportedKey`](emdb_core::Error::UnsupportedKey) if `K` cannot be encoded as a key;
    /// [`Decode`](emdb_core::Error::Decode) if the stored value is not a `V` written by codec `C`
    /// (or is of an older version with no upgrade);
    /// [`UnknownSchemaVersion`](emdb_core::Error::UnknownSchemaVersion) if it is of a newer
    /// version than declared.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<String, u32>::open(&db, "ages")?;
    /// t.insert("ada", &36)?;
    /// assert_eq!(t.get("ada")?, Some(36));
    /// assert_eq!(t.get("bob")?, None);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.typed().get(key)
    }

    /// The stored bytes of `key` — the value header and the codec's payload — without decoding
    /// them; `None` if the key is absent or expired. The escape hatch for values that no longer
    /// decode, and for tools.
    ///
    /// # Errors
    /// [`UnsupportedKey`](emdb_core::Error::UnsupportedKey) if `K` cannot be encoded as a key.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Header, Json, Table, read_header};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u8, Vec<u8>, Json>::open_with(&db, "t")?;
    /// t.insert(&1, &vec![1, 2])?;
    /// let raw = t.get_raw(&1)?.unwrap();
    /// let (header, payload) = read_header(&raw)?;
    /// assert_eq!(header, Header { codec_id: 3, schema_version: 1 });
    /// assert_eq!(payload, b"[1,2]");
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn get_raw<Q>(&self, key: &Q) -> Result<Option<Vec<u8>>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.typed().get_raw(key)
    }

    /// Whether `key` is present and unexpired. Does not decode the value.
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
    /// let t = Table::<u64, ()>::open(&db, "seen")?;
    /// t.insert(&7, &())?;
    /// assert!(t.contains_key(&7)?);
    /// assert!(!t.contains_key(&8)?);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> Result<bool>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.typed().contains_key(key)
    }

    /// Removes `key` and returns its value, or `None` if it was absent or expired.
    ///
    /// The entry is removed even if its value does not decode; the error is returned after.
    ///
    /// # Errors
    /// As [`get`](Self::get) for the removed value;
    /// [`WriteInTransaction`](emdb_core::Error::WriteInTransaction) inside a transaction closure.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u64, String>::open(&db, "t")?;
    /// t.insert(&7, &"x".to_owned())?;
    /// assert_eq!(t.remove(&7)?, Some("x".to_owned()));
    /// assert_eq!(t.remove(&7)?, None);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        if self.schema.indexes.is_empty() {
            return self.typed().remove(key);
        }
        self.db.transaction(|tx| self.tx(tx).remove(key))
    }

    /// The number of live (unexpired) entries.
    ///
    /// # Errors
    /// None in memory; a persistent database reports I/O and corruption errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u8, u8>::open(&db, "t")?;
    /// assert!(t.is_empty()?);
    /// t.insert(&1, &1)?;
    /// assert_eq!(t.len()?, 1);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn len(&self) -> Result<usize> {
        self.ns.len()
    }

    /// Whether the table has no live entries.
    ///
    /// # Errors
    /// As [`len`](Self::len).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// assert!(Table::<u8, u8>::open(&db, "t")?.is_empty()?);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn is_empty(&self) -> Result<bool> {
        self.ns.is_empty()
    }

    /// Removes every entry of the table, atomically. The table itself (its catalog entry) stays.
    ///
    /// # Errors
    /// [`WriteInTransaction`](emdb_core::Error::WriteInTransaction) inside a transaction closure.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u8, u8>::open(&db, "t")?;
    /// t.insert(&1, &1)?;
    /// t.clear()?;
    /// assert!(t.is_empty()?);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn clear(&self) -> Result<()> {
        let Some(index_ns) = &self.schema.indexes.ns else { return self.ns.clear() };
        self.db.transaction(|tx| {
            for ns in [&self.ns, index_ns] {
                let mut view = tx.namespace(ns);
                let keys: Vec<Vec<u8>> =
                    view.iter()?.map(|e| e.map(|(k, _)| k)).collect::<Result<_>>()?;
                for key in keys {
                    view.discard(key);
                }
            }
            Ok(())
        })
    }

    /// Every live entry in the order of `K`'s [`Ord`], from a snapshot taken now. See
    /// [`TableIter`] for how items that do not decode are reported.
    ///
    /// # Errors
    /// None in memory; a persistent database reports I/O and corruption errors. Decoding errors
    /// come per item.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<i32, char>::open(&db, "t")?;
    /// for (k, v) in [(3, 'c'), (-1, 'a'), (0, 'b')] {
    ///     t.insert(&k, &v)?;
    /// }
    /// let keys: Vec<i32> = t.iter()?.map(|e| e.map(|(k, _)| k)).collect::<Result<_, _>>()?;
    /// assert_eq!(keys, [-1, 0, 3]);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn iter(&self) -> Result<TableIter<K, V, C>> {
        Ok(TableIter::new(self.ns.iter()?, Arc::clone(&self.schema)))
    }

    /// The live entries whose keys fall in `range`, in the order of `K`'s [`Ord`]. The bounds are
    /// encoded with the key encoding, whose byte order is `K`'s order, so `range(3..10)` on a
    /// `u64` key and `range(..=-5)` on an `i64` key mean what they say.
    ///
    /// A bound is a `K`, a `&K`, or a borrowed form that encodes as `K` does
    /// ([`BoundedBy`](crate::key::BoundedBy)): `range("a".."b")` on a `String` key,
    /// `range(&b"a"[..]..)` on a `Vec<u8>` key. The range is any of the standard range
    /// expressions or a pair of `Bound`s ([`KeyRange`]).
    ///
    /// # Errors
    /// [`UnsupportedKey`](emdb_core::Error::UnsupportedKey) if a bound cannot be encoded as a key;
    /// otherwise as [`iter`](Self::iter).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<i64, ()>::open(&db, "t")?;
    /// for k in -10..10 {
    ///     t.insert(&k, &())?;
    /// }
    /// assert_eq!(t.range(3..10)?.count(), 7);
    /// assert_eq!(t.range(..=-5)?.count(), 6);
    /// let names = Table::<String, ()>::open(&db, "names")?;
    /// names.insert("ada", &())?;
    /// names.insert("bob", &())?;
    /// assert_eq!(names.range("a".."b")?.count(), 1);
    /// assert_eq!(names.range("a".to_owned().."b".to_owned())?.count(), 1);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    #[expect(
        clippy::needless_pass_by_value,
        reason = "a range is passed by value, as to BTreeMap::range: `t.range(3..10)`"
    )]
    pub fn range<R: KeyRange<K>>(&self, range: R) -> Result<TableIter<K, V, C>> {
        let bounds = crate::snapshot::encoded_bounds(&self.schema, &range)?;
        Ok(TableIter::new(self.ns.range::<Vec<u8>, _>(bounds)?, Arc::clone(&self.schema)))
    }

    /// The entry with the smallest key, or `None` if the table is empty.
    ///
    /// # Errors
    /// As [`get`](Self::get) for that entry.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<i64, String>::open(&db, "t")?;
    /// t.insert(&5, &"five".to_owned())?;
    /// t.insert(&-5, &"minus five".to_owned())?;
    /// assert_eq!(t.first()?, Some((-5, "minus five".to_owned())));
    /// assert_eq!(t.last()?, Some((5, "five".to_owned())));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn first(&self) -> Result<Option<(K, V)>> {
        self.iter()?.next().transpose()
    }

    /// The entry with the largest key, or `None` if the table is empty.
    ///
    /// # Errors
    /// As [`get`](Self::get) for that entry.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<String, u8>::open(&db, "t")?;
    /// t.insert("a", &1)?;
    /// t.insert("b", &2)?;
    /// assert_eq!(t.last()?, Some(("b".to_owned(), 2)));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn last(&self) -> Result<Option<(K, V)>> {
        self.iter()?.next_back().transpose()
    }

    /// Reads the value under `key`, lets `f` change it, and writes it back, as one atomic
    /// transaction: no other write to the database comes in between. The entry keeps its
    /// time-to-live. Returns the new value, or `None` (without calling `f`) if the key is absent.
    ///
    /// A value of an older schema version is upgraded and written back with the declared version.
    ///
    /// # Errors
    /// As [`get`](Self::get) and [`insert`](Self::insert); nothing is written on error.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let visits = Table::<String, u64>::open(&db, "visits")?;
    /// visits.insert("/", &0)?;
    /// assert_eq!(visits.update("/", |n| *n += 1)?, Some(1));
    /// assert_eq!(visits.update("/missing", |n| *n += 1)?, None);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn update<Q, F>(&self, key: &Q, f: F) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
        F: FnOnce(&mut V),
    {
        self.db.transaction(|tx| self.tx(tx).update(key, f))
    }

    /// The time `key` has left to live; `None` if it is absent, expired, or never expires.
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
    /// assert_eq!(t.ttl(&1)?, None);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn ttl<Q>(&self, key: &Q) -> Result<Option<Duration>>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.typed().ttl(key)
    }

    /// Removes the expiry of `key`, so it lives until removed. Returns whether the key was live
    /// and had an expiry.
    ///
    /// # Errors
    /// [`UnsupportedKey`](emdb_core::Error::UnsupportedKey) if `K` cannot be encoded as a key;
    /// [`WriteInTransaction`](emdb_core::Error::WriteInTransaction) inside a transaction closure.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use emdb::{Emdb, Table, Ttl};
    ///
    /// let db = Emdb::open_in_memory();
    /// let t = Table::<u8, u8>::open(&db, "t")?;
    /// t.insert_with_ttl(&1, &1, Ttl::After(Duration::from_secs(5)))?;
    /// assert!(t.persist(&1)?);
    /// assert_eq!(t.ttl(&1)?, None);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn persist<Q>(&self, key: &Q) -> Result<bool>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let key = self.schema.encode_key(key)?;
        if self.schema.indexes.is_empty() {
            return self.ns.persist(&key);
        }
        // The row's index entries live as long as the row: rewrite both without expiry.
        self.db.transaction(|tx| {
            let mut rows = tx.namespace(&self.ns);
            if rows.ttl(&key)?.is_none() {
                return Ok(false);
            }
            let Some(stored) = rows.get(&key)? else { return Ok(false) };
            let row = self.schema.decode_value::<C>(&key, &stored)?;
            let change = Change { pk: &key, old: Some(&row), new: Some(&row), ttl: Ttl::Never };
            self.schema.indexes.apply::<C>(&self.schema, &mut rows, &change)?;
            rows.insert_with_ttl(&key, &stored, Ttl::Never)?;
            Ok(true)
        })
    }

    /// This table seen through a transaction: its reads see the transaction's writes, and its
    /// writes commit with the transaction's, atomically with those to other tables and raw
    /// namespaces.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table};
    ///
    /// let db = Emdb::open_in_memory();
    /// let accounts = Table::<String, i64>::open(&db, "accounts")?;
    /// let audit = Table::<u64, String>::open(&db, "audit")?;
    /// accounts.insert("ada", &100)?;
    /// db.transaction(|tx| {
    ///     let balance = accounts.tx(tx).get("ada")?.unwrap_or(0);
    ///     accounts.tx(tx).insert("ada", &(balance - 30))?;
    ///     audit.tx(tx).insert(&1, &"ada paid 30".to_owned())?;
    ///     Ok(())
    /// })?;
    /// assert_eq!(accounts.get("ada")?, Some(70));
    /// assert_eq!(audit.len()?, 1);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn tx<'t, 'db>(&'t self, tx: &'t mut Transaction<'db>) -> TxTable<'t, 'db, K, V, C> {
        TxTable::new(tx.namespace(&self.ns), &self.schema)
    }

    /// Rewrites every value of an older schema version in the declared version, reading each
    /// as [`get`](Self::get) does (through the automatic evolution and the registered
    /// upgrades), and returns how many it rewrote.
    ///
    /// The rows are rewritten in **atomic batches** of up to 1,024: each batch is one
    /// transaction that reads its rows again and rewrites those still old, so the table stays in
    /// use while it runs (other writers wait for one batch at a time, readers never wait) and a
    /// value written meanwhile is never overwritten with an older one. Entries keep their
    /// time-to-live. If a value fails to read, its batch writes nothing and the error names the
    /// entry; earlier batches stay rewritten, and running `migrate` again continues.
    ///
    /// # Errors
    /// [`Decode`](emdb_core::Error::Decode) for an old value that does not read;
    /// [`UnknownSchemaVersion`](emdb_core::Error::UnknownSchemaVersion) for a value newer than
    /// declared; [`Encode`](emdb_core::Error::Encode) if the codec rejects a new value;
    /// [`WriteInTransaction`](emdb_core::Error::WriteInTransaction) inside a transaction closure.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Json, Table};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct NoteV1 { text: String }
    ///
    /// #[derive(Debug, PartialEq, Serialize, Deserialize)]
    /// struct Note { text: String, #[serde(default)] pinned: bool }
    ///
    /// let db = Emdb::open_in_memory();
    /// let v1 = Table::<u32, NoteV1>::open(&db, "notes")?;
    /// v1.insert(&1, &NoteV1 { text: "hi".into() })?;
    /// let v2 = Table::<u32, Note>::options("notes").version(2).open(&db)?;
    /// assert_eq!(v2.migrate()?, 1);
    /// assert_eq!(v2.get_raw(&1)?.unwrap()[..2], [1, 2]); // postcard, version 2
    /// assert_eq!(v2.get(&1)?, Some(Note { text: "hi".into(), pinned: false }));
    /// assert_eq!(v2.migrate()?, 0); // nothing old is left
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn migrate(&self) -> Result<usize> {
        let mut rewritten = 0;
        let mut after: Option<Vec<u8>> = None;
        loop {
            // Find the next batch of old rows without the writer lock.
            let start = after.take().map_or(Bound::Unbounded, Bound::Excluded);
            let mut batch = Vec::with_capacity(MIGRATE_BATCH);
            let mut last = None;
            for item in self.ns.range::<Vec<u8>, _>((start, Bound::Unbounded))? {
                let (key, stored) = item?;
                let (header, _) = self.schema.header::<C>(&key, &stored)?;
                if header.schema_version != self.schema.version {
                    batch.push(key.clone());
                }
                last = Some(key);
                if batch.len() == MIGRATE_BATCH {
                    break;
                }
            }
            if batch.is_empty() {
                return Ok(rewritten);
            }
            rewritten += self.db.transaction(|tx| {
                let mut done = 0;
                for key in &batch {
                    let mut table = self.tx(tx);
                    let Some(stored) = table.get_stored(key)? else { continue };
                    let (header, _) = self.schema.header::<C>(key, &stored)?;
                    if header.schema_version == self.schema.version {
                        continue;
                    }
                    let value = self.schema.decode_value::<C>(key, &stored)?;
                    if table.rewrite(key, &value)? {
                        done += 1;
                    }
                }
                Ok(done)
            })?;
            after = last;
        }
    }
}
