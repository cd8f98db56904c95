//! Schema versions with hand-written upgrades: a table that declares a newer version upgrades old
//! values lazily on read (through registered steps, chained) and eagerly with `migrate`; a value
//! newer than the declared version is `UnknownSchemaVersion`; an old value whose shape is not
//! recorded and that has no upgrade is never misread.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb_core::{Emdb, Error};
use emdb_typed::{Bincode, Codec, Json, Postcard, Record, Table, key, read_header, write_header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// What version 1 of the program stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UserV1 {
    id: u64,
    name: String,
}

/// Version 2: the name split in two, and a visit counter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    first: String,
    last: String,
    visits: u32,
}

impl Record for User {
    type Key = u64;
    type Codec = Postcard;
    const TABLE: &'static str = "users";
    const VERSION: u32 = 2;
    fn key(&self) -> u64 {
        self.id
    }
    fn upgrades(
        options: emdb_typed::TableOptions<u64, Self, Postcard>,
    ) -> emdb_typed::TableOptions<u64, Self, Postcard> {
        options.with_upgrade(1, upgrade)
    }
}

fn upgrade(old: UserV1) -> User {
    let UserV1 { id, name } = old;
    let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
    User { id, first: first.into(), last: last.into(), visits: 0 }
}

/// Stores `value` as a program declaring `version` of the value type would have: the value
/// header, then the codec's payload, at the key's encoding. (The Rust type of an older version
/// has another name in this test, so it cannot open the table through the catalog check.)
fn store_as<C: Codec, T: Serialize, K: Serialize, V>(
    table: &Table<u64, V, C>,
    key: &K,
    version: u32,
    value: &T,
) where
    V: Serialize + DeserializeOwned + 'static,
{
    let mut bytes = Vec::new();
    write_header(C::ID, version, &mut bytes);
    C::encode_into(value, &mut bytes).unwrap();
    table.namespace().insert(key::encode(key).unwrap(), bytes).unwrap();
}

fn stored_version<C: Codec, V>(table: &Table<u64, V, C>, key: u64) -> u32
where
    V: Serialize + DeserializeOwned + 'static,
{
    read_header(&table.get_raw(&key).unwrap().unwrap()).unwrap().0.schema_version
}

fn ada_v1() -> UserV1 {
    UserV1 { id: 1, name: "Ada Lovelace".into() }
}

fn ada() -> User {
    User { id: 1, first: "Ada".into(), last: "Lovelace".into(), visits: 0 }
}

#[test]
fn a_record_table_writes_values_with_the_records_version() {
    let db = Emdb::open_in_memory();
    let users = User::table(&db).unwrap();
    assert_eq!(users.version(), 2);
    users.put(&ada()).unwrap();
    assert_eq!(stored_version(&users, 1), 2);
}

#[test]
fn an_old_value_is_upgraded_lazily_on_read_and_stays_old_until_rewritten() {
    let db = Emdb::open_in_memory();
    let users = User::table(&db).unwrap();
    store_as(&users, &1_u64, 1, &ada_v1());
    assert_eq!(users.get(&1).unwrap(), Some(ada()));
    assert_eq!(users.iter().unwrap().next().unwrap().unwrap(), (1, ada()));
    assert_eq!(users.first().unwrap(), Some((1, ada())));
    assert_eq!(stored_version(&users, 1), 1, "reading does not write");
    // update writes the upgraded value back in the declared version.
    let visited = users.update(&1, |u| u.visits += 1).unwrap().unwrap();
    assert_eq!(visited.visits, 1);
    assert_eq!(stored_version(&users, 1), 2);
}

#[test]
fn an_old_value_of_an_unrecorded_shape_without_an_upgrade_is_a_decode_error_not_a_misread() {
    let db = Emdb::open_in_memory();
    let users = Table::<u64, User>::options("users").version(2).open(&db).unwrap();
    store_as(&users, &1_u64, 1, &ada_v1());
    let err = users.get(&1).unwrap_err();
    assert!(matches!(&err, Error::Decode { table, .. } if table == "users"), "{err}");
    assert!(err.to_string().contains("at key 1 of table"), "{err}");
    assert!(err.to_string().contains("register an upgrade from version 1"), "{err}");
}

#[test]
fn a_value_newer_than_the_declared_version_is_unknown_schema_version() {
    let db = Emdb::open_in_memory();
    let old_program = Table::<u64, UserV1>::open(&db, "users").unwrap(); // declares version 1
    let new_program = User::table(&db).unwrap(); // declares version 2
    new_program.put(&ada()).unwrap();
    // A handle opened before the newer program still writes its version.
    old_program.insert(&2, &UserV1 { id: 2, ..ada_v1() }).unwrap();
    let err = old_program.get(&1).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownSchemaVersion { table, found: 2, known: 1 } if table == "users"),
        "{err}"
    );
    // In iteration the newer value is an error for its item; the older one still reads.
    let items: Vec<_> = old_program.iter().unwrap().collect();
    assert!(matches!(items[0], Err(Error::UnknownSchemaVersion { found: 2, .. })));
    assert_eq!(items[1].as_ref().unwrap().0, 2);
    // The newer program reads the version-1 value through its step from version 1.
    assert_eq!(new_program.get(&2).unwrap().unwrap().id, 2);
    // Opening the old program again is refused, before anything is written.
    let err = Table::<u64, UserV1>::open(&db, "users").unwrap_err();
    assert!(matches!(err, Error::UnknownSchemaVersion { found: 2, known: 1, .. }), "{err}");
}

