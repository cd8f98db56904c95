//! The [`Record`] trait: a struct stored whole, as one value, in a typed table of its own.
//!
//! This file is a stand-in for the `table` branch's `record.rs`, which adds the `table` method
//! that opens the record's `Table`; the two merge into that file.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::Codec;

/// A struct stored whole in a typed table named [`TABLE`](Self::TABLE), under the key that
/// [`key`](Self::key) returns. Derive it with `#[derive(Record)]` (from `emdb`).
///
/// # Examples
///
/// ```
/// use emdb_typed::{Postcard, Record};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
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
/// assert_eq!(User { id: 7, name: "ada".into() }.key(), 7);
/// assert_eq!(User::VERSION, 1);
/// ```
pub trait Record: Serialize + DeserializeOwned + Sized + 'static {
    /// The key type: the key field's type, or a tuple of the key fields' types in field order.
    type Key: Serialize + DeserializeOwned + 'static;

    /// The codec the table encodes values with.
    type Codec: Codec;

    /// The name of the record's table.
    const TABLE: &'static str;

    /// The schema version written into each stored value's header.
    const VERSION: u32 = 1;

    /// The record's key (a clone of its key field or fields).
    fn key(&self) -> Self::Key;
}
