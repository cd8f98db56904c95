//! A model test of secondary indexes: random inserts (some with a TTL), updates, removals,
//! committed and rolled back transactions, clock advances that expire rows, and reopens of a
//! file database run against a table with a unique, a plain and a multi-valued index and against
//! a `BTreeMap`; after every step every index query agrees with the model and `verify_indexes`
//! passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use emdb::{Emdb, Error, Index, ManualClock, NonUnique, Table, Ttl, Unique};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    email: u8,
    team: i8,
    tags: Vec<u8>,
}

fn by_email() -> Index<Row, u8, Unique> {
    Index::unique("email", |r: &Row| vec![r.email])
}
fn by_team() -> Index<Row, i8, NonUnique> {
    Index::non_unique("team", |r: &Row| vec![r.team])
}
fn by_tag() -> Index<Row, u8, NonUnique> {
    Index::non_unique("tag", |r: &Row| r.tags.clone())
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u8, Row),
    /// Insert with a TTL of this many seconds and a half.
    InsertTtl(u8, Row, u8),
    /// Advance the clock by this many seconds.
    Advance(u8),
    Remove(u8),
    Retag(u8, Vec<u8>),
    Tx(Vec<(u8, Option<Row>)>, bool),
    Reopen,
}

fn row() -> impl Strategy<Value = Row> {
    (0u8..12, -3i8..3, proptest::collection::vec(0u8..5, 0..4))
        .prop_map(|(email, team, tags)| Row { email, team, tags })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..10, row()).prop_map(|(k, r)| Op::Insert(k, r)),
        2 => (0u8..10, row(), 0u8..4).prop_map(|(k, r, s)| Op::InsertTtl(k, r, s)),
        1 => (1u8..3).prop_map(Op::Advance),
        2 => (0u8..10).prop_map(Op::Remove),
        1 => (0u8..10, proptest::collection::vec(0u8..5, 0..3)).prop_map(|(k, t)| Op::Retag(k, t)),
        2 => (proptest::collection::vec((0u8..10, proptest::option::weighted(0.8, row())), 1..5), any::<bool>())
            .prop_map(|(w, c)| Op::Tx(w, c)),
        1 => Just(Op::Reopen),
    ]
}

/// The live rows, each with the clock reading (ms) it expires at, if any.
type Model = BTreeMap<u8, (Row, Option<u64>)>;

/// Applies a put to the model unless another row holds its email; returns whether it did.
fn model_put(model: &mut Model, k: u8, row: Row, expires: Option<u64>) -> bool {
    if model.iter().any(|(&other, (r, _))| other != k && r.email == row.email) {
        return false;
    }
    model.insert(k, (row, expires));
    true
}

fn open(path: &std::path::Path, clock: &ManualClock) -> (Emdb, Table<u8, Row>) {
    let db = Emdb::builder().path(path).clock(Arc::new(clock.clone())).build().unwrap();
    let t = Table::<u8, Row>::options("rows")
        .index(by_email())
        .index(by_team())
        .index(by_tag())
        .open(&db)
        .unwrap();
    (db, t)
}

fn keys(rows: emdb::IndexIter<u8, Row>) -> Vec<u8> {
    rows.map(|r| r.unwrap().0).collect()
}

fn check(t: &Table<u8, Row>, model: &Model, lo: i8, hi: i8) {
    let model: BTreeMap<u8, Row> = model.iter().map(|(&k, (r, _))| (k, r.clone())).collect();
    for email in 0..12 {
        let want = model.values().find(|r| r.email == email).cloned();
        assert_eq!(t.get_by(&by_email(), &email).unwrap(), want, "email {email}");
    }
    for team in -3..3 {
        let want: Vec<u8> = model.iter().filter(|(_, r)| r.team == team).map(|(&k, _)| k).collect();
        assert_eq!(keys(t.find_by(&by_team(), &team).unwrap()), want, "team {team}");
    }
    for tag in 0..5 {
        let want: Vec<u8> =
            model.iter().filter(|(_, r)| r.tags.contains(&tag)).map(|(&k, _)| k).collect();
        assert_eq!(keys(t.find_by(&by_tag(), &tag).unwrap()), want, "tag {tag}");
    }
    let mut want: Vec<(i8, u8)> = model
        .iter()
        .filter(|(_, r)| r.team > lo && r.team <= hi)
        .map(|(&k, r)| (r.team, k))
        .collect();
    want.sort_unstable();
    let range = (Bound::Excluded(lo), Bound::Included(hi));
    let got = keys(t.range_by(&by_team(), range).unwrap());
    assert_eq!(got, want.iter().map(|&(_, k)| k).collect::<Vec<_>>(), "team in ({lo}, {hi}]");
    t.verify_indexes().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_index_query_agrees_with_a_btreemap_model(
        ops in proptest::collection::vec(op(), 1..40),
        lo in -4i8..3,
        hi in -4i8..3,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let clock = ManualClock::new(1_000_000);
        let (mut db, mut t) = open(&path, &clock);
        let mut model = Model::new();
        let mut now = 1_000_000u64;
        for op in ops {
            match op {
                Op::Insert(k, row) => {
                    let expect = model_put(&mut model, k, row.clone(), None);
                    let result = t.insert(&k, &row);
                    prop_assert_eq!(result.is_ok(), expect, "{:?}", result);
                }
                Op::InsertTtl(k, row, secs) => {
                    let ttl = Duration::from_millis(u64::from(secs) * 1000 + 500);
                    let expires = now + u64::try_from(ttl.as_millis()).unwrap();
                    let expect = model_put(&mut model, k, row.clone(), Some(expires));
                    let result = t.insert_with_ttl(&k, &row, Ttl::After(ttl));
                    prop_assert_eq!(result.is_ok(), expect, "{:?}", result);
                    if !expect {
                        let violation = matches!(result, Err(Error::UniqueViolation { .. }));
                        prop_assert!(violation, "{:?}", result);
                    }
                }
                Op::Advance(secs) => {
                    clock.advance(Duration::from_secs(u64::from(secs)));
                    now += u64::from(secs) * 1000;
                    model.retain(|_, (_, expires)| expires.is_none_or(|at| at > now));
                }
                Op::Remove(k) => {
                    prop_assert_eq!(t.remove(&k).unwrap(), model.remove(&k).map(|(r, _)| r));
                }
                Op::Retag(k, tags) => {
                    let new = t.update(&k, |r| r.tags.clone_from(&tags)).unwrap();
                    if let Some((r, _)) = model.get_mut(&k) {
                        r.tags = tags;
                    }
                    prop_assert_eq!(new.as_ref(), model.get(&k).map(|(r, _)| r));
                }
                Op::Tx(writes, commit) => {
                    let mut next = model.clone();
                    let mut ok = true;
                    for (k, w) in &writes {
                        match w {
                            Some(row) => ok &= model_put(&mut next, *k, row.clone(), None),
                            None => drop(next.remove(k)),
                        }
                        if !ok { break; }
                    }
                    let result = db.transaction(|tx| {
                        for (k, w) in &writes {
                            match w {
                                Some(row) => t.tx(tx).insert(k, row)?,
                                None => drop(t.tx(tx).remove(k)?),
                            }
                        }
                        if commit { Ok(()) } else { Err(Error::TransactionAborted("rollback")) }
                    });
                    prop_assert_eq!(result.is_ok(), ok && commit, "{:?}", result);
                    if ok && commit {
                        model = next;
                    }
                }
                Op::Reopen => {
                    drop(t);
                    drop(db);
                    (db, t) = open(&path, &clock);
                }
            }
            check(&t, &model, lo, hi);
        }
    }
}
