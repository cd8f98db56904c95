//! Writes that depend on what is stored (insert-if-absent, compare-and-swap, get-or-insert,
//! a new TTL for a live entry) and durable sequences: their results, and their atomicity when
//! threads race.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use emdb_core::{Emdb, Error, ManualClock, SEQUENCE_NAMESPACE, Ttl};

fn clocked() -> (Emdb, ManualClock) {
    let clock = ManualClock::new(1_700_000_000_000);
    (Emdb::builder().clock(Arc::new(clock.clone())).build().unwrap(), clock)
}

#[test]
fn insert_if_absent_writes_only_over_an_absent_or_expired_key() {
    let (db, clock) = clocked();
    assert!(db.insert_if_absent("k", "1").unwrap());
    assert!(!db.insert_if_absent("k", "2").unwrap());
    assert_eq!(db.get("k").unwrap(), Some(b"1".to_vec()));
    db.insert_with_ttl("t", "old", Ttl::After(Duration::from_secs(1))).unwrap();
    clock.advance(Duration::from_secs(2));
    assert!(db.insert_if_absent("t", "new").unwrap(), "an expired key counts as absent");
    assert_eq!(db.get("t").unwrap(), Some(b"new".to_vec()));
}

#[test]
fn of_threads_racing_to_insert_one_key_exactly_one_wins() {
    let db = Emdb::open_in_memory();
    for round in 0..50 {
        let key = format!("k{round}");
        let wins = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..4 {
                let (db, key, wins) = (&db, &key, &wins);
                s.spawn(move || {
                    if db.insert_if_absent(key, format!("{t}")).unwrap() {
                        wins.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(wins.load(Ordering::Relaxed), 1, "round {round}");
    }
}

#[test]
fn compare_and_swap_swaps_on_a_match_and_reports_the_value_found_otherwise() {
    let (db, clock) = clocked();
    let none = None::<&[u8]>;
    db.compare_and_swap("n", none, Some("1")).unwrap().unwrap();
    let err = db.compare_and_swap("n", none, Some("x")).unwrap().unwrap_err();
    assert_eq!(err.current, Some(b"1".to_vec()));
    db.compare_and_swap("n", Some("1"), Some("2")).unwrap().unwrap();
    let err = db.compare_and_swap("n", Some("1"), Some("3")).unwrap().unwrap_err();
    assert_eq!(err.current, Some(b"2".to_vec()));
    assert_eq!(db.get("n").unwrap(), Some(b"2".to_vec()), "a mismatch writes nothing");
    db.compare_and_swap("n", Some("2"), none).unwrap().unwrap();
    assert!(!db.contains_key("n").unwrap());
    let err = db.compare_and_swap("n", Some("2"), none).unwrap().unwrap_err();
    assert_eq!(err.current, None);
    // Expecting absence matches an expired entry.
    db.insert_with_ttl("e", "gone", Ttl::After(Duration::from_secs(1))).unwrap();
    clock.advance(Duration::from_secs(2));
    db.compare_and_swap("e", none, Some("fresh")).unwrap().unwrap();
    assert_eq!(db.get("e").unwrap(), Some(b"fresh".to_vec()));
    assert!(err.to_string().contains("no value"), "{err}");
}

#[test]
fn compare_and_swap_loops_from_many_threads_lose_no_increment() {
    let db = Emdb::open_in_memory();
    db.insert("counter", 0u64.to_be_bytes()).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            let db = &db;
            s.spawn(move || {
                for _ in 0..250 {
                    let mut seen = db.get("counter").unwrap().unwrap();
                    loop {
                        let n = u64::from_be_bytes(seen.as_slice().try_into().unwrap());
                        match db
                            .compare_and_swap("counter", Some(&seen), Some((n + 1).to_be_bytes()))
                            .unwrap()
                        {
                            Ok(()) => break,
                            Err(e) => seen = e.current.unwrap(),
                        }
                    }
                }
            });
        }
    });
    assert_eq!(db.get("counter").unwrap(), Some(1000u64.to_be_bytes().to_vec()));
}

#[test]
fn get_or_insert_with_computes_each_absent_key_once_across_threads() {
    let db = Emdb::open_in_memory();
    let computed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (db, computed) = (&db, &computed);
            s.spawn(move || {
                for k in 0..17 {
                    let v = db
                        .get_or_insert_with(format!("cache.{k}"), || {
                            computed.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_millis(1));
                            format!("value {k}")
                        })
                        .unwrap();
                    assert_eq!(v, format!("value {k}").into_bytes());
                }
            });
        }
    });
    assert_eq!(computed.load(Ordering::Relaxed), 17, "one computation per key");
}

