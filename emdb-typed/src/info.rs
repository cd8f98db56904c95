//! [`TableInfo`]: what the catalog records about a typed table, readable without its Rust types,
//! and its stored keys and values read through the recorded shapes into JSON.

#[cfg(feature = "json")]
use emdb_core::BoxError;
use emdb_core::{Emdb, Error, Result};

use crate::catalog::{self, CATALOG_NAMESPACE, Entry};
#[cfg(feature = "json")]
use crate::codec::{decode_shaped_as, id};
#[cfg(feature = "json")]
use crate::dynamic::to_json;
#[cfg(feature = "json")]
use crate::header::read_header;
#[cfg(feature = "json")]
use crate::key;
use crate::shape::Shape;

/// Why a stored value or key cannot be read through the recorded shapes.
#[cfg(feature = "json")]
#[derive(Debug, thiserror::Error)]
enum InfoError {
    #[error(
        "the value has schema version {version}, whose shape the catalog does not hold (it was written before emdb recorded shapes, or its type could not be traced)"
    )]
    NoValueShape { version: u32 },
    #[error("the value was written by an unknown codec (id {0})")]
    UnknownCodec(u8),
    #[error(
        "the catalog does not hold the table's key shape (it was created before emdb recorded shapes, or its key type could not be traced)"
    )]
    NoKeyShape,
}

/// What the catalog records about one typed table: its name, codec, newest schema version, the
/// shape of its key type, the shape of its value type at every recorded schema version, and its
/// declared secondary indexes.
///
/// It needs none of the table's Rust types, so tools (the `emdb` command) can describe any
/// table and show its keys and values as JSON with [`decode_key`](TableInfo::decode_key) and
/// [`decode_value`](TableInfo::decode_value).
///
/// # Examples
///
/// ```
/// use emdb::{Emdb, Table, TableInfo};
///
/// let db = Emdb::open_in_memory();
/// let users = Table::<u64, (String, Vec<String>)>::open(&db, "users")?;
/// users.insert(&7, &("ada@example.com".to_owned(), vec!["admin".to_owned()]))?;
///
/// let info = TableInfo::read(&db, "users")?.expect("the table is in the catalog");
/// assert_eq!(info.codec(), "postcard");
/// assert_eq!(info.key_type().as_deref(), Some("u64"));
/// assert_eq!(info.value_types(), [(1, Some("(String, Vec<String>)".to_owned()))]);
///
/// let ns = db.namespace("emdb.table.users")?;
/// let (key, value) = ns.iter()?.next().expect("one entry")?;
/// assert_eq!(info.decode_key(&key)?, serde_json::json!(7));
/// assert_eq!(info.decode_value(&value)?, serde_json::json!(["ada@example.com", ["admin"]]));
/// # Ok::<(), emdb::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    name: String,
    entry: Entry,
}

