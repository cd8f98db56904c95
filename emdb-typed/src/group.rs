//! Typed groups: the runtime of `#[derive(Group)]` and `#[derive(GroupFields)]`. A struct is
//! stored as one raw entry per field under a dotted prefix, and read or written one field at a
//! time through a typed focus.
//!
//! The layout and the rules are documented on [`Group`].

use std::collections::BTreeMap;
use std::fmt;
use std::iter::Peekable;
use std::marker::PhantomData;
use std::ops::Bound;

use emdb_core::{BoxError, Emdb, Error, Focus, GROUP_SEPARATOR, Iter, Result, Transaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, Postcard};
use crate::header::{check_header, encode_framed};

/// The separator as a `char`, for building paths.
const SEP: char = GROUP_SEPARATOR as char;

/// Why a key or field name is not one path segment.
const BAD_SEGMENT: &str = "a group key or field name must be one non-empty path segment, without '.'; replace or escape the dots";

/// Checks that `name` is one non-empty path segment.
fn check_segment(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() || name.contains(SEP) { Err(BAD_SEGMENT) } else { Ok(()) }
}

/// What is wrong with a stored group entry. Carried as the `source` of [`Error::Decode`].
#[derive(Debug, thiserror::Error)]
enum GroupError {
    #[error(
        "field {field:?} of {path:?} is missing; mark the field #[emdb(default)] to load entries written before it existed"
    )]
    MissingField { path: String, field: String },
    #[error("the key segment of a group entry is empty or not UTF-8, so no Group key can name it")]
    BadKey,
}

/// Encodes one field value: the header, then the codec's payload.
fn encode_field<T: Serialize + ?Sized, C: Codec>(
    path: &str,
    version: u32,
    value: &T,
) -> Result<Vec<u8>> {
    encode_framed::<C, T>(version, value)
        .map_err(|source| Error::Encode { table: path.to_owned(), source })
}

/// A group entry's key as text for [`Error::Decode`]: quoted, when it is UTF-8.
fn group_key_text(key: &[u8]) -> Option<String> {
    std::str::from_utf8(key).ok().map(|key| format!("{key:?}"))
}

/// Decodes one stored field value written by [`encode_field`].
fn decode_field<T: DeserializeOwned, C: Codec>(
    path: &str,
    key: &[u8],
    known_version: u32,
    bytes: &[u8],
) -> Result<T> {
    let decode_error = |source: BoxError| Error::Decode {
        table: path.to_owned(),
        key: key.to_vec(),
        key_text: group_key_text(key),
        source,
    };
    let (_, payload) = check_header::<C>(bytes, known_version).map_err(|err| match err {
        Error::Decode { source, .. } => decode_error(source),
        Error::UnknownSchemaVersion { found, known, .. } => {
            Error::UnknownSchemaVersion { table: path.to_owned(), found, known }
        }
        other => other,
    })?;
    C::decode(payload).map_err(decode_error)
}

/// Where a typed group lives: a [`Focus`] on `<group>.<key>` (or a sub-group of one), or the
/// reason its key is invalid, reported by every operation through it.
///
/// The generated focus types (`ProductFocus` for `Product`) wrap one; [`field`](Self::field)
/// and [`child`](Self::child) make the handles for single fields and sub-groups.
///
/// # Examples
///
/// ```
/// use emdb::{Emdb, Error, GroupPath, Postcard};
///
/// let db = Emdb::open_in_memory();
/// let phone = GroupPath::new(&db, "product", "phone");
/// assert_eq!(phone.path(), "product.phone");
/// phone.field::<u32, Postcard>("price", 1).insert(&799)?;
/// assert_eq!(db.group("product.phone")?.count(), 1);
///
/// let dotted = GroupPath::new(&db, "product", "a.b");
/// assert!(matches!(dotted.focus(), Err(Error::InvalidPrefix { .. })));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GroupPath {
    focus: Focus,
    /// The path without its trailing separator (`product.phone`).
    path: String,
    /// Why the key (or a sub-group name) is not one path segment.
    invalid: Option<&'static str>,
}

impl GroupPath {
    /// The path of the entry `key` of the top-level group `group`: `<group>.<key>`.
    ///
    /// The key is checked here and the result kept: a key that is empty or contains `.` makes
    /// every operation through this path fail with [`Error::InvalidPrefix`]. The group name may
    /// have several segments (`"shop.product"`).
    pub fn new(db: &Emdb, group: &str, key: &str) -> Self {
        let path = format!("{group}{SEP}{key}");
        GroupPath { focus: db.focus(&path), invalid: check_segment(key).err(), path }
    }

    /// A typed path over any raw [`Focus`] (for example one in a [`Namespace`](emdb_core::Namespace)).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, GroupPath, Json};
    ///
    /// let db = Emdb::open_in_memory();
    /// let settings = db.namespace("settings")?;
    /// let path = GroupPath::from_focus(settings.focus("server"));
    /// path.field::<u16, Json>("port", 1).insert(&8080)?;
    /// assert_eq!(settings.get("server.port")?, Some(b"\x03\x018080".to_vec()));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn from_focus(focus: Focus) -> Self {
        let path = match focus.prefix() {
            Ok(prefix) => prefix.strip_suffix(SEP).unwrap_or(prefix).to_owned(),
            Err(_) => String::new(),
        };
        GroupPath { focus, path, invalid: None }
    }

    /// The raw focus on this path.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`] if the key or a sub-group name is not one path segment.
    pub fn focus(&self) -> Result<&Focus> {
        match self.invalid {
            Some(reason) => Err(Error::InvalidPrefix { prefix: self.path.clone(), reason }),
            None => Ok(&self.focus),
        }
    }

    /// The path, without a trailing `.` (`product.phone`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path of the sub-group `name` (`product.phone` → `product.phone.dims`).
    #[must_use]
    pub fn child(&self, name: &str) -> GroupPath {
        GroupPath {
            focus: self.focus.focus(name),
            path: format!("{}{SEP}{name}", self.path),
            invalid: self.invalid.or(check_segment(name).err()),
        }
    }

    /// The typed handle on the field `name`, encoded with codec `C` at schema `version`.
    #[must_use]
    pub fn field<T, C: Codec>(&self, name: &'static str, version: u32) -> FieldFocus<T, C> {
        FieldFocus { group: self.clone(), name, version, marker: PhantomData }
    }
}

