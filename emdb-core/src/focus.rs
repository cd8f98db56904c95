//! Nested groups: [`Focus`], a handle on the keys under a dotted prefix.
//!
//! `db.focus("product").focus("variant").insert("color", v)` writes the key
//! `product.variant.color`.
//! A group is every key under `prefix.` at any depth; reading it is a range scan, so its cost grows
//! with the group and not with the database.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::group::Prefix;
use crate::iter::{Iter, Keys, OrderedReads, prefix_bounds};
use crate::namespace::Namespace;
use crate::ttl::Ttl;

/// A cheap, owned handle on the keys under a dotted prefix: `focus("product")` reads and writes
/// `product.<key>`. Focus handles nest, and every method has the name and meaning of the
/// database's own: [`insert`](Self::insert), [`get`](Self::get), [`remove`](Self::remove),
/// [`len`](Self::len); [`delete_group`](Self::delete_group) is
/// [`Emdb::delete_group`](crate::Emdb::delete_group) on the focus's own prefix.
///
/// A `Focus` is made without checking its prefix; an invalid prefix (empty, or with an empty
/// segment) makes each operation return [`Error::InvalidPrefix`].
///
/// # Examples
///
/// ```
/// use emdb::Emdb;
///
/// let db = Emdb::open_in_memory();
/// let product = db.focus("product");
/// product.insert("name", "phone")?;
/// product.focus("variant").insert("color", "black")?;
/// assert_eq!(db.get("product.variant.color")?, Some(b"black".to_vec()));
/// assert_eq!(product.len()?, 2);
/// assert_eq!(product.delete_group()?, 2);
/// assert!(db.is_empty()?);
/// # Ok::<(), emdb::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Focus {
    ns: Namespace,
    prefix: Prefix,
}

impl Focus {
    pub(crate) fn new(ns: Namespace, prefix: Prefix) -> Self {
        Focus { ns, prefix }
    }

    /// The full key of `key` under this focus.
    fn full_key(&self, key: &[u8]) -> Result<Vec<u8>> {
        let prefix = self.prefix.bytes()?;
        let mut full = Vec::with_capacity(prefix.len() + key.len());
        full.extend_from_slice(prefix);
        full.extend_from_slice(key);
        Ok(full)
    }

    /// The namespace this focus reads and writes (a transaction reaches it with
    /// [`Transaction::namespace`](crate::Transaction::namespace)).
    pub fn namespace(&self) -> &Namespace {
        &self.ns
    }

