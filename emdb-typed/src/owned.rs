//! [`TableKey`] and [`TableValue`]: what a type needs to be a table's key or value, worded so
//! that a borrowed type's compile error names the fix.
//!
//! A key or value is decoded from storage into a new value, so it cannot borrow: `&str` and
//! `&[u8]` are neither table keys nor table values. rustc reports a borrowed type where an owning
//! one is needed as a lifetime error, which no `#[diagnostic::on_unimplemented]` message can
//! replace; the error does print the trait that was not general enough with its type arguments,
//! so [`OwnedKey`] and [`OwnedValue`] carry the fix, [`UseStringOrVecInstead`], as one:
//!
//! ```text
//! error: implementation of `OwnedKey` is not general enough
//!   = note: `&str` must implement `OwnedKey<'0, UseStringOrVecInstead>`, for any lifetime `'0`...
//! ```
//!
//! Use `String` for `&str` and `Vec<u8>` for `&[u8]`. A `Table<String, V>` still takes `&str`
//! arguments: `get("ada")`, `range("a".."b")`.

use serde::{Deserialize, Serialize};

/// A type that can key a [`Table`](crate::Table): any serde type that owns its data.
///
/// Implemented for every `Serialize + DeserializeOwned + 'static` type (integers, `String`,
/// tuples, `Option`, `Vec`, your own `#[derive(Serialize, Deserialize)]` structs and enums); there
/// is nothing to implement by hand, and generic code bounded by the serde traits can open tables.
/// Whether the key's serde shape is one the key encoding orders is checked when it is encoded
/// (see [`key`](crate::key)).
///
/// A borrowed key does not compile, and the error names the fix (see the [module
/// documentation](self)):
///
/// ```compile_fail
/// use emdb::{Emdb, Table};
///
/// let db = Emdb::open_in_memory();
/// let names = Table::<&str, u32>::open(&db, "names");
/// ```
///
/// ```
/// use emdb::{Emdb, Table};
///
/// let db = Emdb::open_in_memory();
/// let names = Table::<String, u32>::open(&db, "names")?;
/// names.insert("ada", &36)?;
/// assert_eq!(names.get("ada")?, Some(36));
/// # Ok::<(), emdb::Error>(())
/// ```
pub trait TableKey: Serialize + for<'de> OwnedKey<'de, UseStringOrVecInstead> + 'static {}

impl<K> TableKey for K where K: Serialize + for<'de> OwnedKey<'de, UseStringOrVecInstead> + 'static {}

/// A type that can be a [`Table`](crate::Table)'s value: any serde type that owns its data.
///
/// Implemented for every `Serialize + DeserializeOwned + 'static` type, as [`TableKey`] is; a
/// borrowed value type does not compile, and the error says "`&str` must implement
/// `OwnedValue<'0, UseStringOrVecInstead>`".
///
/// ```compile_fail
/// use emdb::{Emdb, Table};
///
/// let db = Emdb::open_in_memory();
/// let names = Table::<u32, &str>::open(&db, "names");
/// ```
pub trait TableValue:
    Serialize + for<'de> OwnedValue<'de, UseStringOrVecInstead> + 'static
{
}

impl<V> TableValue for V where
    V: Serialize + for<'de> OwnedValue<'de, UseStringOrVecInstead> + 'static
{
}

/// `Deserialize<'de>` under the name a borrowed key's compile error prints; see [`TableKey`].
///
/// Implemented for every `Deserialize<'de>` type and every `Hint`. [`TableKey`] asks for it for
/// *every* lifetime `'de`, which is what [`DeserializeOwned`](serde::de::DeserializeOwned) asks.
pub trait OwnedKey<'de, Hint>: Deserialize<'de> {}

impl<'de, T, Hint> OwnedKey<'de, Hint> for T where T: Deserialize<'de> {}

/// `Deserialize<'de>` under the name a borrowed value's compile error prints; see
/// [`TableValue`].
pub trait OwnedValue<'de, Hint>: Deserialize<'de> {}

impl<'de, T, Hint> OwnedValue<'de, Hint> for T where T: Deserialize<'de> {}

/// The fix for a borrowed table key or value, as its compile error prints it: use `String`
/// instead of `&str`, and `Vec<u8>` instead of `&[u8]`. It has no values.
#[derive(Debug)]
pub enum UseStringOrVecInstead {}
