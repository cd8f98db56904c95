//! `TableInfo`: a table's recorded codec, key and value types, and its stored keys and values
//! of every schema version read into JSON without the table's Rust types, under each codec.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb_core::{Emdb, Error};
use emdb_typed::{Bincode, Codec, Json, Postcard, Table, TableInfo, key};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Address {
    street: String,
    zip: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Plan {
    Free,
    Paid(u32),
    Team { seats: u16, owner: String },
}

/// Version 1 of the value type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UserV1 {
    id: u64,
    email: String,
}

/// Version 2: a nested struct, an enum, an `Option` and a `Vec` added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    email: String,
    #[serde(default)]
    address: Option<Address>,
    #[serde(default = "free")]
    plan: Plan,
    #[serde(default)]
    tags: Vec<String>,
}

fn free() -> Plan {
    Plan::Free
}

/// The stored value under `k` in table `name`.
fn stored(db: &Emdb, name: &str, k: &(String, u32)) -> Vec<u8> {
    let ns = db.namespace(&format!("emdb.table.{name}")).unwrap();
    ns.get(key::encode(k).unwrap()).unwrap().unwrap()
}

/// Writes one version-1 row and two version-2 rows under codec `C`, then reads all three back
/// through the table's `TableInfo` only.
fn every_version_decodes_to_the_json_of_its_type<C: Codec>() {
    let db = Emdb::open_in_memory();
    let name = C::NAME;
    let old = Table::<(String, u32), UserV1, C>::options(name).version(1).open(&db).unwrap();
    let ada = UserV1 { id: 1, email: "ada@example.com".into() };
    old.insert(&("ada".into(), 1), &ada).unwrap();
    drop(old);

    let new = Table::<(String, u32), User, C>::options(name).version(2).open(&db).unwrap();
    let bob = User {
        id: 2,
        email: "bob@example.com".into(),
        address: Some(Address { street: "Main St".into(), zip: None }),
        plan: Plan::Team { seats: 5, owner: "bob".into() },
        tags: vec!["admin".into(), "beta".into()],
    };
    let cy = User {
        id: 3,
        email: "cy@example.com".into(),
        address: None,
        plan: Plan::Paid(9),
        tags: Vec::new(),
    };
    new.insert(&("bob".into(), 2), &bob).unwrap();
    new.insert(&("cy".into(), 3), &cy).unwrap();

    let info = TableInfo::read(&db, name).unwrap().unwrap();
    assert_eq!(info.name(), name);
    assert_eq!(info.codec(), name);
    assert_eq!(info.newest_version(), 2);

    let old_json = info.decode_value(&stored(&db, name, &("ada".into(), 1))).unwrap();
    assert_eq!(old_json, serde_json::to_value(&ada).unwrap(), "{name}: the version-1 row");
    assert_eq!(old_json, json!({"id": 1, "email": "ada@example.com"}));
    for (k, user) in [(("bob".to_owned(), 2), &bob), (("cy".to_owned(), 3), &cy)] {
        let decoded = info.decode_value(&stored(&db, name, &k)).unwrap();
        assert_eq!(decoded, serde_json::to_value(user).unwrap(), "{name}: {k:?}");
    }
    assert_eq!(
        info.decode_value(&stored(&db, name, &("bob".into(), 2))).unwrap(),
        json!({
            "id": 2,
            "email": "bob@example.com",
            "address": {"street": "Main St", "zip": null},
            "plan": {"Team": {"seats": 5, "owner": "bob"}},
            "tags": ["admin", "beta"],
        })
    );
    assert_eq!(info.decode_key(&key::encode(&("bob", 2u32)).unwrap()).unwrap(), json!(["bob", 2]));
}

#[test]
fn postcard_values_of_every_version_decode_to_json() {
    every_version_decodes_to_the_json_of_its_type::<Postcard>();
}

#[test]
fn bincode_values_of_every_version_decode_to_json() {
    every_version_decodes_to_the_json_of_its_type::<Bincode>();
}

#[test]
fn json_values_of_every_version_decode_to_json() {
    every_version_decodes_to_the_json_of_its_type::<Json>();
}

#[test]
fn the_key_and_value_types_of_every_version_are_described() {
    let db = Emdb::open_in_memory();
    Table::<(String, u32), UserV1>::options("users").version(1).open(&db).unwrap();
    Table::<(String, u32), User>::options("users").version(2).open(&db).unwrap();
    Table::<u64, String, Json>::open_with(&db, "notes").unwrap();

    let tables = TableInfo::list(&db).unwrap();
    let names: Vec<&str> = tables.iter().map(TableInfo::name).collect();
    assert_eq!(names, ["notes", "users"]);
    let users = &tables[1];
    assert_eq!(users.key_type().as_deref(), Some("(String, u32)"));
    assert_eq!(
        users.value_types(),
        [
            (1, Some("struct { id: u64, email: String }".to_owned())),
            (
                2,
                Some(
                    "struct { id: u64, email: String, address: Option<struct { street: String, \
                     zip: Option<u32> }>, plan: enum { Free, Paid, Team }, tags: Vec<String> }"
                        .to_owned()
                )
            ),
        ]
    );
    assert_eq!(tables[0].key_type().as_deref(), Some("u64"));
    assert_eq!(tables[0].value_types(), [(1, Some("String".to_owned()))]);
}

#[test]
fn a_table_that_was_never_opened_has_no_info_and_nothing_is_created() {
    let db = Emdb::open_in_memory();
    assert!(TableInfo::read(&db, "users").unwrap().is_none());
    assert!(TableInfo::list(&db).unwrap().is_empty());
    assert!(db.namespace_names().is_empty(), "reading created {:?}", db.namespace_names());
}

#[test]
fn damaged_values_and_keys_are_decode_errors_naming_the_table() {
    let db = Emdb::open_in_memory();
    Table::<u32, User>::options("users").version(2).open(&db).unwrap();
    let info = TableInfo::read(&db, "users").unwrap().unwrap();
    let cases: [&[u8]; 5] = [
        &[],           // no header
        &[1, 2, 0xff], // postcard, version 2, a truncated payload
        &[1, 7, 0],    // postcard, version 7: no recorded shape
        &[9, 2, 0],    // an unknown codec
        &[3, 2, b'{'], // json that does not parse
    ];
    for bytes in cases {
        let err = info.decode_value(bytes).unwrap_err();
        assert!(
            matches!(&err, Error::Decode { table, .. } if table == "users"),
            "{bytes:?}: {err}"
        );
    }
    let err = info.decode_key(&[0xff]).unwrap_err();
    assert!(matches!(&err, Error::Decode { table, key, .. } if table == "users" && key == &[0xff]));
}
