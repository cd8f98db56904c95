//! Unique secondary indexes: a violation refuses the whole transaction and names the value, a
//! row keeps its own value through updates, and of two racing claims exactly one wins.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::{Arc, Barrier};

use emdb::{Emdb, Error, Record};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Record)]
#[emdb(table = "accounts")]
struct Account {
    #[emdb(key)]
    id: u32,
    #[emdb(index(unique))]
    handle: String,
    #[emdb(index(unique))]
    aliases: Vec<String>,
    visits: u32,
}

fn account(id: u32, handle: &str) -> Account {
    Account { id, handle: handle.into(), aliases: Vec::new(), visits: 0 }
}

#[test]
fn a_violation_rolls_back_the_whole_transaction_and_names_the_value() {
    let db = Emdb::open_in_memory();
    let accounts = Account::table(&db).unwrap();
    accounts.put(&account(1, "ada")).unwrap();
    let err = db
        .transaction(|tx| {
            let mut t = accounts.tx(tx);
            t.put(&account(2, "bob"))?;
            t.put(&account(3, "ada"))
        })
        .unwrap_err();
    match &err {
        Error::UniqueViolation { table, index, value, existing } => {
            assert_eq!((table.as_str(), index.as_str()), ("accounts", "handle"));
            assert_eq!((value.as_str(), existing.as_str()), ("\"ada\"", "1"));
        }
        other => panic!("expected UniqueViolation, got {other}"),
    }
    assert!(err.to_string().contains("\"ada\""), "{err}");
    assert_eq!(accounts.len().unwrap(), 1);
    assert_eq!(accounts.get_by(&Account::by_handle(), "bob").unwrap(), None);
    assert_eq!(accounts.get_by(&Account::by_handle(), "ada").unwrap().map(|a| a.id), Some(1));
    // A single write is refused the same way.
    assert!(matches!(accounts.put(&account(4, "ada")), Err(Error::UniqueViolation { .. })));
    assert_eq!(accounts.len().unwrap(), 1);
    accounts.verify_indexes().unwrap();
}

#[test]
fn updating_a_row_without_changing_its_unique_value_never_trips_its_own_constraint() {
    let db = Emdb::open_in_memory();
    let accounts = Account::table(&db).unwrap();
    let mut ada = account(1, "ada");
    ada.aliases = vec!["a".into(), "lovelace".into()];
    accounts.put(&ada).unwrap();
    accounts.update(&1, |a| a.visits += 1).unwrap();
    ada.visits = 5;
    accounts.put(&ada).unwrap();
    // Moving a value between rows in one transaction is allowed in either order.
    db.transaction(|tx| {
        let mut t = accounts.tx(tx);
        t.update(&1, |a| a.aliases.retain(|x| x != "a"))?;
        let mut bob = account(2, "bob");
        bob.aliases = vec!["a".into()];
        t.put(&bob)
    })
    .unwrap();
    assert_eq!(accounts.get_by(&Account::by_aliases(), "a").unwrap().map(|a| a.id), Some(2));
    assert_eq!(
        accounts.get_by(&Account::by_aliases(), "lovelace").unwrap().map(|a| a.visits),
        Some(5)
    );
    // Freeing a value by removal lets another row take it.
    accounts.remove(&1).unwrap();
    accounts.put(&account(3, "ada")).unwrap();
    accounts.verify_indexes().unwrap();
}

#[test]
fn two_threads_racing_for_one_value_exactly_one_wins() {
    for round in 0..20 {
        let db = Emdb::open_in_memory();
        let accounts = Account::table(&db).unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2u32)
            .map(|i| {
                let (accounts, barrier) = (accounts.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    accounts.db().transaction(|tx| accounts.tx(tx).put(&account(i, "taken")))
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        assert!(results.iter().any(|r| matches!(r, Err(Error::UniqueViolation { .. }))));
        assert_eq!(accounts.len().unwrap(), 1);
        accounts.verify_indexes().unwrap();
    }
}
