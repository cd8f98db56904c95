//! The [`Record`] trait: a value type that knows its table, its key and its schema version.
//! `#[derive(Record)]` (in `emdb-derive`) generates implementations of it.

use emdb_core::{Emdb, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::Codec;
use crate::table::{Table, TableOptions};

/// A value type stored in a table of its own: it names the table, the codec, its schema version,
/// and how to take its key from a value.
///
/// With a `Record`, [`Table::put`] stores a value under its own key, and [`Record::table`] opens
/// the table with the record's declared [`VERSION`](Self::VERSION) (a table opened with
/// [`Table::open`] or [`Table::open_with`] declares version 1 instead; see
/// [`Table::options`]).
///
/// Usually derived with `#[derive(Record)]`; implementing it by hand is fine too.
///
/// # Changing the type
///
/// Raise [`VERSION`](Self::VERSION) with every change of the type's shape; opening with a
/// changed shape under the recorded version is
/// [`SchemaChanged`](emdb_core::Error::SchemaChanged). Rows of older versions are read into the
/// new type by field name: new fields with a serde default or of an `Option` type, removed,
/// reordered and aliased fields, nested structs and new enum variants need nothing more. A change
/// that does not map by name (a field's type, a removed variant) needs a hand-written step:
/// `#[emdb(previous = "TypeV1")]` with `impl From<TypeV1> for Type`, or an implementation of
/// [`upgrades`](Self::upgrades). The [`Table`] documentation lists exactly what evolves by
/// itself.
///
/// # Examples
///
/// ```
/// use emdb::{Emdb, Postcard, Record, Result};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct User {
///     id: u64,
///     name: String,
/// }
///
/// impl Record for User {
///     type Key = u64;
///     type Codec = Postcard;
///     const TABLE: &'static str = "users";
///     fn key(&self) -> u64 {
///         self.id
///     }
/// }
///
/// let db = Emdb::open_in_memory();
/// let users = User::table(&db)?;
/// users.put(&User { id: 7, name: "ada".into() })?;
/// assert_eq!(users.get(&7)?.map(|u| u.name), Some("ada".to_owned()));
/// # Ok::<(), emdb::Error>(())
/// ```
pub trait Record: Serialize + DeserializeOwned + Sized + 'static {
    /// The key type, taken from the record by `key()`.
    type Key: Serialize + DeserializeOwned + 'static;
    /// The value codec of the record's table.
    type Codec: Codec;
    /// The table name.
    const TABLE: &'static str;
    /// The schema version of this type (starts at 1).
    const VERSION: u32 = 1;
    /// The record's key.
    fn key(&self) -> Self::Key;
    /// Registers the record's hand-written upgrades on the options [`table`](Self::table) opens
    /// with; none by default. `#[derive(Record)]` with `#[emdb(version = N, previous =
    /// "UserV1")]` registers `Self: From<UserV1>` as the step from version `N - 1`.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Postcard, Record, Table, TableOptions};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct TempV1 { id: u32, fahrenheit: f64 }
    ///
    /// #[derive(Debug, PartialEq, Serialize, Deserialize)]
    /// struct Temp { id: u32, celsius: f64 }
    ///
    /// impl Record for Temp {
    ///     type Key = u32;
    ///     type Codec = Postcard;
    ///     const TABLE: &'static str = "temps";
    ///     const VERSION: u32 = 2;
    ///     fn key(&self) -> u32 { self.id }
    ///     fn upgrades(
    ///         options: TableOptions<u32, Self, Postcard>,
    ///     ) -> TableOptions<u32, Self, Postcard> {
    ///         options.with_upgrade(1, |old: TempV1| Temp {
    ///             id: old.id,
    ///             celsius: (old.fahrenheit - 32.0) * 5.0 / 9.0,
    ///         })
    ///     }
    /// }
    ///
    /// let db = Emdb::open_in_memory();
    /// Table::<u32, TempV1>::open(&db, "temps")?.insert(&1, &TempV1 { id: 1, fahrenheit: 212.0 })?;
    /// assert_eq!(Temp::table(&db)?.get(&1)?, Some(Temp { id: 1, celsius: 100.0 }));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    fn upgrades(
        options: TableOptions<Self::Key, Self, Self::Codec>,
    ) -> TableOptions<Self::Key, Self, Self::Codec> {
        options
    }
    /// Declares the record's secondary indexes on the options [`table`](Self::table) opens
    /// with; none by default. `#[derive(Record)]` declares one per `#[emdb(index)]` field.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Index, Postcard, Record, TableOptions, Unique};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct User { id: u64, email: String }
    ///
    /// impl User {
    ///     fn by_email() -> Index<User, String, Unique> {
    ///         Index::unique("email", |u: &User| vec![u.email.clone()])
    ///     }
    /// }
    ///
    /// impl Record for User {
    ///     type Key = u64;
    ///     type Codec = Postcard;
    ///     const TABLE: &'static str = "users";
    ///     fn key(&self) -> u64 { self.id }
    ///     fn indexes(options: TableOptions<u64, Self, Postcard>) -> TableOptions<u64, Self, Postcard> {
    ///         options.index(Self::by_email())
    ///     }
    /// }
    ///
    /// let db = Emdb::open_in_memory();
    /// let users = User::table(&db)?;
    /// users.put(&User { id: 1, email: "a@b.c".into() })?;
    /// assert_eq!(users.get_by(&User::by_email(), "a@b.c")?.map(|u| u.id), Some(1));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    fn indexes(
        options: TableOptions<Self::Key, Self, Self::Codec>,
    ) -> TableOptions<Self::Key, Self, Self::Codec> {
        options
    }
    /// Opens (or creates) the record's table, declaring schema version [`VERSION`](Self::VERSION)
    /// with the [`upgrades`](Self::upgrades).
    ///
    /// # Errors
    /// As [`TableOptions::open`]: [`TableTypeMismatch`](emdb_core::Error::TableTypeMismatch) if
    /// the table has another key shape or codec;
    /// [`SchemaChanged`](emdb_core::Error::SchemaChanged) if the record's shape differs from the
    /// one recorded for its version, or an older version does not map onto it;
    /// [`UnknownSchemaVersion`](emdb_core::Error::UnknownSchemaVersion) if a newer program has
    /// declared a newer version; [`InvalidNamespace`](emdb_core::Error::InvalidNamespace) for an
    /// invalid table name.
    fn table(db: &Emdb) -> Result<Table<Self::Key, Self, Self::Codec>> {
        Self::indexes(Self::upgrades(Table::options(Self::TABLE).version(Self::VERSION))).open(db)
    }
}
