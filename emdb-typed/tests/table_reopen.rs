//! Typed tables on a database file: values, the catalog's type checks, schema versions and TTL
//! survive closing and reopening the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::Duration;

use emdb_core::{Emdb, Error, Ttl};
use emdb_typed::{Bincode, Json, Table};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
    tags: Vec<String>,
}

fn user(id: u64) -> User {
    User { id, name: format!("user {id}"), tags: vec!["a".into(); (id % 3) as usize] }
}

#[test]
fn values_and_key_order_survive_a_reopen_for_every_codec() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.emdb");
    {
        let db = Emdb::open(&path).unwrap();
        let p = Table::<i64, User>::open(&db, "p").unwrap();
        let b = Table::<i64, User, Bincode>::open_with(&db, "b").unwrap();
        let j = Table::<i64, User, Json>::open_with(&db, "j").unwrap();
        for id in [5i64, -3, 12, 0, -40] {
            let u = user(id.unsigned_abs());
            p.insert(&id, &u).unwrap();
            b.insert(&id, &u).unwrap();
            j.insert(&id, &u).unwrap();
        }
        p.remove(&0).unwrap();
    }
    let db = Emdb::open(&path).unwrap();
    let p = Table::<i64, User>::open(&db, "p").unwrap();
    let b = Table::<i64, User, Bincode>::open_with(&db, "b").unwrap();
    let j = Table::<i64, User, Json>::open_with(&db, "j").unwrap();
    let keys: Vec<i64> = p.iter().unwrap().map(|r| r.unwrap().0).collect();
    assert_eq!(keys, [-40, -3, 5, 12]);
    assert_eq!(b.len().unwrap(), 5);
    assert_eq!(j.get(&-40).unwrap(), Some(user(40)));
    assert_eq!(b.range(..0).unwrap().count(), 2);
    assert_eq!(p.last().unwrap().map(|(k, _)| k), Some(12));
}

#[test]
fn the_catalog_still_rejects_other_types_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.emdb");
    {
        let db = Emdb::open(&path).unwrap();
        Table::<u64, User>::open(&db, "users").unwrap().insert(&1, &user(1)).unwrap();
    }
    let db = Emdb::open(&path).unwrap();
    assert!(matches!(
        Table::<String, User>::open(&db, "users"),
        Err(Error::TableTypeMismatch { .. })
    ));
    assert!(matches!(
        Table::<u64, User, Json>::open_with(&db, "users"),
        Err(Error::TableTypeMismatch { .. })
    ));
    assert_eq!(Table::<u64, User>::open(&db, "users").unwrap().get(&1).unwrap(), Some(user(1)));
}

#[test]
fn a_typed_ttl_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.emdb");
    {
        let db = Emdb::open(&path).unwrap();
        let t = Table::<u64, String>::open(&db, "sessions").unwrap();
        t.insert_with_ttl(&1, &"token".into(), Ttl::After(Duration::from_secs(3600))).unwrap();
        t.insert(&2, &"forever".into()).unwrap();
    }
    let db = Emdb::open(&path).unwrap();
    let t = Table::<u64, String>::open(&db, "sessions").unwrap();
    let ttl = t.ttl(&1).unwrap().unwrap();
    assert!(ttl > Duration::from_secs(3500) && ttl <= Duration::from_secs(3600));
    assert_eq!(t.ttl(&2).unwrap(), None);
}

#[test]
fn a_cross_table_transaction_is_whole_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.emdb");
    {
        let db = Emdb::open(&path).unwrap();
        let users = Table::<u64, User>::open(&db, "users").unwrap();
        let names = Table::<String, u64>::open(&db, "names").unwrap();
        db.transaction(|tx| {
            users.tx(tx).insert(&9, &user(9))?;
            names.tx(tx).insert("user 9", &9)?;
            Ok(())
        })
        .unwrap();
        let aborted = db.transaction::<_, ()>(|tx| {
            users.tx(tx).insert(&10, &user(10))?;
            Err(Error::TransactionAborted("no"))
        });
        assert!(aborted.is_err());
    }
    let db = Emdb::open(&path).unwrap();
    let users = Table::<u64, User>::open(&db, "users").unwrap();
    let names = Table::<String, u64>::open(&db, "names").unwrap();
    assert_eq!(users.len().unwrap(), 1);
    assert_eq!(names.get("user 9").unwrap(), Some(9));
}
