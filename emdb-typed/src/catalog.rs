//! The table catalog: per typed table its codec, key shape and the value shape of every schema
//! version, kept in the core namespace [`CATALOG_NAMESPACE`] and checked on every open. A table
//! is its name plus these shapes and its codec, never a Rust path.
//!
//! One entry per table; the key is the table name (its UTF-8 bytes), the value:
//!
//! ```text
//! offset  size  field
//! 0       1     catalog format, 2
//! 1       rest  postcard 1.x of the struct Entry, fields in this order:
//!                 codec     string          Codec::NAME ("postcard", "bincode", "json")
//!                 key       Option<Shape>   the key type's shape (None: it could not be traced)
//!                 newest    u32             the newest schema version any opener declared
//!                 versions  Vec<(u32, Option<Shape>)>
//!                           every version an opener declared, ascending, with its value shape
//!                           (None: the type could not be traced)
//! ```
//!
//! Format 3 is format 2 followed by the table's declared secondary indexes, written only when
//! the table declares at least one (so a table without indexes stays readable by programs that
//! read format 2):
//!
//! ```text
//! 0       1     catalog format, 3
//! 1       ...   the format-2 fields, as above
//! ...     rest  postcard 1.x of indexes: Vec<(String, bool)>, each index's name and whether it
//!               is unique, in declaration order
//! ```
//!
//! `Shape` is the postcard encoding of `crate::shape::Shape` (an enum: varint variant index,
//! then its content; variants are only ever appended).
//!
//! Format 1 (emdb 0.1) held the `std::any::type_name` of the key and value types, the codec
//! name and the newest version: `01`, then postcard of (string, string, string, varint u32).
//! It opens as an entry with no recorded shapes, and the first open that writes the catalog
//! rewrites it in format 2 in the same transaction as any other catalog change.

use std::collections::BTreeMap;

use emdb_core::{BoxError, Emdb, Error, Result, Ttl};
use serde::{Deserialize, Serialize};

use crate::codec::{Codec, Postcard};
use crate::dynamic::{self, Value, ValueError};
use crate::shape::{self, Change, Shape};

/// The core namespace that holds the catalog.
pub const CATALOG_NAMESPACE: &str = "emdb.tables";

/// The prefix of every table's core namespace: table `users` lives in `emdb.table.users`.
pub const TABLE_NAMESPACE_PREFIX: &str = "emdb.table.";

/// The longest table name, in bytes: the core's 255-byte namespace limit minus the prefix.
pub const MAX_TABLE_NAME_LEN: usize = 255 - TABLE_NAMESPACE_PREFIX.len();

/// The first byte of catalog values of tables without secondary indexes.
const CATALOG_FORMAT: u8 = 2;
/// The first byte of catalog values of tables with secondary indexes.
const INDEXED_FORMAT: u8 = 3;
/// The first byte of catalog values written by emdb 0.1 (type names, no shapes).
const LEGACY_FORMAT: u8 = 1;

/// What the catalog records about a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) codec: String,
    pub(crate) key: Option<Shape>,
    pub(crate) newest: u32,
    pub(crate) versions: Vec<(u32, Option<Shape>)>,
    /// The declared secondary indexes: name and uniqueness. Written after the other fields, in
    /// format 3 only.
    #[serde(skip)]
    pub(crate) indexes: Vec<(String, bool)>,
}

/// A format-1 entry.
#[derive(Deserialize)]
struct LegacyEntry {
    _key_type: String,
    _value_type: String,
    codec: String,
    version: u32,
}

/// What is wrong with a catalog value.
#[derive(Debug, thiserror::Error)]
enum CatalogError {
    #[error("the catalog entry is empty")]
    Empty,
    #[error(
        "the catalog entry has format {0}, but this program reads formats {LEGACY_FORMAT} to {INDEXED_FORMAT}; open the database with a newer emdb"
    )]
    UnknownFormat(u8),
}

/// A read catalog value: the entry, and whether it is stored in the old format.
#[derive(Debug)]
struct Stored {
    entry: Entry,
    legacy: bool,
}

