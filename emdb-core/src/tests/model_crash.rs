//! The model test with power loss: random operation sequences run against a database on the
//! fault-injecting storage and against a `BTreeMap` with expiries, where "crash and reopen" (a
//! power loss now, or a power loss a few I/O calls into the next write, checkpoint or
//! compaction, with any damage mode) joins writes, transactions, group deletes, an advancing
//! clock, purges, flushes, checkpoints, compactions and clean reopens.
//!
//! After a crash the database must hold exactly the state after some prefix of the commits that
//! starts at the last durable point: under `OnEachWrite` that is the model state itself (plus, for
//! a crash inside a commit that did not return, that commit or not); under `Manual` any state
//! since the last `flush`, checkpoint, compaction or reopen. `check_integrity` must pass after
//! every reopen. Tiny thresholds force automatic checkpoints, and values of three sizes put
//! inline, packed and overflow values in the tree. 256 cases per run (64 in a short run, 8,192 in a soak: see `crate::test_depth`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;

use crate::db::Emdb;
use crate::error::Error;
use crate::io::fault::{CrashMode, FaultStorage};
use crate::keyspace::FlushPolicy;
use crate::test_depth;
use crate::{ManualClock, Namespace, Ttl};

const DB: &str = "/db/data";
const NAMES: [&str; 2] = ["zero", "one"];
/// A key space small enough that operations collide, with dotted keys for groups.
const KEYS: &[&str] = &["a", "a.x", "a.y", "a.y.z", "b", "b.a", "c"];

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
    DeleteGroup {
        ns: usize,
        key: usize,
    },
    Transaction {
        writes: Vec<(usize, usize, Option<u8>)>,
        commit: bool,
    },
    Get {
        ns: usize,
        key: usize,
    },
    Advance {
        ms: u64,
    },
    Purge,
    Flush,
    Checkpoint,
    Compact,
    Reopen,
    /// Power loss now, then reopen.
    Crash {
        mode: u8,
        seed: u64,
    },
    /// Power off `ios` I/O calls into `op` (a write, a checkpoint or a compaction), then
    /// reopen.
    CrashDuring {
        ios: u8,
        mode: u8,
        seed: u64,
        op: Box<Op>,
    },
}

/// The value written for `v`: 1, 300 or 3000 bytes (inline, packed, overflow).
fn val(v: u8) -> Vec<u8> {
    vec![v; [1, 300, 3000][usize::from(v % 3)]]
}

