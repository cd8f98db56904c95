//! Power loss at every write and every sync point of a 50-step workload that mixes everything a
//! commit can carry: transactions over two namespaces, overwrites, removes, entries with a TTL
//! (judged by an injected clock, so expiry is deterministic), `persist`, `purge_expired`, nested
//! group writes and group deletes through `Focus`, the creation of a namespace, and a
//! `checkpoint()` and a `compact()` in the middle. Each crash is taken with every damage mode of
//! the unsynced writes (kept, dropped, torn, garbage, a random mix that also loses unsynced
//! creates and renames); the reopened database must equal the state after some prefix of the
//! attempted steps that holds every acknowledged one (`OnEachWrite`), and `check_integrity` must
//! pass. A subset is crashed a second time at every I/O of its recovery.
//!
//! A short run (see `crate::test_depth`) takes every 4th crash point with fewer damage modes; a
//! soak adds random damage seeds per crash point and crashes every point's recovery.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use crate::db::Emdb;
use crate::io::fault::{CrashMode, FaultStorage, IoKind};
use crate::keyspace::FlushPolicy;
use crate::test_depth;
use crate::{ManualClock, Namespace, Ttl};

const DB: &str = "/db/data";
/// The steps of the workload; each is one commit (or none, when it finds nothing to do).
const STEPS: usize = 50;
/// A `checkpoint()` runs after this many steps and after each of [`RECLAIM_AFTER`] (the first
/// frees the value pages that step 23 emptied, the second moves the live values of the mostly
/// dead ones), and a `compact()` after [`COMPACT_AFTER`].
const CHECKPOINT_AFTER: usize = 18;
const RECLAIM_AFTER: [usize; 2] = [26, 31];
const COMPACT_AFTER: usize = 36;
/// The clock reads `T0 + t * STEP_MS` during step `t`.
const T0: u64 = 1_700_000_000_000;
const STEP_MS: u64 = 10;
/// The time at which every reopened database is read: short TTLs have run out by then.
const T_CHECK: u64 = T0 + STEPS as u64 * STEP_MS;
/// A TTL that outlives the test.
const LONG_TTL: u64 = 3_600_000;
const SECOND: &str = "second";

/// Which namespace a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Default,
    Second,
}

impl Ns {
    fn name(self) -> &'static str {
        match self {
            Ns::Default => "",
            Ns::Second => SECOND,
        }
    }
}

/// One write of a step.
#[derive(Debug, Clone)]
enum W {
    Put {
        ns: Ns,
        key: String,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
    },
    Remove {
        ns: Ns,
        key: String,
    },
    /// Removes every key under `prefix.` (expired ones too).
    DeleteGroup {
        ns: Ns,
        prefix: String,
    },
}

/// One step of the workload.
#[derive(Debug, Clone)]
enum Step {
    /// A closure transaction applying the writes in order.
    Txn(Vec<W>),
    /// One write through the namespace handle (`insert_with_ttl`, `remove`, `delete_group`).
    One(W),
    /// `db.namespace(SECOND)`: the namespace's creation commit.
    CreateSecond,
    /// `focus(groups[0]).focus(groups[1]).insert_with_ttl(key, ..)` in `ns`.
    FocusSet { ns: Ns, groups: [String; 2], key: String, value: Vec<u8>, ttl_ms: Option<u64> },
    /// `focus(groups[0]).focus(groups[1]).delete_group()` in `ns`.
    FocusDeleteAll { ns: Ns, groups: [String; 2] },
    /// `persist(key)` in the default namespace: drops the expiry of a live expiring key.
    Persist { key: String },
    /// `purge_expired()` of the second namespace (one commit).
    PurgeSecond,
}

/// A value of one of three sizes (inline, packed, overflow), distinct per step and write.
fn value(t: usize, j: usize) -> Vec<u8> {
    let size = [3usize, 500, 5000][(t + j) % 3];
    vec![u8::try_from((t * 7 + j) % 251).unwrap_or(0); size]
}

fn short_ttl(t: usize) -> u64 {
    15 + (t % 4) as u64 * 10
}

