//! The kill -9 loop: this test binary re-executes itself as a child that commits numbered
//! writes and prints each number after its commit returned; the parent SIGKILLs it after a
//! random delay (sometimes during open and recovery, checkpoints or compaction), reopens the
//! database and checks that it holds a prefix of the commits containing every acknowledged one.
//!
//! Scenarios: single inserts, transactions, frequent checkpoints with larger values, compaction,
//! and single inserts and reads under a memory budget of 4 KiB (a checkpoint every few commits,
//! most reads a descent of the tree): 650 kills with `EMDB_TESTS=full`, 80 in a short run,
//! 12,750 in a soak. A
//! sequence handing out ids is killed 200 times: every id printed is above every id printed
//! before.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use emdb_core::{Emdb, FlushPolicy};

#[path = "../src/test_depth.rs"]
mod test_depth;

const CHILD_ENV: &str = "EMDB_KILL9_CHILD";

#[derive(Clone, Copy, Debug)]
enum Scenario {
    Plain,
    Transactions,
    Checkpoints,
    Compaction,
    Budget,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Plain => "plain",
            Scenario::Transactions => "txn",
            Scenario::Checkpoints => "ckpt",
            Scenario::Compaction => "compact",
            Scenario::Budget => "budget",
        }
    }

    fn parse(s: &str) -> Scenario {
        match s {
            "plain" => Scenario::Plain,
            "txn" => Scenario::Transactions,
            "ckpt" => Scenario::Checkpoints,
            "budget" => Scenario::Budget,
            _ => Scenario::Compaction,
        }
    }
}

fn open(path: &Path, scenario: Scenario) -> Emdb {
    let wal = if matches!(scenario, Scenario::Checkpoints) { 16 * 1024 } else { 1 << 20 };
    let builder =
        Emdb::builder().path(path).flush_policy(FlushPolicy::OnEachWrite).checkpoint_wal_bytes(wal);
    let builder =
        if matches!(scenario, Scenario::Budget) { builder.memory_budget(4096) } else { builder };
    builder.build().unwrap()
}

fn key(n: u64) -> String {
    format!("k{n:08}")
}

fn value(n: u64, scenario: Scenario) -> Vec<u8> {
    let size = if matches!(scenario, Scenario::Checkpoints | Scenario::Budget) {
        200 + (n % 3) as usize * 900
    } else {
        8
    };
    let mut v = n.to_le_bytes().to_vec();
    v.resize(size, (n % 251) as u8);
    v
}

/// The number of commits the database holds, after checking they are a whole prefix (and the
/// file and the index pass the integrity check).
fn verify(db: &Emdb, scenario: Scenario) -> u64 {
    let report = db.check_integrity().unwrap();
    assert_eq!(report.records, db.len().unwrap() as u64, "the check counts every record");
    if let Scenario::Transactions = scenario {
        let a = db.get("a").unwrap();
        assert_eq!(a, db.get("b").unwrap(), "a transaction was half applied");
        let Some(a) = a else { return 0 };
        let n = u64::from_le_bytes(a.try_into().unwrap());
        assert_eq!(db.len().unwrap() as u64, 2 + (n + 1).min(50), "keys of the prefix");
        return n + 1;
    }
    let mut count = 0u64;
    for item in db.iter().unwrap() {
        let (k, v) = item.unwrap();
        assert_eq!(k, key(count).into_bytes(), "commits form a prefix");
        assert_eq!(v, value(count, scenario), "the value of commit {count}");
        count += 1;
    }
    assert_eq!(db.len().unwrap() as u64, count);
    count
}

/// The child: commits numbered writes forever, printing each number once its commit returned.
#[test]
#[ignore = "run by kill9_loop_keeps_every_acknowledged_commit"]
fn kill9_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (scenario, path) = spec.split_once(':').unwrap();
    let scenario = Scenario::parse(scenario);
    let path = Path::new(path);
    let db = open(path, scenario);
    let mut n = verify(&db, scenario);
    let mut out = std::io::stdout().lock();
    loop {
        match scenario {
            Scenario::Transactions => db
                .transaction(|tx| {
                    tx.insert("a", n.to_le_bytes())?;
                    tx.insert(format!("c{:02}", n % 50), n.to_le_bytes())?;
                    tx.insert("b", n.to_le_bytes())
                })
                .unwrap(),
            _ => db.insert(key(n), value(n, scenario)).unwrap(),
        }
        if matches!(scenario, Scenario::Budget) && n > 0 {
            // A read of an earlier commit, through the tree more often than not.
            let earlier = (n * 7_919) % n;
            assert_eq!(db.get(key(earlier)).unwrap(), Some(value(earlier, scenario)));
        }
        writeln!(out, "{n}").unwrap();
        out.flush().unwrap();
        if matches!(scenario, Scenario::Compaction) && n % 40 == 39 {
            db.compact().unwrap();
        }
        n += 1;
    }
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
fn kill9_loop_keeps_every_acknowledged_commit() {
    let per_scenario = test_depth::pick(16, 130, 2_550);
    let exe = std::env::current_exe().unwrap();
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let mut rng = Rng(u64::try_from(seed % u128::from(u64::MAX)).unwrap());
    let started = Instant::now();
    let mut kills = 0;
    for scenario in [
        Scenario::Plain,
        Scenario::Transactions,
        Scenario::Checkpoints,
        Scenario::Compaction,
        Scenario::Budget,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut acked: Option<u64> = None;
        let mut held = 0;
        for round in 0..per_scenario {
            // Some kills land during open and recovery, most while committing.
            let delay = if rng.next(5) == 0 { rng.next(8) } else { 10 + rng.next(60) };
            let printed = run_and_kill(
                &exe,
                "kill9_child",
                &format!("{}:{}", scenario.name(), path.display()),
                KillAfter::Start(delay),
            );
            kills += 1;
            if let Some(&n) = printed.last() {
                acked = Some(acked.map_or(n, |a| a.max(n)));
            }
            // Verify every other round, so that the child's own open also recovers after kills.
            if round % 2 == 1 || round + 1 == per_scenario {
                let db = open(&path, scenario);
                held = verify(&db, scenario);
                if let Some(a) = acked {
                    assert!(
                        held > a,
                        "{scenario:?}: commit {a} was acknowledged but {held} survive"
                    );
                }
            }
        }
        eprintln!("{scenario:?}: {held} commits survive {per_scenario} kills");
        let needed = if matches!(scenario, Scenario::Compaction) { 200 } else { 50 };
        let needed = needed * per_scenario.min(130) / 130;
        assert!(held >= needed, "{scenario:?}: too few commits ({held}) to exercise it");
    }
    eprintln!("kill -9 loop: {kills} kills in {:?}", started.elapsed());
    assert!(kills >= test_depth::pick(80, 650, 12_750), "only {kills} kills");
}