fn write_op() -> impl Strategy<Value = Op> {
    let ns = 0..2usize;
    let key = 0..KEYS.len();
    prop_oneof![
        4 => (ns.clone(), key.clone(), any::<u8>(), proptest::option::of(1..60u64))
            .prop_map(|(ns, key, value, ttl_ms)| Op::Insert { ns, key, value, ttl_ms }),
        2 => (ns.clone(), key.clone()).prop_map(|(ns, key)| Op::Remove { ns, key }),
        1 => (ns.clone(), key.clone()).prop_map(|(ns, key)| Op::DeleteGroup { ns, key }),
        2 => (
            proptest::collection::vec((ns, key, proptest::option::of(any::<u8>())), 1..6),
            proptest::bool::weighted(0.8),
        )
            .prop_map(|(writes, commit)| Op::Transaction { writes, commit }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let interrupted =
        prop_oneof![4 => write_op(), 1 => Just(Op::Checkpoint), 1 => Just(Op::Compact)];
    prop_oneof![
        10 => write_op(),
        2 => (0..2usize, 0..KEYS.len()).prop_map(|(ns, key)| Op::Get { ns, key }),
        2 => (0..40u64).prop_map(|ms| Op::Advance { ms }),
        1 => Just(Op::Purge),
        1 => Just(Op::Flush),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
        3 => (0..5u8, any::<u64>()).prop_map(|(mode, seed)| Op::Crash { mode, seed }),
        3 => (1..40u8, 0..5u8, any::<u64>(), interrupted)
            .prop_map(|(ios, mode, seed, op)| Op::CrashDuring { ios, mode, seed, op: Box::new(op) }),
    ]
}

fn crash_mode(m: u8) -> CrashMode {
    match m {
        0 => CrashMode::KeepAll,
        1 => CrashMode::DropAll,
        2 => CrashMode::TearAll,
        3 => CrashMode::GarbageAll,
        _ => CrashMode::Random,
    }
}

/// `(value, expires_at or 0)` per key, per namespace.
type Model = [BTreeMap<Vec<u8>, (Vec<u8>, u64)>; 2];

fn key(i: usize) -> Vec<u8> {
    KEYS.get(i).map_or_else(Vec::new, |k| k.as_bytes().to_vec())
}

fn live(e: &(Vec<u8>, u64), now: u64) -> bool {
    e.1 == 0 || e.1 > now
}

/// The database and its two namespace handles.
struct Handle {
    db: Emdb,
    spaces: [Namespace; 2],
}

/// Opens the database on `fs`, under a memory budget of `budget` bytes if given.
fn open(
    fs: &FaultStorage,
    clock: &ManualClock,
    policy: FlushPolicy,
    budget: Option<u64>,
) -> Handle {
    let builder = Emdb::builder()
        .path(DB)
        .flush_policy(policy)
        .checkpoint_wal_bytes(6_000)
        .clock(Arc::new(clock.clone()));
    let builder = match budget {
        Some(bytes) => builder.memory_budget(bytes),
        None => builder,
    };
    let db = builder.build_on(Arc::new(fs.clone())).unwrap_or_else(|e| panic!("open: {e}"));
    let spaces = NAMES.map(|n| db.namespace(n).unwrap_or_else(|e| panic!("namespace: {e}")));
    // The namespaces' creation is durable before the first write.
    db.flush().unwrap_or_else(|e| panic!("flush: {e}"));
    Handle { db, spaces }
}

/// What the database holds, read at `now`: live entries with their expiries, the number of
/// stored records (`check_integrity`, which must pass, counts expired unpurged ones too), and
/// which keys are stored expired (two states with the same live entries and counts can differ
/// in which expired entries they keep, and a later write tells them apart).
fn read(h: &Handle) -> View {
    let mut m: Model = [BTreeMap::new(), BTreeMap::new()];
    let mut expired = Vec::new();
    for (n, (space, out)) in h.spaces.iter().zip(m.iter_mut()).enumerate() {
        for item in space.iter().unwrap_or_else(|e| panic!("iter: {e}")) {
            let (k, v) = item.unwrap_or_else(|e| panic!("iter: {e}"));
            let exp = space
                .expires_at(&k)
                .unwrap_or_else(|e| panic!("expires_at: {e}"))
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            out.insert(k, (v, exp));
        }
        for k in 0..KEYS.len() {
            let stored = space.stored_expiry(&key(k)).unwrap_or_else(|e| panic!("slot: {e}"));
            if stored.is_some() && !out.contains_key(&key(k)) {
                expired.push((n, key(k)));
            }
        }
    }
    let report = h.db.check_integrity().unwrap_or_else(|e| panic!("integrity: {e}"));
    (m, report.records, expired)
}

/// A state as [`read`] sees it: live entries, stored records, expired keys.
type View = (Model, u64, Vec<(usize, Vec<u8>)>);

/// What [`read`] should see of model state `m` at `now`.
fn view(m: &Model, now: u64) -> View {
    let visible = m.clone().map(|s| s.into_iter().filter(|(_, e)| live(e, now)).collect());
    let expired = m
        .iter()
        .enumerate()
        .flat_map(|(n, s)| {
            s.iter().filter(|(_, e)| !live(e, now)).map(move |(k, _)| (n, k.clone()))
        })
        .collect();
    (visible, m.iter().map(|s| s.len() as u64).sum(), expired)
}

/// The test's state: the model, the states a crash may legally leave, the database.
struct Run {
    /// The memory budget every open uses.
    budget: Option<u64>,
    fs: FaultStorage,
    clock: ManualClock,
    now: u64,
    policy: FlushPolicy,
    model: Model,
    /// Every state since the last durable point, oldest first (the model state last).
    history: Vec<Model>,
    /// `None` only while a clean reopen has closed the old handle.
    h: Option<Handle>,
    tally: Tally,
}

/// What the cases did, summed over a run of the test.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    cases: u64,
    ops: u64,
    crashes: u64,
    /// Crashes inside a write, checkpoint or compaction.
    interrupted: u64,
    /// Crashes after which the state was newer than the last durable point.
    kept_unsynced: u64,
    /// Crashes after which the state was older than the newest allowed (a commit not yet
    /// durable was lost: any under `Manual`, the interrupted one under `OnEachWrite`).
    lost_unsynced: u64,
}

impl Tally {
    fn add(&mut self, o: Tally) {
        self.cases += o.cases;
        self.ops += o.ops;
        self.crashes += o.crashes;
        self.interrupted += o.interrupted;
        self.kept_unsynced += o.kept_unsynced;
        self.lost_unsynced += o.lost_unsynced;
    }
}

impl Run {
    fn h(&self) -> &Handle {
        self.h.as_ref().unwrap()
    }

    fn durable(&mut self) {
        self.history = vec![self.model.clone()];
    }

    fn changed(&mut self) {
        if self.policy == FlushPolicy::OnEachWrite {
            self.durable();
        } else {
            self.history.push(self.model.clone());
        }
    }

    /// Runs a write, a checkpoint or a compaction against both; returns whether the database
    /// said `Ok` (the model applies it either way; a failure only happens after a power-off).
    fn write(&mut self, op: &Op) -> bool {
        let now = self.now;
        let h = self.h.as_ref().unwrap();
        let result = match op {
            Op::Insert { ns, key: k, value, ttl_ms } => {
                let ttl = ttl_ms.map_or(Ttl::Never, |ms| Ttl::After(Duration::from_millis(ms)));
                let r = h.spaces[*ns].insert_with_ttl(key(*k), val(*value), ttl);
                self.model[*ns].insert(key(*k), (val(*value), ttl_ms.map_or(0, |ms| now + ms)));
                r
            }
            Op::Remove { ns, key: k } => {
                let expected = self.model[*ns].get(&key(*k)).filter(|e| live(e, now));
                let r = h.spaces[*ns].remove(key(*k));
                if let Ok(got) = &r {
                    assert_eq!(got.as_ref(), expected.map(|e| &e.0), "remove {k}");
                }
                self.model[*ns].remove(&key(*k));
                r.map(drop)
            }
            Op::DeleteGroup { ns, key: k } => {
                let prefix = [key(*k), b".".to_vec()].concat();
                let r = h.spaces[*ns].delete_group(key(*k));
                self.model[*ns].retain(|k, _| !k.starts_with(&prefix));
                r.map(drop)
            }
            Op::Transaction { writes, commit } => {
                let r = h.db.transaction(|tx| {
                    for (ns, k, value) in writes {
                        let mut view = tx.namespace(&h.spaces[*ns]);
                        match value {
                            Some(v) => view.insert_with_ttl(key(*k), val(*v), Ttl::Never)?,
                            None => drop(view.remove(key(*k))?),
                        }
                    }
                    if *commit { Ok(()) } else { Err(Error::TransactionAborted("model abort")) }
                });
                if !*commit {
                    // Aborted (or, after a power-off, failed reading): nothing happens.
                    assert!(r.is_err(), "an aborted transaction committed");
                    return true;
                }
                for (ns, k, value) in writes {
                    match value {
                        Some(v) => self.model[*ns].insert(key(*k), (val(*v), 0)),
                        None => self.model[*ns].remove(&key(*k)),
                    };
                }
                r
            }
            Op::Checkpoint => return self.maintain(Emdb::checkpoint),
            Op::Compact => return self.maintain(Emdb::compact),
            _ => unreachable!("not a write: {op:?}"),
        };
        let ok = result.is_ok();
        self.changed();
        ok
    }

    fn maintain(&mut self, f: fn(&Emdb) -> crate::Result<()>) -> bool {
        let ok = f(&self.h().db).is_ok();
        if ok {
            self.durable();
        }
        ok
    }

    /// Takes a power loss of the current storage, reopens, and checks that the state is one
    /// of `allowed`; the state found becomes the model.
    fn crash_and_reopen(&mut self, mode: u8, seed: u64, allowed: &[Model], what: &str) {
        let crashed = self.fs.crash(seed, crash_mode(mode));
        // The old handle's closing checkpoint goes to the storage the crash left behind.
        self.h = Some(open(&crashed, &self.clock, self.policy, self.budget));
        self.fs = crashed;
        let got = read(self.h());
        let Some(at) = allowed.iter().position(|m| view(m, self.now) == got) else {
            panic!(
                "{what} ({:?}): the state after the crash is none of the {} allowed: {got:?}",
                crash_mode(mode),
                allowed.len()
            )
        };
        self.tally.crashes += 1;
        self.tally.kept_unsynced += u64::from(at > 0);
        self.tally.lost_unsynced += u64::from(at + 1 < allowed.len());
        self.model = allowed.get(at).cloned().unwrap_or_default();
        self.durable();
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Insert { .. }
            | Op::Remove { .. }
            | Op::DeleteGroup { .. }
            | Op::Transaction { .. }
            | Op::Checkpoint
            | Op::Compact => {
                assert!(self.write(&op), "{op:?} failed without a fault");
            }
            Op::Get { ns, key: k } => {
                let expected = self.model[ns].get(&key(k)).filter(|e| live(e, self.now));
                let got = self.h().spaces[ns].get(key(k)).unwrap_or_else(|e| panic!("get: {e}"));
                assert_eq!(got.as_ref(), expected.map(|e| &e.0), "get {k}");
            }
            Op::Advance { ms } => {
                self.now += ms;
                self.clock.advance(Duration::from_millis(ms));
            }
            Op::Purge => {
                let now = self.now;
                let expired: usize =
                    self.model.iter().map(|s| s.values().filter(|e| !live(e, now)).count()).sum();
                let purged = self.h().db.purge_expired().unwrap_or_else(|e| panic!("purge: {e}"));
                assert_eq!(purged, expired, "purge_expired");
                // One commit per namespace, in name order: "one" (1), then "zero" (0).
                for ns in [1, 0] {
                    self.model[ns].retain(|_, e| live(e, now));
                    self.changed();
                }
            }
            Op::Flush => {
                self.h().db.flush().unwrap_or_else(|e| panic!("flush: {e}"));
                self.durable();
            }
            Op::Reopen => {
                // Closing checkpoints; the lock is free once the old handle is gone.
                self.h = None;
                self.h = Some(open(&self.fs, &self.clock, self.policy, self.budget));
                assert_eq!(read(self.h()), view(&self.model, self.now), "clean reopen");
                self.durable();
            }
            Op::Crash { mode, seed } => {
                let allowed = self.history.clone();
                self.crash_and_reopen(mode, seed, &allowed, "crash");
            }
            Op::CrashDuring { ios, mode, seed, op } => {
                let before = self.model.clone();
                self.fs.power_off_at(self.fs.io_count() + u64::from(ios));
                let ok = self.write(&op);
                // Under OnEachWrite a commit that returned Ok is durable and one that failed
                // may or may not be; under Manual the history since the last durable point
                // (which `write` extended with the new state) is allowed.
                let allowed = match self.policy {
                    FlushPolicy::OnEachWrite if ok => vec![self.model.clone()],
                    FlushPolicy::OnEachWrite => vec![before, self.model.clone()],
                    _ => self.history.clone(),
                };
                let what = format!("power off {ios} I/O calls into {op:?}");
                self.tally.interrupted += 1;
                self.crash_and_reopen(mode, seed, &allowed, &what);
            }
        }
    }
}