/// The step `t` of the workload: the base steps, with twelve packed values (two value pages)
/// written by step 0, ten of which step 23 removes.
fn step(t: usize) -> Step {
    let packed = |p: usize| format!("p{p:02}");
    let extra: Vec<W> = match t {
        0 => (0..12)
            .map(|p| W::Put { ns: Ns::Default, key: packed(p), value: vec![7; 600], ttl_ms: None })
            .collect(),
        23 => (0..10).map(|p| W::Remove { ns: Ns::Default, key: packed(p) }).collect(),
        _ => Vec::new(),
    };
    match base_step(t) {
        Step::Txn(mut writes) => {
            writes.extend(extra);
            Step::Txn(writes)
        }
        other => other,
    }
}

/// The base steps of the workload.
fn base_step(t: usize) -> Step {
    let k = |i: usize| format!("k{:02}", i % 11);
    // The nested groups written at step `i` (in both namespaces): group deletes a few steps
    // later name a group written before, so they remove something.
    let g = |i: usize| [format!("app{}", (i / 8) % 2), format!("g{}", i % 3)];
    let users = |i: usize| ["users".to_owned(), format!("u{}", (i / 4) % 4)];
    match (t, t % 16) {
        (0, _) => Step::Txn(
            (0..4)
                .map(|j| W::Put {
                    ns: Ns::Default,
                    key: k(j * 3),
                    value: value(t, j),
                    ttl_ms: None,
                })
                .collect(),
        ),
        (1, _) => Step::CreateSecond,
        (_, 0 | 8) => Step::Txn(vec![
            W::Put { ns: Ns::Default, key: k(t), value: value(t, 0), ttl_ms: None },
            W::Put { ns: Ns::Second, key: format!("s{}", t % 7), value: value(t, 1), ttl_ms: None },
            W::Remove { ns: Ns::Default, key: k(t + 5) },
            W::Put {
                ns: Ns::Second,
                key: format!("s{}", (t + 3) % 7),
                value: value(t, 2),
                ttl_ms: Some(LONG_TTL),
            },
        ]),
        (_, 1 | 9) => Step::One(W::Put {
            ns: Ns::Default,
            key: format!("ttl{}", t % 5),
            value: value(t, 0),
            ttl_ms: Some(short_ttl(t)),
        }),
        (_, 2 | 10) => Step::FocusSet {
            ns: Ns::Default,
            groups: g(t),
            key: format!("f{}", t % 4),
            value: value(t, 1),
            ttl_ms: t.is_multiple_of(3).then_some(LONG_TTL),
        },
        // Removes the key the transaction of step `t - 3` wrote.
        (_, 3 | 11) => Step::One(W::Remove { ns: Ns::Default, key: k(t - 3) }),
        (_, 4 | 12) => Step::FocusSet {
            ns: Ns::Second,
            groups: users(t),
            key: "name".into(),
            value: value(t, 2),
            ttl_ms: (t % 3 == 1).then(|| short_ttl(t)),
        },
        (_, 5) => Step::FocusDeleteAll { ns: Ns::Default, groups: g(t - 3) },
        (_, 13) => Step::FocusDeleteAll { ns: Ns::Second, groups: users(t - 1) },
        // The key step `t - 7` wrote with a long TTL (at step 6 there is none: a no-op).
        (_, 6) => Step::Persist { key: format!("ttl{}", (t + 4) % 5) },
        (_, 14) => Step::PurgeSecond,
        (_, 7) => Step::Txn(vec![
            W::Put { ns: Ns::Default, key: k(t + 1), value: value(t, 2), ttl_ms: None },
            W::DeleteGroup { ns: Ns::Default, prefix: g(t - 5).join(".") },
            W::Put {
                ns: Ns::Default,
                key: format!("{}.late", g(t - 5).join(".")),
                value: value(t, 0),
                ttl_ms: None,
            },
        ]),
        _ => Step::Txn(vec![
            W::Put {
                ns: Ns::Second,
                key: format!("s{}", t % 7),
                value: value(t, 0),
                ttl_ms: Some(short_ttl(t)),
            },
            W::Remove { ns: Ns::Second, key: format!("s{}", (t + 2) % 7) },
            W::Put {
                ns: Ns::Default,
                key: format!("ttl{}", (t + 1) % 5),
                value: value(t, 1),
                ttl_ms: Some(LONG_TTL),
            },
        ]),
    }
}

