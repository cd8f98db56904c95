//! Time-to-live through the typed layer: expired entries vanish from every typed read path, and
//! `update` and `migrate` keep an entry's expiry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use emdb_core::{Emdb, ManualClock, Ttl};
use emdb_typed::{Table, read_header};

fn db_with_clock() -> (Emdb, ManualClock) {
    let clock = ManualClock::new(1_000_000);
    let db = Emdb::builder().clock(Arc::new(clock.clone())).build().unwrap();
    (db, clock)
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn an_expired_entry_is_invisible_to_every_typed_read() {
    let (db, clock) = db_with_clock();
    let t = Table::<u64, String>::open(&db, "sessions").unwrap();
    t.insert_with_ttl(&1, &"short".to_owned(), Ttl::After(MINUTE)).unwrap();
    t.insert(&2, &"forever".to_owned()).unwrap();
    assert_eq!(t.len().unwrap(), 2);
    assert_eq!(t.ttl(&1).unwrap(), Some(MINUTE));

    clock.advance(MINUTE);
    assert_eq!(t.get(&1).unwrap(), None);
    assert_eq!(t.get_raw(&1).unwrap(), None);
    assert!(!t.contains_key(&1).unwrap());
    assert_eq!(t.len().unwrap(), 1);
    assert_eq!(t.iter().unwrap().count(), 1);
    assert_eq!(t.range(0..10).unwrap().count(), 1);
    assert_eq!(t.first().unwrap().map(|(k, _)| k), Some(2));
    assert_eq!(t.remove(&1).unwrap(), None);
    assert_eq!(t.update(&1, |_| panic!("expired entries are not updated")).unwrap(), None);
    let seen = db.transaction(|tx| t.tx(tx).get(&1)).unwrap();
    assert_eq!(seen, None);
}

#[test]
fn the_default_ttl_applies_to_plain_inserts() {
    let clock = ManualClock::new(0);
    let db = Emdb::builder().clock(Arc::new(clock.clone())).default_ttl(MINUTE).build().unwrap();
    let t = Table::<u64, String>::open(&db, "cache").unwrap();
    t.insert(&1, &"x".to_owned()).unwrap();
    assert_eq!(t.ttl(&1).unwrap(), Some(MINUTE));
    clock.advance(MINUTE);
    assert!(t.is_empty().unwrap());
}

#[test]
fn the_catalog_entry_never_expires_even_with_a_default_ttl() {
    let clock = ManualClock::new(0);
    let db = Emdb::builder().clock(Arc::new(clock.clone())).default_ttl(MINUTE).build().unwrap();
    Table::<u64, String>::open(&db, "cache").unwrap();
    clock.advance(MINUTE * 10);
    // The recorded types still guard the table.
    assert!(Table::<u64, u64>::open(&db, "cache").is_err());
}

#[test]
fn update_keeps_the_entrys_expiry() {
    let (db, clock) = db_with_clock();
    let t = Table::<u64, u32>::open(&db, "t").unwrap();
    t.insert_with_ttl(&1, &0, Ttl::After(MINUTE)).unwrap();
    t.insert(&2, &0).unwrap();
    clock.advance(Duration::from_secs(20));
    assert_eq!(t.update(&1, |n| *n += 1).unwrap(), Some(1));
    assert_eq!(t.update(&2, |n| *n += 1).unwrap(), Some(1));
    assert_eq!(t.ttl(&1).unwrap(), Some(Duration::from_secs(40)));
    assert_eq!(t.ttl(&2).unwrap(), None, "an entry without expiry does not get one");
    clock.advance(Duration::from_secs(40));
    assert_eq!(t.get(&1).unwrap(), None);
    assert_eq!(t.get(&2).unwrap(), Some(1));
}

#[test]
fn insert_with_ttl_inside_a_transaction_expires_like_outside() {
    let (db, clock) = db_with_clock();
    let t = Table::<u64, u32>::open(&db, "t").unwrap();
    db.transaction(|tx| {
        t.tx(tx).insert_with_ttl(&1, &1, Ttl::After(MINUTE))?;
        assert_eq!(t.tx(tx).ttl(&1)?, Some(MINUTE));
        Ok(())
    })
    .unwrap();
    assert_eq!(t.ttl(&1).unwrap(), Some(MINUTE));
    clock.advance(MINUTE);
    assert!(t.is_empty().unwrap());
}

#[test]
fn migrate_keeps_expiries_and_skips_nothing_live() {
    let (db, clock) = db_with_clock();
    let v1 = Table::<u64, u32>::open(&db, "t").unwrap();
    v1.insert_with_ttl(&1, &1, Ttl::After(MINUTE)).unwrap();
    v1.insert(&2, &2).unwrap();
    v1.insert_with_ttl(&3, &3, Ttl::After(Duration::from_secs(1))).unwrap();
    clock.advance(Duration::from_secs(1)); // key 3 is now expired
    let v2 = Table::<u64, u32>::options("t").version(2).open(&db).unwrap();
    assert_eq!(v2.migrate().unwrap(), 2);
    assert_eq!(v2.ttl(&1).unwrap(), Some(Duration::from_secs(59)));
    assert_eq!(v2.ttl(&2).unwrap(), None);
    assert_eq!(v2.get(&1).unwrap(), Some(1));
    assert_eq!(read_header(&v2.get_raw(&1).unwrap().unwrap()).unwrap().0.schema_version, 2);
    assert_eq!(v2.get(&3).unwrap(), None, "an expired entry is not brought back");
}