/// A typed handle on one field of one stored group entry (`product.phone.price`): reads and
/// writes that single entry with the group's codec, and leaves the other fields alone.
///
/// Made by the methods of a generated focus type (`Product::focus(&db, "phone").price()`) or by
/// [`GroupPath::field`]. Its methods are the map verbs of every other handle with the key
/// already bound: [`get`](Self::get), [`insert`](Self::insert), [`remove`](Self::remove),
/// [`contains_key`](Self::contains_key).
///
/// # Examples
///
/// ```
/// use emdb::{Emdb, FieldFocus, GroupPath, Postcard};
///
/// let db = Emdb::open_in_memory();
/// let price: FieldFocus<u32> = GroupPath::new(&db, "product", "phone").field("price", 1);
/// assert_eq!(price.get()?, None);
/// price.insert(&799)?;
/// assert_eq!(price.get()?, Some(799));
/// assert!(price.remove()?);
/// assert!(!price.contains_key()?);
/// # Ok::<(), emdb::Error>(())
/// ```
pub struct FieldFocus<T, C = Postcard> {
    group: GroupPath,
    name: &'static str,
    version: u32,
    marker: PhantomData<fn() -> (T, C)>,
}

impl<T, C> Clone for FieldFocus<T, C> {
    fn clone(&self) -> Self {
        FieldFocus {
            group: self.group.clone(),
            name: self.name,
            version: self.version,
            marker: PhantomData,
        }
    }
}

impl<T, C> fmt::Debug for FieldFocus<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldFocus")
            .field("group", &self.group.path)
            .field("name", &self.name)
            .field("type", &std::any::type_name::<T>())
            .field("codec", &std::any::type_name::<C>())
            .field("version", &self.version)
            .finish()
    }
}

impl<T, C: Codec> FieldFocus<T, C> {
    /// The field's on-disk name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The full raw key of the field (`product.phone.price`).
    pub fn key(&self) -> String {
        format!("{}{SEP}{}", self.group.path, self.name)
    }

    /// The focus of the entry, after checking the key and the field name.
    fn focus(&self) -> Result<&Focus> {
        let focus = self.group.focus()?;
        check_segment(self.name)
            .map_err(|reason| Error::InvalidPrefix { prefix: self.key(), reason })?;
        Ok(focus)
    }

    /// The field's value, or `None` if it is not stored (or expired).
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`] for an invalid key; [`Error::Decode`] if the stored bytes are not
    /// a `T` written by codec `C`; [`Error::UnknownSchemaVersion`] if they were written by a newer
    /// schema version.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, FieldFocus, GroupPath};
    ///
    /// let db = Emdb::open_in_memory();
    /// let name: FieldFocus<String> = GroupPath::new(&db, "product", "phone").field("name", 1);
    /// name.insert(&"Phone X".to_owned())?;
    /// assert_eq!(name.get()?.as_deref(), Some("Phone X"));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn get(&self) -> Result<Option<T>>
    where
        T: DeserializeOwned,
    {
        let Some(bytes) = self.focus()?.get(self.name)? else { return Ok(None) };
        decode_field::<T, C>(&self.group.path, self.key().as_bytes(), self.version, &bytes)
            .map(Some)
    }

    /// Stores `value` as the field, replacing the previous value; one commit of one entry.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`] for an invalid key; [`Error::Encode`] if the codec cannot encode
    /// `value`; otherwise as [`Focus::insert`].
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, FieldFocus, GroupPath};
    ///
    /// let db = Emdb::open_in_memory();
    /// let tags: FieldFocus<Vec<String>> = GroupPath::new(&db, "product", "phone").field("tags", 1);
    /// tags.insert(&vec!["new".to_owned()])?;
    /// assert_eq!(tags.get()?, Some(vec!["new".to_owned()]));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn insert(&self, value: &T) -> Result<()>
    where
        T: Serialize,
    {
        let focus = self.focus()?;
        let bytes = encode_field::<T, C>(&self.group.path, self.version, value)?;
        focus.insert(self.name, bytes)
    }

    /// The field as the transaction `tx` sees it (its own writes included).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn get_in(&self, tx: &mut Transaction<'_>) -> Result<Option<T>>
    where
        T: DeserializeOwned,
    {
        let key = self.key();
        let Some(bytes) = tx.namespace(self.focus()?.namespace()).get(&key)? else {
            return Ok(None);
        };
        decode_field::<T, C>(&self.group.path, key.as_bytes(), self.version, &bytes).map(Some)
    }

    /// Stores `value` as the field inside the transaction `tx`: it commits with the rest of
    /// the transaction (a group's field set with the order that refers to it, say).
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub fn insert_in(&self, tx: &mut Transaction<'_>, value: &T) -> Result<()>
    where
        T: Serialize,
    {
        let focus = self.focus()?;
        let bytes = encode_field::<T, C>(&self.group.path, self.version, value)?;
        tx.namespace(focus.namespace()).insert(self.key(), bytes)
    }

    /// Removes the field's entry inside the transaction `tx`; returns whether the transaction
    /// saw it stored.
    ///
    /// # Errors
    /// As [`remove`](Self::remove).
    pub fn remove_in(&self, tx: &mut Transaction<'_>) -> Result<bool> {
        let focus = self.focus()?;
        Ok(tx.namespace(focus.namespace()).remove(self.key())?.is_some())
    }

    /// Removes the field's entry; returns whether it was stored. The entry's other fields stay,
    /// so a later [`Group::load`] reports the field as missing unless it is `#[emdb(default)]`.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`] for an invalid key; otherwise as [`Focus::remove`].
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, FieldFocus, GroupPath};
    ///
    /// let db = Emdb::open_in_memory();
    /// let note: FieldFocus<String> = GroupPath::new(&db, "product", "phone").field("note", 1);
    /// assert!(!note.remove()?);
    /// note.insert(&String::new())?;
    /// assert!(note.remove()?);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn remove(&self) -> Result<bool> {
        Ok(self.focus()?.remove(self.name)?.is_some())
    }

    /// Whether the field's entry is stored (and unexpired).
    ///
    /// # Errors
    /// As [`remove`](Self::remove).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, FieldFocus, GroupPath};
    ///
    /// let db = Emdb::open_in_memory();
    /// let stock: FieldFocus<u32> = GroupPath::new(&db, "product", "phone").field("stock", 1);
    /// assert!(!stock.contains_key()?);
    /// stock.insert(&3)?;
    /// assert!(stock.contains_key()?);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn contains_key(&self) -> Result<bool> {
        self.focus()?.contains_key(self.name)
    }

    /// The old name of [`insert`](Self::insert).
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    #[deprecated(since = "0.1.0", note = "use `insert`, the name on every handle")]
    pub fn set(&self, value: &T) -> Result<()>
    where
        T: Serialize,
    {
        self.insert(value)
    }

    /// The old name of [`contains_key`](Self::contains_key).
    ///
    /// # Errors
    /// As [`contains_key`](Self::contains_key).
    #[deprecated(since = "0.1.0", note = "use `contains_key`, the name on every handle")]
    pub fn exists(&self) -> Result<bool> {
        self.contains_key()
    }
}