fn now(t: usize) -> u64 {
    T0 + t as u64 * STEP_MS
}

/// Key → (value, absolute expiry or 0).
type Space = BTreeMap<Vec<u8>, (Vec<u8>, u64)>;

/// Every namespace by name ("" is the default one); a namespace is present once created.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Model(BTreeMap<String, Space>);

impl Model {
    fn new() -> Self {
        Model(BTreeMap::from([(String::new(), Space::new())]))
    }

    fn space(&mut self, ns: Ns) -> &mut Space {
        self.0.entry(ns.name().to_owned()).or_default()
    }

    fn write(&mut self, w: &W, now: u64) {
        match w {
            W::Put { ns, key, value, ttl_ms } => {
                let exp = ttl_ms.map_or(0, |ms| now + ms);
                self.space(*ns).insert(key.clone().into_bytes(), (value.clone(), exp));
            }
            W::Remove { ns, key } => {
                self.space(*ns).remove(key.as_bytes());
            }
            W::DeleteGroup { ns, prefix } => {
                let p = format!("{prefix}.").into_bytes();
                self.space(*ns).retain(|k, _| !k.starts_with(&p));
            }
        }
    }

    fn apply(&mut self, s: &Step, now: u64) {
        match s {
            Step::Txn(ws) => ws.iter().for_each(|w| self.write(w, now)),
            Step::One(w) => self.write(w, now),
            Step::CreateSecond => {
                self.space(Ns::Second);
            }
            Step::FocusSet { ns, groups, key, value, ttl_ms } => {
                let key = format!("{}.{}.{key}", groups[0], groups[1]);
                let w = W::Put { ns: *ns, key, value: value.clone(), ttl_ms: *ttl_ms };
                self.write(&w, now);
            }
            Step::FocusDeleteAll { ns, groups } => {
                let w = W::DeleteGroup { ns: *ns, prefix: format!("{}.{}", groups[0], groups[1]) };
                self.write(&w, now);
            }
            Step::Persist { key } => {
                if let Some(e) = self.space(Ns::Default).get_mut(key.as_bytes())
                    && e.1 != 0
                    && e.1 > now
                {
                    e.1 = 0;
                }
            }
            Step::PurgeSecond => {
                self.space(Ns::Second).retain(|_, (_, exp)| *exp == 0 || *exp > now);
            }
        }
    }

    /// What a reader sees at `now`: the live entries of every namespace.
    fn visible(&self, now: u64) -> Model {
        let live = |s: &Space| {
            s.iter()
                .filter(|(_, (_, exp))| *exp == 0 || *exp > now)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        Model(self.0.iter().map(|(n, s)| (n.clone(), live(s))).collect())
    }

    /// Stored records, expired but unpurged ones included (what `check_integrity` counts).
    fn records(&self) -> u64 {
        self.0.values().map(|s| s.len() as u64).sum()
    }
}

/// For each prefix length `n`: the state after the first `n` steps (expired entries included)
/// and what a reader sees of it at [`T_CHECK`].
fn oracle() -> &'static [(Model, Model)] {
    static ORACLE: OnceLock<Vec<(Model, Model)>> = OnceLock::new();
    ORACLE.get_or_init(|| {
        let mut m = Model::new();
        let mut out = vec![(m.clone(), m.visible(T_CHECK))];
        for t in 0..STEPS {
            m.apply(&step(t), now(t));
            out.push((m.clone(), m.visible(T_CHECK)));
        }
        out
    })
}

