//! Schema evolution: a table is its name and shapes, not a Rust path; a newer declared version
//! reads every older row by field name under every codec (defaults, `Option` → `None`, removed
//! and reordered fields, nested structs, new variants, aliases); changes that do not map are
//! refused at open naming the field, and hand-written steps chain with automatic ones.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::fmt::Debug;
use std::path::Path;

use emdb_core::{Emdb, Error};
use emdb_typed::{Bincode, Codec, Json, Postcard, Table, read_header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Everything stored in the table's namespace and the catalog, raw.
fn snapshot(db: &Emdb, table: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut all: Vec<_> =
        db.namespace(&format!("emdb.table.{table}")).unwrap().iter().unwrap().collect();
    all.extend(db.namespace("emdb.tables").unwrap().iter().unwrap());
    all.into_iter().map(Result::unwrap).collect()
}

fn stored_versions<K, V, C>(table: &Table<K, V, C>) -> Vec<u32>
where
    K: Serialize + DeserializeOwned + 'static,
    V: Serialize + DeserializeOwned + 'static,
    C: Codec,
{
    table
        .namespace()
        .iter()
        .unwrap()
        .map(|item| read_header(&item.unwrap().1).unwrap().0.schema_version)
        .collect()
}

fn schema_changed(err: &Error) -> (u32, Vec<String>, String) {
    match err {
        Error::SchemaChanged { version, changes, action, .. } => {
            (*version, changes.clone(), action.clone())
        }
        other => panic!("expected SchemaChanged, got {other}"),
    }
}

mod shop {
    use serde::{Deserialize, Serialize};

    /// The shop's user.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub(crate) struct User {
        pub(crate) id: u64,
        pub(crate) name: String,
    }
}

mod admin {
    use serde::{Deserialize, Serialize};

    /// The admin tool's copy of the same struct, at another path.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub(crate) struct User {
        pub(crate) id: u64,
        pub(crate) name: String,
    }
}

#[test]
fn the_same_struct_in_two_modules_opens_one_table_and_reads_the_others_rows() {
    let db = Emdb::open_in_memory();
    let shop = Table::<u64, shop::User>::open(&db, "users").unwrap();
    shop.insert(&1, &shop::User { id: 1, name: "ada".into() }).unwrap();
    let admin = Table::<u64, admin::User>::open(&db, "users").unwrap();
    assert_eq!(admin.get(&1).unwrap(), Some(admin::User { id: 1, name: "ada".into() }));
    admin.insert(&2, &admin::User { id: 2, name: "bob".into() }).unwrap();
    assert_eq!(shop.get(&2).unwrap().unwrap().name, "bob");
}

// ---------------------------------------------------------------------------------------------
// v1 → v2 per codec: a defaulted field and an Option field.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UserV1 {
    id: u64,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UserV2 {
    id: u64,
    nickname: Option<String>,
    name: String,
    #[serde(default)]
    tier: u8,
}

fn v1_then_v2<C: Codec>(path: &Path) {
    let db = Emdb::open(path).unwrap();
    let v1 = Table::<u64, UserV1, C>::open_with(&db, "users").unwrap();
    for id in 1..=20 {
        v1.insert(&id, &UserV1 { id, name: format!("user {id}") }).unwrap();
    }
    drop(v1);
    let v2 = Table::<u64, UserV2, C>::options("users").version(2).open(&db).unwrap();
    for id in 1..=20 {
        let user = v2.get(&id).unwrap().unwrap();
        assert_eq!(user, UserV2 { id, nickname: None, name: format!("user {id}"), tier: 0 });
    }
    let all: Vec<(u64, UserV2)> = v2.iter().unwrap().map(Result::unwrap).collect();
    assert_eq!(all.len(), 20, "{}", C::NAME);
    v2.insert(&21, &UserV2 { id: 21, nickname: Some("n".into()), name: "new".into(), tier: 3 })
        .unwrap();
    assert_eq!(read_header(&v2.get_raw(&21).unwrap().unwrap()).unwrap().0.schema_version, 2);
    assert_eq!(v2.migrate().unwrap(), 20, "{}", C::NAME);
    assert!(stored_versions(&v2).iter().all(|&v| v == 2));
    assert_eq!(v2.get(&7).unwrap().unwrap().name, "user 7");
    assert_eq!(v2.migrate().unwrap(), 0);

    // The version-1 program is refused at open, and writes nothing.
    let before = snapshot(&db, "users");
    let err = Table::<u64, UserV1, C>::open_with(&db, "users").unwrap_err();
    assert!(matches!(err, Error::UnknownSchemaVersion { found: 2, known: 1, .. }), "{err}");
    assert_eq!(snapshot(&db, "users"), before);
    drop((v2, db));
    // And after a reopen of the file the rows are still version 2.
    let db = Emdb::open(path).unwrap();
    let v2 = Table::<u64, UserV2, C>::options("users").version(2).open(&db).unwrap();
    assert_eq!(v2.len().unwrap(), 21);
    assert_eq!(v2.get(&21).unwrap().unwrap().tier, 3);
}