impl TableInfo {
    /// The catalog entry of table `name`, or `None` if no table of that name was ever opened.
    ///
    /// Reading never creates anything, so it works on a read-only database.
    ///
    /// # Errors
    /// [`Error::Decode`] if the catalog entry is of an unknown format or damaged; the errors of
    /// reading the catalog namespace.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table, TableInfo};
    ///
    /// let db = Emdb::open_in_memory();
    /// assert!(TableInfo::read(&db, "scores")?.is_none());
    /// Table::<i64, String>::open(&db, "scores")?;
    /// assert_eq!(TableInfo::read(&db, "scores")?.map(|t| t.newest_version()), Some(1));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn read(db: &Emdb, name: &str) -> Result<Option<TableInfo>> {
        if !has_catalog(db) {
            return Ok(None);
        }
        let catalog = db.namespace(CATALOG_NAMESPACE)?;
        let Some(bytes) = catalog.get(name)? else { return Ok(None) };
        let entry = catalog::read_entry(name, &bytes)?;
        Ok(Some(TableInfo { name: name.to_owned(), entry }))
    }

    /// Every table in the catalog, in name order.
    ///
    /// # Errors
    /// [`Error::Decode`] if a catalog entry is of an unknown format, damaged, or its key is not
    /// a UTF-8 table name; the errors of reading the catalog namespace.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Json, Table, TableInfo};
    ///
    /// let db = Emdb::open_in_memory();
    /// Table::<String, u32, Json>::open_with(&db, "b")?;
    /// Table::<u64, String>::open(&db, "a")?;
    /// let tables = TableInfo::list(&db)?;
    /// let names: Vec<&str> = tables.iter().map(TableInfo::name).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// assert_eq!(tables[1].codec(), "json");
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn list(db: &Emdb) -> Result<Vec<TableInfo>> {
        if !has_catalog(db) {
            return Ok(Vec::new());
        }
        let catalog = db.namespace(CATALOG_NAMESPACE)?;
        let mut out = Vec::new();
        for item in catalog.iter()? {
            let (key, bytes) = item?;
            let name = String::from_utf8(key).map_err(|err| Error::Decode {
                table: CATALOG_NAMESPACE.to_owned(),
                key: err.as_bytes().to_vec(),
                key_text: None,
                source: Box::new(err.utf8_error()),
            })?;
            let entry = catalog::read_entry(&name, &bytes)?;
            out.push(TableInfo { name, entry });
        }
        Ok(out)
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name of the table's codec: `"postcard"`, `"bincode"` or `"json"`.
    pub fn codec(&self) -> &str {
        &self.entry.codec
    }

    /// The newest schema version any program opened the table with.
    pub fn newest_version(&self) -> u32 {
        self.entry.newest
    }

    /// The key type's shape in Rust-like words (`u64`, `(String, u32)`,
    /// `struct { org: String, id: u64 }`); `None` if it was not recorded.
    pub fn key_type(&self) -> Option<String> {
        self.entry.key.as_ref().map(ToString::to_string)
    }

    /// Every recorded schema version, ascending, with its value type's shape in Rust-like words
    /// (`struct { id: u64, email: String, tags: Vec<String> }`); `None` where the shape was not
    /// recorded.
    pub fn value_types(&self) -> Vec<(u32, Option<String>)> {
        let show = |shape: &Option<Shape>| shape.as_ref().map(ToString::to_string);
        self.entry.versions.iter().map(|(version, shape)| (*version, show(shape))).collect()
    }

    /// The table's declared secondary indexes, as the catalog records them (catalog format 3):
    /// each index's name and whether it is unique, in the order they were declared. Empty for a
    /// table without indexes. The catalog records the set the table was last opened with;
    /// the entries live in the core namespace `emdb.index.<table>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Index, Table, TableInfo};
    ///
    /// let db = Emdb::open_in_memory();
    /// let by_email = Index::unique("email", |u: &(String, u32)| vec![u.0.clone()]);
    /// let by_team = Index::non_unique("team", |u: &(String, u32)| vec![u.1]);
    /// Table::<u64, (String, u32)>::options("users").index(by_email).index(by_team).open(&db)?;
    ///
    /// let info = TableInfo::read(&db, "users")?.expect("recorded");
    /// assert_eq!(info.indexes(), [("email".to_owned(), true), ("team".to_owned(), false)]);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn indexes(&self) -> &[(String, bool)] {
        &self.entry.indexes
    }

    /// Reads a stored value (header and payload) of any recorded schema version into JSON: a
    /// postcard or bincode payload through the value shape recorded for the header's version, a
    /// json payload as the JSON it is. The JSON is what `serde_json` writes for the type the
    /// value was written with (structs as objects, enums as `"Variant"` or
    /// `{"Variant": content}`, `None` as null; integers beyond 64 bits as strings).
    ///
    /// Needs the `json` feature (on by default).
    ///
    /// # Errors
    /// [`Error::Decode`] (naming the table, with an empty `key`: the caller knows which entry
    /// it read) if the header is damaged, the codec is unknown or left out of this build, a
    /// binary codec's version has no recorded shape, or the payload is not one value of that
    /// shape.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Bincode, Emdb, Table, TableInfo};
    ///
    /// let db = Emdb::open_in_memory();
    /// let points = Table::<u32, (i8, Option<bool>), Bincode>::open_with(&db, "points")?;
    /// points.insert(&1, &(-3, None))?;
    /// let stored = db.namespace("emdb.table.points")?.get(emdb::key::encode(&1u32)?)?;
    ///
    /// let info = TableInfo::read(&db, "points")?.expect("recorded");
    /// assert_eq!(info.decode_value(&stored.expect("stored"))?, serde_json::json!([-3, null]));
    /// assert!(info.decode_value(&[2, 0, 0xff]).is_err());
    /// # Ok::<(), emdb::Error>(())
    /// ```
    #[cfg(feature = "json")]
    pub fn decode_value(&self, stored: &[u8]) -> Result<serde_json::Value> {
        let (header, payload) = read_header(stored).map_err(|err| self.named(err))?;
        let version = header.schema_version;
        let shape = self.entry.shape(version);
        let value = match (header.codec_id, shape) {
            (id::JSON, _) => {
                return serde_json::from_slice(payload)
                    .map_err(|err| self.decode_error(Vec::new(), Box::new(err)));
            }
            (id::POSTCARD | id::BINCODE, None) => Err(InfoError::NoValueShape { version }.into()),
            (codec @ (id::POSTCARD | id::BINCODE), Some(shape)) => {
                decode_shaped_as(codec, payload, shape)
            }
            (codec, _) => Err(InfoError::UnknownCodec(codec).into()),
        };
        value.map(to_json).map_err(|source| self.decode_error(Vec::new(), source))
    }

    /// Reads a stored key through the recorded key shape into JSON, as
    /// [`decode_value`](TableInfo::decode_value) shows values (`7`, `"alice"`, `["user", 42]`).
    /// Needs the `json` feature (on by default).
    ///
    /// # Errors
    /// [`Error::Decode`] (naming the table and the key) if the key shape was not recorded or
    /// the bytes are not one complete key of it.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Table, TableInfo, key};
    ///
    /// let db = Emdb::open_in_memory();
    /// Table::<(String, u64), u8>::open(&db, "visits")?;
    /// let info = TableInfo::read(&db, "visits")?.expect("recorded");
    /// let stored = key::encode(&("home", 42u64))?;
    /// assert_eq!(info.decode_key(&stored)?, serde_json::json!(["home", 42]));
    /// assert!(info.decode_key(b"\xff").is_err());
    /// # Ok::<(), emdb::Error>(())
    /// ```
    #[cfg(feature = "json")]
    pub fn decode_key(&self, stored: &[u8]) -> Result<serde_json::Value> {
        let Some(shape) = &self.entry.key else {
            return Err(self.decode_error(stored.to_vec(), Box::new(InfoError::NoKeyShape)));
        };
        key::decode_shaped(stored, shape).map(to_json).map_err(|err| self.named(err))
    }

    /// Fills in the table name of an error from the header or the key encoding.
    #[cfg(feature = "json")]
    fn named(&self, err: Error) -> Error {
        match err {
            Error::Decode { key, key_text, source, .. } => {
                Error::Decode { table: self.name.clone(), key, key_text, source }
            }
            other => other,
        }
    }

    #[cfg(feature = "json")]
    fn decode_error(&self, key: Vec<u8>, source: BoxError) -> Error {
        Error::Decode { table: self.name.clone(), key, key_text: None, source }
    }
}

/// Whether the database has a catalog; looking it up by name would create it.
fn has_catalog(db: &Emdb) -> bool {
    db.namespace_names().iter().any(|name| name == CATALOG_NAMESPACE)
}
