//! Closure transactions: atomic commit, rollback on `Err` and on panic, read-your-writes,
//! namespaces, and the error for writing through the handle inside a closure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::panic::{AssertUnwindSafe, catch_unwind};

use emdb_core::{Emdb, Error, Ttl};

#[test]
fn a_committed_transaction_applies_every_write() {
    let db = Emdb::open_in_memory();
    db.insert("b", "old").unwrap();
    let out = db
        .transaction(|tx| {
            tx.insert("a", "1")?;
            let seen = tx.get("a")?;
            tx.remove("b")?;
            Ok(seen)
        })
        .unwrap();
    assert_eq!(out, Some(b"1".to_vec()));
    assert_eq!(db.get("a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(db.get("b").unwrap(), None);
}

#[test]
fn an_aborted_transaction_leaves_no_trace() {
    let db = Emdb::open_in_memory();
    db.insert("keep", "v").unwrap();
    let failed = db.transaction::<_, ()>(|tx| {
        tx.insert("t", "v")?;
        tx.remove("keep")?;
        Err(Error::TransactionAborted("rollback"))
    });
    assert!(matches!(failed, Err(Error::TransactionAborted("rollback"))));
    assert_eq!(db.get("t").unwrap(), None);
    assert_eq!(db.get("keep").unwrap(), Some(b"v".to_vec()));
    assert_eq!(db.len().unwrap(), 1);
}

#[test]
fn a_panicking_transaction_leaves_no_trace_and_the_database_stays_usable() {
    let db = Emdb::open_in_memory();
    let result = catch_unwind(AssertUnwindSafe(|| {
        db.transaction::<_, ()>(|tx| {
            tx.insert("t", "v")?;
            panic!("boom");
        })
    }));
    assert!(result.is_err());
    assert_eq!(db.get("t").unwrap(), None);
    db.insert("after", "panic").unwrap();
    db.transaction(|tx| tx.insert("tx", "after panic")).unwrap();
    assert_eq!(db.len().unwrap(), 2);
}

#[test]
fn a_transaction_reads_its_own_writes_and_removals() {
    let db = Emdb::open_in_memory();
    db.insert("x", "committed").unwrap();
    db.transaction::<_, ()>(|tx| {
        assert_eq!(tx.get("x")?, Some(b"committed".to_vec()));
        tx.insert("x", "mine")?;
        assert_eq!(tx.get("x")?, Some(b"mine".to_vec()));
        assert_eq!(tx.remove("x")?, Some(b"mine".to_vec()));
        assert!(!tx.contains_key("x")?);
        assert_eq!(tx.remove("x")?, None);
        tx.insert_with_ttl("ttl", "v", Ttl::Never)?;
        assert!(tx.contains_key("ttl")?);
        Ok(())
    })
    .unwrap();
    assert_eq!(db.get("x").unwrap(), None);
    assert!(db.contains_key("ttl").unwrap());
}

#[test]
fn a_transaction_spans_namespaces_atomically() {
    let db = Emdb::open_in_memory();
    let orders = db.namespace("orders").unwrap();
    let stock = db.namespace("stock").unwrap();
    stock.insert("widget", "1").unwrap();
    db.transaction::<_, ()>(|tx| {
        tx.namespace(&orders).insert("o1", "widget")?;
        tx.namespace(&stock).insert("widget", "0")?;
        assert_eq!(tx.namespace(&stock).get("widget")?, Some(b"0".to_vec()));
        assert_eq!(tx.get("widget")?, None, "the default namespace is separate");
        Ok(())
    })
    .unwrap();
    assert_eq!(orders.get("o1").unwrap(), Some(b"widget".to_vec()));
    assert_eq!(stock.get("widget").unwrap(), Some(b"0".to_vec()));

    let failed = db.transaction::<_, ()>(|tx| {
        tx.namespace(&orders).insert("o2", "widget")?;
        tx.namespace(&stock).remove("widget")?;
        Err(Error::TransactionAborted("out of stock"))
    });
    assert!(failed.is_err());
    assert_eq!(orders.len().unwrap(), 1);
    assert!(stock.contains_key("widget").unwrap());
}

#[test]
fn writing_through_the_handle_inside_a_transaction_is_an_error_not_a_deadlock() {
    let db = Emdb::open_in_memory();
    let ns = db.namespace("ns").unwrap();
    let err = db
        .transaction::<_, ()>(|_tx| {
            db.insert("k", "v")?;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::WriteInTransaction));
    assert!(matches!(
        db.transaction(|_| db.transaction(|_| Ok(()))),
        Err(Error::WriteInTransaction)
    ));
    assert!(matches!(db.transaction(|_| ns.remove("k")), Err(Error::WriteInTransaction)));
    assert!(matches!(db.transaction(|_| db.namespace("new")), Err(Error::WriteInTransaction)));
    // Reads through the handle are fine inside a transaction.
    db.transaction(|_| db.get("k")).unwrap();
    db.insert("k", "v").unwrap();
}

#[test]
fn oversized_writes_inside_a_transaction_fail_and_the_closure_decides() {
    let db = Emdb::open_in_memory();
    let result = db.transaction(|tx| {
        tx.insert("ok", "v")?;
        tx.insert(vec![0u8; emdb_core::MAX_KEY_LEN + 1], "v")
    });
    assert!(matches!(result, Err(Error::KeyTooLarge { .. })));
    assert!(db.is_empty().unwrap());
}

#[test]
fn an_empty_transaction_commits_nothing_and_returns_its_value() {
    let db = Emdb::open_in_memory();
    assert_eq!(db.transaction(|_| Ok(42)).unwrap(), 42);
    assert!(db.is_empty().unwrap());
}

#[test]
fn concurrent_increments_through_transactions_are_serializable() {
    let db = Emdb::open_in_memory();
    db.insert("counter", 0u64.to_be_bytes()).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || {
                for _ in 0..250 {
                    db.transaction(|tx| {
                        let n = u64::from_be_bytes(tx.get("counter")?.unwrap().try_into().unwrap());
                        tx.insert("counter", (n + 1).to_be_bytes())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(db.get("counter").unwrap(), Some(1000u64.to_be_bytes().to_vec()));
}

#[test]
fn a_transaction_sees_the_ttl_of_committed_and_pending_entries() {
    let db = Emdb::open_in_memory();
    db.insert_with_ttl("k", "v", Ttl::After(std::time::Duration::from_secs(60))).unwrap();
    db.transaction::<_, ()>(|tx| {
        let ttl = tx.ttl("k")?.unwrap();
        assert!(
            ttl <= std::time::Duration::from_secs(60) && ttl > std::time::Duration::from_secs(50)
        );
        tx.insert_with_ttl("k", "v2", Ttl::Never)?;
        assert_eq!(tx.ttl("k")?, None);
        tx.insert_with_ttl("n", "v", Ttl::After(std::time::Duration::from_secs(5)))?;
        assert_eq!(tx.ttl("n")?, Some(std::time::Duration::from_secs(5)));
        tx.remove("n")?;
        assert_eq!(tx.ttl("n")?, None);
        Ok(())
    })
    .unwrap();
    assert_eq!(db.ttl("k").unwrap(), None);
}

#[test]
fn a_key_written_again_and_again_reads_and_commits_its_last_write() {
    let db = Emdb::open_in_memory();
    db.insert("keep", "old").unwrap();
    let other = db.namespace("other").unwrap();
    db.transaction(|tx| {
        for i in 0..100u32 {
            tx.insert("k", i.to_string())?;
            if i % 10 == 0 {
                assert_eq!(tx.get("k")?, Some(i.to_string().into_bytes()));
            }
        }
        tx.insert("gone", "x")?;
        tx.remove("gone")?;
        tx.remove("keep")?;
        assert_eq!(tx.get("keep")?, None);
        tx.insert("keep", "new, and longer than before")?;
        tx.insert("keep", "new")?;
        tx.namespace(&other).insert("k", "in other")?;
        assert_eq!(tx.get("k")?, Some(b"99".to_vec()));
        assert_eq!(tx.namespace(&other).get("k")?, Some(b"in other".to_vec()));
        tx.insert("g.a", "1")?;
        tx.insert("g.b", "2")?;
        tx.remove("g.b")?;
        assert_eq!(tx.delete_group("g")?, 1);
        Ok(())
    })
    .unwrap();
    assert_eq!(db.get("k").unwrap(), Some(b"99".to_vec()));
    assert_eq!(db.get("keep").unwrap(), Some(b"new".to_vec()));
    assert_eq!(db.get("gone").unwrap(), None);
    assert_eq!(db.get("g.a").unwrap(), None);
    assert_eq!(other.get("k").unwrap(), Some(b"in other".to_vec()));
    assert_eq!(db.len().unwrap(), 2);
}

#[test]
fn remove_ignores_absent_and_oversized_keys_and_an_abort_keeps_the_keys() {
    let db = Emdb::open_in_memory();
    let other = db.namespace("other").unwrap();
    db.insert("a", "1").unwrap();
    db.insert("b", "2").unwrap();
    other.insert("a", "kept").unwrap();
    db.transaction::<_, ()>(|tx| {
        tx.remove("a")?;
        assert_eq!(tx.get("a")?, None);
        tx.remove("never there")?;
        tx.remove(vec![7u8; 5000])?;
        tx.insert("b", "3")?;
        tx.remove("b")?;
        tx.insert("c", "written after nothing")?;
        assert_eq!(tx.namespace(&other).get("a")?, Some(b"kept".to_vec()));
        Ok(())
    })
    .unwrap();
    assert_eq!(db.get("a").unwrap(), None);
    assert_eq!(db.get("b").unwrap(), None);
    assert_eq!(db.len().unwrap(), 1);
    assert_eq!(other.get("a").unwrap(), Some(b"kept".to_vec()));
    db.transaction::<_, ()>(|tx| tx.namespace(&other).remove("a").map(drop)).unwrap();
    assert!(other.is_empty().unwrap());
    // An aborted transaction's removals leave the keys in place.
    let aborted = db.transaction::<_, ()>(|tx| {
        tx.remove("c")?;
        Err(Error::TransactionAborted("keep c"))
    });
    assert!(aborted.is_err());
    assert_eq!(db.get("c").unwrap(), Some(b"written after nothing".to_vec()));
}

#[test]
fn a_large_transaction_of_deletes_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let key = |i: u32| format!("key:{i:06}");
    {
        let db = Emdb::open(&path).unwrap();
        db.transaction::<_, ()>(|tx| (0..100_000).try_for_each(|i| tx.insert(key(i), [7u8; 40])))
            .unwrap();
        // 70,000 deletes: past the size at which a sorted batch is checkpointed directly.
        db.transaction::<_, ()>(|tx| {
            (0..70_000).try_for_each(|i| tx.remove(key(i * 10 / 7)).map(drop))
        })
        .unwrap();
        assert_eq!(db.len().unwrap(), 30_000);
    }
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.len().unwrap(), 30_000);
    let deleted: std::collections::HashSet<u32> = (0..70_000).map(|i| i * 10 / 7).collect();
    for i in (0..100_000).step_by(97) {
        assert_eq!(db.contains_key(key(i)).unwrap(), !deleted.contains(&i), "key {i}");
    }
    db.check_integrity().unwrap();
}

#[test]
fn a_small_transaction_writing_a_key_twice_keeps_its_last_write_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Emdb::open(&path).unwrap();
        let other = db.namespace("other").unwrap();
        db.insert("gone", "before").unwrap();
        // Six writes: logged in the order they were made, with no sort.
        db.transaction::<_, ()>(|tx| {
            tx.insert("k", "first")?;
            tx.namespace(&other).insert("k", "other")?;
            tx.insert("k", "second")?;
            tx.remove("gone")?;
            tx.insert("back", "x")?;
            tx.remove("back").map(drop)
        })
        .unwrap();
        assert_eq!(db.get("k").unwrap(), Some(b"second".to_vec()));
        assert_eq!(db.len().unwrap(), 1);
        assert_eq!(other.len().unwrap(), 1);
    }
    let db = Emdb::open(&path).unwrap();
    let other = db.namespace("other").unwrap();
    assert_eq!(db.get("k").unwrap(), Some(b"second".to_vec()));
    assert_eq!(db.get("gone").unwrap(), None);
    assert_eq!(db.get("back").unwrap(), None);
    assert_eq!(other.get("k").unwrap(), Some(b"other".to_vec()));
    assert_eq!(db.len().unwrap(), 1);
}