    /// The prefix this focus covers, with its trailing `.` (for example `product.variant.`).
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`] if the prefix is invalid.
    pub fn prefix(&self) -> Result<&str> {
        let bytes = self.prefix.bytes()?;
        // Every segment was checked to be UTF-8 and the separator is ASCII.
        std::str::from_utf8(bytes).map_err(|_| Error::InvalidPrefix {
            prefix: String::from_utf8_lossy(bytes).into_owned(),
            reason: "a group prefix must be valid UTF-8",
        })
    }

    /// A focus on the sub-group `name` (`product` → `product.name.`).
    #[must_use]
    pub fn focus(&self, name: &str) -> Focus {
        Focus { ns: self.ns.clone(), prefix: self.prefix.child(name) }
    }

    /// Inserts `value` under `prefix.key`, with the database's default TTL.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`]; otherwise as [`Emdb::insert`](crate::Emdb::insert) (the key
    /// limit counts the prefix).
    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.ns.insert(self.full_key(key.as_ref())?, value)
    }

    /// Inserts `value` under `prefix.key` with a time-to-live.
    ///
    /// # Errors
    /// As [`insert`](Self::insert), and [`Error::TtlOverflow`].
    pub fn insert_with_ttl(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Ttl,
    ) -> Result<()> {
        self.ns.insert_with_ttl(self.full_key(key.as_ref())?, value, ttl)
    }

    /// The old name of [`insert`](Self::insert).
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    #[deprecated(since = "0.1.0", note = "use `insert`, the name on every handle")]
    pub fn set(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.insert(key, value)
    }

    /// The old name of [`insert_with_ttl`](Self::insert_with_ttl).
    ///
    /// # Errors
    /// As [`insert_with_ttl`](Self::insert_with_ttl).
    #[deprecated(since = "0.1.0", note = "use `insert_with_ttl`, the name on every handle")]
    pub fn set_with_ttl(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Ttl,
    ) -> Result<()> {
        self.insert_with_ttl(key, value, ttl)
    }

    /// The value of `prefix.key`, or `None` if absent or expired.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`]; otherwise as [`Emdb::get`](crate::Emdb::get).
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.ns.get(self.full_key(key.as_ref())?)
    }

    /// Copies the value of `prefix.key` into `buf`, replacing its contents, and returns whether
    /// it is present and unexpired: [`get`](Self::get) without a new allocation per read.
    ///
    /// # Errors
    /// As [`get`](Self::get); `buf` is left empty on error.
    pub fn get_into(&self, key: impl AsRef<[u8]>, buf: &mut Vec<u8>) -> Result<bool> {
        buf.clear();
        self.ns.get_into(self.full_key(key.as_ref())?, buf)
    }

    /// Whether `prefix.key` is present and unexpired.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        self.ns.contains_key(self.full_key(key.as_ref())?)
    }

    /// Removes `prefix.key`, returning its value.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`]; otherwise as [`Emdb::remove`](crate::Emdb::remove).
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.ns.remove(self.full_key(key.as_ref())?)
    }

    /// The time `prefix.key` has left to live.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn ttl(&self, key: impl AsRef<[u8]>) -> Result<Option<Duration>> {
        self.ns.ttl(self.full_key(key.as_ref())?)
    }

    /// When `prefix.key` expires.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn expires_at(&self, key: impl AsRef<[u8]>) -> Result<Option<SystemTime>> {
        self.ns.expires_at(self.full_key(key.as_ref())?)
    }

    /// Every live entry under this focus at any depth, in key order, with keys relative to the
    /// focus (`product.variant.color` under `focus("product")` yields `variant.color`).
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`].
    pub fn iter(&self) -> Result<Iter> {
        let prefix = self.prefix.bytes()?;
        Ok(self.ns.entries_in(prefix_bounds(prefix), prefix.len()))
    }

    /// Every live key under this focus at any depth, relative to the focus.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`].
    pub fn keys(&self) -> Result<Keys> {
        let prefix = self.prefix.bytes()?;
        Ok(self.ns.keys_in(prefix_bounds(prefix), prefix.len()))
    }

    /// How many live entries are under this focus at any depth.
    ///
    /// # Errors
    /// As [`iter`](Self::iter).
    pub fn len(&self) -> Result<usize> {
        let mut n = 0;
        for item in self.keys()? {
            item?;
            n += 1;
        }
        Ok(n)
    }

    /// Whether no live entry is under this focus.
    ///
    /// # Errors
    /// As [`iter`](Self::iter).
    pub fn is_empty(&self) -> Result<bool> {
        self.keys()?.next().transpose().map(|first| first.is_none())
    }

    /// Removes every entry under this focus at any depth, as one atomic commit: the group this
    /// focus is on, as [`Emdb::delete_group`](crate::Emdb::delete_group) removes a group by
    /// name. Returns how many entries were removed (expired-but-unpurged ones included).
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`]; [`Error::WriteInTransaction`] inside a transaction closure.
    pub fn delete_group(&self) -> Result<usize> {
        let prefix = Arc::clone(self.prefix.bytes()?);
        self.ns.delete_under(&prefix)
    }

    /// The old name of [`len`](Self::len).
    ///
    /// # Errors
    /// As [`len`](Self::len).
    #[deprecated(since = "0.1.0", note = "use `len`, the name on every handle")]
    pub fn count(&self) -> Result<usize> {
        self.len()
    }

    /// The old name of [`delete_group`](Self::delete_group).
    ///
    /// # Errors
    /// As [`delete_group`](Self::delete_group).
    #[deprecated(since = "0.1.0", note = "use `delete_group`, the name on every handle")]
    pub fn delete_all(&self) -> Result<usize> {
        self.delete_group()
    }
}

impl Namespace {
    /// A handle on the keys under `prefix.` in this namespace. See [`Focus`].
    ///
    /// The prefix is checked when the handle is used: an empty prefix, or one with an empty
    /// segment (`"a..b"`, `".a"`, `"a."`), makes every operation fail with
    /// [`InvalidPrefix`](crate::Error::InvalidPrefix).
    pub fn focus(&self, prefix: &str) -> Focus {
        Focus::new(self.clone(), Prefix::root(prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_reject_empty_names_and_empty_segments() {
        for bad in ["", ".", "a.", ".a", "a..b"] {
            assert!(
                matches!(Prefix::root(bad).bytes(), Err(Error::InvalidPrefix { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(Prefix::root_bytes(b"\xff").bytes(), Err(Error::InvalidPrefix { .. })));
        assert_eq!(&**Prefix::root("a.b").bytes().unwrap(), b"a.b.");
    }

    #[test]
    fn a_child_of_an_invalid_prefix_stays_invalid_and_children_append_segments() {
        assert!(Prefix::root("").child("x").bytes().is_err());
        assert!(Prefix::root("a").child("").bytes().is_err());
        assert_eq!(&**Prefix::root("a").child("b").bytes().unwrap(), b"a.b.");
    }
}
