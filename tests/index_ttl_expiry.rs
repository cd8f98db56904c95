//! Secondary-index entries expire with their row: an expired row is found by no query, its
//! unique values are free again, and `persist` keeps a row's entries with it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use emdb::{Emdb, ManualClock, Record, Ttl};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Record)]
#[emdb(table = "sessions")]
struct Session {
    #[emdb(key)]
    id: u32,
    #[emdb(index(unique))]
    token: String,
    #[emdb(index)]
    user: u32,
}

#[test]
fn an_expired_row_is_hidden_from_every_index_query_and_frees_its_unique_value() {
    let clock = ManualClock::new(1_000_000);
    let db = Emdb::builder().clock(Arc::new(clock.clone())).build().unwrap();
    let sessions = Session::table(&db).unwrap();
    let ttl = Ttl::After(Duration::from_secs(10));
    sessions.insert_with_ttl(&1, &Session { id: 1, token: "t1".into(), user: 7 }, ttl).unwrap();
    sessions.insert(&2, &Session { id: 2, token: "t2".into(), user: 7 }).unwrap();
    assert_eq!(sessions.find_by(&Session::by_user(), &7).unwrap().count(), 2);

    clock.advance(Duration::from_secs(11));
    assert_eq!(sessions.get_by(&Session::by_token(), "t1").unwrap(), None);
    let live: Vec<u32> =
        sessions.find_by(&Session::by_user(), &7).unwrap().map(|r| r.unwrap().0).collect();
    assert_eq!(live, [2]);
    assert_eq!(sessions.range_by(&Session::by_user(), 0..100).unwrap().count(), 1);
    sessions.verify_indexes().unwrap();
    // The expired row's unique value is free.
    sessions.insert(&3, &Session { id: 3, token: "t1".into(), user: 8 }).unwrap();
    assert_eq!(sessions.get_by(&Session::by_token(), "t1").unwrap().map(|s| s.id), Some(3));
    sessions.verify_indexes().unwrap();
}

#[test]
fn a_persisted_row_keeps_its_entries_past_its_old_expiry() {
    let clock = ManualClock::new(1_000_000);
    let db = Emdb::builder().clock(Arc::new(clock.clone())).build().unwrap();
    let sessions = Session::table(&db).unwrap();
    let ttl = Ttl::After(Duration::from_secs(10));
    sessions.insert_with_ttl(&1, &Session { id: 1, token: "t1".into(), user: 7 }, ttl).unwrap();
    assert!(sessions.persist(&1).unwrap());
    clock.advance(Duration::from_secs(60));
    assert_eq!(sessions.get_by(&Session::by_token(), "t1").unwrap().map(|s| s.id), Some(1));
    assert_eq!(sessions.find_by(&Session::by_user(), &7).unwrap().count(), 1);
    sessions.verify_indexes().unwrap();
}