#[test]
fn get_or_insert_with_inside_a_transaction_is_an_error_not_a_deadlock() {
    let db = Emdb::open_in_memory();
    let out = db.transaction(|_| db.get_or_insert_with("k", || "v"));
    assert!(matches!(out, Err(Error::WriteInTransaction)));
}

#[test]
fn expire_gives_a_live_entry_a_new_ttl_and_keeps_its_value() {
    let (db, clock) = clocked();
    db.insert("s", "v").unwrap();
    assert!(db.expire("s", Ttl::After(Duration::from_secs(10))).unwrap());
    assert_eq!(db.ttl("s").unwrap(), Some(Duration::from_secs(10)));
    clock.advance(Duration::from_secs(5));
    assert!(db.expire("s", Ttl::After(Duration::from_secs(10))).unwrap(), "extended");
    clock.advance(Duration::from_secs(8));
    assert_eq!(db.get("s").unwrap(), Some(b"v".to_vec()), "alive past its first expiry");
    assert!(db.expire("s", Ttl::Never).unwrap());
    assert_eq!(db.ttl("s").unwrap(), None);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(db.get("s").unwrap(), Some(b"v".to_vec()));
    assert!(!db.expire("absent", Ttl::Never).unwrap());
    db.insert_with_ttl("gone", "v", Ttl::After(Duration::from_secs(1))).unwrap();
    clock.advance(Duration::from_secs(2));
    assert!(!db.expire("gone", Ttl::Never).unwrap(), "an expired entry is not revived");
    assert_eq!(db.get("gone").unwrap(), None);
}

#[test]
fn a_sequence_hands_out_unique_increasing_ids_to_every_thread_and_handle() {
    let db = Emdb::open_in_memory();
    let all = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (db, all) = (&db, &all);
            s.spawn(move || {
                // Each thread takes its own handle: they share the sequence's block.
                let seq = db.sequence("orders").unwrap();
                let mine: Vec<u64> = (0..1500).map(|_| seq.next().unwrap()).collect();
                assert!(mine.windows(2).all(|w| w[0] < w[1]), "increasing per thread");
                all.lock().unwrap().extend(mine);
            });
        }
    });
    let all = all.into_inner().unwrap();
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 6000, "unique");
    assert_eq!(*all.iter().min().unwrap(), 1, "ids start at 1");
    assert_eq!(*all.iter().max().unwrap(), 6000, "no gap without a restart");
    assert_eq!(db.sequence("other").unwrap().next().unwrap(), 1, "sequences are independent");
}

#[test]
fn a_reopened_sequence_goes_on_above_every_id_handed_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut last = 0;
    for _ in 0..3 {
        let db = Emdb::builder().path(&path).flush_policy(emdb_core::FlushPolicy::Manual);
        let db = db.build().unwrap();
        let seq = db.sequence("ids").unwrap();
        for _ in 0..1500 {
            let id = seq.next().unwrap();
            assert!(id > last);
            last = id;
        }
        // Not flushed: the reserved block is durable all the same.
    }
    assert!(Emdb::open(&path).unwrap().namespace_names().contains(&SEQUENCE_NAMESPACE.to_owned()));
}

#[test]
fn a_damaged_sequence_state_is_a_clear_error() {
    let db = Emdb::open_in_memory();
    db.namespace(SEQUENCE_NAMESPACE).unwrap().insert("bad", "not eight bytes").unwrap();
    let err = db.sequence("bad").unwrap().next().unwrap_err();
    assert!(matches!(&err, Error::SequenceDamaged { len: 15, .. }), "{err}");
}
