//! 32 threads on one database file for a few seconds: single writes and removes, transfers that
//! keep a sum constant, pairs of keys always written together with the same value, point reads,
//! snapshot scans, flushes, checkpoints, integrity checks and compactions. Readers assert that
//! no transaction is ever half visible and no value is torn (every value carries a checksum of
//! its key and payload). A watchdog fails the test when a thread makes no progress for 20 s (a
//! deadlock). Afterwards the file is reopened, checked and read back whole.
//!
//! It runs for 3 s (60 s with `EMDB_TESTS=soak`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use emdb_core::{Emdb, FlushPolicy, Namespace};

#[path = "../src/test_depth.rs"]
mod test_depth;

const ACCOUNTS: u64 = 32;
const START_BALANCE: u64 = 1_000;
const TOTAL: u64 = ACCOUNTS * START_BALANCE;
const PAIRS: u64 = 16;
const WRITER_KEYS: u64 = 200;
const STALL: Duration = Duration::from_secs(20);

/// FNV-1a over the key and the payload: a value read under the wrong key, torn, or stale bytes
/// from another value fail it.
fn fnv(key: &[u8], payload: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in key.iter().chain(payload) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `payload` followed by its checksum.
fn sealed(key: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut v = payload.to_vec();
    v.extend_from_slice(&fnv(key, payload).to_le_bytes());
    v
}

/// The payload of a sealed value, after checking its checksum.
fn opened<'v>(key: &[u8], value: &'v [u8], what: &str) -> &'v [u8] {
    assert!(value.len() >= 8, "{what}: value of {} bytes under {key:02x?} is torn", value.len());
    let (payload, sum) = value.split_at(value.len() - 8);
    assert_eq!(
        u64::from_le_bytes(sum.try_into().unwrap()),
        fnv(key, payload),
        "{what}: torn or misplaced value of {} bytes under {key:?}",
        value.len()
    );
    payload
}

/// A payload of `size` bytes starting with `n`.
fn payload(n: u64, size: usize) -> Vec<u8> {
    let mut p = n.to_le_bytes().to_vec();
    p.resize(size.max(8), (n % 251) as u8);
    p
}

/// Sizes that land inline, in value pages and in overflow runs.
fn size_for(n: u64) -> usize {
    match n % 16 {
        0 => 3_000,
        1..=5 => 600,
        _ => 8 + (n % 90) as usize,
    }
}

fn account(a: u64) -> String {
    format!("acct:{a:03}")
}

fn pair_key(p: u64, side: &str) -> String {
    format!("pair:{p:02}:{side}")
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// One worker's progress: operations done, and whether it has finished (or died).
struct Progress {
    name: String,
    ops: AtomicU64,
    done: AtomicBool,
}

/// Marks a worker finished when it returns or panics, so a panic is not mistaken for a hang.
struct DoneOnDrop(Arc<Progress>);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        self.0.done.store(true, Ordering::Release);
    }
}

#[derive(Clone, Copy, Debug)]
enum Role {
    Writer,
    Transfer,
    Pairs,
    PointReader,
    Scanner,
    Flusher,
    Checkpointer,
    Checker,
    Compactor,
}

/// 32 threads: what each of them does.
const ROLES: [(Role, usize); 9] = [
    (Role::Writer, 6),
    (Role::Transfer, 4),
    (Role::Pairs, 3),
    (Role::PointReader, 8),
    (Role::Scanner, 5),
    (Role::Flusher, 2),
    (Role::Checkpointer, 2),
    (Role::Checker, 1),
    (Role::Compactor, 1),
];

struct World {
    db: Emdb,
    bank: Namespace,
    stop: AtomicBool,
    deadline: Instant,
    duration: Duration,
}

fn open(path: &std::path::Path) -> Emdb {
    Emdb::builder()
        .path(path)
        .flush_policy(FlushPolicy::EveryN(16))
        .checkpoint_wal_bytes(1 << 20)
        .build()
        .unwrap()
}

fn setup(db: &Emdb) -> Namespace {
    let bank = db.namespace("bank").unwrap();
    db.transaction(|tx| {
        let mut b = tx.namespace(&bank);
        for a in 0..ACCOUNTS {
            let k = account(a);
            b.insert(&k, sealed(k.as_bytes(), &START_BALANCE.to_le_bytes()))?;
        }
        Ok(())
    })
    .unwrap();
    db.transaction(|tx| {
        for p in 0..PAIRS {
            for side in ["a", "b"] {
                let k = pair_key(p, side);
                tx.insert(&k, sealed(k.as_bytes(), &payload(0, 16)))?;
            }
        }
        Ok(())
    })
    .unwrap();
    bank
}

