//! Derive macros for emdb: `#[derive(Record)]`, `#[derive(Group)]` and `#[derive(GroupFields)]`.
//!
//! Use them through the `emdb` facade (`use emdb::{Group, Record};`), which re-exports each derive
//! next to the trait of the same name. Every macro runs the same pipeline: parse the input and its
//! `#[emdb(...)]` attributes into an intermediate representation (`attr`), validate it for the
//! derive at hand, collecting every mistake as a spanned error that names the fix, and only then
//! expand it. Generated code names everything by absolute path (`::emdb::...`, or the path given
//! with `#[emdb(crate = "...")]`).
#![forbid(unsafe_code)]

mod attr;
mod case;
mod errors;
mod group;
mod record;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

use crate::attr::Derive;

/// The error for `#[emdb(index)]` on a group's field: secondary indexes are a table feature.
const INDEX_ON_GROUP: &str = "#[emdb(index)] declares a secondary index of a #[derive(Record)] table; a group's fields are raw entries without indexes: remove it, or store the struct as a Record";

/// Implements `emdb::Record`: a struct stored whole, as one value, in a typed table.
///
/// ```
/// use emdb::{Postcard, Record};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Record)]
/// #[emdb(table = "users")]
/// struct User {
///     #[emdb(key)]
///     id: u64,
///     name: String,
/// }
///
/// let user = User { id: 7, name: "ada".into() };
/// assert_eq!(user.key(), 7);
/// assert_eq!(User::TABLE, "users");
/// ```
///
/// # Options
///
/// On the struct:
///
/// | option | meaning | default |
/// | --- | --- | --- |
/// | `table = "name"` | the table name | the type name in `snake_case` (`UserProfile` → `"user_profile"`) |
/// | `codec = "postcard" \| "bincode" \| "json"` | the value codec (`Record::Codec`) | `"postcard"` |
/// | `version = N` | the schema version (`Record::VERSION`) | `1` |
/// | `previous = "TypeV1"` | the type of version `N - 1`: `Record::upgrades` registers `Self: From<TypeV1>` as the hand-written step from it (needs `version = N`, N ≥ 2) | none: versions evolve automatically |
/// | `crate = "path"` | where the `emdb` crate is, if it is renamed | `"::emdb"` |
///
/// Adding a field with `#[serde(default)]` or an `Option` field, removing, reordering or
/// aliasing fields, and adding enum variants need a new `version`, and nothing more: older rows
/// evolve by field name. `#[serde(default)]` alone, without a new `version`, does not make old
/// rows readable under `postcard` (the default codec) or `bincode`: they store no field names
/// and cannot tell a missing field from a truncated value, so the changed shape is refused at
/// open (`Error::SchemaChanged`). A change that does not map by name (a field's type, a split
/// field) needs `previous` and a `From` impl:
///
/// ```
/// use emdb::{Emdb, Record};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Record)]
/// #[emdb(table = "prices")]
/// struct PriceV1 {
///     #[emdb(key)]
///     sku: String,
///     cents: u32,
/// }
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize, Record)]
/// #[emdb(table = "prices", version = 2, previous = "PriceV1")]
/// struct Price {
///     #[emdb(key)]
///     sku: String,
///     euros: f64,
/// }
///
/// impl From<PriceV1> for Price {
///     fn from(old: PriceV1) -> Self {
///         Price { sku: old.sku, euros: f64::from(old.cents) / 100.0 }
///     }
/// }
///
/// let db = Emdb::open_in_memory();
/// PriceV1::table(&db)?.put(&PriceV1 { sku: "tea".into(), cents: 250 })?;
/// let prices = Price::table(&db)?;
/// assert_eq!(prices.get("tea")?, Some(Price { sku: "tea".into(), euros: 2.5 }));
/// # Ok::<(), emdb::Error>(())
/// ```
///
/// On fields: `#[emdb(key)]` marks the key. One key field makes `Record::Key` that field's type;
/// several make a tuple of their types in field order. `key()` clones the key field(s), so their
/// types must be `Clone`. `#[emdb(index)]` is reserved for secondary indexes and refused for now.
///
/// The struct must also derive `Serialize` and `Deserialize`: a record is stored through serde,
/// so rename and default fields with `#[serde(...)]`.
#[proc_macro_derive(Record, attributes(emdb))]
pub fn derive_record(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    record::derive(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Implements `emdb::Group`: a struct stored as one raw entry per field under
/// `<group>.<key>.<field>`, and generates `<Name>Focus`, a typed focus with one method per field.
///
/// ```
/// use emdb::{Emdb, Group, GroupFields};
///
/// #[derive(Debug, PartialEq, Group)]
/// #[emdb(group = "product")]
/// struct Product {
///     #[emdb(key)]
///     sku: String,
///     name: String,
///     price: u32,
///     #[emdb(group)]
///     dims: Dims,
/// }
///
/// #[derive(Debug, PartialEq, GroupFields)]
/// struct Dims {
///     width: u32,
///     height: u32,
/// }
///
/// let db = Emdb::open_in_memory();
/// let phone = Product {
///     sku: "phone".into(),
///     name: "Phone X".into(),
///     price: 799,
///     dims: Dims { width: 70, height: 150 },
/// };
/// phone.save(&db)?;
/// assert!(db.contains_key("product.phone.dims.width")?);
///
/// let focus = Product::focus(&db, "phone");
/// focus.price().insert(&899)?;
/// assert_eq!(focus.dims().width().get()?, Some(70));
/// assert_eq!(Product::load(&db, "phone")?.map(|p| p.price), Some(899));
/// # Ok::<(), emdb::Error>(())
/// ```
///
/// # Options
///
/// On the struct:
///
/// | option | meaning | default |
/// | --- | --- | --- |
/// | `group = "name"` | the group name, the first segment(s) of every key (`"shop.product"` is allowed) | the type name in `snake_case` |
/// | `codec = "postcard" \| "bincode" \| "json"` | the codec of every field value | `"postcard"` |
/// | `version = N` | the schema version written into each field's header | `1` |
/// | `crate = "path"` | where the `emdb` crate is, if it is renamed | `"::emdb"` |
///
/// On fields:
///
/// * `#[emdb(key)]` on exactly one `String` field: the `<key>` path segment. It is not stored as
///   an entry. A key that is empty or contains `.` is refused at run time with
///   `Error::InvalidPrefix`.
/// * `#[emdb(rename = "name")]`: the on-disk name of the field (default: the field name). Field
///   names, never positions, are what is stored.
/// * `#[emdb(default)]`: a field missing on load (added after the entry was written) takes
///   `Default::default()`; without it, a missing field is an `Error::Decode` naming the field.
/// * `#[emdb(group)]`: store the field as a nested sub-group (`product.phone.dims.width`); its
///   type must derive [`GroupFields`](macro@GroupFields). With `default`, a sub-group with no
///   entries loads as `Default::default()`.
///
/// The struct itself needs no serde derive; each stored field's type must be `Serialize` and
/// `DeserializeOwned`. The generated `<Name>Focus` has the struct's visibility, and each of its
/// methods has its field's visibility.
#[proc_macro_derive(Group, attributes(emdb))]
pub fn derive_group(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    group::derive(&input, Derive::Group).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Implements `emdb::GroupFields`: the type of a field marked `#[emdb(group)]`, stored as a
/// nested sub-group. It takes the options of [`Group`](macro@Group) except `group = ...` and
/// `#[emdb(key)]`: it lives under its parent's field name and has no key of its own. It also
/// generates `<Name>Focus`.
///
/// ```
/// use emdb::{Emdb, Group, GroupFields};
///
/// #[derive(Group)]
/// struct Server {
///     #[emdb(key)]
///     name: String,
///     #[emdb(group, default)]
///     limits: Limits,
/// }
///
/// #[derive(Default, GroupFields)]
/// #[emdb(codec = "json")]
/// struct Limits {
///     connections: u32,
/// }
///
/// let db = Emdb::open_in_memory();
/// Server { name: "eu1".into(), limits: Limits { connections: 64 } }.save(&db)?;
/// assert_eq!(db.get("server.eu1.limits.connections")?, Some(b"\x03\x0164".to_vec()));
/// # Ok::<(), emdb::Error>(())
/// ```
#[proc_macro_derive(GroupFields, attributes(emdb))]
pub fn derive_group_fields(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    group::derive(&input, Derive::GroupFields).unwrap_or_else(syn::Error::into_compile_error).into()
}