/// Collects the encoded entries of one group value; generated `write_fields` methods write
/// through it. Encoding happens before any lock is taken; [`Group::save`] then commits the
/// entries in one transaction.
#[derive(Debug)]
pub struct FieldWriter {
    /// The raw prefix of the (sub-)group being written, with its trailing separator.
    prefix: String,
    entries: Vec<(String, Vec<u8>)>,
}

impl FieldWriter {
    fn new(path: &str) -> Self {
        FieldWriter { prefix: format!("{path}{SEP}"), entries: Vec::new() }
    }

    /// The path of the (sub-)group being written, without a trailing `.`.
    pub fn path(&self) -> &str {
        self.prefix.strip_suffix(SEP).unwrap_or(&self.prefix)
    }

    /// Encodes `value` with codec `C` at schema `version` as the field `name`.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`] if `name` is empty or contains `.`; [`Error::Encode`] if the
    /// codec cannot encode `value`.
    pub fn field<T: Serialize + ?Sized, C: Codec>(
        &mut self,
        name: &str,
        version: u32,
        value: &T,
    ) -> Result<()> {
        let key = self.key(name)?;
        let bytes = encode_field::<T, C>(self.path(), version, value)?;
        self.entries.push((key, bytes));
        Ok(())
    }

    /// Writes `value`'s fields as the sub-group `name` (under `<path>.<name>.`), with `G`'s codec
    /// and version.
    ///
    /// # Errors
    /// As [`field`](Self::field), for `name` and for every field of `value`.
    pub fn group<G: GroupFields>(&mut self, name: &str, value: &G) -> Result<()> {
        let key = self.key(name)?;
        let outer = std::mem::replace(&mut self.prefix, key);
        self.prefix.push(SEP);
        let written = value.write_fields(self);
        self.prefix = outer;
        written
    }

    fn key(&self, name: &str) -> Result<String> {
        let key = format!("{}{name}", self.prefix);
        check_segment(name)
            .map_err(|reason| Error::InvalidPrefix { prefix: key.clone(), reason })?;
        Ok(key)
    }
}

/// The stored entries of one group value, read from one snapshot; generated `read_fields`
/// methods read the fields through it.
#[derive(Debug)]
pub struct FieldReader<'a> {
    /// Every entry of the value at any depth, by full raw key.
    entries: &'a BTreeMap<Vec<u8>, Vec<u8>>,
    /// The raw prefix of the (sub-)group being read, with its trailing separator.
    prefix: String,
}

impl FieldReader<'_> {
    /// The path of the (sub-)group being read, without a trailing `.`.
    pub fn path(&self) -> &str {
        self.prefix.strip_suffix(SEP).unwrap_or(&self.prefix)
    }

    fn lookup<T: DeserializeOwned, C: Codec>(
        &self,
        name: &str,
        version: u32,
    ) -> Result<(Vec<u8>, Option<T>)> {
        let key = format!("{}{name}", self.prefix).into_bytes();
        let value = match self.entries.get(&key) {
            Some(bytes) => Some(decode_field::<T, C>(self.path(), &key, version, bytes)?),
            None => None,
        };
        Ok((key, value))
    }

    /// The field `name`, decoded with codec `C` (written at schema `version` or older).
    ///
    /// # Errors
    /// [`Error::Decode`] naming the field if it is not stored; as [`FieldFocus::get`] if it
    /// cannot be decoded.
    pub fn field<T: DeserializeOwned, C: Codec>(&self, name: &str, version: u32) -> Result<T> {
        match self.lookup::<T, C>(name, version)? {
            (_, Some(value)) => Ok(value),
            (key, None) => Err(Error::Decode {
                table: self.path().to_owned(),
                key_text: group_key_text(&key),
                key,
                source: Box::new(GroupError::MissingField {
                    path: self.path().to_owned(),
                    field: name.to_owned(),
                }),
            }),
        }
    }

    /// The field `name`, or `T::default()` if it is not stored (a field marked `#[emdb(default)]`).
    ///
    /// # Errors
    /// As [`FieldFocus::get`] if the stored field cannot be decoded.
    pub fn field_or_default<T: DeserializeOwned + Default, C: Codec>(
        &self,
        name: &str,
        version: u32,
    ) -> Result<T> {
        Ok(self.lookup::<T, C>(name, version)?.1.unwrap_or_default())
    }

    fn sub(&self, name: &str) -> Self {
        FieldReader { entries: self.entries, prefix: format!("{}{name}{SEP}", self.prefix) }
    }

    /// Whether any entry is stored under this (sub-)group.
    fn is_empty(&self) -> bool {
        let start = Bound::Included(self.prefix.as_bytes().to_vec());
        self.entries
            .range((start, Bound::Unbounded))
            .next()
            .is_none_or(|(key, _)| !key.starts_with(self.prefix.as_bytes()))
    }

    /// The sub-group `name` (the fields under `<path>.<name>.`), read as a `G`.
    ///
    /// # Errors
    /// As [`field`](Self::field), for every field of `G`.
    pub fn group<G: GroupFields>(&self, name: &str) -> Result<G> {
        G::read_fields(&self.sub(name))
    }

    /// The sub-group `name`, or `G::default()` if nothing is stored under it (a field marked
    /// `#[emdb(group, default)]`).
    ///
    /// # Errors
    /// As [`group`](Self::group), if something is stored under it.
    pub fn group_or_default<G: GroupFields + Default>(&self, name: &str) -> Result<G> {
        let sub = self.sub(name);
        if sub.is_empty() { Ok(G::default()) } else { G::read_fields(&sub) }
    }
}

