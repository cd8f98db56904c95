//! Group prefixes: the dotted prefix a [`Focus`](crate::Focus) or a group call covers, and the
//! rules it must follow.

use std::sync::Arc;

use crate::error::{Error, Result};

/// The separator between the segments of a group prefix.
pub const GROUP_SEPARATOR: u8 = b'.';

/// A validated prefix with its trailing separator, or the reason it is invalid.
#[derive(Debug, Clone)]
pub(crate) enum Prefix {
    Valid(Arc<[u8]>),
    Invalid { prefix: String, reason: &'static str },
}

impl Prefix {
    /// The prefix for a top-level focus or group called `name`.
    pub(crate) fn root(name: &str) -> Self {
        Self::root_bytes(name.as_bytes())
    }

    /// Like [`root`](Self::root), for a prefix that may not be UTF-8.
    pub(crate) fn root_bytes(name: &[u8]) -> Self {
        match validate(name) {
            Ok(()) => {
                let mut bytes = Vec::with_capacity(name.len() + 1);
                bytes.extend_from_slice(name);
                bytes.push(GROUP_SEPARATOR);
                Prefix::Valid(Arc::from(bytes))
            }
            Err(reason) => {
                Prefix::Invalid { prefix: String::from_utf8_lossy(name).into_owned(), reason }
            }
        }
    }

    /// The prefix of the sub-group `name` of this one.
    pub(crate) fn child(&self, name: &str) -> Self {
        match (self, validate(name.as_bytes())) {
            (Prefix::Invalid { .. }, _) => self.clone(),
            (Prefix::Valid(_), Err(reason)) => Prefix::Invalid { prefix: name.to_owned(), reason },
            (Prefix::Valid(parent), Ok(())) => {
                let mut bytes = Vec::with_capacity(parent.len() + name.len() + 1);
                bytes.extend_from_slice(parent);
                bytes.extend_from_slice(name.as_bytes());
                bytes.push(GROUP_SEPARATOR);
                Prefix::Valid(Arc::from(bytes))
            }
        }
    }

    /// The prefix bytes (with the trailing separator), or the error that explains why not.
    pub(crate) fn bytes(&self) -> Result<&Arc<[u8]>> {
        match self {
            Prefix::Valid(bytes) => Ok(bytes),
            Prefix::Invalid { prefix, reason } => {
                Err(Error::InvalidPrefix { prefix: prefix.clone(), reason })
            }
        }
    }

    pub(crate) fn into_bytes(self) -> Result<Arc<[u8]>> {
        self.bytes().cloned()
    }
}

/// Checks a group name: non-empty UTF-8 without empty segments.
fn validate(name: &[u8]) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        return Err("a group prefix must not be empty");
    }
    if std::str::from_utf8(name).is_err() {
        return Err("a group prefix must be valid UTF-8");
    }
    if name.split(|&b| b == GROUP_SEPARATOR).any(<[u8]>::is_empty) {
        return Err("a group prefix must not start or end with '.' or contain '..'");
    }
    Ok(())
}