fn open(fs: &FaultStorage, clock: &ManualClock) -> crate::Result<Emdb> {
    Emdb::builder()
        .path(DB)
        .flush_policy(FlushPolicy::OnEachWrite)
        .checkpoint_wal_bytes(u64::MAX)
        .clock(Arc::new(clock.clone()))
        .build_on(Arc::new(fs.clone()))
}

fn ttl(ms: Option<u64>) -> Ttl {
    ms.map_or(Ttl::Never, |ms| Ttl::After(Duration::from_millis(ms)))
}

/// Runs one write through a handle of its namespace.
fn write_one(db: &Emdb, second: Option<&Namespace>, w: &W) -> crate::Result<()> {
    let ns = |ns: Ns| match (ns, second) {
        (Ns::Default, _) => Ok(None),
        (Ns::Second, Some(s)) => Ok(Some(s)),
        (Ns::Second, None) => {
            Err(crate::Error::TransactionAborted("the second namespace is missing"))
        }
    };
    match w {
        W::Put { ns: n, key, value, ttl_ms } => match ns(*n)? {
            None => db.insert_with_ttl(key, value, ttl(*ttl_ms)),
            Some(s) => s.insert_with_ttl(key, value, ttl(*ttl_ms)),
        },
        W::Remove { ns: n, key } => match ns(*n)? {
            None => db.remove(key).map(drop),
            Some(s) => s.remove(key).map(drop),
        },
        W::DeleteGroup { ns: n, prefix } => match ns(*n)? {
            None => db.delete_group(prefix).map(drop),
            Some(s) => s.delete_group(prefix).map(drop),
        },
    }
}

/// Runs step `t` against the database.
fn run_step(db: &Emdb, second: &mut Option<Namespace>, t: usize) -> crate::Result<()> {
    let missing = crate::Error::TransactionAborted("the second namespace is missing");
    match step(t) {
        Step::Txn(ws) => db.transaction(|tx| {
            for w in &ws {
                let ns = match w {
                    W::Put { ns, .. } | W::Remove { ns, .. } | W::DeleteGroup { ns, .. } => *ns,
                };
                let mut view = match (ns, second.as_ref()) {
                    (Ns::Default, _) => None,
                    (Ns::Second, Some(s)) => Some(tx.namespace(s)),
                    (Ns::Second, None) => return Err(missing),
                };
                match (w, view.as_mut()) {
                    (W::Put { key, value, ttl_ms, .. }, None) => {
                        tx.insert_with_ttl(key, value, ttl(*ttl_ms))?;
                    }
                    (W::Put { key, value, ttl_ms, .. }, Some(v)) => {
                        v.insert_with_ttl(key, value, ttl(*ttl_ms))?;
                    }
                    (W::Remove { key, .. }, None) => drop(tx.remove(key)?),
                    (W::Remove { key, .. }, Some(v)) => drop(v.remove(key)?),
                    (W::DeleteGroup { prefix, .. }, None) => drop(tx.delete_group(prefix)?),
                    (W::DeleteGroup { prefix, .. }, Some(v)) => drop(v.delete_group(prefix)?),
                }
            }
            Ok(())
        }),
        Step::One(w) => write_one(db, second.as_ref(), &w),
        Step::CreateSecond => {
            *second = Some(db.namespace(SECOND)?);
            Ok(())
        }
        Step::FocusSet { ns, groups, key, value, ttl_ms } => {
            let root = match ns {
                Ns::Default => db.focus(&groups[0]),
                Ns::Second => second.as_ref().ok_or(missing)?.focus(&groups[0]),
            };
            root.focus(&groups[1]).insert_with_ttl(key, value, ttl(ttl_ms))
        }
        Step::FocusDeleteAll { ns, groups } => {
            let root = match ns {
                Ns::Default => db.focus(&groups[0]),
                Ns::Second => second.as_ref().ok_or(missing)?.focus(&groups[0]),
            };
            root.focus(&groups[1]).delete_group().map(drop)
        }
        Step::Persist { key } => db.persist(key).map(drop),
        Step::PurgeSecond => second.as_ref().ok_or(missing)?.purge_expired().map(drop),
    }
}