#[test]
fn v1_rows_read_as_v2_with_defaults_and_migrate_under_postcard() {
    let dir = tempfile::tempdir().unwrap();
    v1_then_v2::<Postcard>(&dir.path().join("db"));
}

#[test]
fn v1_rows_read_as_v2_with_defaults_and_migrate_under_bincode() {
    let dir = tempfile::tempdir().unwrap();
    v1_then_v2::<Bincode>(&dir.path().join("db"));
}

#[test]
fn v1_rows_read_as_v2_with_defaults_and_migrate_under_json() {
    let dir = tempfile::tempdir().unwrap();
    v1_then_v2::<Json>(&dir.path().join("db"));
}

// ---------------------------------------------------------------------------------------------
// v1 → v2 → v3: removals, reorders, nested structs, enum variants, aliases; all automatic.

mod account {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub(crate) struct AddressV1 {
        pub(crate) street: String,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub(crate) struct Address {
        pub(crate) street: String,
        #[serde(default)]
        pub(crate) zip: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub(crate) enum PlanV1 {
        Free,
        Paid { seats: u16 },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub(crate) enum Plan {
        Free,
        Trial(u32),
        Paid { seats: u16 },
    }

    /// Version 1.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub(crate) struct V1 {
        pub(crate) id: u64,
        pub(crate) name: String,
        pub(crate) age: u8,
        pub(crate) email: String,
        pub(crate) home: AddressV1,
        pub(crate) plan: PlanV1,
    }

    /// Version 2: `age` removed, `email` and `name` swapped.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub(crate) struct V2 {
        pub(crate) id: u64,
        pub(crate) email: String,
        pub(crate) name: String,
        pub(crate) home: AddressV1,
        pub(crate) plan: PlanV1,
    }

    /// Version 3: `name` renamed `full_name` (alias), the address gains `zip`, the plan gains
    /// `Trial`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub(crate) struct V3 {
        pub(crate) id: u64,
        pub(crate) email: String,
        #[serde(alias = "name")]
        pub(crate) full_name: String,
        pub(crate) home: Address,
        pub(crate) plan: Plan,
    }
}

fn three_versions<C: Codec>() {
    use account::{Address, AddressV1, Plan, PlanV1, V1, V2, V3};
    let db = Emdb::open_in_memory();
    let v1 = Table::<u64, V1, C>::open_with(&db, "accounts").unwrap();
    v1.insert(
        &1,
        &V1 {
            id: 1,
            name: "ada".into(),
            age: 36,
            email: "ada@x".into(),
            home: AddressV1 { street: "1 Main".into() },
            plan: PlanV1::Paid { seats: 3 },
        },
    )
    .unwrap();
    let v2 = Table::<u64, V2, C>::options("accounts").version(2).open(&db).unwrap();
    v2.insert(
        &2,
        &V2 {
            id: 2,
            email: "bob@x".into(),
            name: "bob".into(),
            home: AddressV1 { street: "2 Main".into() },
            plan: PlanV1::Free,
        },
    )
    .unwrap();
    let v3 = Table::<u64, V3, C>::options("accounts").version(3).open(&db).unwrap();
    v3.insert(
        &3,
        &V3 {
            id: 3,
            email: "cy@x".into(),
            full_name: "cy".into(),
            home: Address { street: "3 Main".into(), zip: Some("75001".into()) },
            plan: Plan::Trial(30),
        },
    )
    .unwrap();
    assert_eq!(stored_versions(&v3), [1, 2, 3], "{}", C::NAME);
    let ada = V3 {
        id: 1,
        email: "ada@x".into(),
        full_name: "ada".into(),
        home: Address { street: "1 Main".into(), zip: None },
        plan: Plan::Paid { seats: 3 },
    };
    assert_eq!(v3.get(&1).unwrap(), Some(ada.clone()), "{}", C::NAME);
    let bob = v3.get(&2).unwrap().unwrap();
    assert_eq!((bob.full_name.as_str(), bob.plan), ("bob", Plan::Free));
    assert_eq!(v3.migrate().unwrap(), 2);
    assert_eq!(stored_versions(&v3), [3, 3, 3]);
    assert_eq!(v3.get(&1).unwrap(), Some(ada));
}