fn run(ops: Vec<Op>, on_each_write: bool, seed: u64) -> Tally {
    let fs = FaultStorage::new(seed);
    let clock = ManualClock::new(1_000);
    let policy = if on_each_write { FlushPolicy::OnEachWrite } else { FlushPolicy::Manual };
    // Every other case runs under a tiny memory budget: most reads descend the tree.
    let budget = seed.is_multiple_of(2).then_some(4096);
    let h = open(&fs, &clock, policy, budget);
    let model: Model = [BTreeMap::new(), BTreeMap::new()];
    let history = vec![model.clone()];
    let tally = Tally { cases: 1, ops: ops.len() as u64, ..Tally::default() };
    let mut r = Run { fs, clock, now: 1_000, policy, budget, history, model, h: Some(h), tally };
    for op in ops {
        r.step(op);
    }
    assert_eq!(read(r.h()), view(&r.model, r.now), "the final state");
    r.tally
}

#[test]
fn a_database_that_loses_power_agrees_with_a_btreemap_model_up_to_its_durable_prefix() {
    use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
    let started = std::time::Instant::now();
    let want_cases = test_depth::pick(64, 256, 8192);
    let config = Config {
        cases: want_cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    };
    let total = std::cell::Cell::new(Tally::default());
    let cases = (proptest::collection::vec(op(), 1..60), any::<bool>(), any::<u64>());
    let result = TestRunner::new(config).run(&cases, |(ops, on_each_write, seed)| {
        let mut t = total.get();
        t.add(run(ops, on_each_write, seed));
        total.set(t);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let t = total.get();
    eprintln!(
        "model with power loss: {} cases (shrinking included), {} operations, {} crashes and \
         reopens ({} inside a write, checkpoint or compaction); {} kept a commit not yet \
         durable, {} lost one; {:.1} s",
        t.cases,
        t.ops,
        t.crashes,
        t.interrupted,
        t.kept_unsynced,
        t.lost_unsynced,
        started.elapsed().as_secs_f64()
    );
    assert!(t.cases >= u64::from(want_cases) && t.crashes > t.cases, "{t:?}");
    assert!(t.kept_unsynced > 0 && t.lost_unsynced > 0, "{t:?}");
}