/// How far a workload got before its I/O failed for good ("the process died").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    /// Steps started (a failed one included): no state may hold more.
    attempted: usize,
    /// Steps that returned `Ok`: under `OnEachWrite` every state must hold them.
    acked: usize,
}

/// Runs the workload until the first error, then drops the handle (whose closing checkpoint
/// fails too when the storage fails for good). `after_step` sees the handle after each step.
fn workload(fs: &FaultStorage, mut after_step: impl FnMut(&Emdb, usize)) -> Run {
    let clock = ManualClock::new(now(0));
    let Ok(db) = open(fs, &clock) else { return Run { attempted: 0, acked: 0 } };
    let mut second = None;
    let mut acked = 0;
    for t in 0..STEPS {
        clock.set(now(t));
        if run_step(&db, &mut second, t).is_err() {
            return Run { attempted: t + 1, acked };
        }
        acked = t + 1;
        after_step(&db, acked);
        let maintenance = match acked {
            CHECKPOINT_AFTER => db.checkpoint(),
            n if RECLAIM_AFTER.contains(&n) => db.checkpoint(),
            COMPACT_AFTER => db.compact(),
            _ => Ok(()),
        };
        if maintenance.is_err() {
            return Run { attempted: acked, acked };
        }
    }
    drop(second);
    drop(db);
    Run { attempted: STEPS, acked }
}

/// Reads every namespace of an open database at its clock's time: entries and expiries.
fn read_model(db: &Emdb) -> crate::Result<Model> {
    let expiry = |t: Option<std::time::SystemTime>| {
        t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    };
    let mut m = Model(BTreeMap::new());
    let mut root = Space::new();
    for item in db.iter()? {
        let (k, v) = item?;
        let exp = expiry(db.expires_at(&k)?);
        root.insert(k, (v, exp));
    }
    m.0.insert(String::new(), root);
    for name in db.namespace_names() {
        let ns = db.namespace(&name)?;
        let mut space = Space::new();
        for item in ns.iter()? {
            let (k, v) = item?;
            let exp = expiry(ns.expires_at(&k)?);
            space.insert(k, (v, exp));
        }
        m.0.insert(name, space);
    }
    Ok(m)
}

/// Opens a crashed storage and checks the prefix property; returns the prefix found.
///
/// The database is read twice: with the clock at [`T0`], before any entry expires, which shows
/// everything stored with its expiry (and tells every step apart); then at [`T_CHECK`], where
/// short TTLs have run out and must stay hidden.
fn check(fs: &FaultStorage, run: Run, what: &str) -> usize {
    let clock = ManualClock::new(T0);
    let db = open(fs, &clock).unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
    let stored = read_model(&db).unwrap_or_else(|e| panic!("{what}: read failed: {e}"));
    let report = db.check_integrity().unwrap_or_else(|e| panic!("{what}: integrity check: {e}"));
    assert_eq!(report.records, stored.records(), "{what}: the check counts every record");
    let found =
        (run.acked..=run.attempted).find(|&n| oracle().get(n).is_some_and(|(m, _)| *m == stored));
    let Some(n) = found else {
        let near: Vec<usize> =
            (0..=STEPS).filter(|&n| oracle().get(n).is_some_and(|(m, _)| *m == stored)).collect();
        panic!(
            "{what}: no prefix in {}..={} ({run:?}); the contents are those after {near:?} \
             steps: {stored:?}",
            run.acked, run.attempted
        )
    };
    clock.set(T_CHECK);
    let seen = read_model(&db).unwrap_or_else(|e| panic!("{what}: read failed: {e}"));
    assert!(oracle().get(n).is_some_and(|(_, v)| *v == seen), "{what}: expired entries show");
    let visible: usize = seen.0.get("").map_or(0, BTreeMap::len);
    assert_eq!(db.len().unwrap_or(usize::MAX), visible, "{what}: len agrees with iter");
    for (k, (v, _)) in seen.0.get("").into_iter().flatten() {
        assert_eq!(db.get(k).ok().flatten().as_ref(), Some(v), "{what}: get agrees with iter");
    }
    n
}

