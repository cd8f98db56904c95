//! The secondary-index surface of `#[derive(Record)]`: `by_<field>()` handles for plain, unique,
//! multi-valued (`Vec`) and optional (`Option`) fields, queried on a table and in a transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb::{Emdb, Error, Record, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Record)]
#[emdb(table = "users")]
struct User {
    #[emdb(key)]
    id: u64,
    #[emdb(index(unique))]
    email: String,
    #[emdb(index)]
    team: String,
    #[emdb(index)]
    tags: Vec<String>,
    #[emdb(index)]
    manager: Option<u64>,
}

fn user(id: u64, email: &str, team: &str, tags: &[&str], manager: Option<u64>) -> User {
    User {
        id,
        email: email.to_owned(),
        team: team.to_owned(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        manager,
    }
}

fn ids(rows: impl Iterator<Item = Result<(u64, User)>>) -> Vec<u64> {
    rows.map(|row| row.map(|(id, _)| id)).collect::<Result<_>>().unwrap()
}

fn fill(db: &Emdb) -> emdb::Table<u64, User> {
    let users = User::table(db).unwrap();
    users.put(&user(3, "c@x", "eng", &["rust", "go"], Some(12))).unwrap();
    users.put(&user(1, "a@b.c", "eng", &["rust"], Some(10))).unwrap();
    users.put(&user(2, "b@x", "ops", &[], None)).unwrap();
    users.put(&user(4, "d@x", "eng", &["rust", "rust"], Some(25))).unwrap();
    users.put(&user(5, "e@x", "ops", &["go"], Some(19))).unwrap();
    users
}

#[test]
fn every_kind_of_derived_index_answers_its_queries() {
    let db = Emdb::open_in_memory();
    let users = fill(&db);
    let ada = users.get_by(&User::by_email(), &"a@b.c".to_owned()).unwrap();
    assert_eq!(ada.map(|u| u.id), Some(1));
    assert_eq!(users.get_by(&User::by_email(), "nobody@x").unwrap(), None);
    assert_eq!(ids(users.find_by(&User::by_team(), &"eng".to_owned()).unwrap()), [1, 3, 4]);
    // A repeated element is one entry; an empty Vec has none.
    assert_eq!(ids(users.find_by(&User::by_tags(), &"rust".to_owned()).unwrap()), [1, 3, 4]);
    assert_eq!(ids(users.find_by(&User::by_tags(), "go").unwrap()), [3, 5]);
    // Index-value order: managers 10, 12, 19 (25 is out of range, None is not indexed).
    assert_eq!(ids(users.range_by(&User::by_manager(), 10..20).unwrap()), [1, 3, 5]);
    assert_eq!(ids(users.range_by(&User::by_manager(), ..).unwrap()), [1, 3, 5, 4]);
    users.verify_indexes().unwrap();
}

#[test]
fn updates_and_removals_replace_exactly_the_changed_entries() {
    let db = Emdb::open_in_memory();
    let users = fill(&db);
    users
        .update(&1, |u| {
            u.team = "ops".into();
            u.tags.push("go".into());
            u.manager = None;
        })
        .unwrap();
    assert_eq!(ids(users.find_by(&User::by_team(), "eng").unwrap()), [3, 4]);
    assert_eq!(ids(users.find_by(&User::by_team(), "ops").unwrap()), [1, 2, 5]);
    assert_eq!(ids(users.find_by(&User::by_tags(), "go").unwrap()), [1, 3, 5]);
    assert_eq!(ids(users.range_by(&User::by_manager(), ..).unwrap()), [3, 5, 4]);
    users.remove(&3).unwrap();
    assert_eq!(ids(users.find_by(&User::by_tags(), "go").unwrap()), [1, 5]);
    assert_eq!(users.get_by(&User::by_email(), "c@x").unwrap(), None);
    users.verify_indexes().unwrap();
    users.clear().unwrap();
    assert_eq!(users.find_by(&User::by_team(), "ops").unwrap().count(), 0);
    users.verify_indexes().unwrap();
}

#[test]
fn a_transaction_sees_its_own_writes_through_every_query() {
    let db = Emdb::open_in_memory();
    let users = fill(&db);
    let seen = db
        .transaction(|tx| {
            let mut t = users.tx(tx);
            t.put(&user(9, "z@x", "eng", &["zig"], Some(11)))?;
            t.remove(&1)?;
            Ok((
                t.get_by(&User::by_email(), "z@x")?.map(|u| u.id),
                ids(t.find_by(&User::by_team(), "eng")?),
                ids(t.find_by(&User::by_tags(), "zig")?),
                ids(t.range_by(&User::by_manager(), 10..=12)?),
            ))
        })
        .unwrap();
    assert_eq!(seen, (Some(9), vec![3, 4, 9], vec![9], vec![9, 3]));
    assert_eq!(ids(users.find_by(&User::by_team(), "eng").unwrap()), [3, 4, 9]);
}

#[test]
fn a_rolled_back_transaction_leaves_no_entry() {
    let db = Emdb::open_in_memory();
    let users = fill(&db);
    let failed = db.transaction::<_, ()>(|tx| {
        users.tx(tx).put(&user(9, "z@x", "eng", &["zig"], Some(11)))?;
        Err(Error::TransactionAborted("changed my mind"))
    });
    assert!(failed.is_err());
    assert_eq!(users.find_by(&User::by_tags(), "zig").unwrap().count(), 0);
    users.verify_indexes().unwrap();
}

#[test]
fn an_index_the_table_was_not_opened_with_is_an_error_naming_it() {
    let db = Emdb::open_in_memory();
    let plain = emdb::Table::<u64, User>::open(&db, "plain").unwrap();
    let err = plain.find_by(&User::by_team(), "eng").unwrap_err();
    assert!(matches!(err, Error::UnknownIndex { ref index, .. } if index == "team"), "{err}");
}

#[test]
fn a_table_write_inside_a_transaction_closure_is_refused_not_deadlocked() {
    let db = Emdb::open_in_memory();
    let users = fill(&db);
    let result = db.transaction(|_tx| users.put(&user(9, "z@x", "eng", &[], None)));
    assert!(matches!(result, Err(Error::WriteInTransaction)), "{result:?}");
    assert_eq!(users.get_by(&User::by_email(), "z@x").unwrap(), None);
}