/// Checks every invariant on one snapshot scan each: the sum of the balances, every pair equal,
/// every value's checksum. Returns the number of entries read.
fn check_scans(db: &Emdb, bank: &Namespace, what: &str) -> u64 {
    let mut sum = 0;
    let mut n = 0;
    for item in bank.iter().unwrap() {
        let (k, v) = item.unwrap();
        sum += u64::from_le_bytes(opened(&k, &v, what).try_into().unwrap());
        n += 1;
    }
    assert_eq!(n, ACCOUNTS, "{what}: accounts");
    assert_eq!(sum, TOTAL, "{what}: a transfer is half visible (sum {sum}, want {TOTAL})");
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = db.prefix("pair:").unwrap().map(Result::unwrap).collect();
    assert_eq!(pairs.len() as u64, 2 * PAIRS, "{what}: pair keys");
    for two in pairs.chunks(2) {
        let (a, b) = (opened(&two[0].0, &two[0].1, what), opened(&two[1].0, &two[1].1, what));
        assert_eq!(a, b, "{what}: pair {:?} is half written", String::from_utf8_lossy(&two[0].0));
    }
    for item in db.prefix("w:").unwrap() {
        let (k, v) = item.unwrap();
        opened(&k, &v, what);
        n += 1;
    }
    n + 2 * PAIRS
}