/// A struct stored inside a group as one entry per field: the type of a field marked
/// `#[emdb(group)]`. Derive it with `#[derive(GroupFields)]`; it is [`Group`] without a key and
/// without a group name of its own.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored as a nested group: it does not implement `GroupFields`",
    label = "the type of a field marked #[emdb(group)]",
    note = "derive it: `#[derive(GroupFields)]` on `{Self}`"
)]
pub trait GroupFields: Sized {
    /// The codec the fields are encoded with.
    type Codec: Codec;

    /// The typed focus on a stored value: one method per field.
    type Focus: From<GroupPath>;

    /// The schema version written into each field's header.
    const VERSION: u32 = 1;

    /// Writes every field into `fields`.
    ///
    /// # Errors
    /// [`Error::Encode`] if a field cannot be encoded.
    fn write_fields(&self, fields: &mut FieldWriter) -> Result<()>;

    /// Reads every field from `fields`.
    ///
    /// # Errors
    /// [`Error::Decode`] for a missing or undecodable field.
    fn read_fields(fields: &FieldReader<'_>) -> Result<Self>;
}

/// The raw path of the entry `key` of group `G`, after checking the key.
fn checked_path<G: Group>(db: &Emdb, key: &str) -> Result<GroupPath> {
    let path = GroupPath::new(db, G::GROUP, key);
    path.focus()?;
    Ok(path)
}

/// A struct stored as a dotted-prefix group: one raw entry per field under
/// `<GROUP>.<key>.`. Derive it with `#[derive(Group)]` (from `emdb`).
///
/// The derive implements the required items; the provided methods do the rest.
///
/// # Layout
///
/// A [`Group`] type with [`GROUP`](Group::GROUP) `"product"` stores the value whose key is
/// `"phone"` as
///
/// ```text
/// product.phone.name         header + codec(name)
/// product.phone.price        header + codec(price)
/// product.phone.dims.width   header + codec(dims.width)     (a nested GroupFields field `dims`)
/// ```
///
/// in the database's default namespace, next to the user's raw keys:
///
/// * the key field is not stored as an entry: it is the path segment after the group name. A key
///   must be non-empty and must not contain `.` (which would make it two segments); such a key is
///   [`Error::InvalidPrefix`], on every operation.
/// * each other field is one entry named after the field (or its `#[emdb(rename = "...")]`), never
///   its position, so fields can be reordered, added (with `#[emdb(default)]`) and removed.
/// * a field marked `#[emdb(group)]` is a sub-group: its own fields go under `<field>.`.
/// * each value is the [value header](crate::write_header) (the group's codec id and schema
///   version) followed by the codec's encoding of the field; reading a field written by another
///   codec or a newer schema version is an error, not garbage.
///
/// # Semantics
///
/// * [`Group::save`] replaces the whole entry in one atomic commit: it deletes everything under
///   `product.phone.` and writes every field, so fields that the type no longer has (and raw keys
///   someone put there) disappear.
/// * [`Group::load`] reads the entry from one consistent snapshot. It ignores entries the type has
///   no field for, fills a missing field with `Default` if the field is `#[emdb(default)]`, and is
///   an [`Error::Decode`] naming the field otherwise. Nothing under the prefix at all is `None`.
/// * A [`FieldFocus`] writes one entry and leaves the others untouched; setting a field of an
///   entry that does not exist creates a partial entry, which `load` reports as missing fields.
/// * A value is as present as its entries: one whose every field is the key (or an empty
///   sub-group) stores nothing, and loads as `None`.
/// * [`Group::delete`] removes everything under `<GROUP>.<key>.` in one atomic commit;
///   [`Group::all`] assembles every value of the group from one snapshot.
///
/// # Examples
///
/// What `#[derive(Group)]` generates for `struct Product { #[emdb(key)] sku: String, price: u32 }`,
/// written by hand:
///
/// ```
/// use emdb::{Emdb, FieldFocus, FieldReader, FieldWriter, Group, GroupPath, Postcard, Result};
///
/// struct Product {
///     sku: String,
///     price: u32,
/// }
///
/// struct ProductFocus(GroupPath);
///
/// impl From<GroupPath> for ProductFocus {
///     fn from(path: GroupPath) -> Self {
///         ProductFocus(path)
///     }
/// }
///
/// impl ProductFocus {
///     fn price(&self) -> FieldFocus<u32> {
///         self.0.field("price", 1)
///     }
/// }
///
/// impl Group for Product {
///     const GROUP: &'static str = "product";
///     type Codec = Postcard;
///     type Focus = ProductFocus;
///     fn key(&self) -> &str {
///         &self.sku
///     }
///     fn write_fields(&self, fields: &mut FieldWriter) -> Result<()> {
///         fields.field::<_, Postcard>("price", 1, &self.price)
///     }
///     fn read_fields(key: String, fields: &FieldReader<'_>) -> Result<Self> {
///         Ok(Product { sku: key, price: fields.field::<_, Postcard>("price", 1)? })
///     }
/// }
///
/// let db = Emdb::open_in_memory();
/// Product { sku: "phone".into(), price: 799 }.save(&db)?;
/// assert_eq!(db.get("product.phone.price")?, Some(vec![1, 1, 0x9f, 0x06]));
/// Product::focus(&db, "phone").price().insert(&899)?;
/// assert_eq!(Product::load(&db, "phone")?.map(|p| p.price), Some(899));
/// # Ok::<(), emdb::Error>(())
/// ```
pub trait Group: Sized {
    /// The group name: the first path segment(s) of every entry (`"product"`).
    const GROUP: &'static str;

    /// The codec the fields are encoded with.
    type Codec: Codec;

