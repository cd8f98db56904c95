//! Time-to-live: expiry is judged against an injected clock and hides an entry from every read
//! path at once; `persist` and `purge_expired` behave as documented.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use emdb_core::{Emdb, Error, ManualClock, Ttl};

const START: u64 = 1_700_000_000_000;

fn db_with_clock(default_ttl: Option<Duration>) -> (Emdb, ManualClock) {
    let clock = ManualClock::new(START);
    let mut builder = Emdb::builder().clock(Arc::new(clock.clone()));
    if let Some(ttl) = default_ttl {
        builder = builder.default_ttl(ttl);
    }
    (builder.build().unwrap(), clock)
}

#[test]
fn an_expired_entry_is_invisible_on_every_read_path() {
    let (db, clock) = db_with_clock(None);
    let ns = db.namespace("ns").unwrap();
    for target in [&db.namespace("plain").unwrap(), &ns] {
        target.insert_with_ttl("grp.a", "v", Ttl::After(Duration::from_secs(10))).unwrap();
        target.insert("grp.b", "stays").unwrap();
    }
    db.insert_with_ttl("grp.a", "v", Ttl::After(Duration::from_secs(10))).unwrap();
    db.insert("grp.b", "stays").unwrap();
    clock.advance(Duration::from_secs(10));

    assert_eq!(db.get("grp.a").unwrap(), None);
    assert!(!db.contains_key("grp.a").unwrap());
    assert_eq!(db.len().unwrap(), 1);
    assert_eq!(db.iter().unwrap().count(), 1);
    assert_eq!(db.keys().unwrap().count(), 1);
    assert_eq!(db.range("grp.a"..="grp.a").unwrap().count(), 0);
    assert_eq!(db.prefix("grp.").unwrap().count(), 1);
    assert_eq!(db.group("grp").unwrap().count(), 1);
    assert_eq!(db.focus("grp").get("a").unwrap(), None);
    assert_eq!(db.focus("grp").iter().unwrap().count(), 1);
    assert_eq!(db.focus("grp").len().unwrap(), 1);
    assert_eq!(db.ttl("grp.a").unwrap(), None);
    assert_eq!(db.expires_at("grp.a").unwrap(), None);
    assert_eq!(db.remove("grp.a").unwrap(), None, "remove of an expired entry returns nothing");
    db.transaction::<_, ()>(|tx| {
        assert_eq!(tx.get("grp.a")?, None);
        assert!(!tx.namespace(&ns).contains_key("grp.a")?);
        Ok(())
    })
    .unwrap();
    assert_eq!(ns.get("grp.a").unwrap(), None);
    assert_eq!(ns.len().unwrap(), 1);
}

#[test]
fn an_entry_lives_until_the_millisecond_it_expires() {
    let (db, clock) = db_with_clock(None);
    db.insert_with_ttl("k", "v", Ttl::After(Duration::from_millis(1500))).unwrap();
    clock.advance(Duration::from_millis(1499));
    assert!(db.contains_key("k").unwrap());
    assert_eq!(db.ttl("k").unwrap(), Some(Duration::from_millis(1)));
    clock.advance(Duration::from_millis(1));
    assert!(!db.contains_key("k").unwrap());
}

#[test]
fn default_ttl_applies_to_plain_inserts_and_never_overrides_it() {
    let (db, clock) = db_with_clock(Some(Duration::from_secs(60)));
    db.insert("default", "v").unwrap();
    db.insert_with_ttl("explicit-default", "v", Ttl::Default).unwrap();
    db.insert_with_ttl("never", "v", Ttl::Never).unwrap();
    db.focus("f").insert("k", "v").unwrap();
    assert_eq!(db.ttl("default").unwrap(), Some(Duration::from_secs(60)));
    assert_eq!(db.ttl("never").unwrap(), None);
    assert_eq!(
        db.expires_at("default").unwrap(),
        Some(UNIX_EPOCH + Duration::from_millis(START + 60_000))
    );
    clock.advance(Duration::from_secs(60));
    assert_eq!(db.keys().unwrap().map(Result::unwrap).collect::<Vec<_>>(), [b"never".to_vec()]);
}

#[test]
fn without_a_default_ttl_entries_never_expire() {
    let (db, clock) = db_with_clock(None);
    db.insert("k", "v").unwrap();
    clock.advance(Duration::from_secs(10 * 365 * 24 * 3600));
    assert!(db.contains_key("k").unwrap());
    assert_eq!(db.ttl("k").unwrap(), None);
}