fn work(world: &World, role: Role, thread_no: u64, progress: &Progress) {
    let (w, t) = (world, thread_no);
    let db = &w.db;
    let mut rng = Rng(t.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let tick = || {
        progress.ops.fetch_add(1, Ordering::Relaxed);
    };
    let what = format!("{role:?} {t}");
    let mut n = 0u64;
    while !w.stop.load(Ordering::Relaxed) && Instant::now() < w.deadline {
        n += 1;
        match role {
            Role::Writer => {
                let k = format!("w:{t:02}:{:04}", rng.below(WRITER_KEYS));
                if rng.below(5) == 0 {
                    if let Some(v) = db.remove(&k).unwrap() {
                        opened(k.as_bytes(), &v, &what);
                    }
                } else {
                    db.insert(&k, sealed(k.as_bytes(), &payload(n, size_for(n)))).unwrap();
                }
            }
            Role::Transfer => {
                let (from, to) = (account(rng.below(ACCOUNTS)), account(rng.below(ACCOUNTS)));
                db.transaction(|tx| {
                    let mut bank = tx.namespace(&w.bank);
                    let get = |bank: &mut emdb_core::TxNamespace<'_, '_>, key: &str| {
                        let value = bank.get(key)?.unwrap();
                        let balance = opened(key.as_bytes(), &value, &what);
                        Ok(u64::from_le_bytes(balance.try_into().unwrap()))
                    };
                    let (have, other) = (get(&mut bank, &from)?, get(&mut bank, &to)?);
                    if from == to || have == 0 {
                        return Ok(());
                    }
                    bank.insert(&from, sealed(from.as_bytes(), &(have - 1).to_le_bytes()))?;
                    bank.insert(&to, sealed(to.as_bytes(), &(other + 1).to_le_bytes()))
                })
                .unwrap();
            }
            Role::Pairs => {
                let pair = rng.below(PAIRS);
                let body = payload(t << 32 | n, size_for(n));
                db.transaction(|tx| {
                    for side in ["a", "b"] {
                        let key = pair_key(pair, side);
                        tx.insert(&key, sealed(key.as_bytes(), &body))?;
                    }
                    Ok(())
                })
                .unwrap();
            }
            Role::PointReader => {
                let key = match rng.below(3) {
                    0 => account(rng.below(ACCOUNTS)),
                    1 => pair_key(rng.below(PAIRS), if rng.below(2) == 0 { "a" } else { "b" }),
                    _ => format!("w:{:02}:{:04}", rng.below(6), rng.below(WRITER_KEYS)),
                };
                let found = if key.starts_with("acct") { w.bank.get(&key) } else { db.get(&key) };
                if let Some(value) = found.unwrap() {
                    opened(key.as_bytes(), &value, &what);
                }
            }
            Role::Scanner => {
                check_scans(db, &w.bank, &what);
            }
            Role::Flusher => {
                db.flush().unwrap();
                thread::sleep(Duration::from_millis(1 + rng.below(3)));
            }
            Role::Checkpointer => {
                db.checkpoint().unwrap();
                thread::sleep(Duration::from_millis(50 + rng.below(100)));
            }
            Role::Checker => {
                let report = db.check_integrity().unwrap();
                assert!(report.records >= ACCOUNTS + 2 * PAIRS, "{what}: {report:?}");
                thread::sleep(Duration::from_millis(200));
            }
            Role::Compactor => {
                // One compaction in the middle of a short run; one every 10 s in a soak.
                let every = (w.duration / 2).min(Duration::from_secs(10));
                thread::sleep(every);
                if Instant::now() >= w.deadline {
                    continue;
                }
                db.compact().unwrap();
            }
        }
        tick();
    }
}

/// The watchdog: returns once every worker has finished, or an error naming a worker that has
/// neither finished nor advanced for `stall`.
fn watch(all: &[Arc<Progress>], stall: Duration) -> Result<(), String> {
    let mut last: Vec<(u64, Instant)> = all.iter().map(|_| (0, Instant::now())).collect();
    loop {
        thread::sleep(Duration::from_millis(100));
        if all.iter().all(|p| p.done.load(Ordering::Acquire)) {
            return Ok(());
        }
        for (p, (ops, since)) in all.iter().zip(&mut last) {
            let now = p.ops.load(Ordering::Relaxed);
            if now != *ops || p.done.load(Ordering::Acquire) {
                *ops = now;
                *since = Instant::now();
            } else if since.elapsed() > stall {
                let stuck: Vec<String> = all
                    .iter()
                    .filter(|p| !p.done.load(Ordering::Acquire))
                    .map(|p| format!("{} ({} ops)", p.name, p.ops.load(Ordering::Relaxed)))
                    .collect();
                return Err(format!(
                    "deadlock: thread {:?} made no progress for {stall:?}; still running: {}",
                    p.name,
                    stuck.join(", ")
                ));
            }
        }
    }
}

#[test]
fn thirty_two_threads_keep_every_invariant_and_the_file_checks_out() {
    let duration = Duration::from_secs(test_depth::pick(3, 3, 60));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = open(&path);
    let bank = setup(&db);
    let world = Arc::new(World {
        db,
        bank,
        stop: AtomicBool::new(false),
        deadline: Instant::now() + duration,
        duration,
    });

    let mut workers = Vec::new();
    let mut all = Vec::new();
    for (role, count) in ROLES {
        for i in 0..count {
            let t = all.len() as u64;
            let progress = Arc::new(Progress {
                name: format!("{role:?} {i}"),
                ops: AtomicU64::new(0),
                done: AtomicBool::new(false),
            });
            all.push(Arc::clone(&progress));
            let world = Arc::clone(&world);
            let handle = thread::Builder::new()
                .name(progress.name.clone())
                .spawn(move || {
                    let _done = DoneOnDrop(Arc::clone(&progress));
                    work(&world, role, t, &progress);
                })
                .unwrap();
            workers.push(handle);
        }
    }
    assert_eq!(all.len(), 32);

    let watchdog = {
        let all = all.clone();
        thread::spawn(move || watch(&all, STALL))
    };
    if let Err(message) = watchdog.join().unwrap() {
        // The stuck threads are left behind; the process ends with the test run.
        world.stop.store(true, Ordering::Relaxed);
        panic!("{message}");
    }
    let mut panicked = Vec::new();
    for (handle, p) in workers.into_iter().zip(&all) {
        if handle.join().is_err() {
            panicked.push(p.name.clone());
        }
    }
    assert!(panicked.is_empty(), "workers panicked: {panicked:?}");

    let total: u64 = all.iter().map(|p| p.ops.load(Ordering::Relaxed)).sum();
    let by_role: Vec<String> = ROLES
        .iter()
        .map(|(role, _)| {
            let prefix = format!("{role:?} ");
            let ops: u64 = all
                .iter()
                .filter(|p| p.name.starts_with(&prefix))
                .map(|p| p.ops.load(Ordering::Relaxed))
                .sum();
            format!("{role:?} {ops}")
        })
        .collect();
    eprintln!("stress: 32 threads, {total} operations in {duration:?} ({})", by_role.join(", "));
    for p in &all {
        assert!(p.ops.load(Ordering::Relaxed) > 0, "{} never completed an operation", p.name);
    }

    let world = Arc::into_inner(world).expect("every worker has finished");
    let live_before = check_scans(&world.db, &world.bank, "before close");
    let report = world.db.check_integrity().unwrap();
    drop(world);

    let db = open(&path);
    let reopened = db.check_integrity().unwrap();
    let bank = db.namespace("bank").unwrap();
    let live_after = check_scans(&db, &bank, "after reopen");
    assert_eq!(live_after, live_before, "the reopened file holds every record");
    assert_eq!(reopened.records, report.records);
    assert_eq!(reopened.uncheckpointed_records, 0, "the last handle's drop checkpointed");
    eprintln!("stress: reopened and checked: {reopened:?}");
}

#[test]
fn the_watchdog_names_a_thread_that_stops_making_progress() {
    let worker = |name: &str| {
        Arc::new(Progress {
            name: name.into(),
            ops: AtomicU64::new(0),
            done: AtomicBool::new(false),
        })
    };
    let (busy, stuck) = (worker("busy"), worker("stuck"));
    let ticker = {
        let busy = Arc::clone(&busy);
        thread::spawn(move || {
            for _ in 0..100 {
                busy.ops.fetch_add(1, Ordering::Relaxed);
                thread::sleep(Duration::from_millis(10));
            }
            busy.done.store(true, Ordering::Release);
        })
    };
    let err = watch(&[busy, Arc::clone(&stuck)], Duration::from_millis(300)).unwrap_err();
    assert!(err.contains("\"stuck\" made no progress"), "{err}");
    stuck.done.store(true, Ordering::Release);
    ticker.join().unwrap();
}
