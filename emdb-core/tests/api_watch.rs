//! The change feed: what a watcher receives for writes, transactions, rollbacks, removals,
//! clears and purges; commit order across threads; lag; namespaces; closing; and the commits a
//! checkpoint writes instead of the log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use emdb_core::{Commit, Emdb, Error, FlushPolicy, ManualClock, RawEvent, Ttl, Watcher};

const WAIT: Duration = Duration::from_secs(5);

fn event(key: &str, old: Option<&str>, new: Option<&str>) -> RawEvent {
    RawEvent {
        key: key.as_bytes().to_vec(),
        old: old.map(|v| v.as_bytes().to_vec()),
        new: new.map(|v| v.as_bytes().to_vec()),
    }
}

fn next(feed: &Watcher<RawEvent>) -> Commit<RawEvent> {
    feed.recv_timeout(WAIT).unwrap().expect("a commit within the wait")
}

#[test]
fn inserts_updates_and_removals_carry_the_old_and_the_new_value() {
    let db = Emdb::open_in_memory();
    let feed = db.watch_prefix("p.").unwrap();
    db.insert("p.a", "1").unwrap();
    db.insert("p.a", "2").unwrap();
    assert_eq!(db.remove("p.a").unwrap(), Some(b"2".to_vec()));
    // Removing an absent key changes nothing: no commit for the watcher.
    db.remove("p.a").unwrap();
    db.insert("p.b", "3").unwrap();
    let commits: Vec<_> = (0..4).map(|_| next(&feed)).collect();
    assert_eq!(commits[0].events, vec![event("p.a", None, Some("1"))]);
    assert_eq!(commits[1].events, vec![event("p.a", Some("1"), Some("2"))]);
    assert_eq!(commits[2].events, vec![event("p.a", Some("2"), None)]);
    assert_eq!(commits[3].events, vec![event("p.b", None, Some("3"))]);
    assert!(commits.windows(2).all(|w| w[0].lsn < w[1].lsn), "LSNs increase");
    assert_eq!(feed.try_recv().unwrap(), None);
}

#[test]
fn keys_outside_the_prefix_and_other_namespaces_never_reach_a_watcher() {
    let db = Emdb::open_in_memory();
    let orders = db.namespace("orders").unwrap();
    let feed = orders.watch_prefix("").unwrap();
    let products = db.watch_prefix("product.").unwrap();
    db.insert("o1", "default namespace").unwrap();
    db.namespace("other").unwrap().insert("o1", "other namespace").unwrap();
    db.insert("productx", "no dot").unwrap();
    orders.insert("o1", "mine").unwrap();
    assert_eq!(next(&feed).events, vec![event("o1", None, Some("mine"))]);
    assert_eq!(feed.try_recv().unwrap(), None);
    assert_eq!(products.try_recv().unwrap(), None);
}

#[test]
fn a_transaction_is_one_commit_and_a_rollback_delivers_nothing() {
    let db = Emdb::open_in_memory();
    db.insert("k.b", "old").unwrap();
    let feed = db.watch_prefix("k.").unwrap();
    db.transaction(|tx| {
        tx.insert("k.a", "1")?;
        tx.insert("k.a", "2")?;
        tx.remove("k.b")?;
        tx.insert("other", "x")?;
        Ok(())
    })
    .unwrap();
    let failed = db.transaction::<_, ()>(|tx| {
        tx.insert("k.c", "never")?;
        Err(Error::TransactionAborted("rolled back"))
    });
    assert!(failed.is_err());
    let commit = next(&feed);
    assert_eq!(
        commit.events,
        vec![
            event("k.a", None, Some("1")),
            event("k.a", Some("1"), Some("2")),
            event("k.b", Some("old"), None)
        ]
    );
    assert_eq!(feed.try_recv().unwrap(), None, "the rolled-back transaction delivered nothing");
}

#[test]
fn a_large_transaction_is_one_commit_in_key_order() {
    let db = Emdb::open_in_memory();
    let feed = db.watch_prefix("").unwrap();
    db.transaction(|tx| {
        for i in (0..100u32).rev() {
            tx.insert(format!("k{i:03}"), "v")?;
        }
        Ok(())
    })
    .unwrap();
    let keys: Vec<_> = next(&feed).events.into_iter().map(|e| e.key).collect();
    let expected: Vec<_> = (0..100u32).map(|i| format!("k{i:03}").into_bytes()).collect();
    assert_eq!(keys, expected);
}

#[test]
fn commits_from_many_threads_arrive_once_each_in_commit_order() {
    let dir = tempfile::tempdir().unwrap();
    // On a file under OnEachWrite, committers share syncs and release each other's commits.
    let durable =
        Emdb::builder().path(dir.path().join("db")).flush_policy(FlushPolicy::OnEachWrite);
    for db in [Emdb::open_in_memory(), durable.build().unwrap()] {
        commits_from_threads_arrive_in_order(&db);
    }
}

