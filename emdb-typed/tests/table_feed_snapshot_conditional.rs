//! A typed table's change feed, read snapshot and conditional writes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use emdb_core::{Emdb, Error, ManualClock, Ttl};
use emdb_typed::{Table, TableEvent};
use serde::{Deserialize, Serialize};

const WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Product {
    name: String,
    stock: u32,
}

fn product(name: &str, stock: u32) -> Product {
    Product { name: name.to_owned(), stock }
}

#[test]
fn a_table_watcher_receives_decoded_inserts_updates_and_removals() {
    let db = Emdb::open_in_memory();
    let products = Table::<u64, Product>::open(&db, "products").unwrap();
    let other = Table::<u64, Product>::open(&db, "other").unwrap();
    let feed = products.watch().unwrap();
    products.insert(&1, &product("pen", 3)).unwrap();
    other.insert(&1, &product("not watched", 0)).unwrap();
    products.insert(&1, &product("pen", 2)).unwrap();
    products.remove(&1).unwrap();
    let events: Vec<_> = (0..3).map(|_| feed.recv_timeout(WAIT).unwrap().unwrap().events).collect();
    assert_eq!(events[0], vec![TableEvent::Insert { key: 1, value: product("pen", 3) }]);
    assert_eq!(
        events[1],
        vec![TableEvent::Update { key: 1, old: product("pen", 3), new: product("pen", 2) }]
    );
    assert_eq!(events[2], vec![TableEvent::Remove { key: 1, old: product("pen", 2) }]);
    assert_eq!(feed.try_recv().unwrap(), None, "the other table's write never arrived");
}

#[test]
fn a_typed_transaction_arrives_as_one_commit() {
    let db = Emdb::open_in_memory();
    let products = Table::<u64, Product>::open(&db, "products").unwrap();
    let feed = products.watch().unwrap();
    db.transaction(|tx| {
        let mut t = products.tx(tx);
        t.insert(&1, &product("a", 1))?;
        t.insert(&2, &product("b", 2))?;
        Ok(())
    })
    .unwrap();
    let commit = feed.recv_timeout(WAIT).unwrap().unwrap();
    assert_eq!(commit.events.len(), 2);
    assert!(matches!(&commit.events[1], TableEvent::Insert { key: 2, .. }));
}

#[test]
fn a_snapshot_reads_the_table_as_it_was() {
    let db = Emdb::open_in_memory();
    let stock = Table::<String, u32>::open(&db, "stock").unwrap();
    stock.insert("apple", &3).unwrap();
    stock.insert("pear", &1).unwrap();
    let before = stock.snapshot();
    stock.insert("apple", &0).unwrap();
    stock.remove("pear").unwrap();
    stock.insert("zucchini", &9).unwrap();
    assert_eq!(before.get("apple").unwrap(), Some(3));
    assert!(before.contains_key("pear").unwrap());
    assert_eq!(before.len().unwrap(), 2);
    assert!(!before.is_empty().unwrap());
    let rows: Vec<_> = before.iter().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows, vec![("apple".to_owned(), 3), ("pear".to_owned(), 1)]);
    assert_eq!(before.range("b"..).unwrap().count(), 1);
    assert_eq!(before.first().unwrap(), Some(("apple".to_owned(), 3)));
    assert_eq!(before.last().unwrap(), Some(("pear".to_owned(), 1)));
    assert_eq!(stock.snapshot().len().unwrap(), 2);
    assert_eq!(stock.snapshot().last().unwrap(), Some(("zucchini".to_owned(), 9)));
}