    /// The typed focus on one stored value: one method per field (`ProductFocus`).
    type Focus: From<GroupPath>;

    /// The schema version written into each field's header.
    const VERSION: u32 = 1;

    /// The key: the path segment after [`GROUP`](Self::GROUP).
    fn key(&self) -> &str;

    /// Writes every field but the key into `fields`.
    ///
    /// # Errors
    /// [`Error::Encode`] if a field cannot be encoded.
    fn write_fields(&self, fields: &mut FieldWriter) -> Result<()>;

    /// Builds a value from its `key` and the stored `fields`.
    ///
    /// # Errors
    /// [`Error::Decode`] for a missing or undecodable field.
    fn read_fields(key: String, fields: &FieldReader<'_>) -> Result<Self>;

    /// Stores `self` under `<GROUP>.<key>.`, replacing whatever was there, in one atomic commit:
    /// the old entries under the prefix are deleted and every field is written.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`] if the key is empty or contains `.`; [`Error::Encode`] if a field
    /// cannot be encoded (nothing is written); otherwise as [`Emdb::transaction`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use emdb::{
    /// #     Emdb, FieldFocus, FieldReader, FieldWriter, Group, GroupPath, Postcard, Result,
    /// # };
    /// # struct Product { sku: String, price: u32 }
    /// # struct ProductFocus(GroupPath);
    /// # impl From<GroupPath> for ProductFocus { fn from(p: GroupPath) -> Self { ProductFocus(p) } }
    /// # impl Group for Product {
    /// #     const GROUP: &'static str = "product";
    /// #     type Codec = Postcard;
    /// #     type Focus = ProductFocus;
    /// #     fn key(&self) -> &str { &self.sku }
    /// #     fn write_fields(&self, f: &mut FieldWriter) -> Result<()> { f.field::<_, Postcard>("price", 1, &self.price) }
    /// #     fn read_fields(sku: String, f: &FieldReader<'_>) -> Result<Self> { Ok(Product { sku, price: f.field::<_, Postcard>("price", 1)? }) }
    /// # }
    /// let db = Emdb::open_in_memory();
    /// db.insert("product.phone.stale", "left over")?;
    /// Product { sku: "phone".into(), price: 799 }.save(&db)?;
    /// assert_eq!(db.group("product.phone")?.count(), 1);
    /// assert!(Product { sku: "a.b".into(), price: 1 }.save(&db).is_err());
    /// # Ok::<(), emdb::Error>(())
    /// ```
    fn save(&self, db: &Emdb) -> Result<()> {
        let path = checked_path::<Self>(db, self.key())?;
        let mut fields = FieldWriter::new(path.path());
        self.write_fields(&mut fields)?;
        db.transaction(|tx| commit(tx, path.path(), &fields))
    }

    /// Like [`save`](Self::save), inside a transaction: the replacement commits with the rest of
    /// the transaction.
    ///
    /// # Errors
    /// As [`save`](Self::save).
    ///
    /// # Examples
    ///
    /// ```
    /// # use emdb::{
    /// #     Emdb, FieldFocus, FieldReader, FieldWriter, Group, GroupPath, Postcard, Result,
    /// # };
    /// # struct Product { sku: String, price: u32 }
    /// # struct ProductFocus(GroupPath);
    /// # impl From<GroupPath> for ProductFocus { fn from(p: GroupPath) -> Self { ProductFocus(p) } }
    /// # impl Group for Product {
    /// #     const GROUP: &'static str = "product";
    /// #     type Codec = Postcard;
    /// #     type Focus = ProductFocus;
    /// #     fn key(&self) -> &str { &self.sku }
    /// #     fn write_fields(&self, f: &mut FieldWriter) -> Result<()> { f.field::<_, Postcard>("price", 1, &self.price) }
    /// #     fn read_fields(sku: String, f: &FieldReader<'_>) -> Result<Self> { Ok(Product { sku, price: f.field::<_, Postcard>("price", 1)? }) }
    /// # }
    /// let db = Emdb::open_in_memory();
    /// db.transaction(|tx| {
    ///     Product { sku: "phone".into(), price: 799 }.save_in(tx)?;
    ///     Product { sku: "tablet".into(), price: 499 }.save_in(tx)
    /// })?;
    /// assert_eq!(Product::all(&db)?.count(), 2);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    fn save_in(&self, tx: &mut Transaction<'_>) -> Result<()> {
        let key = self.key();
        check_segment(key).map_err(|reason| Error::InvalidPrefix {
            prefix: format!("{}{SEP}{key}", Self::GROUP),
            reason,
        })?;
        let path = format!("{}{SEP}{key}", Self::GROUP);
        let mut fields = FieldWriter::new(&path);
        self.write_fields(&mut fields)?;
        commit(tx, &path, &fields)
    }

    /// The value stored under `<GROUP>.<key>.`, read from one snapshot; `None` if nothing is
    /// stored there.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`] if the key is empty or contains `.`; [`Error::Decode`] naming
    /// the field if a field that is not `#[emdb(default)]` is missing, or if a field cannot be
    /// decoded; [`Error::UnknownSchemaVersion`] for a field written by a newer version.
    ///
    /// # Examples
    ///
    /// ```
    /// # use emdb::{
    /// #     Emdb, FieldFocus, FieldReader, FieldWriter, Group, GroupPath, Postcard, Result,
    /// # };
    /// # struct Product { sku: String, price: u32 }
    /// # struct ProductFocus(GroupPath);
    /// # impl From<GroupPath> for ProductFocus { fn from(p: GroupPath) -> Self { ProductFocus(p) } }
    /// # impl Group for Product {
    /// #     const GROUP: &'static str = "product";
    /// #     type Codec = Postcard;
    /// #     type Focus = ProductFocus;
    /// #     fn key(&self) -> &str { &self.sku }
    /// #     fn write_fields(&self, f: &mut FieldWriter) -> Result<()> { f.field::<_, Postcard>("price", 1, &self.price) }
    /// #     fn read_fields(sku: String, f: &FieldReader<'_>) -> Result<Self> { Ok(Product { sku, price: f.field::<_, Postcard>("price", 1)? }) }
    /// # }
    /// let db = Emdb::open_in_memory();
    /// assert!(Product::load(&db, "phone")?.is_none());
    /// Product { sku: "phone".into(), price: 799 }.save(&db)?;
    /// assert_eq!(Product::load(&db, "phone")?.map(|p| p.price), Some(799));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    fn load(db: &Emdb, key: &str) -> Result<Option<Self>> {
        let path = checked_path::<Self>(db, key)?;
        let focus = path.focus()?;
        let prefix = focus.prefix()?.as_bytes().to_vec();
        let mut entries = BTreeMap::new();
        for entry in focus.iter()? {
            let (relative, value) = entry?;
            let mut full = prefix.clone();
            full.extend_from_slice(&relative);
            entries.insert(full, value);
        }
        if entries.is_empty() {
            return Ok(None);
        }
        let reader = FieldReader { entries: &entries, prefix: focus.prefix()?.to_owned() };
        Self::read_fields(key.to_owned(), &reader).map(Some)
    }

