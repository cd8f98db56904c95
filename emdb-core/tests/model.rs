//! The model test: random sequences of operations run against emdb and against a `BTreeMap` with
//! expiries and an advancing clock, and every read must agree — once in memory and once on a
//! database file, where checkpoints (explicit and past a tiny log threshold) and reopens join
//! the mix. Values come in three sizes so that inline, packed and overflow values all go through
//! the tree, and iterators must keep the snapshot they were opened at. The same model with
//! power loss ("crash and reopen" through the fault-injecting storage, which is crate-private)
//! is `emdb-core/src/keyspace/model_crash_tests.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use emdb_core::{Emdb, Error, FlushPolicy, ManualClock, Ttl};
use proptest::prelude::*;

#[path = "../src/test_depth.rs"]
mod test_depth;

/// A key space small enough that operations collide, with dotted keys for groups.
const KEYS: &[&str] = &["a", "a.x", "a.y", "a.y.z", "ab", "b", "b.a", "c", ""];

#[derive(Debug, Clone)]
enum Op {
    Insert {
        ns: usize,
        key: usize,
        value: u8,
        ttl_ms: Option<u64>,
    },
    Remove {
        ns: usize,
        key: usize,
    },
    Get {
        ns: usize,
        key: usize,
    },
    Range {
        ns: usize,
        lo: usize,
        hi: usize,
    },
    Prefix {
        ns: usize,
        key: usize,
    },
    Group {
        ns: usize,
        key: usize,
    },
    DeleteGroup {
        ns: usize,
        key: usize,
    },
    Clear {
        ns: usize,
    },
    Persist {
        ns: usize,
        key: usize,
    },
    Ttl {
        ns: usize,
        key: usize,
    },
    Transaction {
        writes: Vec<(usize, usize, Option<u8>)>,
        commit: bool,
    },
    Advance {
        ms: u64,
    },
    Purge,
    Len {
        ns: usize,
    },
    ReverseIter {
        ns: usize,
    },
    /// Opens an iterator now and checks, after all later operations, that it saw this moment.
    Snapshot {
        ns: usize,
    },
    Checkpoint,
    Reopen,
}

/// The value written for `v`: 1, 300 or 3000 bytes (inline, packed, overflow).
fn val(v: u8) -> Vec<u8> {
    vec![v; [1, 300, 3000][usize::from(v % 3)]]
}

fn op() -> impl Strategy<Value = Op> {
    let ns = 0..2usize;
    let key = 0..KEYS.len();
    prop_oneof![
        4 => (ns.clone(), key.clone(), any::<u8>(), proptest::option::of(0..50u64))
            .prop_map(|(ns, key, value, ttl_ms)| Op::Insert { ns, key, value, ttl_ms }),
        2 => (ns.clone(), key.clone()).prop_map(|(ns, key)| Op::Remove { ns, key }),
        2 => (ns.clone(), key.clone()).prop_map(|(ns, key)| Op::Get { ns, key }),
        1 => (ns.clone(), key.clone(), key.clone()).prop_map(|(ns, lo, hi)| Op::Range { ns, lo, hi }),
        1 => (ns.clone(), key.clone()).prop_map(|(ns, key)| Op::Prefix { ns, key }),
        1 => (ns.clone(), key.clone()).prop_map(|(ns, key)| Op::Group { ns, key }),
        1 => (ns.clone(), key.clone()).prop_map(|(ns, key)| Op::DeleteGroup { ns, key }),
        1 => ns.clone().prop_map(|ns| Op::Clear { ns }),
        1 => (ns.clone(), key.clone()).prop_map(|(ns, key)| Op::Persist { ns, key }),
        1 => (ns.clone(), key.clone()).prop_map(|(ns, key)| Op::Ttl { ns, key }),
        2 => (proptest::collection::vec((ns.clone(), key.clone(), proptest::option::of(any::<u8>())), 0..6), any::<bool>())
            .prop_map(|(writes, commit)| Op::Transaction { writes, commit }),
        2 => (0..40u64).prop_map(|ms| Op::Advance { ms }),
        1 => Just(Op::Purge),
        1 => ns.clone().prop_map(|ns| Op::Len { ns }),
        1 => ns.clone().prop_map(|ns| Op::ReverseIter { ns }),
        1 => ns.prop_map(|ns| Op::Snapshot { ns }),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Reopen),
    ]
}

/// `(value, expires_at)` per key, per namespace.
type Model = [BTreeMap<Vec<u8>, (Vec<u8>, u64)>; 2];

