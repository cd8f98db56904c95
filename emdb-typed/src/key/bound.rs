//! [`BoundedBy`]: the types that can bound a typed range of a key type, and why each encodes as
//! the key type does.

use serde::Serialize;

mod sealed {
    /// Keeps [`BoundedBy`](super::BoundedBy) implementable only inside this crate.
    pub trait Sealed<T> {}
}

/// `K: BoundedBy<T>`: a [`Table::range`](crate::Table::range) over keys of type `K` takes bounds
/// of type `T`. Every key type is bounded by itself (and by `&K`, through the standard
/// `RangeBounds` impls), `String` also by `&str`, and `Vec<T>` also by `&[T]`.
///
/// A bound is [encoded](super::encode) and compared with the stored keys byte by byte, so a bound
/// type must encode exactly as the key type does: serde serializes `&str` and `String` as the same
/// string, `&[T]` and `Vec<T>` as the same sequence, and the key encoding writes each shape one way
/// whatever type it came from. Sealed: a type that merely borrows as `K` (through
/// [`Borrow`](std::borrow::Borrow)) may serialize differently.
///
/// The trait is on the key type, which the table fixes, so the bound type is inferred from it:
/// `range(3..10)` on a `u64` key reads the literals as `u64`. Where a range is a range of two
/// types (a pair of `Bound<&str>` bounds `&str` and `str`; `&a..&b` of `String`s bounds `&String`
/// and `String`), name the bound type: `range::<&str, _>(bounds)`, or pass `a.as_str()..`.
///
/// # Examples
///
/// ```
/// use emdb::{Emdb, Table};
///
/// let db = Emdb::open_in_memory();
/// let names = Table::<String, u8>::open(&db, "names")?;
/// for (name, n) in [("ada", 1), ("bob", 2), ("cy", 3)] {
///     names.insert(name, &n)?;
/// }
/// assert_eq!(names.range("b".."c")?.count(), 1);
/// assert_eq!(names.range("b".to_owned()..)?.count(), 2);
/// let bytes = Table::<Vec<u8>, u8>::open(&db, "bytes")?;
/// bytes.insert(&b"k1"[..], &1)?;
/// assert_eq!(bytes.range(&b"k"[..]..&b"l"[..])?.count(), 1);
/// # Ok::<(), emdb::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "a range over `{Self}` keys cannot take `{T}` bounds",
    label = "the range's bounds",
    note = "bound a range with the key type or a reference to it; `String` keys also take `&str` and `Vec<T>` keys `&[T]`"
)]
pub trait BoundedBy<T>: sealed::Sealed<T> {}

impl<K: Serialize> sealed::Sealed<K> for K {}
impl<K: Serialize> BoundedBy<K> for K {}

impl sealed::Sealed<&str> for String {}
impl BoundedBy<&str> for String {}

impl<T: Serialize> sealed::Sealed<&[T]> for Vec<T> {}
impl<T: Serialize> BoundedBy<&[T]> for Vec<T> {}
