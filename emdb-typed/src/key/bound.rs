//! What a typed range takes: [`KeyRange`], the range types, and [`BoundedBy`], the bound types of
//! each key type, with why each bound type encodes as its key type does.

use std::ops::RangeToInclusive;
use std::ops::{Bound, Range, RangeBounds, RangeFrom, RangeFull, RangeInclusive, RangeTo};

use serde::Serialize;

mod sealed {
    /// Keeps [`BoundedBy`](super::BoundedBy) implementable only inside this crate.
    pub trait SealedBound<T> {}
    /// Keeps [`KeyRange`](super::KeyRange) implementable only inside this crate.
    pub trait SealedRange<K> {}
}

/// `K: BoundedBy<T>`: a [`Table::range`](crate::Table::range) over keys of type `K` takes bounds
/// of type `T`. Every key type is bounded by itself and by a reference to itself, `String` also
/// by `&str`, and `Vec<T>` also by `&[T]`.
///
/// A bound is [encoded](super::encode) and compared with the stored keys byte by byte, so a bound
/// type must encode exactly as the key type does: serde serializes `&K` as `K`, `&str` and
/// `String` as the same string, `&[T]` and `Vec<T>` as the same sequence, and the key encoding
/// writes each shape one way whatever type it came from. Sealed: a type that merely borrows as
/// `K` (through [`Borrow`](std::borrow::Borrow)) may serialize differently.
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
/// let (b, c) = ("b".to_owned(), "c".to_owned());
/// assert_eq!(names.range(&b..&c)?.count(), 1);
/// assert_eq!(names.range(b..)?.count(), 2);
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
pub trait BoundedBy<T>: sealed::SealedBound<T> {}

impl<K: Serialize> sealed::SealedBound<K> for K {}
impl<K: Serialize> BoundedBy<K> for K {}

impl<K: Serialize> sealed::SealedBound<&K> for K {}
impl<K: Serialize> BoundedBy<&K> for K {}

impl sealed::SealedBound<&str> for String {}
impl BoundedBy<&str> for String {}

impl<T: Serialize> sealed::SealedBound<&[T]> for Vec<T> {}
impl<T: Serialize> BoundedBy<&[T]> for Vec<T> {}

/// A range that [`Table::range`](crate::Table::range) over keys of type `K` takes: `a..b`,
/// `a..=b`, `a..`, `..b`, `..=b`, `..` and a pair of [`Bound`]s, whose bounds are of a type the
/// key type is [`BoundedBy`].
///
/// The bound type is read off the range's own type, so each range means one thing: `"a".."b"`
/// is bounded by `&str`, `&a..&b` by `&String`, `(Bound::Included("a"), Bound::Unbounded)` by
/// `&str`, and `..` by the key type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a range of `{K}` keys",
    label = "not a range",
    note = "pass a range expression (`a..b`, `a..=b`, `a..`, `..b`, `..=b`, `..`) or a pair of `Bound`s"
)]
pub trait KeyRange<K>: sealed::SealedRange<K> {
    /// The type of the range's bounds.
    type Bound: Serialize;

    /// The start bound, as [`RangeBounds::start_bound`].
    fn start(&self) -> Bound<&Self::Bound>;

    /// The end bound, as [`RangeBounds::end_bound`].
    fn end(&self) -> Bound<&Self::Bound>;
}

/// Implements [`KeyRange`] for range types generic over their bound type.
macro_rules! key_range {
    ($($range:ident),* $(,)?) => {$(
        impl<K: BoundedBy<T>, T: Serialize> sealed::SealedRange<K> for $range<T> {}
        impl<K: BoundedBy<T>, T: Serialize> KeyRange<K> for $range<T> {
            type Bound = T;
            fn start(&self) -> Bound<&T> {
                self.start_bound()
            }
            fn end(&self) -> Bound<&T> {
                self.end_bound()
            }
        }
    )*};
}

key_range!(Range, RangeInclusive, RangeFrom, RangeTo, RangeToInclusive);

impl<K: BoundedBy<T>, T: Serialize> sealed::SealedRange<K> for (Bound<T>, Bound<T>) {}
impl<K: BoundedBy<T>, T: Serialize> KeyRange<K> for (Bound<T>, Bound<T>) {
    type Bound = T;
    fn start(&self) -> Bound<&T> {
        self.start_bound()
    }
    fn end(&self) -> Bound<&T> {
        self.end_bound()
    }
}

impl<K: Serialize> sealed::SealedRange<K> for RangeFull {}
impl<K: Serialize> KeyRange<K> for RangeFull {
    type Bound = K;
    fn start(&self) -> Bound<&K> {
        Bound::Unbounded
    }
    fn end(&self) -> Bound<&K> {
        Bound::Unbounded
    }
}
