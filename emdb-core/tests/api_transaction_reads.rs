//! Ordered reads inside a transaction (range, prefix, iter, first, last) merged with its own
//! writes, compared with a model; and the application's own error type through
//! `try_transaction`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use emdb_core::{Emdb, Error, ManualClock, Ttl};

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

fn collect(iter: impl Iterator<Item = emdb_core::Result<(Vec<u8>, Vec<u8>)>>) -> Entries {
    iter.collect::<emdb_core::Result<_>>().unwrap()
}

fn model_range(model: &BTreeMap<Vec<u8>, Vec<u8>>, lo: &[u8], hi: &[u8]) -> Entries {
    model.range(lo.to_vec()..hi.to_vec()).map(|(k, v)| (k.clone(), v.clone())).collect()
}

struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

#[test]
fn reads_in_a_transaction_merge_its_writes_with_the_committed_entries() {
    let mut rng = Rng(7);
    for round in 0..60 {
        let dir = tempfile::tempdir().unwrap();
        // Half the rounds on a file with a checkpoint, so committed entries come from the tree.
        let db = if round % 2 == 0 {
            Emdb::open_in_memory()
        } else {
            Emdb::open(dir.path().join("db")).unwrap()
        };
        let mut model = BTreeMap::new();
        for _ in 0..rng.next(40) {
            let k = format!("k{:02}", rng.next(30)).into_bytes();
            let v = format!("c{}", rng.next(1000)).into_bytes();
            db.insert(&k, &v).unwrap();
            model.insert(k, v);
        }
        if round % 2 == 1 {
            db.checkpoint().unwrap();
        }
        let writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..rng.next(25))
            .map(|i| {
                let k = format!("k{:02}", rng.next(30)).into_bytes();
                (k, (rng.next(3) != 0).then(|| format!("t{i}").into_bytes()))
            })
            .collect();
        let (lo, hi) = (format!("k{:02}", rng.next(15)), format!("k{:02}", 15 + rng.next(16)));
        let seen = db
            .transaction(|tx| {
                for (k, v) in &writes {
                    match v {
                        Some(v) => tx.insert(k, v)?,
                        None => drop(tx.remove(k)?),
                    }
                }
                let range = collect(tx.range(lo.as_bytes()..hi.as_bytes())?);
                let all = collect(tx.iter()?);
                let prefix = collect(tx.prefix("k1")?);
                Ok((range, all, prefix, tx.first()?, tx.last()?))
            })
            .unwrap();
        for (k, v) in &writes {
            match v {
                Some(v) => drop(model.insert(k.clone(), v.clone())),
                None => drop(model.remove(k)),
            }
        }
        let all: Entries = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(seen.0, model_range(&model, lo.as_bytes(), hi.as_bytes()), "round {round}");
        assert_eq!(seen.1, all, "round {round}");
        assert_eq!(seen.2, model_range(&model, b"k1", b"k2"), "round {round}");
        assert_eq!(seen.3, all.first().cloned(), "round {round}");
        assert_eq!(seen.4, all.last().cloned(), "round {round}");
        // Committed, the database reads as the transaction did.
        assert_eq!(collect(db.iter().unwrap()), all, "round {round}");
    }
}

#[test]
fn a_namespace_view_reads_its_own_namespace_only() {
    let db = Emdb::open_in_memory();
    let audit = db.namespace("audit").unwrap();
    audit.insert("a1", "x").unwrap();
    db.insert("a0", "default").unwrap();
    let seen = db
        .transaction(|tx| {
            let mut view = tx.namespace(&audit);
            view.insert("a2", "y")?;
            Ok((collect(view.iter()?), view.last()?))
        })
        .unwrap();
    assert_eq!(seen.0, vec![(b"a1".to_vec(), b"x".to_vec()), (b"a2".to_vec(), b"y".to_vec())]);
    assert_eq!(seen.1, Some((b"a2".to_vec(), b"y".to_vec())));
}

#[test]
fn expired_entries_and_expired_buffered_writes_are_not_read() {
    let clock = ManualClock::new(1_700_000_000_000);
    let db = Emdb::builder().clock(Arc::new(clock.clone())).build().unwrap();
    db.insert_with_ttl("a", "gone", Ttl::After(Duration::from_secs(1))).unwrap();
    db.insert("b", "kept").unwrap();
    clock.advance(Duration::from_secs(2));
    let seen = db
        .transaction(|tx| {
            tx.insert_with_ttl("c", "instant", Ttl::After(Duration::ZERO))?;
            Ok((collect(tx.iter()?), tx.first()?, tx.last()?))
        })
        .unwrap();
    assert_eq!(seen.0, vec![(b"b".to_vec(), b"kept".to_vec())]);
    assert_eq!(seen.1, seen.2);
}

#[derive(Debug)]
enum AppError {
    Refused(String),
    Db(Error),
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError::Db(e)
    }
}

#[test]
fn the_applications_error_passes_through_a_transaction_typed() {
    let db = Emdb::open_in_memory();
    db.insert("stock", "1").unwrap();
    let out: Result<(), AppError> = db.try_transaction(|tx| {
        tx.insert("order", "placed")?;
        let stock = tx.get("stock")?.unwrap();
        if stock == b"1" {
            return Err(AppError::Refused(format!(
                "only {} left",
                String::from_utf8_lossy(&stock)
            )));
        }
        Ok(())
    });
    assert!(matches!(&out, Err(AppError::Refused(why)) if why == "only 1 left"), "{out:?}");
    assert_eq!(db.get("order").unwrap(), None, "rolled back");
    // emdb's own errors arrive converted.
    let out: Result<(), AppError> = db.try_transaction(|tx| {
        tx.insert(vec![0u8; emdb_core::MAX_KEY_LEN + 1], "v")?;
        Ok(())
    });
    assert!(matches!(out, Err(AppError::Db(Error::KeyTooLarge { .. }))));
    let done: Result<u32, AppError> = db.try_transaction(|tx| {
        tx.insert("order", "placed")?;
        Ok(7)
    });
    assert_eq!(done.unwrap(), 7);
    assert_eq!(db.get("order").unwrap(), Some(b"placed".to_vec()));
}