fn commits_from_threads_arrive_in_order(db: &Emdb) {
    let feed = db.watch_prefix("t").unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let db = db.clone();
            s.spawn(move || {
                for i in 0..200 {
                    db.insert(format!("t{t}.{i}"), format!("{i}")).unwrap();
                }
            });
        }
    });
    let mut seen = HashSet::new();
    let mut last = 0;
    let mut per_thread = [0u32; 4];
    for _ in 0..800 {
        let commit = next(&feed);
        assert!(commit.lsn > last, "commit order");
        last = commit.lsn;
        assert_eq!(commit.events.len(), 1);
        let key = String::from_utf8(commit.events[0].key.clone()).unwrap();
        assert!(seen.insert(key.clone()), "each change once");
        // Each thread's writes arrive in the order it made them.
        let (thread, i) = key[1..].split_once('.').unwrap();
        let thread: usize = thread.parse().unwrap();
        assert_eq!(i.parse::<u32>().unwrap(), per_thread[thread]);
        per_thread[thread] += 1;
    }
    assert_eq!(feed.try_recv().unwrap(), None);
}

#[test]
fn a_full_queue_drops_commits_reports_the_gap_once_and_goes_on() {
    let db = Emdb::open_in_memory();
    let feed = db.watch_prefix_with_capacity("", 2).unwrap();
    for i in 0..5 {
        db.insert(format!("k{i}"), "v").unwrap();
    }
    assert_eq!(next(&feed).events[0].key, b"k0");
    assert_eq!(next(&feed).events[0].key, b"k1");
    assert!(matches!(feed.recv_timeout(WAIT), Err(Error::Lagged { missed: 3 })));
    assert_eq!(feed.try_recv().unwrap(), None);
    db.insert("k5", "v").unwrap();
    assert_eq!(next(&feed).events[0].key, b"k5", "the watcher goes on after the gap");
}

#[test]
fn purged_and_cleared_entries_arrive_as_removals() {
    let clock = ManualClock::new(1_700_000_000_000);
    let db = Emdb::builder().clock(Arc::new(clock.clone())).build().unwrap();
    db.insert_with_ttl("s.1", "short", Ttl::After(Duration::from_secs(1))).unwrap();
    db.insert("s.2", "long").unwrap();
    let feed = db.watch_prefix("s.").unwrap();
    clock.advance(Duration::from_secs(2));
    // An insert over an expired entry replaces nothing visible.
    db.insert_with_ttl("s.3", "short", Ttl::After(Duration::from_secs(1))).unwrap();
    assert_eq!(next(&feed).events, vec![event("s.3", None, Some("short"))]);
    clock.advance(Duration::from_secs(2));
    assert_eq!(db.purge_expired().unwrap(), 2);
    let mut purged = next(&feed).events;
    purged.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(purged, vec![event("s.1", Some("short"), None), event("s.3", Some("short"), None)]);
    db.clear().unwrap();
    assert_eq!(next(&feed).events, vec![event("s.2", Some("long"), None)]);
    assert_eq!(feed.try_recv().unwrap(), None);
}

#[test]
fn a_closed_database_ends_its_watchers_after_what_they_queued() {
    let db = Emdb::open_in_memory();
    let feed = db.watch_prefix("").unwrap();
    db.insert("a", "1").unwrap();
    drop(db);
    assert_eq!(next(&feed).events, vec![event("a", None, Some("1"))]);
    assert!(matches!(feed.recv(), Err(Error::WatchClosed)));
    let mut feed = feed;
    assert!(feed.next().is_none(), "as an iterator it ends");
}

#[test]
fn a_blocked_receiver_wakes_for_a_commit_from_another_thread() {
    let db = Emdb::open_in_memory();
    let feed = db.watch_prefix("").unwrap();
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            db.insert("late", "v").unwrap();
        })
    };
    let commit = feed.recv().unwrap();
    assert_eq!(commit.events, vec![event("late", None, Some("v"))]);
    writer.join().unwrap();
}

#[test]
fn a_mapped_watcher_turns_each_change_into_its_own_type() {
    let db = Emdb::open_in_memory();
    let feed = db.watch_prefix("n.").unwrap().map_events(|e| {
        let text = String::from_utf8(e.new.unwrap_or_default()).unwrap();
        text.parse::<u32>().map_err(|_| Error::TransactionAborted("not a number"))
    });
    db.insert("n.1", "41").unwrap();
    db.insert("n.2", "x").unwrap();
    assert_eq!(feed.recv_timeout(WAIT).unwrap().unwrap().events, vec![41]);
    assert!(matches!(feed.recv_timeout(WAIT), Err(Error::TransactionAborted(_))));
}

#[test]
fn durable_commits_and_commits_written_by_a_checkpoint_are_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Emdb::builder()
        .path(&path)
        .flush_policy(FlushPolicy::OnEachWrite)
        .checkpoint_wal_bytes(64 * 1024)
        .build()
        .unwrap();
    db.insert("big.0", "before").unwrap();
    let feed = db.watch_prefix("big.").unwrap();
    db.insert("big.1", "one").unwrap();
    assert_eq!(next(&feed).events, vec![event("big.1", None, Some("one"))]);
    // Past the log threshold: written by a checkpoint, never logged.
    let value = "x".repeat(200);
    db.transaction(|tx| {
        for i in 0..1000u32 {
            tx.insert(format!("big.{i}"), &value)?;
        }
        Ok(())
    })
    .unwrap();
    let commit = next(&feed);
    assert_eq!(commit.events.len(), 1000);
    let first = commit.events.iter().find(|e| e.key == b"big.0").unwrap();
    assert_eq!(first.old.as_deref(), Some(&b"before"[..]));
    let second = commit.events.iter().find(|e| e.key == b"big.1").unwrap();
    assert_eq!(second.old.as_deref(), Some(&b"one"[..]));
    assert_eq!(feed.try_recv().unwrap(), None);
}