#[test]
fn the_oracle_agrees_with_a_clean_run_after_every_step() {
    let fs = FaultStorage::new(1);
    let mut checked = 0;
    let mut reclaimed = (0, 0);
    let run = workload(&fs, |db, n| {
        if n == COMPACT_AFTER {
            // Before the compaction, which counts the live values anew.
            reclaimed = db.keyspace().reclaimed();
        }
        let want = oracle().get(n).map(|(m, _)| m.visible(now(n - 1)));
        let got = read_model(db).unwrap_or_else(|e| panic!("step {n}: {e}"));
        assert_eq!(Some(got), want, "after step {n}");
        checked += 1;
    });
    assert_eq!(run, Run { attempted: STEPS, acked: STEPS });
    assert_eq!(checked, STEPS);
    // The checkpoints reclaim value pages: they move values and free emptied pages.
    assert!(reclaimed.0 > 0 && reclaimed.1 > 0, "moved, emptied: {reclaimed:?}");
    // The workload exercises what it claims: expiry hides entries by the check time, a
    // purge and group deletes remove some, both namespaces hold data.
    let (end, seen) = oracle().last().cloned().unwrap_or_else(|| unreachable!());
    assert!(end.records() > seen.records(), "some entries have expired by the check");
    assert!(seen.0.get(SECOND).is_some_and(|s| s.values().any(|(_, exp)| *exp != 0)));
    assert!(seen.0.get("").is_some_and(|s| s.keys().any(|k| k.starts_with(b"app0.g"))));
    let distinct: std::collections::BTreeSet<_> = oracle().iter().map(|(m, _)| m).collect();
    assert!(distinct.len() > STEPS * 3 / 4, "most steps change the state: {}", distinct.len());
    // A reopen after the clean run (whose close checkpoints) gives the whole state.
    assert_eq!(check(&fs.crash(0, CrashMode::DropAll), run, "clean"), STEPS);
}

/// The I/O calls a power loss is taken before: every call that changes a file or a name, and
/// both sides of every sync point (the call after a sync is "just after" it).
fn crash_points(kinds: &[IoKind]) -> Vec<u64> {
    let mut points: Vec<u64> = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let n = i as u64 + 1;
        if kind.mutates() || kind.syncs() {
            points.push(n);
        }
        if kind.syncs() {
            points.push(n + 1);
        }
    }
    points.sort_unstable();
    points.dedup();
    points
}

/// The damage modes every crash point is taken with: the four uniform ones, then random mixes.
fn modes(seeds: u64) -> Vec<(CrashMode, u64)> {
    let mut out = vec![
        (CrashMode::KeepAll, 0),
        (CrashMode::DropAll, 0),
        (CrashMode::TearAll, 1),
        (CrashMode::GarbageAll, 2),
    ];
    out.extend((0..seeds).map(|s| (CrashMode::Random, 100 + s)));
    out
}