impl Entry {
    /// The recorded shape of `version`, if it was recorded and traced.
    pub(crate) fn shape(&self, version: u32) -> Option<&Shape> {
        self.versions.iter().find(|(v, _)| *v == version).and_then(|(_, shape)| shape.as_ref())
    }

    fn has(&self, version: u32) -> bool {
        self.versions.iter().any(|(v, _)| *v == version)
    }

    /// For messages: `Table<key u64, postcard>`.
    fn describe(&self) -> String {
        match &self.key {
            Some(key) => format!("Table<key {key}, {}>", self.codec),
            None => format!("Table<key (untraced), {}>", self.codec),
        }
    }

    fn encode(&self, table: &str) -> Result<Vec<u8>> {
        let format = if self.indexes.is_empty() { CATALOG_FORMAT } else { INDEXED_FORMAT };
        let mut out = vec![format];
        let mut encode = || -> Result<(), BoxError> {
            Postcard::encode_into(self, &mut out)?;
            if format == INDEXED_FORMAT {
                Postcard::encode_into(&self.indexes, &mut out)?;
            }
            Ok(())
        };
        encode().map_err(|source| Error::Encode { table: table.to_owned(), source })?;
        Ok(out)
    }
}

impl Stored {
    fn decode(table: &str, bytes: &[u8]) -> Result<Self> {
        let parse = || -> Result<Stored, BoxError> {
            match bytes.split_first() {
                None => Err(Box::new(CatalogError::Empty)),
                Some((&CATALOG_FORMAT, rest)) => {
                    Ok(Stored { entry: Postcard::decode(rest)?, legacy: false })
                }
                Some((&INDEXED_FORMAT, rest)) => {
                    let (mut entry, rest): (Entry, _) = postcard::take_from_bytes(rest)?;
                    entry.indexes = Postcard::decode(rest)?;
                    Ok(Stored { entry, legacy: false })
                }
                Some((&LEGACY_FORMAT, rest)) => {
                    let old: LegacyEntry = Postcard::decode(rest)?;
                    let entry = Entry {
                        codec: old.codec,
                        key: None,
                        newest: old.version,
                        versions: vec![(old.version, None)],
                        indexes: Vec::new(),
                    };
                    Ok(Stored { entry, legacy: true })
                }
                Some((&format, _)) => Err(Box::new(CatalogError::UnknownFormat(format))),
            }
        };
        parse().map_err(|source| Error::Decode {
            table: table.to_owned(),
            key: table.as_bytes().to_vec(),
            key_text: Some(format!("{table:?}")),
            source,
        })
    }
}

/// Reads the catalog value `bytes` of `table`.
///
/// # Errors
/// [`Error::Decode`] if the value is empty, of an unknown format, or not a catalog entry.
pub(crate) fn read_entry(table: &str, bytes: &[u8]) -> Result<Entry> {
    Stored::decode(table, bytes).map(|stored| stored.entry)
}

/// Whether a traced type reads a dynamic value of an older shape by name.
pub(crate) type Probe = dyn Fn(Value) -> Result<(), ValueError> + Send + Sync;

/// A type that values are read into: the declared value type, or the `Old` type of a
/// hand-written upgrade.
pub(crate) struct Target<'a> {
    pub(crate) shape: Option<&'a Shape>,
    pub(crate) probe: &'a Probe,
}

/// What a program opening a table declares.
pub(crate) struct Declared<'a> {
    pub(crate) codec: &'static str,
    /// Whether the codec stores field names (JSON), so values read without a recorded shape.
    pub(crate) self_describing: bool,
    pub(crate) key: Option<Shape>,
    pub(crate) version: u32,
    pub(crate) value: Option<Shape>,
    /// The declared value type.
    pub(crate) current: Target<'a>,
    /// The hand-written upgrades, by the version they read.
    pub(crate) steps: BTreeMap<u32, Target<'a>>,
}

impl Declared<'_> {
    fn entry(&self) -> Entry {
        Entry {
            codec: self.codec.to_owned(),
            key: self.key.clone(),
            newest: self.version,
            versions: vec![(self.version, self.value.clone())],
            indexes: Vec::new(),
        }
    }
}