    /// Like [`load`](Self::load), inside a transaction: the value as the transaction sees it,
    /// its own writes (a [`save_in`](Self::save_in), a field set with
    /// [`FieldFocus::insert_in`]) included.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    fn load_in(tx: &mut Transaction<'_>, key: &str) -> Result<Option<Self>> {
        let path = format!("{}{SEP}{key}", Self::GROUP);
        check_segment(key)
            .map_err(|reason| Error::InvalidPrefix { prefix: path.clone(), reason })?;
        let prefix = format!("{path}{SEP}");
        let mut entries = BTreeMap::new();
        for entry in tx.prefix(&prefix)? {
            let (full, value) = entry?;
            entries.insert(full, value);
        }
        if entries.is_empty() {
            return Ok(None);
        }
        let reader = FieldReader { entries: &entries, prefix };
        Self::read_fields(key.to_owned(), &reader).map(Some)
    }

    /// Deletes every entry under `<GROUP>.<key>.` in one atomic commit; returns whether there
    /// was any.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`] if the key is empty or contains `.`; otherwise as
    /// [`Focus::delete_group`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use emdb::{
    /// #     Emdb, FieldFocus, FieldReader, FieldWriter, Group, GroupPath, Postcard, Result,
    /// # };
    /// # struct Product { sku: String, price: u32 }
    /// # struct ProductFocus(GroupPath);
    /// # impl From<GroupPath> for ProductFocus { fn from(p: GroupPath) -> Self { ProductFocus(p) } }
    /// # impl Group for Product {
    /// #     const GROUP: &'static str = "product";
    /// #     type Codec = Postcard;
    /// #     type Focus = ProductFocus;
    /// #     fn key(&self) -> &str { &self.sku }
    /// #     fn write_fields(&self, f: &mut FieldWriter) -> Result<()> { f.field::<_, Postcard>("price", 1, &self.price) }
    /// #     fn read_fields(sku: String, f: &FieldReader<'_>) -> Result<Self> { Ok(Product { sku, price: f.field::<_, Postcard>("price", 1)? }) }
    /// # }
    /// let db = Emdb::open_in_memory();
    /// Product { sku: "phone".into(), price: 799 }.save(&db)?;
    /// assert!(Product::delete(&db, "phone")?);
    /// assert!(!Product::delete(&db, "phone")?);
    /// assert!(db.is_empty()?);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    fn delete(db: &Emdb, key: &str) -> Result<bool> {
        Ok(checked_path::<Self>(db, key)?.focus()?.delete_group()? > 0)
    }

    /// Like [`delete`](Self::delete), inside a transaction.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`] if the key is empty or contains `.`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use emdb::{
    /// #     Emdb, FieldFocus, FieldReader, FieldWriter, Group, GroupPath, Postcard, Result,
    /// # };
    /// # struct Product { sku: String, price: u32 }
    /// # struct ProductFocus(GroupPath);
    /// # impl From<GroupPath> for ProductFocus { fn from(p: GroupPath) -> Self { ProductFocus(p) } }
    /// # impl Group for Product {
    /// #     const GROUP: &'static str = "product";
    /// #     type Codec = Postcard;
    /// #     type Focus = ProductFocus;
    /// #     fn key(&self) -> &str { &self.sku }
    /// #     fn write_fields(&self, f: &mut FieldWriter) -> Result<()> { f.field::<_, Postcard>("price", 1, &self.price) }
    /// #     fn read_fields(sku: String, f: &FieldReader<'_>) -> Result<Self> { Ok(Product { sku, price: f.field::<_, Postcard>("price", 1)? }) }
    /// # }
    /// let db = Emdb::open_in_memory();
    /// Product { sku: "phone".into(), price: 799 }.save(&db)?;
    /// let renamed = db.transaction(|tx| {
    ///     Product::delete_in(tx, "phone")?;
    ///     Product { sku: "phone-x".into(), price: 799 }.save_in(tx)?;
    ///     Ok(true)
    /// })?;
    /// assert!(renamed && Product::load(&db, "phone")?.is_none());
    /// # Ok::<(), emdb::Error>(())
    /// ```
    fn delete_in(tx: &mut Transaction<'_>, key: &str) -> Result<bool> {
        let path = format!("{}{SEP}{key}", Self::GROUP);
        check_segment(key)
            .map_err(|reason| Error::InvalidPrefix { prefix: path.clone(), reason })?;
        Ok(tx.delete_group(&path)? > 0)
    }

    /// Every stored value of the group, read from one snapshot, in the byte order of the stored
    /// prefixes `<key>.` — which is key order, except that a key sorts after its own extensions
    /// that continue with a byte below `.` (`"a-b"` and `"a b"` before `"a"`).
    ///
    /// Raw entries directly at `<GROUP>.<x>` (without a field segment) belong to no value and
    /// are skipped.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`] if [`GROUP`](Self::GROUP) is not a valid group name. Each item is
    /// an error as for [`load`](Self::load), or [`Error::Decode`] for entries whose key segment
    /// is empty or not UTF-8; iteration goes on after an error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use emdb::{
    /// #     Emdb, FieldFocus, FieldReader, FieldWriter, Group, GroupPath, Postcard, Result,
    /// # };
    /// # struct Product { sku: String, price: u32 }
    /// # struct ProductFocus(GroupPath);
    /// # impl From<GroupPath> for ProductFocus { fn from(p: GroupPath) -> Self { ProductFocus(p) } }
    /// # impl Group for Product {
    /// #     const GROUP: &'static str = "product";
    /// #     type Codec = Postcard;
    /// #     type Focus = ProductFocus;
    /// #     fn key(&self) -> &str { &self.sku }
    /// #     fn write_fields(&self, f: &mut FieldWriter) -> Result<()> { f.field::<_, Postcard>("price", 1, &self.price) }
    /// #     fn read_fields(sku: String, f: &FieldReader<'_>) -> Result<Self> { Ok(Product { sku, price: f.field::<_, Postcard>("price", 1)? }) }
    /// # }
    /// let db = Emdb::open_in_memory();
    /// for (sku, price) in [("tablet", 499), ("phone", 799)] {
    ///     Product { sku: sku.into(), price }.save(&db)?;
    /// }
    /// let skus = Product::all(&db)?.map(|p| p.map(|p| p.sku)).collect::<Result<Vec<_>>>()?;
    /// assert_eq!(skus, ["phone", "tablet"]);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    fn all(db: &Emdb) -> Result<GroupIter<Self>> {
        Ok(GroupIter {
            prefix: format!("{}{SEP}", Self::GROUP).into_bytes(),
            inner: db.group(Self::GROUP)?.peekable(),
            marker: PhantomData,
        })
    }

    /// The typed focus on the value `key`, for reading and writing single fields. Cheap, and
    /// checks nothing: an invalid key makes each operation through it fail with
    /// [`Error::InvalidPrefix`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use emdb::{
    /// #     Emdb, FieldFocus, FieldReader, FieldWriter, Group, GroupPath, Postcard, Result,
    /// # };
    /// # struct Product { sku: String, price: u32 }
    /// # struct ProductFocus(GroupPath);
    /// # impl From<GroupPath> for ProductFocus { fn from(p: GroupPath) -> Self { ProductFocus(p) } }
    /// # impl ProductFocus { fn price(&self) -> FieldFocus<u32> { self.0.field("price", 1) } }
    /// # impl Group for Product {
    /// #     const GROUP: &'static str = "product";
    /// #     type Codec = Postcard;
    /// #     type Focus = ProductFocus;
    /// #     fn key(&self) -> &str { &self.sku }
    /// #     fn write_fields(&self, f: &mut FieldWriter) -> Result<()> { f.field::<_, Postcard>("price", 1, &self.price) }
    /// #     fn read_fields(sku: String, f: &FieldReader<'_>) -> Result<Self> { Ok(Product { sku, price: f.field::<_, Postcard>("price", 1)? }) }
    /// # }
    /// let db = Emdb::open_in_memory();
    /// let phone = Product::focus(&db, "phone");
    /// phone.price().insert(&799)?;
    /// assert_eq!(phone.price().get()?, Some(799));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    fn focus(db: &Emdb, key: &str) -> Self::Focus {
        Self::Focus::from(GroupPath::new(db, Self::GROUP, key))
    }
}

