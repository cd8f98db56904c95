//! A model test of secondary indexes: random inserts (some with a TTL), updates, removals,
//! committed and rolled back transactions, clock advances that expire rows, and reopens run
//! against a table with a unique, a plain and a multi-valued index and against a `BTreeMap`;
//! after every step every index query agrees with the model, and `verify_indexes` and
//! `check_integrity` pass.
//!
//! Two runs: on a file, and on a simulated disk whose power goes off in the middle of a step
//! (at a random I/O call of it, or after it) and which is then reopened as a reboot finds it:
//! the rows and every index entry are those of the model before the step or after it (after it
//! if the step returned), never a mix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use emdb::{Emdb, Error, Index, ManualClock, NonUnique, Table, Ttl, Unique};
use emdb_core::simulated_disk::SimulatedDisk;
use proptest::prelude::*;

#[path = "../emdb-core/src/test_depth.rs"]
mod test_depth;
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

/// Where the database lives: a file, or a simulated disk (a fresh one after each power loss).
enum Place {
    File(std::path::PathBuf),
    Disk(SimulatedDisk),
}

fn open(place: &Place, clock: &ManualClock) -> emdb::Result<(Emdb, Table<u8, Row>)> {
    let builder = Emdb::builder().clock(Arc::new(clock.clone()));
    let db = match place {
        Place::File(path) => builder.path(path).build()?,
        Place::Disk(disk) => disk.open(builder.path("/disk/db"))?,
    };
    let t = Table::<u8, Row>::options("rows")
        .index(by_email())
        .index(by_team())
        .index(by_tag())
        .open(&db)?;
    Ok((db, t))
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

/// The rows the table holds now, each with the clock reading (ms) it expires at, if any.
fn stored(t: &Table<u8, Row>) -> Model {
    let rows = t.iter().unwrap().map(|r| r.unwrap());
    rows.map(|(k, row)| {
        let at = t.namespace().expires_at(emdb::key::encode(&k).unwrap()).unwrap();
        let ms = at.map(|at| {
            let since = at.duration_since(std::time::UNIX_EPOCH).unwrap();
            u64::try_from(since.as_millis()).unwrap()
        });
        (k, (row, ms))
    })
    .collect()
}

/// A model run: the database and its table (none while a reopen failed), and the model, at the
/// clock reading `now` (ms).
struct Run {
    place: Place,
    clock: ManualClock,
    now: u64,
    open: Option<(Emdb, Table<u8, Row>)>,
    model: Model,
}

impl Run {
    fn new(place: Place) -> Run {
        let clock = ManualClock::new(1_000_000);
        let open = Some(open(&place, &clock).unwrap());
        Run { place, clock, now: 1_000_000, open, model: Model::new() }
    }

    fn db(&self) -> &Emdb {
        &self.open.as_ref().expect("the database is open").0
    }

    fn t(&self) -> &Table<u8, Row> {
        &self.open.as_ref().expect("the database is open").1
    }

    /// Closes the database (if open) and opens it again.
    fn reopen(&mut self) -> emdb::Result<()> {
        self.open = None;
        self.open = Some(open(&self.place, &self.clock)?);
        Ok(())
    }

    /// Applies `op` to the model alone; returns whether the database must accept it.
    fn model_step(&self, model: &mut Model, op: &Op) -> bool {
        match op {
            Op::Insert(k, row) => model_put(model, *k, row.clone(), None),
            Op::InsertTtl(k, row, secs) => {
                let expires = self.now + u64::from(*secs) * 1000 + 500;
                model_put(model, *k, row.clone(), Some(expires))
            }
            Op::Advance(secs) => {
                let now = self.now + u64::from(*secs) * 1000;
                model.retain(|_, (_, expires)| expires.is_none_or(|at| at > now));
                true
            }
            Op::Remove(k) => {
                model.remove(k);
                true
            }
            Op::Retag(k, tags) => {
                if let Some((r, _)) = model.get_mut(k) {
                    r.tags.clone_from(tags);
                }
                true
            }
            Op::Tx(writes, commit) => {
                let mut next = model.clone();
                for (k, w) in writes {
                    match w {
                        Some(row) if !model_put(&mut next, *k, row.clone(), None) => return false,
                        Some(_) => {}
                        None => drop(next.remove(k)),
                    }
                }
                if *commit {
                    *model = next;
                }
                *commit
            }
            Op::Reopen => true,
        }
    }

    /// Applies `op` to the database and returns what it returned (reads of its result are
    /// checked against `model`, the model after the step).
    fn db_step(&mut self, op: &Op, model: &Model) -> emdb::Result<()> {
        match op {
            Op::Insert(k, row) => self.t().insert(k, row),
            Op::InsertTtl(k, row, secs) => {
                let ttl = Duration::from_millis(u64::from(*secs) * 1000 + 500);
                self.t().insert_with_ttl(k, row, Ttl::After(ttl))
            }
            Op::Advance(secs) => {
                self.clock.advance(Duration::from_secs(u64::from(*secs)));
                self.now += u64::from(*secs) * 1000;
                Ok(())
            }
            Op::Remove(k) => {
                let old = self.t().remove(k)?;
                assert_eq!(old.is_some(), self.model.contains_key(k), "remove {k}");
                Ok(())
            }
            Op::Retag(k, tags) => {
                let new = self.t().update(k, |r| r.tags.clone_from(tags))?;
                assert_eq!(new.as_ref(), model.get(k).map(|(r, _)| r), "retag {k}");
                Ok(())
            }
            Op::Tx(writes, commit) => self.db().transaction(|tx| {
                let t = self.t();
                for (k, w) in writes {
                    match w {
                        Some(row) => t.tx(tx).insert(k, row)?,
                        None => drop(t.tx(tx).remove(k)?),
                    }
                }
                if *commit { Ok(()) } else { Err(Error::TransactionAborted("rollback")) }
            }),
            Op::Reopen => self.reopen(),
        }
    }

    /// One step on both, which must agree; then every query is checked.
    fn step(&mut self, op: &Op, lo: i8, hi: i8) {
        let mut next = self.model.clone();
        let accept = self.model_step(&mut next, op);
        let result = self.db_step(op, &next);
        assert_eq!(result.is_ok(), accept, "{op:?}: {result:?}");
        if let (Op::InsertTtl(..), Err(e)) = (op, &result) {
            assert!(matches!(e, Error::UniqueViolation { .. }), "{e:?}");
        }
        self.model = next;
        self.check(lo, hi);
    }

    /// One step during which the power goes off `after` I/O calls into it (or after it, when
    /// it makes fewer), then the reboot with `seed`: the database holds the model before or
    /// after the step, the latter if the step returned.
    fn step_and_lose_power(&mut self, op: &Op, after: u64, seed: u64, lo: i8, hi: i8) {
        let Place::Disk(disk) = &self.place else { unreachable!("power losses need a disk") };
        let disk = disk.clone();
        disk.power_off_at(disk.io_count() + 1 + after);
        let before = self.model.clone();
        let mut next = before.clone();
        let accept = self.model_step(&mut next, op);
        let returned = self.db_step(op, &next).is_ok();
        assert!(accept || !returned, "{op:?} returned Ok where the model refuses it");
        let rebooted = disk.power_loss(seed);
        self.place = Place::Disk(rebooted);
        self.reopen().unwrap();
        let found = stored(self.t());
        if found != next {
            assert!(!returned, "{op:?} returned but the reboot lost it: {found:?}");
            assert_eq!(
                found, before,
                "{op:?}: the reboot found neither the state before nor after"
            );
        }
        self.model = found;
        self.check(lo, hi);
    }

    fn check(&self, lo: i8, hi: i8) {
        check(self.t(), &self.model, lo, hi);
        let report = self.db().check_integrity().unwrap();
        assert_eq!(report.registered_checks, 1, "{report:?}");
    }
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
        let mut run = Run::new(Place::File(dir.path().join("db")));
        for op in &ops {
            run.step(op, lo, hi);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: test_depth::pick(16, 96, 1_000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_power_loss_in_any_step_leaves_rows_and_indexes_before_or_after_it(
        steps in proptest::collection::vec(
            (op(), proptest::option::weighted(0.3, (prop_oneof![3 => 0u64..6, 1 => 6u64..150], any::<u64>()))),
            1..30,
        ),
        seed in any::<u64>(),
        lo in -4i8..3,
        hi in -4i8..3,
    ) {
        let mut run = Run::new(Place::Disk(SimulatedDisk::new(seed)));
        for (op, cut) in &steps {
            match cut {
                Some((after, seed)) => run.step_and_lose_power(op, *after, *seed, lo, hi),
                None => run.step(op, lo, hi),
            }
        }
    }
}