/// Checks a table name: non-empty and short enough for its core namespace name.
pub(crate) fn check_table_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "a table name must not be empty"
    } else if name.len() > MAX_TABLE_NAME_LEN {
        "a table name must be at most 244 bytes (255 minus the \"emdb.table.\" prefix)"
    } else {
        return Ok(());
    };
    Err(Error::InvalidNamespace { name: name.to_owned(), reason })
}

/// The most probes of one automatic step: one per variant of the widest enum, so that every
/// variant's fields are probed.
const MAX_PROBES: usize = 256;

/// The widest enum in `shape`.
fn widest_enum(shape: &Shape) -> usize {
    use crate::shape::Content;
    let fields = |fields: &[shape::Field]| fields.iter().map(|f| widest_enum(&f.shape)).max();
    match shape {
        Shape::Option(inner)
        | Shape::Seq(inner)
        | Shape::Newtype(inner)
        | Shape::Array(inner, _) => widest_enum(inner),
        Shape::Map(k, v) => widest_enum(k).max(widest_enum(v)),
        Shape::Tuple(items) | Shape::TupleStruct(items) => {
            items.iter().map(widest_enum).max().unwrap_or(0)
        }
        Shape::Struct(list) => fields(list).unwrap_or(0),
        Shape::Enum(variants) => variants
            .iter()
            .map(|v| match &v.content {
                Content::Unit => 0,
                Content::Newtype(inner) => widest_enum(inner),
                Content::Tuple(items) => items.iter().map(widest_enum).max().unwrap_or(0),
                Content::Struct(list) => fields(list).unwrap_or(0),
            })
            .max()
            .unwrap_or(0)
            .max(variants.len()),
        _ => 0,
    }
}

