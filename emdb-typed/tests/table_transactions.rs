//! Typed tables in transactions: writes to several tables commit as one, an aborted transaction
//! writes nothing to any of them, and `update` is an atomic read-modify-write under contention.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::{Arc, Barrier};

use emdb_core::{Emdb, Error};
use emdb_typed::{Json, Postcard, Record, Table};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: u64,
    item: String,
}

impl Record for Order {
    type Key = u64;
    type Codec = Json;
    const TABLE: &'static str = "orders";
    fn key(&self) -> u64 {
        self.id
    }
}

#[test]
fn writes_to_two_tables_and_a_raw_namespace_commit_together() {
    let db = Emdb::open_in_memory();
    let orders = Order::table(&db).unwrap();
    let stock = Table::<String, u32, Postcard>::open(&db, "stock").unwrap();
    let log = db.namespace("log").unwrap();
    stock.insert("apple", &3).unwrap();
    db.transaction(|tx| {
        orders.tx(tx).put(&Order { id: 1, item: "apple".into() })?;
        stock.tx(tx).update("apple", |n| *n -= 1)?;
        tx.namespace(&log).insert("1", "sold an apple")?;
        Ok(())
    })
    .unwrap();
    assert_eq!(orders.get(&1).unwrap().map(|o| o.item), Some("apple".to_owned()));
    assert_eq!(stock.get("apple").unwrap(), Some(2));
    assert_eq!(log.len().unwrap(), 1);
}

#[test]
fn an_aborted_transaction_writes_nothing_to_either_table() {
    let db = Emdb::open_in_memory();
    let orders = Order::table(&db).unwrap();
    let stock = Table::<String, u32>::open(&db, "stock").unwrap();
    stock.insert("apple", &3).unwrap();
    orders.put(&Order { id: 9, item: "pear".into() }).unwrap();
    let before_orders = orders.namespace().iter().unwrap().map(Result::unwrap).collect::<Vec<_>>();
    let before_stock = stock.namespace().iter().unwrap().map(Result::unwrap).collect::<Vec<_>>();

    let result = db.transaction::<_, ()>(|tx| {
        orders.tx(tx).put(&Order { id: 1, item: "apple".into() })?;
        orders.tx(tx).remove(&9)?;
        stock.tx(tx).update("apple", |n| *n -= 1)?;
        stock.tx(tx).insert("banana", &10)?;
        assert_eq!(stock.tx(tx).get("apple")?, Some(2), "the transaction reads its writes");
        Err(Error::TransactionAborted("payment declined"))
    });
    assert!(matches!(result, Err(Error::TransactionAborted("payment declined"))));
    let after_orders = orders.namespace().iter().unwrap().map(Result::unwrap).collect::<Vec<_>>();
    let after_stock = stock.namespace().iter().unwrap().map(Result::unwrap).collect::<Vec<_>>();
    assert_eq!(after_orders, before_orders);
    assert_eq!(after_stock, before_stock);
}

#[test]
fn a_typed_error_inside_a_transaction_aborts_it() {
    let db = Emdb::open_in_memory();
    let a = Table::<u64, String>::open(&db, "a").unwrap();
    let b = Table::<String, u8>::open(&db, "b").unwrap();
    let result = db.transaction::<_, ()>(|tx| {
        a.tx(tx).insert(&1, &"kept?".to_owned())?;
        b.tx(tx).insert(&"k".repeat(emdb_core::MAX_KEY_LEN), &1)?;
        Ok(())
    });
    assert!(matches!(result, Err(Error::KeyTooLarge { .. })));
    assert!(a.is_empty().unwrap());
    assert!(b.is_empty().unwrap());
}

#[test]
fn a_panic_inside_a_transaction_writes_nothing() {
    let db = Emdb::open_in_memory();
    let a = Table::<u64, String>::open(&db, "a").unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        db.transaction::<_, ()>(|tx| {
            a.tx(tx).insert(&1, &"x".to_owned())?;
            panic!("boom");
        })
    }));
    assert!(caught.is_err());
    assert!(a.is_empty().unwrap());
    a.insert(&2, &"the writer lock was released".to_owned()).unwrap();
}

#[test]
fn table_writes_through_the_handle_inside_a_transaction_are_refused() {
    let db = Emdb::open_in_memory();
    let a = Table::<u64, String>::open(&db, "a").unwrap();
    let result = db.transaction(|_| a.insert(&1, &"x".to_owned()));
    assert!(matches!(result, Err(Error::WriteInTransaction)));
    let result = db.transaction(|_| a.update(&1, |_| ()));
    assert!(matches!(result, Err(Error::WriteInTransaction)));
}

#[test]
fn update_is_atomic_under_four_threads_incrementing_one_counter() {
    const THREADS: u64 = 4;
    const INCREMENTS: u64 = 500;
    let db = Emdb::open_in_memory();
    let counters = Table::<String, u64>::open(&db, "counters").unwrap();
    counters.insert("hits", &0).unwrap();
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (counters, barrier) = (counters.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let mut seen = Vec::new();
                for _ in 0..INCREMENTS {
                    seen.push(counters.update("hits", |n| *n += 1).unwrap().unwrap());
                }
                seen
            })
        })
        .collect();
    let mut all: Vec<u64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert_eq!(counters.get("hits").unwrap(), Some(THREADS * INCREMENTS));
    // Every increment saw a distinct value: no two updates read the same count.
    all.sort_unstable();
    assert_eq!(all, (1..=THREADS * INCREMENTS).collect::<Vec<_>>());
}

#[test]
fn tables_are_send_sync_and_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Table<u64, Order, Json>>();
    assert_send_sync::<emdb_typed::TableIter<u64, Order, Json>>();
    let db = Emdb::open_in_memory();
    let orders = Order::table(&db).unwrap();
    std::thread::scope(|s| {
        for t in 0..4_u64 {
            let orders = &orders;
            s.spawn(move || {
                for i in 0..50 {
                    orders.put(&Order { id: t * 100 + i, item: format!("{t}/{i}") }).unwrap();
                }
            });
        }
    });
    assert_eq!(orders.len().unwrap(), 200);
}