#[test]
fn three_versions_evolve_automatically_under_postcard() {
    three_versions::<Postcard>();
}

#[test]
fn three_versions_evolve_automatically_under_bincode() {
    three_versions::<Bincode>();
}

#[test]
fn three_versions_evolve_automatically_under_json() {
    three_versions::<Json>();
}

// ---------------------------------------------------------------------------------------------
// Refusals.

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Scored {
    id: u64,
    age: u8,
    score: u32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct ScoredChanged {
    id: u64,
    score: f64,
    #[serde(default)]
    tier: u8,
}

/// Hashes of every file in `dir`.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_same_version_with_another_shape_is_refused_naming_every_difference_and_the_file_is_unchanged()
 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Emdb::open(&path).unwrap();
        let t = Table::<u64, Scored>::open(&db, "scores").unwrap();
        t.insert(&1, &Scored { id: 1, age: 2, score: 3 }).unwrap();
        db.checkpoint().unwrap();
    }
    // Opening and closing the database alone, as a control.
    drop(Emdb::open(&path).unwrap());
    let before = files(dir.path());
    {
        let db = Emdb::open(&path).unwrap();
        let err = Table::<u64, ScoredChanged>::open(&db, "scores").unwrap_err();
        let (version, changes, action) = schema_changed(&err);
        assert_eq!(version, 1);
        assert_eq!(
            changes,
            ["field score: u32 → f64", "field tier: u8 added", "field age removed"]
        );
        assert!(action.contains("declare version 2"), "{action}");
        let message = err.to_string();
        assert!(
            message.starts_with("table \"scores\", schema version 1: field score"),
            "{message}"
        );
    }
    assert_eq!(files(dir.path()), before, "the refused open wrote nothing");
}

#[test]
fn a_new_version_with_a_changed_field_type_is_refused_naming_the_field_and_reads_with_an_upgrade() {
    let db = Emdb::open_in_memory();
    let v1 = Table::<u64, Scored>::open(&db, "scores").unwrap();
    v1.insert(&1, &Scored { id: 1, age: 2, score: 3 }).unwrap();
    let before = snapshot(&db, "scores");
    let err = Table::<u64, ScoredChanged>::options("scores").version(2).open(&db).unwrap_err();
    let (version, changes, action) = schema_changed(&err);
    assert_eq!(version, 2);
    assert_eq!(changes, ["field score: u32 → f64"]);
    assert!(action.contains("register an upgrade from version 1"), "{action}");
    assert_eq!(snapshot(&db, "scores"), before);

    let v2 = Table::<u64, ScoredChanged>::options("scores")
        .version(2)
        .with_upgrade(1, |old: Scored| ScoredChanged {
            id: old.id,
            score: f64::from(old.score) / 2.0,
            tier: old.age,
        })
        .open(&db)
        .unwrap();
    assert_eq!(v2.get(&1).unwrap(), Some(ScoredChanged { id: 1, score: 1.5, tier: 2 }));
}