#[test]
fn typed_conditional_writes_compare_rows_and_report_the_row_found() {
    let clock = ManualClock::new(1_700_000_000_000);
    let db = Emdb::builder().clock(Arc::new(clock.clone())).build().unwrap();
    let seats = Table::<String, u32>::open(&db, "seats").unwrap();
    assert!(seats.insert_if_absent("f1", &3).unwrap());
    assert!(!seats.insert_if_absent("f1", &9).unwrap());
    seats.compare_and_swap("f1", Some(&3), Some(&2)).unwrap().unwrap();
    let stale = seats.compare_and_swap("f1", Some(&3), Some(&1)).unwrap().unwrap_err();
    assert_eq!(stale.current, Some(2));
    seats.compare_and_swap("f1", Some(&2), None).unwrap().unwrap();
    assert_eq!(seats.get("f1").unwrap(), None);
    seats.compare_and_swap("f2", None, Some(&5)).unwrap().unwrap();
    assert!(seats.expire("f2", Ttl::After(Duration::from_secs(1))).unwrap());
    clock.advance(Duration::from_secs(2));
    assert_eq!(seats.get("f2").unwrap(), None, "expired at its new TTL");
    assert!(!seats.expire("f2", Ttl::Never).unwrap());
}

#[test]
fn typed_get_or_insert_with_computes_each_row_once_across_threads() {
    let db = Emdb::open_in_memory();
    let cache = Table::<u64, String>::open(&db, "cache").unwrap();
    let computed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (cache, computed) = (&cache, &computed);
            s.spawn(move || {
                for k in 0..17u64 {
                    let v = cache
                        .get_or_insert_with(&k, || {
                            computed.fetch_add(1, Ordering::Relaxed);
                            format!("row {k}")
                        })
                        .unwrap();
                    assert_eq!(v, format!("row {k}"));
                }
            });
        }
    });
    assert_eq!(computed.load(Ordering::Relaxed), 17);
    let err = db.transaction(|_| cache.get_or_insert_with(&99, String::new)).unwrap_err();
    assert!(matches!(err, Error::WriteInTransaction));
}

#[test]
fn conditional_writes_keep_secondary_indexes_in_step_and_snapshots_query_them() {
    use emdb_typed::Index;
    let clock = ManualClock::new(1_700_000_000_000);
    let db = Emdb::builder().clock(Arc::new(clock.clone())).build().unwrap();
    let by_name = Index::unique("name", |p: &Product| vec![p.name.clone()]);
    let by_stock = Index::non_unique("stock", |p: &Product| vec![p.stock]);
    let t = Table::<u64, Product>::options("products")
        .index(by_name.clone())
        .index(by_stock.clone())
        .open(&db)
        .unwrap();
    assert!(t.insert_if_absent(&1, &product("pen", 3)).unwrap());
    assert!(!t.insert_if_absent(&1, &product("ink", 9)).unwrap());
    t.compare_and_swap(&1, Some(&product("pen", 3)), Some(&product("pen", 2))).unwrap().unwrap();
    let stale = t.compare_and_swap(&1, Some(&product("pen", 3)), None).unwrap().unwrap_err();
    assert_eq!(stale.current, Some(product("pen", 2)));
    assert_eq!(t.get_or_insert_with(&2, || product("cap", 2)).unwrap(), product("cap", 2));
    t.verify_indexes().unwrap();
    let before = t.snapshot();
    t.compare_and_swap(&1, Some(&product("pen", 2)), None).unwrap().unwrap();
    assert_eq!(t.get_by(&by_name, "pen").unwrap(), None, "the removal took its entries");
    assert_eq!(before.get_by(&by_name, "pen").unwrap(), Some(product("pen", 2)));
    let twos: Vec<u64> = before.find_by(&by_stock, &2).unwrap().map(|r| r.unwrap().0).collect();
    assert_eq!(twos, [1, 2], "the snapshot's index entries and rows at one commit");
    assert_eq!(before.range_by(&by_stock, 0..10).unwrap().count(), 2);
    assert!(t.expire(&2, Ttl::After(Duration::from_secs(1))).unwrap());
    t.verify_indexes().unwrap();
    clock.advance(Duration::from_secs(2));
    assert_eq!(t.get_by(&by_name, "cap").unwrap(), None, "expired with its row");
    assert!(t.insert_if_absent(&3, &product("cap", 1)).unwrap(), "the unique value is free again");
    t.verify_indexes().unwrap();
}