#[test]
fn a_power_loss_at_any_write_or_sync_point_of_a_mixed_workload_leaves_a_durable_prefix() {
    let started = std::time::Instant::now();
    let clean = FaultStorage::new(21);
    assert_eq!(workload(&clean, |_, _| {}), Run { attempted: STEPS, acked: STEPS });
    let kinds = clean.io_kinds();
    // Every point in a full run, every 4th in a short one.
    let points: Vec<u64> =
        crash_points(&kinds).into_iter().step_by(test_depth::stride(4)).collect();
    let writes = kinds.iter().filter(|k| k.mutates()).count();
    let syncs = kinds.iter().filter(|k| k.syncs()).count();
    let modes = modes(test_depth::pick(1, 4, 32));
    let (mut states, mut beyond_ack, mut runs_cut_short) = (0u64, 0u64, 0u64);
    let mut found_per_step = vec![0u64; STEPS + 1];
    for &n in &points {
        let fs = FaultStorage::new(n);
        fs.power_off_at(n);
        let run = workload(&fs, |_, _| {});
        runs_cut_short += u64::from(run.acked < STEPS);
        for &(mode, seed) in &modes {
            let what = format!(
                "power loss before I/O {n} ({:?}) with {mode:?}/{seed}",
                kinds.get(usize::try_from(n - 1).unwrap_or(usize::MAX))
            );
            let found = check(&fs.crash(n ^ (seed << 32), mode), run, &what);
            if mode == CrashMode::DropAll {
                // Under OnEachWrite only the step in flight is unsynced: losing every
                // unsynced write leaves exactly the acknowledged steps.
                assert_eq!(found, run.acked, "{what}: more than the acknowledged steps");
            }
            beyond_ack += u64::from(found > run.acked);
            if let Some(c) = found_per_step.get_mut(found) {
                *c += 1;
            }
            states += 1;
        }
    }
    eprintln!(
        "power loss: {STEPS} steps, {} I/O calls ({writes} writes and name changes, {syncs} \
         syncs), {} crash points x {} damage modes = {states} crash states reopened and \
         checked; {beyond_ack} kept a step that was not yet acknowledged; {:.1} s",
        kinds.len(),
        points.len(),
        modes.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(runs_cut_short * 10 > points.len() as u64 * 8, "most points stop the run");
    assert!(beyond_ack > 0, "a kept unsynced frame of the failed step is replayed");
    // Every prefix is found by some crash, except those equal to the one before (a step that
    // found nothing to do: a `persist` of a missing key, a purge with nothing expired).
    let same =
        |n: usize| n > 0 && oracle().get(n).map(|s| &s.0) == oracle().get(n - 1).map(|s| &s.0);
    let missed: Vec<usize> =
        (0..=STEPS).filter(|&n| found_per_step.get(n) == Some(&0) && !same(n)).collect();
    assert!(
        missed.is_empty() || !test_depth::full(),
        "no crash state ends after these step counts: {missed:?}"
    );
    let no_ops: Vec<usize> = (1..=STEPS).filter(|&n| same(n)).collect();
    assert!(no_ops.len() <= 2, "steps {no_ops:?} change nothing");
}

#[test]
fn a_second_power_loss_during_recovery_finds_the_same_prefix() {
    let started = std::time::Instant::now();
    let clean = FaultStorage::new(22);
    workload(&clean, |_, _| {});
    let points = crash_points(&clean.io_kinds());
    // Every 4th crash point (every point in a soak, every 32nd in a short run), crashed first
    // with a random mix.
    let stride = test_depth::pick(32, 4, 1);
    let (mut states, mut first_crashes, mut recovery_ios) = (0u64, 0u64, 0u64);
    for &n in points.iter().step_by(stride) {
        let fs = FaultStorage::new(n);
        fs.power_off_at(n);
        let run = workload(&fs, |_, _| {});
        let first = fs.crash(n, CrashMode::Random);
        let want = check(&first.crash(0, CrashMode::KeepAll), run, &format!("first crash {n}"));
        // The I/O calls of a clean recovery and close, then a crash before each of them.
        let probe = first.crash(0, CrashMode::KeepAll);
        drop(open(&probe, &ManualClock::new(T_CHECK)));
        let ios = probe.io_count();
        recovery_ios += ios;
        first_crashes += 1;
        for m in 1..=ios + 1 {
            let again = first.crash(0, CrashMode::KeepAll);
            again.power_off_at(m);
            drop(open(&again, &ManualClock::new(T_CHECK)));
            for (mode, seed) in
                [(CrashMode::Random, m), (CrashMode::DropAll, 0), (CrashMode::TearAll, m)]
            {
                let what =
                    format!("crash before I/O {n}, again before recovery I/O {m} ({mode:?})");
                let found = check(&again.crash(seed, mode), run, &what);
                assert_eq!(found, want, "{what}: the interrupted recovery changed the prefix");
                states += 1;
            }
        }
    }
    eprintln!(
        "power loss during recovery: {first_crashes} first crashes, {recovery_ios} recovery I/O \
         calls, {states} crash states checked; {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(states > test_depth::pick(50, 500, 500), "{states} states");
}
