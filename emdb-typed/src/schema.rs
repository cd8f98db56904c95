//! How a table turns stored bytes into values and back: the key encoding with the table's name in
//! its errors, the value header check (codec id, schema version), and registered upgrades from
//! older schema versions.

use std::collections::BTreeMap;
use std::sync::Arc;

use emdb_core::{BoxError, Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, codec_name};
use crate::header::{Header, read_header, write_header};
use crate::key;

/// Turns the payload of a value of an older schema version into a current value.
pub(crate) type UpgradeFn<V> = Arc<dyn Fn(&[u8]) -> Result<V, BoxError> + Send + Sync>;

/// Why a stored value cannot be read as the table's type, beyond what the codec reports.
#[derive(Debug, thiserror::Error)]
enum ValueError {
    #[error(
        "the value was written by codec {found} (id {found_id}), but the table reads {expected} (id {expected_id})"
    )]
    WrongCodec { found: &'static str, found_id: u8, expected: &'static str, expected_id: u8 },
    #[error(
        "the value has schema version {found}, older than the table's version {declared}, and no upgrade from version {found} is registered; register one with Table::with_upgrade or rewrite old values with Table::migrate"
    )]
    NoUpgrade { found: u32, declared: u32 },
}

/// The shared, immutable part of a table handle: its name, declared version and upgrades.
pub(crate) struct Schema<V> {
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) upgrades: BTreeMap<u32, UpgradeFn<V>>,
}

impl<V> Clone for Schema<V> {
    fn clone(&self) -> Self {
        Schema { name: self.name.clone(), version: self.version, upgrades: self.upgrades.clone() }
    }
}

impl<V: Serialize + DeserializeOwned> Schema<V> {
    /// Fills in the table name (and the key) of errors from the key encoding and the header.
    pub(crate) fn locate(&self, err: Error, raw_key: &[u8]) -> Error {
        match err {
            Error::Encode { table, source } if table.is_empty() => {
                Error::Encode { table: self.name.clone(), source }
            }
            Error::Decode { table, key, source } if table.is_empty() => Error::Decode {
                table: self.name.clone(),
                key: if key.is_empty() { raw_key.to_vec() } else { key },
                source,
            },
            other => other,
        }
    }

    fn decode_error(&self, raw_key: &[u8], source: BoxError) -> Error {
        Error::Decode { table: self.name.clone(), key: raw_key.to_vec(), source }
    }

    /// The stored form of `key`.
    pub(crate) fn encode_key<Q: Serialize + ?Sized>(&self, key: &Q) -> Result<Vec<u8>> {
        key::encode(key).map_err(|err| self.locate(err, &[]))
    }

    /// The key stored as `raw`.
    pub(crate) fn decode_key<K: DeserializeOwned>(&self, raw: &[u8]) -> Result<K> {
        key::decode(raw).map_err(|err| self.locate(err, raw))
    }

    /// The stored form of `value`: the header (codec `C`, the declared version), then the payload.
    pub(crate) fn encode_value<C: Codec>(&self, value: &V) -> Result<Vec<u8>> {
        // Room for the header and a small payload, so that small values need one allocation.
        let mut out = Vec::with_capacity(64);
        write_header(C::ID, self.version, &mut out);
        C::encode_into(value, &mut out)
            .map_err(|source| Error::Encode { table: self.name.clone(), source })?;
        Ok(out)
    }

    /// Splits a stored value into its header and payload, checking that codec `C` wrote it and
    /// that its version is not newer than the declared one.
    pub(crate) fn header<'a, C: Codec>(
        &self,
        raw_key: &[u8],
        stored: &'a [u8],
    ) -> Result<(Header, &'a [u8])> {
        let (header, payload) = read_header(stored).map_err(|err| self.locate(err, raw_key))?;
        if header.codec_id != C::ID {
            let wrong = ValueError::WrongCodec {
                found: codec_name(header.codec_id).unwrap_or("<unknown>"),
                found_id: header.codec_id,
                expected: C::NAME,
                expected_id: C::ID,
            };
            return Err(self.decode_error(raw_key, Box::new(wrong)));
        }
        if header.schema_version > self.version {
            return Err(Error::UnknownSchemaVersion {
                table: self.name.clone(),
                found: header.schema_version,
                known: self.version,
            });
        }
        Ok((header, payload))
    }

    /// Decodes a stored value, upgrading it if it has an older schema version.
    pub(crate) fn decode_value<C: Codec>(&self, raw_key: &[u8], stored: &[u8]) -> Result<V> {
        let (header, payload) = self.header::<C>(raw_key, stored)?;
        let found = header.schema_version;
        let decoded = if found == self.version {
            C::decode(payload)
        } else if let Some(upgrade) = self.upgrades.get(&found) {
            upgrade(payload)
        } else {
            Err(Box::new(ValueError::NoUpgrade { found, declared: self.version }) as BoxError)
        };
        decoded.map_err(|source| self.decode_error(raw_key, source))
    }

    /// Decodes the payload of a value of an older version: with the registered upgrade for its
    /// version if there is one, else as `Old` through `f`.
    pub(crate) fn decode_old<C: Codec, Old: DeserializeOwned>(
        &self,
        raw_key: &[u8],
        version: u32,
        payload: &[u8],
        f: &impl Fn(Old) -> V,
    ) -> Result<V> {
        let decoded = match self.upgrades.get(&version) {
            Some(upgrade) => upgrade(payload),
            None => C::decode::<Old>(payload).map(f),
        };
        decoded.map_err(|source| self.decode_error(raw_key, source))
    }
}