#[test]
fn migrate_rewrites_every_old_value_in_the_declared_version() {
    let db = Emdb::open_in_memory();
    let users = User::table(&db).unwrap();
    for id in 1..=5 {
        store_as(&users, &id, 1, &UserV1 { id, name: format!("User {id}") });
    }
    users.put(&User { id: 6, first: "New".into(), last: "User".into(), visits: 9 }).unwrap();
    assert_eq!(users.migrate().unwrap(), 5);
    for id in 1..=6 {
        assert_eq!(stored_version(&users, id), 2);
    }
    assert_eq!(users.get(&3).unwrap().unwrap().last, "3");
    assert_eq!(users.get(&6).unwrap().unwrap().visits, 9, "current values are left alone");
    assert_eq!(users.migrate().unwrap(), 0);
}

#[test]
fn hand_written_steps_chain_from_each_version_to_the_next() {
    let db = Emdb::open_in_memory();
    // Version 1 stored just a name, version 2 a UserV1, version 3 is User.
    let users = Table::<u64, User>::options("users")
        .version(3)
        .with_upgrade(1, |name: String| UserV1 { id: 0, name })
        .with_upgrade(2, upgrade)
        .open(&db)
        .unwrap();
    store_as(&users, &1_u64, 1, &"Grace Hopper".to_owned());
    store_as(&users, &2_u64, 2, &UserV1 { id: 2, name: "Alan Turing".into() });
    assert_eq!(users.get(&1).unwrap().unwrap().first, "Grace", "1 -> 2 -> 3");
    assert_eq!(users.migrate().unwrap(), 2);
    assert_eq!(users.get(&1).unwrap().unwrap().last, "Hopper");
    assert_eq!(users.get(&2).unwrap().unwrap().first, "Alan");
    assert_eq!(stored_version(&users, 1), 3);
}

#[test]
fn a_migrate_batch_is_atomic_a_value_that_fails_to_decode_leaves_every_value_as_it_was() {
    let db = Emdb::open_in_memory();
    let users = User::table(&db).unwrap();
    store_as(&users, &1_u64, 1, &ada_v1());
    store_as(&users, &2_u64, 1, &ada_v1());
    store_as(&users, &3_u64, 1, &42_u8); // not a UserV1
    let before: Vec<_> = users.namespace().iter().unwrap().map(Result::unwrap).collect();
    let err = users.migrate().unwrap_err();
    match &err {
        Error::Decode { table, key, .. } => {
            assert_eq!(table, "users");
            assert_eq!(key, &key::encode(&3_u64).unwrap());
        }
        other => panic!("expected Decode, got {other}"),
    }
    let after: Vec<_> = users.namespace().iter().unwrap().map(Result::unwrap).collect();
    assert_eq!(after, before);
}

#[test]
fn migrate_refuses_a_table_holding_values_newer_than_it_knows() {
    let db = Emdb::open_in_memory();
    let users = User::table(&db).unwrap();
    store_as(&users, &1_u64, 1, &ada_v1());
    store_as(&users, &2_u64, 3, &ada());
    let err = users.migrate().unwrap_err();
    assert!(matches!(err, Error::UnknownSchemaVersion { found: 3, known: 2, .. }), "{err}");
    assert_eq!(stored_version(&users, 1), 1);
}

#[test]
fn old_json_values_that_lack_an_optional_field_read_without_an_upgrade_or_a_recorded_shape() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Profile {
        name: String,
        #[serde(default)]
        bio: Option<String>,
    }
    let db = Emdb::open_in_memory();
    let profiles = Table::<u64, Profile, Json>::options("profiles").version(2).open(&db).unwrap();
    let mut old = vec![Json::ID, 1];
    old.extend_from_slice(br#"{"name":"ada"}"#);
    profiles.namespace().insert(key::encode(&1_u64).unwrap(), old).unwrap();
    assert_eq!(profiles.get(&1).unwrap(), Some(Profile { name: "ada".into(), bio: None }));
}

#[test]
fn upgrades_decode_the_old_payload_with_the_tables_codec() {
    let db = Emdb::open_in_memory();
    let users = Table::<u64, User, Bincode>::options("users_b")
        .version(2)
        .with_upgrade(1, upgrade)
        .open(&db)
        .unwrap();
    store_as(&users, &1_u64, 1, &ada_v1());
    assert_eq!(users.get(&1).unwrap(), Some(ada()));
    assert_eq!(users.migrate().unwrap(), 1);
    assert_eq!(read_header(&users.get_raw(&1).unwrap().unwrap()).unwrap().0.codec_id, 2);
}