/// The changes that keep values of `old` from reading as `target` by field name: changes of
/// type, removed variants, and added fields the target has no serde default for (found by
/// reading a sample value of `old`, once per enum variant).
fn unmappable(old: &Shape, target: &Target<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let changes = target.shape.map(|new| shape::diff(old, new)).unwrap_or_default();
    for change in changes.iter().filter(|c| !c.is_mappable()) {
        out.push(change.to_string());
    }
    for pick in 0..widest_enum(old).clamp(1, MAX_PROBES) {
        let probed = (target.probe)(dynamic::sample(old, pick));
        if let Err(ValueError::UnknownField(field)) = &probed {
            let line =
                format!("field {field} removed, but the type has #[serde(deny_unknown_fields)]");
            if !out.contains(&line) {
                out.push(line);
            }
        }
        if let Err(ValueError::MissingField(field)) = probed {
            let added = changes.iter().find(|c: &&Change| {
                matches!(c.kind, shape::ChangeKind::Added(_))
                    && c.path.rsplit('.').next() == Some(field)
            });
            let line = match added {
                Some(change) => format!("{change} without a serde default"),
                None => format!("field {field} added without a serde default"),
            };
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out
}

/// Checks `declared` against the recorded entry and returns the entry to write, if any.
fn plan(table: &str, found: Option<&Stored>, declared: &Declared<'_>) -> Result<Option<Entry>> {
    let Some(Stored { entry: found, legacy }) = found else {
        return Ok(Some(declared.entry()));
    };
    let key_differs = matches!((&found.key, &declared.key), (Some(a), Some(b)) if a != b);
    if found.codec != declared.codec || key_differs {
        return Err(Error::TableTypeMismatch {
            table: table.to_owned(),
            expected: declared.entry().describe(),
            found: found.describe(),
        });
    }
    let d = declared.version;
    if found.newest > d {
        return Err(Error::UnknownSchemaVersion {
            table: table.to_owned(),
            found: found.newest,
            known: d,
        });
    }
    if found.has(d) {
        if let (Some(recorded), Some(value)) = (found.shape(d), &declared.value) {
            let changes = shape::diff(recorded, value);
            if !changes.is_empty() {
                return Err(Error::SchemaChanged {
                    table: table.to_owned(),
                    version: d,
                    changes: changes.iter().map(ToString::to_string).collect(),
                    action: format!(
                        "the recorded shape of version {d} is not the type's: declare version {} (the automatic evolution or an upgrade reads version {d} values)",
                        found.newest.saturating_add(1)
                    ),
                });
            }
        }
        let fill = |old: &Option<Shape>, new: &Option<Shape>| old.clone().or_else(|| new.clone());
        let mut updated = found.clone();
        updated.key = fill(&found.key, &declared.key);
        for (version, shape) in &mut updated.versions {
            if *version == d {
                *shape = fill(shape, &declared.value);
            }
        }
        return Ok((*legacy || updated != *found).then_some(updated));
    }
    // A new version: every recorded older version must map onto it, step by step.
    for &(from, ref shape) in &found.versions {
        let (target_version, target) = match declared.steps.range(from..d).next() {
            Some((&at, step)) => (at, step),
            None => (d, &declared.current),
        };
        let Some(old) = shape else {
            if declared.self_describing || target_version == from {
                continue;
            }
            // A binary codec reads an older value only through its recorded shape.
            return Err(Error::SchemaChanged {
                table: table.to_owned(),
                version: from,
                changes: vec![format!(
                    "the shape of version {from} is not recorded (the table was created before emdb recorded shapes, or its type could not be traced: serde-reflection cannot trace #[serde(flatten)], untagged enums, recursive types, or an enum inside an Option, a sequence or a map that TableOptions::with_enum does not name)"
                )],
                action: format!(
                    "register an upgrade from version {from} with TableOptions::with_upgrade"
                ),
            });
        };
        let problems = if target_version == from {
            // A hand-written step reads the stored bytes as its type: it must be the shape.
            target
                .shape
                .map(|s| shape::diff(old, s))
                .unwrap_or_default()
                .iter()
                .map(ToString::to_string)
                .collect()
        } else {
            unmappable(old, target)
        };
        if !problems.is_empty() {
            let action = if target_version == from {
                format!(
                    "the upgrade registered for version {from} reads another type than version {from} was written with; give with_upgrade the version-{from} type"
                )
            } else {
                format!(
                    "register an upgrade from version {} with TableOptions::with_upgrade, or give the new fields #[serde(default)]",
                    target_version.saturating_sub(1).max(from)
                )
            };
            return Err(Error::SchemaChanged {
                table: table.to_owned(),
                version: target_version.max(from.saturating_add(1)),
                changes: problems,
                action,
            });
        }
    }
    let mut updated = found.clone();
    updated.key = found.key.clone().or_else(|| declared.key.clone());
    updated.newest = d;
    updated.versions.push((d, declared.value.clone()));
    updated.versions.sort_by_key(|(v, _)| *v);
    Ok(Some(updated))
}

/// Records `declared` for `table` if the table is new; otherwise checks it against the recorded
/// entry, records a newer declared version with its shape, and rewrites an old-format entry.
/// Returns the recorded entry. Nothing is written when the check fails.
///
/// The fast path reads without the writer lock; the slow path reads, checks and writes in one
/// transaction, so two programs (or threads) creating the same table at once agree on one entry.
pub(crate) fn register(db: &Emdb, table: &str, declared: &Declared<'_>) -> Result<Entry> {
    let catalog = db.namespace(CATALOG_NAMESPACE)?;
    let found = catalog.get(table)?.map(|bytes| Stored::decode(table, &bytes)).transpose()?;
    match (plan(table, found.as_ref(), declared)?, found) {
        (None, Some(found)) => return Ok(found.entry),
        (None, None) => return Ok(declared.entry()),
        (Some(_), _) => {}
    }
    db.transaction(|tx| {
        let mut entries = tx.namespace(&catalog);
        let found = entries.get(table)?.map(|bytes| Stored::decode(table, &bytes)).transpose()?;
        match plan(table, found.as_ref(), declared)? {
            Some(write) => {
                // Never `Ttl::Default`: a database-wide default TTL must not expire the catalog.
                entries.insert_with_ttl(table, write.encode(table)?, Ttl::Never)?;
                Ok(write)
            }
            None => Ok(found.map_or_else(|| declared.entry(), |found| found.entry)),
        }
    })
}

/// Runs `sync` in one transaction with the table's catalog entry and records the index set it
/// returns, if it differs from the recorded one: the build or drop of index entries commits
/// with the record of the declared set, or not at all. `sync` gets the transaction and the
/// recorded set.
pub(crate) fn record_indexes(
    db: &Emdb,
    table: &str,
    sync: impl Fn(&mut emdb_core::Transaction<'_>, &[(String, bool)]) -> Result<Vec<(String, bool)>>,
) -> Result<()> {
    let catalog = db.namespace(CATALOG_NAMESPACE)?;
    db.transaction(|tx| {
        let found = tx.namespace(&catalog).get(table)?;
        let Some(Stored { mut entry, .. }) =
            found.map(|bytes| Stored::decode(table, &bytes)).transpose()?
        else {
            return Err(Error::Internal {
                detail: format!("table {table:?} has no catalog entry after it was registered"),
            });
        };
        let declared = sync(tx, &entry.indexes)?;
        if declared != entry.indexes {
            entry.indexes = declared;
            tx.namespace(&catalog).insert_with_ttl(table, entry.encode(table)?, Ttl::Never)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            codec: "postcard".into(),
            key: Some(Shape::U64),
            newest: 300,
            versions: vec![(300, Some(Shape::Str))],
            indexes: Vec::new(),
        }
    }

    #[test]
    fn the_catalog_value_is_the_format_byte_then_postcard_fields_in_order() {
        let bytes = entry().encode("users").unwrap();
        let mut expected = vec![2, 8];
        expected.extend_from_slice(b"postcard");
        // Some(Shape::U64): 1, then the variant index of U64.
        expected.extend_from_slice(&[1, 10]);
        expected.extend_from_slice(&[0xac, 0x02]);
        // One version: 300, Some(Shape::Str).
        expected.extend_from_slice(&[1, 0xac, 0x02, 1, 15]);
        assert_eq!(bytes, expected);
        let stored = Stored::decode("users", &bytes).unwrap();
        assert_eq!(stored.entry, entry());
        assert!(!stored.legacy);
    }

    #[test]
    fn a_format_1_entry_reads_as_an_entry_without_shapes() {
        let mut bytes = vec![1, 3];
        bytes.extend_from_slice(b"u64");
        bytes.push(9);
        bytes.extend_from_slice(b"app::User");
        bytes.push(4);
        bytes.extend_from_slice(b"json");
        bytes.push(2);
        let stored = Stored::decode("users", &bytes).unwrap();
        assert!(stored.legacy);
        assert_eq!(
            stored.entry,
            Entry {
                codec: "json".into(),
                key: None,
                newest: 2,
                versions: vec![(2, None)],
                indexes: Vec::new()
            }
        );
    }

    #[test]
    fn an_unknown_format_or_empty_entry_is_a_decode_error() {
        let mut bytes = entry().encode("users").unwrap();
        bytes[0] = 4;
        let err = Stored::decode("users", &bytes).unwrap_err();
        assert!(err.to_string().contains("format 4"), "{err}");
        assert!(matches!(Stored::decode("users", &[]), Err(Error::Decode { .. })));
    }

    #[test]
    fn a_table_with_indexes_is_format_3_with_the_index_set_after_the_format_2_fields() {
        let plain = entry().encode("users").unwrap();
        let mut indexed = entry();
        indexed.indexes = vec![("email".into(), true), ("team".into(), false)];
        let bytes = indexed.encode("users").unwrap();
        assert_eq!(bytes[0], 3);
        assert_eq!(bytes[1..plain.len()], plain[1..]);
        let mut tail = vec![2, 5];
        tail.extend_from_slice(b"email");
        tail.extend_from_slice(&[1, 4]);
        tail.extend_from_slice(b"team");
        tail.push(0);
        assert_eq!(bytes[plain.len()..], tail);
        assert_eq!(Stored::decode("users", &bytes).unwrap().entry, indexed);
    }

    #[test]
    fn table_names_must_be_non_empty_and_fit_the_namespace_limit() {
        assert!(check_table_name("users").is_ok());
        assert!(check_table_name(&"x".repeat(MAX_TABLE_NAME_LEN)).is_ok());
        assert!(matches!(check_table_name(""), Err(Error::InvalidNamespace { .. })));
        assert!(matches!(
            check_table_name(&"x".repeat(MAX_TABLE_NAME_LEN + 1)),
            Err(Error::InvalidNamespace { .. })
        ));
        assert_eq!(MAX_TABLE_NAME_LEN, 244);
    }
}