/// Replaces the group entry at `path` with `fields` inside `tx`.
fn commit(tx: &mut Transaction<'_>, path: &str, fields: &FieldWriter) -> Result<()> {
    tx.delete_group(path)?;
    for (key, value) in &fields.entries {
        tx.insert(key, value)?;
    }
    Ok(())
}

/// The iterator of [`Group::all`]: every stored value of a group, assembled from its entries
/// in one snapshot.
pub struct GroupIter<G> {
    /// `<GROUP>.`
    prefix: Vec<u8>,
    /// The group's entries, with full keys.
    inner: Peekable<Iter>,
    marker: PhantomData<fn() -> G>,
}

impl<G> fmt::Debug for GroupIter<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupIter")
            .field("group", &String::from_utf8_lossy(&self.prefix))
            .finish_non_exhaustive()
    }
}

impl<G: Group> Iterator for GroupIter<G> {
    type Item = Result<G>;

    fn next(&mut self) -> Option<Result<G>> {
        loop {
            let (key, value) = match self.inner.next()? {
                Ok(entry) => entry,
                Err(err) => return Some(Err(err)),
            };
            let rest = key.get(self.prefix.len()..).unwrap_or_default();
            // An entry directly at `<GROUP>.<x>` is no value's field.
            let Some(end) = rest.iter().position(|&b| b == GROUP_SEPARATOR) else { continue };
            let item_len = self.prefix.len() + end + 1;
            let item_prefix = key.get(..item_len).unwrap_or_default().to_vec();
            let mut entries = BTreeMap::from([(key, value)]);
            while let Some(Ok((next, _))) = self.inner.peek() {
                if !next.starts_with(&item_prefix) {
                    break;
                }
                if let Some(Ok((next, value))) = self.inner.next() {
                    entries.insert(next, value);
                }
            }
            return Some(self.assemble(item_prefix, &entries));
        }
    }
}

impl<G: Group> GroupIter<G> {
    fn assemble(&self, item_prefix: Vec<u8>, entries: &BTreeMap<Vec<u8>, Vec<u8>>) -> Result<G> {
        let group = String::from_utf8_lossy(self.prefix.strip_suffix(b".").unwrap_or_default());
        let segment = item_prefix
            .get(self.prefix.len()..item_prefix.len().saturating_sub(1))
            .unwrap_or_default();
        let key = match std::str::from_utf8(segment) {
            Ok(key) if !key.is_empty() => key.to_owned(),
            _ => {
                return Err(Error::Decode {
                    table: group.into_owned(),
                    key_text: group_key_text(&item_prefix),
                    key: item_prefix,
                    source: Box::new(GroupError::BadKey),
                });
            }
        };
        let prefix = format!("{group}{SEP}{key}{SEP}");
        G::read_fields(key, &FieldReader { entries, prefix })
    }
}