fn live(model: &Model, ns: usize, now: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    model[ns]
        .iter()
        .filter(|(_, (_, exp))| *exp == 0 || *exp > now)
        .map(|(k, (v, _))| (k.clone(), v.clone()))
        .collect()
}

#[expect(clippy::too_many_lines, reason = "one match arm per operation reads best in one place")]
/// Runs `ops` on a database in memory, or in a file (with `budget`: under that memory budget),
/// against the model.
fn run(ops: Vec<Op>, on_file: bool, budget: Option<u64>) {
    let clock = ManualClock::new(1_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let open = || {
        let builder = Emdb::builder().clock(Arc::new(clock.clone()));
        let builder = if on_file {
            builder.path(&path).flush_policy(FlushPolicy::Manual).checkpoint_wal_bytes(6_000)
        } else {
            builder
        };
        let builder = match budget {
            Some(bytes) => builder.memory_budget(bytes),
            None => builder,
        };
        let db = builder.build().unwrap();
        let spaces = [db.namespace("zero").unwrap(), db.namespace("one").unwrap()];
        (db, spaces)
    };
    let (mut db, mut spaces) = open();
    let mut model: Model = [BTreeMap::new(), BTreeMap::new()];
    let mut now = 1_000u64;
    let key = |i: usize| KEYS[i].as_bytes().to_vec();
    let mut snapshots = Vec::new();

    for op in ops {
        match op {
            Op::Insert { ns, key: k, value, ttl_ms } => {
                let ttl = ttl_ms.map_or(Ttl::Never, |ms| Ttl::After(Duration::from_millis(ms)));
                spaces[ns].insert_with_ttl(key(k), val(value), ttl).unwrap();
                model[ns].insert(key(k), (val(value), ttl_ms.map_or(0, |ms| now + ms)));
            }
            Op::Remove { ns, key: k } => {
                let expected =
                    live(&model, ns, now).into_iter().find(|(mk, _)| *mk == key(k)).map(|(_, v)| v);
                assert_eq!(spaces[ns].remove(key(k)).unwrap(), expected);
                model[ns].remove(&key(k));
            }
            Op::Get { ns, key: k } => {
                let expected =
                    live(&model, ns, now).into_iter().find(|(mk, _)| *mk == key(k)).map(|(_, v)| v);
                assert_eq!(spaces[ns].get(key(k)).unwrap(), expected);
                assert_eq!(spaces[ns].contains_key(key(k)).unwrap(), expected.is_some());
            }
            Op::Range { ns, lo, hi } => {
                let (lo, hi) = (key(lo), key(hi));
                let expected: Vec<_> = live(&model, ns, now)
                    .into_iter()
                    .filter(|(k, _)| *k >= lo && *k < hi)
                    .collect();
                let got: Vec<_> = spaces[ns].range(lo..hi).unwrap().map(Result::unwrap).collect();
                assert_eq!(got, expected);
            }
            Op::Prefix { ns, key: k } => {
                let p = key(k);
                let expected: Vec<_> =
                    live(&model, ns, now).into_iter().filter(|(k, _)| k.starts_with(&p)).collect();
                let got: Vec<_> = spaces[ns].prefix(&p).unwrap().map(Result::unwrap).collect();
                assert_eq!(got, expected);
            }
            Op::Group { ns, key: k } => match spaces[ns].group(key(k)) {
                Ok(iter) => {
                    let p = [key(k), b".".to_vec()].concat();
                    let expected: Vec<_> = live(&model, ns, now)
                        .into_iter()
                        .filter(|(k, _)| k.starts_with(&p))
                        .collect();
                    assert_eq!(iter.map(Result::unwrap).collect::<Vec<_>>(), expected);
                }
                Err(Error::InvalidPrefix { .. }) => assert!(KEYS[k].is_empty()),
                Err(e) => panic!("unexpected error {e}"),
            },
            Op::DeleteGroup { ns, key: k } => match spaces[ns].delete_group(key(k)) {
                Ok(_) => {
                    let p = [key(k), b".".to_vec()].concat();
                    model[ns].retain(|k, _| !k.starts_with(&p));
                }
                Err(Error::InvalidPrefix { .. }) => assert!(KEYS[k].is_empty()),
                Err(e) => panic!("unexpected error {e}"),
            },
            Op::Clear { ns } => {
                spaces[ns].clear().unwrap();
                model[ns].clear();
            }
            Op::Persist { ns, key: k } => {
                let entry = model[ns].get_mut(&key(k)).filter(|(_, exp)| *exp == 0 || *exp > now);
                let expected = entry.as_ref().is_some_and(|(_, exp)| *exp != 0);
                assert_eq!(spaces[ns].persist(key(k)).unwrap(), expected);
                if let Some(entry) = entry {
                    entry.1 = 0;
                }
            }
            Op::Ttl { ns, key: k } => {
                let expected = model[ns]
                    .get(&key(k))
                    .filter(|(_, exp)| *exp != 0 && *exp > now)
                    .map(|(_, exp)| Duration::from_millis(exp - now));
                assert_eq!(spaces[ns].ttl(key(k)).unwrap(), expected);
            }
            Op::Transaction { writes, commit } => {
                let result = db.transaction(|tx| {
                    for (ns, k, value) in &writes {
                        let mut view = tx.namespace(&spaces[*ns]);
                        match value {
                            Some(v) => view.insert_with_ttl(key(*k), val(*v), Ttl::Never)?,
                            None => drop(view.remove(key(*k))?),
                        }
                    }
                    if commit { Ok(()) } else { Err(Error::TransactionAborted("model abort")) }
                });
                assert_eq!(result.is_ok(), commit);
                if commit {
                    for (ns, k, value) in writes {
                        match value {
                            Some(v) => model[ns].insert(key(k), (val(v), 0)),
                            None => model[ns].remove(&key(k)),
                        };
                    }
                }
            }
            Op::Advance { ms } => {
                now += ms;
                clock.advance(Duration::from_millis(ms));
            }
            Op::Purge => {
                let expired: usize =
                    (0..2).map(|ns| model[ns].len() - live(&model, ns, now).len()).sum();
                assert_eq!(db.purge_expired().unwrap(), expired);
                for m in &mut model {
                    m.retain(|_, (_, exp)| *exp == 0 || *exp > now);
                }
            }
            Op::Len { ns } => {
                assert_eq!(spaces[ns].len().unwrap(), live(&model, ns, now).len());
                assert_eq!(spaces[ns].is_empty().unwrap(), live(&model, ns, now).is_empty());
            }
            Op::Snapshot { ns } => {
                snapshots.push((spaces[ns].iter().unwrap(), live(&model, ns, now)));
            }
            Op::Checkpoint => {
                db.checkpoint().unwrap();
                let report = db.check_integrity().unwrap();
                assert_eq!(report.records, model.iter().map(|m| m.len() as u64).sum::<u64>());
            }
            // An in-memory database has nothing to reopen.
            Op::Reopen if !on_file => {}
            Op::Reopen => {
                for (iter, expected) in snapshots.drain(..) {
                    let got: Vec<_> = iter.map(Result::unwrap).collect();
                    assert_eq!(got, expected, "an iterator saw writes made after it was opened");
                }
                drop(spaces);
                drop(db);
                (db, spaces) = open();
                let report = db.check_integrity().unwrap();
                assert_eq!(report.records, model.iter().map(|m| m.len() as u64).sum::<u64>());
            }
            Op::ReverseIter { ns } => {
                let mut expected = live(&model, ns, now);
                expected.reverse();
                let got: Vec<_> = spaces[ns].iter().unwrap().rev().map(Result::unwrap).collect();
                assert_eq!(got, expected);
            }
        }
    }
    for (ns, space) in spaces.iter().enumerate() {
        let got: Vec<_> = space.iter().unwrap().map(Result::unwrap).collect();
        assert_eq!(got, live(&model, ns, now));
    }
    for (iter, expected) in snapshots {
        let got: Vec<_> = iter.map(Result::unwrap).collect();
        assert_eq!(got, expected, "an iterator saw writes made after it was opened");
    }
    assert!(db.is_empty().unwrap(), "the default namespace was never written");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: test_depth::pick(64, 256, 4096), ..ProptestConfig::default() })]

    #[test]
    fn an_in_memory_database_agrees_with_a_btreemap_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops, false, None);
    }

    #[test]
    fn a_database_file_agrees_with_a_btreemap_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops, true, None);
    }

    /// A budget of 4 KiB keeps about 70 keys' index entries: most reads descend the tree, and
    /// the budget's checkpoint threshold (512 bytes of log) checkpoints at nearly every write.
    #[test]
    fn a_database_file_under_a_tiny_memory_budget_agrees_with_a_btreemap_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops, true, Some(4096));
    }
}
