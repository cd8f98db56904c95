//! `#[derive(Record)]` with typed tables: `Record::table` opens the table the derive names, with
//! the declared codec and schema version, and `Table::put` stores a record under its own key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb::{Emdb, Error, Json, Record, Table};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Record)]
#[emdb(table = "users", version = 2)]
struct User {
    #[emdb(key)]
    id: u64,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Record)]
#[emdb(codec = "json")]
struct TeamMember {
    #[emdb(key)]
    team: String,
    #[emdb(key)]
    user: u64,
    role: String,
}

fn user(id: u64, name: &str) -> User {
    User { id, name: name.into() }
}

#[test]
fn put_stores_a_record_under_its_derived_key() {
    let db = Emdb::open_in_memory();
    let users = User::table(&db).unwrap();
    users.put(&user(7, "ada")).unwrap();
    users.put(&user(3, "bob")).unwrap();
    assert_eq!(users.get(&7).unwrap(), Some(user(7, "ada")));
    assert_eq!(users.get(&4).unwrap(), None);
    let all: Vec<(u64, User)> = users.iter().unwrap().map(Result::unwrap).collect();
    assert_eq!(all, [(3, user(3, "bob")), (7, user(7, "ada"))]);
}

#[test]
fn the_table_has_the_derived_name_and_version() {
    let db = Emdb::open_in_memory();
    let users = User::table(&db).unwrap();
    assert_eq!(users.name(), "users");
    assert_eq!(users.version(), 2);
    assert_eq!(TeamMember::table(&db).unwrap().name(), "team_member");
}

#[test]
fn a_tuple_key_orders_by_its_fields_in_field_order() {
    let db = Emdb::open_in_memory();
    let members = TeamMember::table(&db).unwrap();
    for (team, id) in [("web", 1), ("core", 9), ("core", 2)] {
        members.put(&TeamMember { team: team.into(), user: id, role: "dev".into() }).unwrap();
    }
    let keys: Vec<(String, u64)> = members.iter().unwrap().map(|entry| entry.unwrap().0).collect();
    assert_eq!(keys, [("core".into(), 2), ("core".into(), 9), ("web".into(), 1)]);
    assert!(members.get(&("core".to_owned(), 9)).unwrap().is_some());
}

#[test]
fn the_derived_codec_is_recorded_and_checked_when_the_table_is_reopened() {
    let db = Emdb::open_in_memory();
    User::table(&db).unwrap().put(&user(1, "ada")).unwrap();
    let wrong = Table::<u64, User, Json>::open_with(&db, User::TABLE);
    assert!(matches!(wrong, Err(Error::TableTypeMismatch { .. })), "{wrong:?}");
    assert_eq!(User::table(&db).unwrap().len().unwrap(), 1);
}