impl<G: Group> std::iter::FusedIterator for GroupIter<G> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Json;

    /// A hand-written group with a nested sub-group, as the derives would generate it.
    #[derive(Debug, PartialEq, Default)]
    struct Dims {
        width: u32,
        depth: u32,
    }

    impl GroupFields for Dims {
        type Codec = Json;
        type Focus = GroupPath;
        fn write_fields(&self, fields: &mut FieldWriter) -> Result<()> {
            fields.field::<_, Json>("width", 1, &self.width)?;
            fields.field::<_, Json>("depth", 1, &self.depth)
        }
        fn read_fields(fields: &FieldReader<'_>) -> Result<Self> {
            Ok(Dims {
                width: fields.field::<_, Json>("width", 1)?,
                depth: fields.field_or_default::<_, Json>("depth", 1)?,
            })
        }
    }

    #[derive(Debug, PartialEq)]
    struct Item {
        id: String,
        price: u32,
        dims: Dims,
    }

    impl Group for Item {
        const GROUP: &'static str = "shop.item";
        type Codec = Postcard;
        type Focus = GroupPath;
        const VERSION: u32 = 2;
        fn key(&self) -> &str {
            &self.id
        }
        fn write_fields(&self, fields: &mut FieldWriter) -> Result<()> {
            fields.field::<_, Postcard>("price", 2, &self.price)?;
            fields.group("dims", &self.dims)
        }
        fn read_fields(id: String, fields: &FieldReader<'_>) -> Result<Self> {
            Ok(Item {
                id,
                price: fields.field::<_, Postcard>("price", 2)?,
                dims: fields.group_or_default("dims")?,
            })
        }
    }

    fn item(id: &str, price: u32) -> Item {
        Item { id: id.into(), price, dims: Dims { width: 3, depth: 4 } }
    }

    #[test]
    fn save_writes_one_entry_per_field_with_the_header_of_its_codec_and_version() {
        let db = Emdb::open_in_memory();
        item("a", 5).save(&db).unwrap();
        let entries: Vec<_> = db.iter().unwrap().map(Result::unwrap).collect();
        let expected: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"shop.item.a.dims.depth".to_vec(), b"\x03\x014".to_vec()),
            (b"shop.item.a.dims.width".to_vec(), b"\x03\x013".to_vec()),
            (b"shop.item.a.price".to_vec(), vec![1, 2, 5]),
        ];
        assert_eq!(entries, expected);
        assert_eq!(Item::load(&db, "a").unwrap(), Some(item("a", 5)));
    }

    #[test]
    fn a_missing_nested_group_marked_default_loads_as_default() {
        let db = Emdb::open_in_memory();
        GroupPath::new(&db, "shop.item", "a")
            .field::<u32, Postcard>("price", 2)
            .insert(&9)
            .unwrap();
        let loaded = Item::load(&db, "a").unwrap().unwrap();
        assert_eq!(loaded.dims, Dims::default());
        // Present but incomplete: the required field is named.
        db.insert("shop.item.a.dims.depth", b"\x03\x011").unwrap();
        let err = Item::load(&db, "a").unwrap_err().to_string();
        assert!(err.contains("\"width\"") && err.contains("shop.item.a.dims"), "{err}");
    }

    #[test]
    fn a_field_written_by_another_codec_or_a_newer_version_is_an_error() {
        let db = Emdb::open_in_memory();
        item("a", 5).save(&db).unwrap();
        db.insert("shop.item.a.price", b"\x03\x025").unwrap();
        let err = Item::load(&db, "a").unwrap_err();
        assert!(err.to_string().contains("json codec but is read with postcard"), "{err}");
        db.insert("shop.item.a.price", [1, 3, 5]).unwrap();
        assert!(matches!(
            Item::load(&db, "a"),
            Err(Error::UnknownSchemaVersion { found: 3, known: 2, .. })
        ));
    }

    #[test]
    fn all_assembles_values_by_key_segment_and_skips_entries_without_a_field() {
        let db = Emdb::open_in_memory();
        for (id, price) in [("b", 2), ("a", 1), ("a-b", 3)] {
            item(id, price).save(&db).unwrap();
        }
        db.insert("shop.item.loose", "no field segment").unwrap();
        db.insert("shop.items.x.price", "another group").unwrap();
        let ids: Vec<String> = Item::all(&db).unwrap().map(|i| i.unwrap().id).collect();
        assert_eq!(ids, ["a-b", "a", "b"]);
    }

    #[test]
    fn all_reports_a_non_utf8_key_and_goes_on() {
        let db = Emdb::open_in_memory();
        item("z", 1).save(&db).unwrap();
        db.insert(b"shop.item.\xff.price", [1, 2, 5]).unwrap();
        let items: Vec<Result<Item>> = Item::all(&db).unwrap().collect();
        assert_eq!(items.len(), 2);
        assert!(matches!(items[0], Ok(ref i) if i.id == "z"));
        assert!(matches!(items[1], Err(Error::Decode { .. })));
    }

    #[test]
    fn keys_and_field_names_must_be_one_segment() {
        let db = Emdb::open_in_memory();
        for bad in ["", "a.b", ".", "a."] {
            assert!(matches!(item(bad, 1).save(&db), Err(Error::InvalidPrefix { .. })), "{bad:?}");
            assert!(matches!(Item::load(&db, bad), Err(Error::InvalidPrefix { .. })));
            assert!(matches!(Item::delete(&db, bad), Err(Error::InvalidPrefix { .. })));
            let field = Item::focus(&db, bad).field::<u32, Postcard>("price", 1);
            assert!(matches!(field.insert(&1), Err(Error::InvalidPrefix { .. })));
        }
        let bad_field = Item::focus(&db, "a").field::<u32, Postcard>("x.y", 1);
        assert!(matches!(bad_field.get(), Err(Error::InvalidPrefix { .. })));
        assert!(matches!(
            Item::focus(&db, "a").child("").focus(),
            Err(Error::InvalidPrefix { .. })
        ));
        assert!(db.is_empty().unwrap());
    }

    #[test]
    fn a_failed_encode_writes_nothing() {
        struct Unencodable;
        impl Serialize for Unencodable {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(std::iter::once(1u8).filter(|_| true))
            }
        }
        let mut fields = FieldWriter::new("g.k");
        let err = fields.field::<_, Postcard>("f", 1, &Unencodable).unwrap_err();
        assert!(matches!(err, Error::Encode { ref table, .. } if table == "g.k"), "{err}");
        assert!(fields.entries.is_empty());
    }
}