#[test]
fn a_ttl_that_overflows_the_clock_is_rejected_and_writes_nothing() {
    let (db, _clock) = db_with_clock(None);
    let err = db.insert_with_ttl("k", "v", Ttl::After(Duration::MAX)).unwrap_err();
    assert!(matches!(err, Error::TtlOverflow { ttl } if ttl == Duration::MAX));
    assert!(err.to_string().contains("Ttl::Never"));
    assert!(db.is_empty().unwrap());
    let err = db
        .transaction::<_, ()>(|tx| tx.insert_with_ttl("k", "v", Ttl::After(Duration::MAX)))
        .unwrap_err();
    assert!(matches!(err, Error::TtlOverflow { .. }));
    assert!(db.is_empty().unwrap());
}

#[test]
fn overwriting_an_entry_replaces_its_expiry() {
    let (db, clock) = db_with_clock(None);
    db.insert_with_ttl("k", "v1", Ttl::After(Duration::from_secs(1))).unwrap();
    db.insert("k", "v2").unwrap();
    clock.advance(Duration::from_secs(2));
    assert_eq!(db.get("k").unwrap(), Some(b"v2".to_vec()));
    assert_eq!(db.purge_expired().unwrap(), 0);
}

#[test]
fn persist_removes_the_expiry_of_a_live_entry_only() {
    let (db, clock) = db_with_clock(None);
    db.insert_with_ttl("k", "v", Ttl::After(Duration::from_secs(5))).unwrap();
    db.insert_with_ttl("gone", "v", Ttl::After(Duration::from_secs(1))).unwrap();
    db.insert("plain", "v").unwrap();
    clock.advance(Duration::from_secs(1));
    assert!(db.persist("k").unwrap());
    assert!(!db.persist("k").unwrap(), "already persistent");
    assert!(!db.persist("gone").unwrap(), "expired entries cannot be revived");
    assert!(!db.persist("plain").unwrap());
    assert!(!db.persist("missing").unwrap());
    clock.advance(Duration::from_secs(3600));
    assert_eq!(db.get("k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn purge_expired_removes_expired_entries_of_every_namespace() {
    let (db, clock) = db_with_clock(None);
    let ns = db.namespace("ns").unwrap();
    for i in 0..10_000 {
        db.insert_with_ttl(format!("k{i}"), "v", Ttl::After(Duration::from_secs(1))).unwrap();
    }
    ns.insert_with_ttl("k", "v", Ttl::After(Duration::from_secs(1))).unwrap();
    ns.insert_with_ttl("later", "v", Ttl::After(Duration::from_secs(100))).unwrap();
    db.insert("keep", "v").unwrap();
    clock.advance(Duration::from_secs(1));
    assert_eq!(db.purge_expired().unwrap(), 10_001);
    assert_eq!(db.purge_expired().unwrap(), 0);
    assert_eq!(db.len().unwrap(), 1);
    assert_eq!(ns.len().unwrap(), 1);
    // Moving the clock back after a purge does not resurrect anything.
    clock.set(START);
    assert_eq!(db.len().unwrap(), 1);
    assert_eq!(db.get("k0").unwrap(), None);
}

#[test]
fn an_iterator_judges_expiry_at_the_time_it_was_created() {
    let (db, clock) = db_with_clock(None);
    db.insert_with_ttl("a", "v", Ttl::After(Duration::from_secs(1))).unwrap();
    db.insert("b", "v").unwrap();
    let iter = db.iter().unwrap();
    clock.advance(Duration::from_secs(2));
    assert_eq!(iter.count(), 2);
    assert_eq!(db.iter().unwrap().count(), 1);
}

/// Regression: a zero TTL written while the clock reads 0 (`ManualClock::new(0)`) computed an
/// expiry of 0, which means "never expires", so the entry lived forever.
#[test]
fn a_zero_ttl_at_a_clock_of_zero_expires_at_once() {
    let clock = ManualClock::new(0);
    let db = Emdb::builder().clock(Arc::new(clock.clone())).build().unwrap();
    db.insert_with_ttl("gone", "v", Ttl::After(Duration::ZERO)).unwrap();
    db.insert_with_ttl("soon", "v", Ttl::After(Duration::from_millis(5))).unwrap();
    assert_eq!(db.get("gone").unwrap(), None);
    assert_eq!(db.get("soon").unwrap(), Some(b"v".to_vec()));
    assert_eq!(db.len().unwrap(), 1);
    clock.advance(Duration::from_millis(5));
    assert_eq!(db.get("soon").unwrap(), None);
    assert_eq!(db.len().unwrap(), 0);
}
