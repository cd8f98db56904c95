//! The table catalog: which key type, value type, codec and schema version each typed table was
//! created with, kept in the core namespace [`CATALOG_NAMESPACE`] and checked on every open.
//!
//! One entry per table; the key is the table name (its UTF-8 bytes), the value:
//!
//! ```text
//! offset  size  field
//! 0       1     catalog format, 1
//! 1       rest  postcard 1.x of the struct CatalogEntry, fields in this order:
//!                 key_type    string  std::any::type_name of K  (varint length, UTF-8 bytes)
//!                 value_type  string  std::any::type_name of V
//!                 codec       string  Codec::NAME ("postcard", "bincode", "json")
//!                 version     u32     the newest schema version any opener declared (varint)
//! ```

use emdb_core::{BoxError, Emdb, Error, Result, Ttl};
use serde::{Deserialize, Serialize};

use crate::codec::{Codec, Postcard};

/// The core namespace that holds the catalog.
pub const CATALOG_NAMESPACE: &str = "emdb.tables";

/// The prefix of every table's core namespace: table `users` lives in `emdb.table.users`.
pub const TABLE_NAMESPACE_PREFIX: &str = "emdb.table.";

/// The longest table name, in bytes: the core's 255-byte namespace limit minus the prefix.
pub const MAX_TABLE_NAME_LEN: usize = 255 - TABLE_NAMESPACE_PREFIX.len();

/// The first byte of every catalog value.
const CATALOG_FORMAT: u8 = 1;

/// What a table is declared as, by the program opening it or in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CatalogEntry {
    pub(crate) key_type: String,
    pub(crate) value_type: String,
    pub(crate) codec: String,
    pub(crate) version: u32,
}

/// What is wrong with a catalog value.
#[derive(Debug, thiserror::Error)]
enum CatalogError {
    #[error("the catalog entry is empty")]
    Empty,
    #[error("the catalog entry has format {0}, but this program reads format {CATALOG_FORMAT}")]
    UnknownFormat(u8),
}

impl CatalogEntry {
    /// The types in a form for error messages: `Table<u64, app::User, postcard>`.
    fn describe(&self) -> String {
        format!("Table<{}, {}, {}>", self.key_type, self.value_type, self.codec)
    }

    fn encode(&self, table: &str) -> Result<Vec<u8>> {
        let mut out = vec![CATALOG_FORMAT];
        Postcard::encode_into(self, &mut out)
            .map_err(|source| Error::Encode { table: table.to_owned(), source })?;
        Ok(out)
    }

    fn decode(table: &str, bytes: &[u8]) -> Result<Self> {
        let parse = || -> Result<Self, BoxError> {
            match bytes.split_first() {
                None => Err(Box::new(CatalogError::Empty)),
                Some((&CATALOG_FORMAT, rest)) => Postcard::decode(rest),
                Some((&format, _)) => Err(Box::new(CatalogError::UnknownFormat(format))),
            }
        };
        parse().map_err(|source| Error::Decode {
            table: table.to_owned(),
            key: table.as_bytes().to_vec(),
            source,
        })
    }

    /// Checks that the recorded types (`self`) are the declared ones; versions may differ.
    fn check(&self, table: &str, declared: &CatalogEntry) -> Result<()> {
        let same = self.key_type == declared.key_type
            && self.value_type == declared.value_type
            && self.codec == declared.codec;
        if same {
            Ok(())
        } else {
            Err(Error::TableTypeMismatch {
                table: table.to_owned(),
                expected: declared.describe(),
                found: self.describe(),
            })
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

/// Records `declared` for `table` if the table is new; otherwise checks it against the recorded
/// entry, and raises the recorded version if `declared` is newer.
///
/// The fast path reads without the writer lock; the slow path reads and writes in one
/// transaction, so two programs (or threads) creating the same table at once agree on one entry.
pub(crate) fn register(db: &Emdb, table: &str, declared: &CatalogEntry) -> Result<()> {
    let catalog = db.namespace(CATALOG_NAMESPACE)?;
    if let Some(bytes) = catalog.get(table)? {
        let found = CatalogEntry::decode(table, &bytes)?;
        found.check(table, declared)?;
        if found.version >= declared.version {
            return Ok(());
        }
    }
    db.transaction(|tx| {
        let mut entries = tx.namespace(&catalog);
        let write = match entries.get(table)? {
            None => declared.clone(),
            Some(bytes) => {
                let found = CatalogEntry::decode(table, &bytes)?;
                found.check(table, declared)?;
                if found.version >= declared.version {
                    return Ok(());
                }
                CatalogEntry { version: declared.version, ..found }
            }
        };
        // Never `Ttl::Default`: a database-wide default TTL must not expire the catalog.
        entries.insert_with_ttl(table, write.encode(table)?, Ttl::Never)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> CatalogEntry {
        CatalogEntry {
            key_type: "u64".into(),
            value_type: "app::User".into(),
            codec: "postcard".into(),
            version: 300,
        }
    }

    #[test]
    fn the_catalog_value_is_the_format_byte_then_postcard_fields_in_order() {
        let bytes = entry().encode("users").unwrap();
        let mut expected = vec![1, 3];
        expected.extend_from_slice(b"u64");
        expected.push(9);
        expected.extend_from_slice(b"app::User");
        expected.push(8);
        expected.extend_from_slice(b"postcard");
        expected.extend_from_slice(&[0xac, 0x02]);
        assert_eq!(bytes, expected);
        assert_eq!(CatalogEntry::decode("users", &bytes).unwrap(), entry());
    }

    #[test]
    fn an_unknown_format_or_empty_entry_is_a_decode_error() {
        let mut bytes = entry().encode("users").unwrap();
        bytes[0] = 2;
        let err = CatalogEntry::decode("users", &bytes).unwrap_err();
        assert!(err.to_string().contains("format 2"), "{err}");
        assert!(matches!(CatalogEntry::decode("users", &[]), Err(Error::Decode { .. })));
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