/// When a child is killed: `delay` ms after it was started, or after it printed its first number
/// (a start that takes longer than the delays, as under Wine, then still gets work done).
#[derive(Clone, Copy)]
enum KillAfter {
    Start(u64),
    FirstNumber(u64),
}

/// Runs the child test `name` of this binary with `spec` in its environment, SIGKILLs it as
/// `when` says, and returns the numbers it printed, one per line, in order.
fn run_and_kill(exe: &Path, name: &str, spec: &str, when: KillAfter) -> Vec<u64> {
    let mut child = spawn_child(exe, name, spec);
    let stdout = child.stdout.take().unwrap();
    let printed = Arc::new(Mutex::new(Vec::new()));
    let (first, first_printed) = std::sync::mpsc::channel();
    let reader = {
        let printed = Arc::clone(&printed);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(n) = line.trim().parse::<u64>() {
                    printed.lock().unwrap().push(n);
                    let _ = first.send(());
                }
            }
        })
    };
    let delay_ms = match when {
        KillAfter::Start(ms) => ms,
        KillAfter::FirstNumber(ms) => {
            let _ = first_printed.recv_timeout(Duration::from_secs(30));
            ms
        }
    };
    std::thread::sleep(Duration::from_millis(delay_ms));
    let status = child.try_wait().unwrap();
    assert!(status.is_none(), "the child exited by itself: {status:?} (panic?)");
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    Arc::try_unwrap(printed).unwrap().into_inner().unwrap()
}

/// Starts the child test `name`. A start that fails is tried again a few times: no child ran,
/// so nothing about the database depends on it, and Wine's process creation now and then fails
/// with `ERROR_INTERNAL_ERROR` (1359) after many children were killed.
fn spawn_child(exe: &Path, name: &str, spec: &str) -> Child {
    let mut attempt = 0;
    loop {
        let started = Command::new(exe)
            .args(["--exact", name, "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, spec)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        match started {
            Ok(child) => return child,
            Err(err) if attempt < 5 => {
                eprintln!("starting the child failed ({err}); trying again");
                attempt += 1;
                std::thread::sleep(Duration::from_millis(200 * attempt));
            }
            Err(err) => panic!("the child did not start after {attempt} retries: {err}"),
        }
    }
}

#[test]
#[ignore = "run by kill9_loop_keeps_sequence_ids_unique_and_increasing"]
fn sequence_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    // Manual: nothing but the sequence's own sync makes its blocks durable.
    let db = Emdb::builder().path(path).flush_policy(FlushPolicy::Manual).build().unwrap();
    let seq = db.sequence("ids").unwrap();
    let mut out = std::io::stdout().lock();
    loop {
        writeln!(out, "{}", seq.next().unwrap()).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill9_loop_keeps_sequence_ids_unique_and_increasing() {
    let exe = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut rng = Rng(0x0005_eed0_f1d5);
    let mut last = 0;
    let mut handed_out = 0;
    for _ in 0..200 {
        // A quarter of the kills land during the open or the first reservation, the rest while
        // ids are handed out (timed from the first one, so a slow start still hands some out).
        let when = if rng.next(4) == 0 {
            KillAfter::Start(rng.next(5))
        } else {
            KillAfter::FirstNumber(rng.next(25))
        };
        for id in run_and_kill(&exe, "sequence_child", &path.display().to_string(), when) {
            assert!(id > last, "id {id} handed out after {last}");
            last = id;
            handed_out += 1;
        }
    }
    eprintln!("sequence: {handed_out} ids over 200 kills, the last {last}");
    assert!(handed_out > 2_000, "too few ids ({handed_out}) to cross blocks");
}