#[test]
fn a_new_field_without_a_default_and_a_removed_variant_are_refused() {
    #[derive(Serialize, Deserialize)]
    enum Color {
        Red,
        Green,
    }
    #[derive(Serialize, Deserialize)]
    enum ColorV2 {
        Red,
    }
    #[derive(Serialize, Deserialize)]
    struct V1 {
        color: Color,
    }
    #[derive(Serialize, Deserialize)]
    struct NoDefault {
        color: Color,
        tier: u8,
    }
    #[derive(Serialize, Deserialize)]
    struct Fewer {
        color: ColorV2,
    }
    let db = Emdb::open_in_memory();
    Table::<u64, V1>::open(&db, "t").unwrap().insert(&1, &V1 { color: Color::Green }).unwrap();
    let err = Table::<u64, NoDefault>::options("t").version(2).open(&db).unwrap_err();
    let (_, changes, action) = schema_changed(&err);
    assert_eq!(changes, ["field tier: u8 added without a serde default"]);
    assert!(action.contains("register an upgrade from version 1"), "{action}");
    let err = Table::<u64, Fewer>::options("t").version(2).open(&db).unwrap_err();
    assert_eq!(schema_changed(&err).1, ["variant color.Green removed"]);
}

#[test]
fn a_removed_field_is_refused_when_the_new_type_denies_unknown_fields() {
    #[derive(Serialize, Deserialize)]
    struct V1 {
        a: u8,
        b: u8,
    }
    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        a: u8,
    }
    let db = Emdb::open_in_memory();
    Table::<u64, V1>::open(&db, "t").unwrap().insert(&1, &V1 { a: 1, b: 2 }).unwrap();
    let err = Table::<u64, Strict>::options("t").version(2).open(&db).unwrap_err();
    assert_eq!(
        schema_changed(&err).1,
        ["field b removed, but the type has #[serde(deny_unknown_fields)]"]
    );
}

// ---------------------------------------------------------------------------------------------
// Chains mixing automatic and hand-written steps.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ItemV1 {
    id: u64,
    price: u32,
}

/// Version 2 adds a defaulted field: an automatic step from 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ItemV2 {
    id: u64,
    price: u32,
    #[serde(default)]
    stock: u16,
}

/// Version 3 turns cents into a decimal price: a hand-written step from 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ItemV3 {
    id: u64,
    price: f64,
    stock: u16,
}

/// Version 4 adds an optional note: an automatic step from 3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    id: u64,
    price: f64,
    stock: u16,
    note: Option<String>,
}

#[expect(clippy::needless_pass_by_value, reason = "an upgrade takes the old value")]
fn cents_to_price(old: ItemV2) -> ItemV3 {
    ItemV3 { id: old.id, price: f64::from(old.price) / 100.0, stock: old.stock }
}

fn chain<C: Codec>() {
    let db = Emdb::open_in_memory();
    Table::<u64, ItemV1, C>::open_with(&db, "items")
        .unwrap()
        .insert(&1, &ItemV1 { id: 1, price: 250 })
        .unwrap();
    Table::<u64, ItemV2, C>::options("items")
        .version(2)
        .open(&db)
        .unwrap()
        .insert(&2, &ItemV2 { id: 2, price: 1000, stock: 5 })
        .unwrap();
    Table::<u64, ItemV3, C>::options("items")
        .version(3)
        .with_upgrade(2, cents_to_price)
        .open(&db)
        .unwrap()
        .insert(&3, &ItemV3 { id: 3, price: 0.5, stock: 1 })
        .unwrap();
    let items = Table::<u64, Item, C>::options("items")
        .version(4)
        .with_upgrade(2, cents_to_price)
        .open(&db)
        .unwrap();
    assert_eq!(stored_versions(&items), [1, 2, 3], "{}", C::NAME);
    let all: Vec<Item> = items.iter().unwrap().map(|e| e.unwrap().1).collect();
    assert_eq!(
        all,
        [
            Item { id: 1, price: 2.5, stock: 0, note: None },
            Item { id: 2, price: 10.0, stock: 5, note: None },
            Item { id: 3, price: 0.5, stock: 1, note: None },
        ],
        "{}",
        C::NAME
    );
    assert_eq!(items.migrate().unwrap(), 3);
    assert_eq!(items.get(&1).unwrap(), Some(Item { id: 1, price: 2.5, stock: 0, note: None }));

    // Without the hand-written step the type change from version 2 is refused.
    let err = Table::<u64, Item, C>::options("items").version(5).open(&db).unwrap_err();
    let (_, changes, _) = schema_changed(&err);
    assert!(changes.contains(&"field price: u32 → f64".to_owned()), "{changes:?}");
}

