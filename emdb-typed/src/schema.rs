//! How a table turns stored bytes into values and back: the key encoding with the table's name in
//! its errors, the value header check (codec id, schema version), and the evolution of values of
//! older schema versions — automatic steps through the recorded shapes, hand-written steps
//! through registered upgrades — onto the declared type.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use emdb_core::{BoxError, Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::catalog::Probe;
use crate::codec::{Codec, decode_shaped, human_readable};
use crate::dynamic::{Value, from_value, to_value};
use crate::header::{Header, check_header, encode_framed};
use crate::index::Indexes;
use crate::key;
use crate::shape::Shape;

/// Reads the payload of a stored value as a step's `Old` type and upgrades it.
pub(crate) type FromBytes = dyn Fn(&[u8]) -> Result<Value, BoxError> + Send + Sync;
/// Reads a dynamic value of an older version as a step's `Old` type and upgrades it.
pub(crate) type FromValue = dyn Fn(Value) -> Result<Value, BoxError> + Send + Sync;

/// A hand-written upgrade from one schema version to the next, registered with
/// [`TableOptions::with_upgrade`](crate::TableOptions::with_upgrade).
#[derive(Clone)]
pub(crate) struct Step {
    /// The shape of the step's `Old` type, if it traces.
    pub(crate) shape: Option<Shape>,
    /// Whether `Old` reads a dynamic value of an older shape.
    pub(crate) probe: Arc<Probe>,
    pub(crate) from_bytes: Arc<FromBytes>,
    pub(crate) from_value: Arc<FromValue>,
}

/// Why a stored value cannot be read as the table's type, beyond what the codec and the value
/// header ([`check_header`]) report.
#[derive(Debug, thiserror::Error)]
enum ValueError {
    #[error(
        "{source}; the bytes do not match the type of schema version {version}: if the type changed after this value was written without declaring a new version, declare version {next} and register an upgrade from the old type with TableOptions::with_upgrade"
    )]
    Current { version: u32, next: u32, source: BoxError },
    #[error("{source} (reading a value of schema version {found} as version {declared})")]
    Old { found: u32, declared: u32, source: BoxError },
    #[error(
        "the value has schema version {found}, whose shape the catalog does not hold (it was written before emdb recorded shapes, or its type could not be traced); register an upgrade from version {found} with TableOptions::with_upgrade"
    )]
    NoShape { found: u32 },
}

/// The shared, immutable part of a table handle: its name, declared version, the recorded
/// shapes of older versions and the hand-written upgrades.
pub(crate) struct Schema<V> {
    pub(crate) name: String,
    pub(crate) version: u32,
    /// The recorded value shapes, by version.
    pub(crate) shapes: BTreeMap<u32, Shape>,
    /// Hand-written upgrades, by the version they read.
    pub(crate) steps: BTreeMap<u32, Step>,
    /// Prints a stored key as the table's key type, when it decodes.
    pub(crate) key_text: fn(&[u8]) -> Option<String>,
    /// The declared secondary indexes.
    pub(crate) indexes: Arc<Indexes<V>>,
    pub(crate) types: PhantomData<fn() -> V>,
}

impl<V> Clone for Schema<V> {
    fn clone(&self) -> Self {
        Schema {
            name: self.name.clone(),
            version: self.version,
            shapes: self.shapes.clone(),
            steps: self.steps.clone(),
            key_text: self.key_text,
            indexes: Arc::clone(&self.indexes),
            types: PhantomData,
        }
    }
}

/// Prints a stored key as a `K` (`7`, `"alice"`, `(1, 2)`), if it decodes as one.
pub(crate) fn key_text<K: Serialize + DeserializeOwned>(raw: &[u8]) -> Option<String> {
    let key: K = key::decode(raw).ok()?;
    to_value(&key).ok().map(|value| value.to_string())
}

impl<V: Serialize + DeserializeOwned> Schema<V> {
    /// Fills in the table name (and the key) of errors from the key encoding and the header.
    pub(crate) fn locate(&self, err: Error, raw_key: &[u8]) -> Error {
        match err {
            Error::Encode { table, source } if table.is_empty() => {
                Error::Encode { table: self.name.clone(), source }
            }
            Error::Decode { table, key, key_text, source } if table.is_empty() => {
                let key = if key.is_empty() { raw_key.to_vec() } else { key };
                Error::Decode {
                    table: self.name.clone(),
                    key_text: key_text.or_else(|| (self.key_text)(&key)),
                    key,
                    source,
                }
            }
            Error::UnknownSchemaVersion { table, found, known } if table.is_empty() => {
                Error::UnknownSchemaVersion { table: self.name.clone(), found, known }
            }
            other => other,
        }
    }

    fn decode_error(&self, raw_key: &[u8], source: BoxError) -> Error {
        Error::Decode {
            table: self.name.clone(),
            key: raw_key.to_vec(),
            key_text: (self.key_text)(raw_key),
            source,
        }
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
        encode_framed::<C, V>(self.version, value)
            .map_err(|source| Error::Encode { table: self.name.clone(), source })
    }

    /// Splits a stored value into its header and payload, checking that codec `C` wrote it and
    /// that its version is not newer than the declared one.
    pub(crate) fn header<'a, C: Codec>(
        &self,
        raw_key: &[u8],
        stored: &'a [u8],
    ) -> Result<(Header, &'a [u8])> {
        check_header::<C>(stored, self.version).map_err(|err| self.locate(err, raw_key))
    }

    /// Decodes a stored value, evolving it if it has an older schema version.
    pub(crate) fn decode_value<C: Codec>(&self, raw_key: &[u8], stored: &[u8]) -> Result<V> {
        let (header, payload) = self.header::<C>(raw_key, stored)?;
        let found = header.schema_version;
        let decoded = if found == self.version {
            C::decode(payload).map_err(|source| -> BoxError {
                Box::new(ValueError::Current {
                    version: found,
                    next: found.saturating_add(1),
                    source,
                })
            })
        } else {
            self.evolve::<C>(found, payload).map_err(|source| -> BoxError {
                match source.downcast::<ValueError>() {
                    Ok(ours) => ours,
                    Err(source) => {
                        Box::new(ValueError::Old { found, declared: self.version, source })
                    }
                }
            })
        };
        decoded.map_err(|source| self.decode_error(raw_key, source))
    }

    /// Reads the payload of a value of the older version `from` as the declared type: step by
    /// step, each either hand-written (the registered upgrade) or automatic (nothing to do: the
    /// dynamic value is read by field name at the next typed step).
    fn evolve<C: Codec>(&self, from: u32, payload: &[u8]) -> Result<V, BoxError> {
        let human = human_readable::<C>();
        let mut value: Option<Value> = None;
        for at in from..self.version {
            if let Some(step) = self.steps.get(&at) {
                value = Some(match value.take() {
                    None => (step.from_bytes)(payload)?,
                    Some(value) => (step.from_value)(value)?,
                });
            } else if value.is_none() && !human {
                // A binary codec stores no field names: read them from the recorded shape.
                let shape = self.shapes.get(&at).ok_or(ValueError::NoShape { found: at })?;
                value = Some(decode_shaped::<C>(payload, shape)?);
            }
        }
        match value {
            Some(value) => Ok(from_value(value, human)?),
            // A self-describing codec and automatic steps only: serde reads the names itself.
            None => C::decode(payload),
        }
    }
}
