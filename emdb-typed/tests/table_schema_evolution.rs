//! What each codec itself reads back when bytes written as one Rust type are decoded as another
//! under the same schema version, the bytes planted past the catalog: renames, added and removed
//! fields, reorders. Postcard and bincode misread or fail where JSON reads, which is why a table
//! refuses a changed shape under the recorded version (`SchemaChanged`) and reads older versions
//! through their recorded shapes instead (`table_evolution.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::fmt::Debug;

use emdb_core::{Emdb, Error};
use emdb_typed::{Bincode, Codec, Json, Postcard, Table, key, write_header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Writes `old` as a program with the `Old` type would have (same table, same version 1), then
/// reads it back through a table of `New`.
fn read_as<C: Codec, Old: Serialize, New>(old: &Old) -> Result<Option<New>, Error>
where
    New: Serialize + DeserializeOwned + 'static,
{
    let db = Emdb::open_in_memory();
    let table = Table::<u8, New, C>::open_with(&db, "t").unwrap();
    let mut bytes = Vec::new();
    write_header(C::ID, 1, &mut bytes);
    C::encode_into(old, &mut bytes).unwrap();
    table.namespace().insert(key::encode(&1_u8).unwrap(), bytes).unwrap();
    table.get(&1)
}

fn reads<C: Codec, Old: Serialize, New>(old: &Old, expected: &New)
where
    New: Serialize + DeserializeOwned + PartialEq + Debug + 'static,
{
    assert_eq!(read_as::<C, Old, New>(old).unwrap().as_ref(), Some(expected), "{}", C::NAME);
}

fn fails<C: Codec, Old: Serialize, New>(old: &Old)
where
    New: Serialize + DeserializeOwned + Debug + 'static,
{
    let result = read_as::<C, Old, New>(old);
    assert!(matches!(result, Err(Error::Decode { .. })), "{}: {result:?}", C::NAME);
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Before {
    id: u32,
    name: String,
}

#[test]
fn renaming_a_field_reads_in_postcard_and_bincode_and_fails_in_json() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Renamed {
        id: u32,
        full_name: String,
    }
    let old = Before { id: 1, name: "ada".into() };
    let new = Renamed { id: 1, full_name: "ada".into() };
    reads::<Postcard, _, _>(&old, &new);
    reads::<Bincode, _, _>(&old, &new);
    fails::<Json, _, Renamed>(&old);
}

#[test]
fn adding_a_last_field_with_serde_default_fails_in_postcard_and_bincode_and_reads_in_json() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Added {
        id: u32,
        name: String,
        #[serde(default)]
        visits: u32,
        #[serde(default)]
        bio: Option<String>,
    }
    let old = Before { id: 1, name: "ada".into() };
    fails::<Postcard, _, Added>(&old);
    fails::<Bincode, _, Added>(&old);
    reads::<Json, _, _>(&old, &Added { id: 1, name: "ada".into(), visits: 0, bio: None });
}

#[test]
fn removing_the_last_field_fails_in_postcard_and_bincode_and_reads_in_json() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Removed {
        id: u32,
    }
    let old = Before { id: 1, name: "ada".into() };
    fails::<Postcard, _, Removed>(&old);
    fails::<Bincode, _, Removed>(&old);
    reads::<Json, _, _>(&old, &Removed { id: 1 });
}

#[test]
fn reordering_fields_misreads_silently_in_postcard_and_bincode_and_reads_in_json() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Pair {
        width: u32,
        height: u32,
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Swapped {
        height: u32,
        width: u32,
    }
    let old = Pair { width: 3, height: 4 };
    // The silent misread: width and height trade places.
    reads::<Postcard, _, _>(&old, &Swapped { height: 3, width: 4 });
    reads::<Bincode, _, _>(&old, &Swapped { height: 3, width: 4 });
    reads::<Json, _, _>(&old, &Swapped { height: 4, width: 3 });
}

#[test]
fn widening_varint_integers_reads_in_every_codec() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Narrow {
        a: u16,
        b: i16,
        c: u32,
        d: i32,
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Wide {
        a: u32,
        b: i32,
        c: u64,
        d: i64,
    }
    for (a, b, c, d) in
        [(0, 0, 0, 0), (u16::MAX, i16::MIN, u32::MAX, i32::MIN), (300, -300, 70_000, 70_000)]
    {
        let old = Narrow { a, b, c, d };
        let new = Wide { a: a.into(), b: b.into(), c: c.into(), d: d.into() };
        reads::<Postcard, _, _>(&old, &new);
        reads::<Bincode, _, _>(&old, &new);
        reads::<Json, _, _>(&old, &new);
    }
}

#[test]
fn widening_u8_breaks_postcard_and_bincode_for_large_values_and_reads_in_json() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Small {
        level: u8,
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Wider {
        level: u16,
    }
    // Postcard: `u8` is a raw byte, 200 = 0xc8 has the varint continuation bit set.
    fails::<Postcard, _, Wider>(&Small { level: 200 });
    // Bincode: a raw byte of 251..=255 is a varint tag announcing more bytes.
    fails::<Bincode, _, Wider>(&Small { level: 252 });
    reads::<Json, _, _>(&Small { level: 252 }, &Wider { level: 252 });
}

#[test]
fn appending_an_enum_variant_reads_in_every_codec() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Status {
        Active,
        Banned(String),
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum StatusV2 {
        Active,
        Banned(String),
        Suspended { days: u32 },
    }
    let old = Status::Banned("spam".into());
    let new = StatusV2::Banned("spam".into());
    reads::<Postcard, _, _>(&old, &new);
    reads::<Bincode, _, _>(&old, &new);
    reads::<Json, _, _>(&old, &new);
    reads::<Postcard, _, _>(&Status::Active, &StatusV2::Active);
    let _ = StatusV2::Suspended { days: 1 };
}