#[test]
fn automatic_and_hand_written_steps_chain_under_postcard() {
    chain::<Postcard>();
}

#[test]
fn automatic_and_hand_written_steps_chain_under_bincode() {
    chain::<Bincode>();
}

#[test]
fn automatic_and_hand_written_steps_chain_under_json() {
    chain::<Json>();
}

#[test]
fn an_upgrade_given_another_type_than_its_version_was_written_with_is_refused() {
    let db = Emdb::open_in_memory();
    Table::<u64, ItemV1>::open(&db, "items")
        .unwrap()
        .insert(&1, &ItemV1 { id: 1, price: 1 })
        .unwrap();
    // The step from 1 claims version 1 was an ItemV2.
    let err = Table::<u64, ItemV3>::options("items")
        .version(2)
        .with_upgrade(1, cents_to_price)
        .open(&db)
        .unwrap_err();
    let (_, changes, action) = schema_changed(&err);
    assert_eq!(changes, ["field stock: u16 added"]);
    assert!(action.contains("give with_upgrade the version-1 type"), "{action}");
}

// ---------------------------------------------------------------------------------------------
// Errors name keys as the key type.

#[test]
fn decode_errors_show_the_typed_key_and_the_likely_cause() {
    fn key_of<K: Serialize + DeserializeOwned + Debug + 'static>(key: &K) -> String {
        let db = Emdb::open_in_memory();
        let t = Table::<K, u32>::open(&db, "t").unwrap();
        // A value of version 1 whose payload is not a u32.
        t.namespace().insert(emdb_typed::key::encode(key).unwrap(), [1, 1, 0xff]).unwrap();
        t.iter().unwrap().next().unwrap().unwrap_err().to_string()
    }
    let err = key_of(&7_u64);
    assert!(err.starts_with("cannot decode the entry at key 7 of table \"t\": "), "{err}");
    assert!(err.contains("declare version 2"), "{err}");
    assert!(!err.contains("another type or codec"), "{err}");
    assert!(key_of(&"alice".to_owned()).contains("at key \"alice\" of"));
    assert!(key_of(&(1_u8, 2_i32)).contains("at key (1, 2) of"));
}

// ---------------------------------------------------------------------------------------------
// Types serde-reflection cannot trace by itself.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Role {
    Reader,
    Writer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MemberV1 {
    id: u64,
    roles: Vec<Role>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Member {
    id: u64,
    roles: Vec<Role>,
    #[serde(default)]
    active: bool,
}

#[test]
fn an_enum_inside_a_sequence_needs_with_enum_to_evolve_under_a_binary_codec() {
    // Without the hint the shape of version 1 is not recorded, and version 2 is refused.
    let db = Emdb::open_in_memory();
    let v1 = Table::<u64, MemberV1>::open(&db, "members").unwrap();
    v1.insert(&1, &MemberV1 { id: 1, roles: vec![Role::Writer] }).unwrap();
    let err = Table::<u64, Member>::options("members")
        .version(2)
        .with_enum::<Role>()
        .open(&db)
        .unwrap_err();
    let (version, changes, _) = schema_changed(&err);
    assert_eq!(version, 1);
    assert!(changes[0].contains("TableOptions::with_enum"), "{changes:?}");

    // With the hint from the start, version 1 evolves by itself.
    let db = Emdb::open_in_memory();
    let v1 = Table::<u64, MemberV1>::options("members").with_enum::<Role>().open(&db).unwrap();
    v1.insert(&1, &MemberV1 { id: 1, roles: vec![Role::Writer, Role::Reader] }).unwrap();
    let v2 =
        Table::<u64, Member>::options("members").version(2).with_enum::<Role>().open(&db).unwrap();
    assert_eq!(
        v2.get(&1).unwrap(),
        Some(Member { id: 1, roles: vec![Role::Writer, Role::Reader], active: false })
    );
}
