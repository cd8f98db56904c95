//! The YCSB-shaped mixed-workload benchmark of issue 23: readers and writers at once, on emdb
//! and its peers (redb, LMDB through heed, sled, fjall, and `RocksDB` with `--features
//! rocksdb`), each engine in a child process of its own ([`harness`]).
//!
//! Workload: `EMDB_BENCH_RECORDS` records (default 1,000,000) of 24-byte random keys and
//! 150-byte random values ([`Records`], the records of `lmdb_style`) are loaded in durable
//! commits of 100,000 records, untimed. Then YCSB's core workloads run in the order YCSB's
//! documentation recommends (E last, as it inserts new keys), each for `EMDB_BENCH_YCSB_OPS`
//! operations (default 1,000,000) split evenly over `EMDB_BENCH_YCSB_THREADS` client threads
//! (default 4) that share the one engine:
//!
//! - A, update heavy: 50% reads, 50% updates;
//! - B, read mostly: 95% reads, 5% updates;
//! - C, read only: 100% reads;
//! - F, read-modify-write: 50% reads, 50% read-modify-writes (YCSB's `workloadf`);
//! - E, short ranges: 95% scans of a length uniform in 1..=100 (YCSB's `maxscanlength`),
//!   5% inserts of new keys.
//!
//! Key choice: YCSB's scrambled zipfian over the loaded records: a [`Zipf`] rank with θ = 0.99
//! (YCSB's constant), mapped through a [`Scramble`] bijection of the record indices so that the
//! hot records lie scattered over the key space (YCSB hashes the rank; a bijection keeps every
//! rank on a record of its own). Scans start at a key chosen the same way; inserts take the next
//! unused record index from a counter the threads share, and so land at random places in key
//! order, where later scans see them. Every operation's kind and record are drawn before the
//! clock starts, from a fixed seed per workload and thread, so every engine runs the same
//! sequence.
//!
//! Operations, as a YCSB client issues them, each on its own:
//! - a read is one [`Engine::get`] into a reused buffer: the engine's point read as a caller
//!   does one (a read transaction opened for the read in redb and LMDB, the handle's read in
//!   emdb, sled, fjall and `RocksDB`), so it sees every commit before it. A read must find its
//!   key and a value of 150 bytes, or the run fails;
//! - an update is one [`Engine::put`] of a new 150-byte value (the record's value with its
//!   first 8 bytes replaced by the operation number) under a loaded key;
//! - a read-modify-write is one [`Engine::read_modify_write`] which reads the value and writes
//!   it back with its first 8 bytes replaced — in one write transaction where the engine has
//!   one (emdb, redb, LMDB), as sled's atomic `fetch_and_update`, and as a read followed by a
//!   separate write in fjall and `RocksDB`, whose plain databases have no write transaction;
//! - a scan is one read view ([`Engine::reader`]) and one [`Reader::scan`], which must start at
//!   its (present) start key;
//! - an insert is one [`Engine::put`] of a new record.
//!
//! Durability: every update, read-modify-write and insert is its own commit with
//! [`Durability::NonDurable`], as `lmdb_style`'s non-durable writes run (the report lists each
//! engine's setting): it survives a crash of the process, not a power loss.
//!
//! Concurrency: the client threads share one engine through `&self` ([`Engine`] is `Sync`), and
//! each engine brings its own concurrency for writers: emdb's handle is `Sync` and serialises
//! commits inside; redb and LMDB serialise write transactions themselves (LMDB's adapter also
//! holds its `NO_SYNC` flag lock across a commit, which LMDB's writer lock would serialise
//! anyway); sled, fjall and `RocksDB` take concurrent writers. No lock of the harness's wraps any
//! engine.
//!
//! Each workload reports its wall time from the moment every thread is ready until the last
//! finishes, as throughput (operations per second) per engine and the ratio of emdb's to the best
//! peer's (the issue's goal: at least 1.5×). The report is Markdown on standard output and in
//! `ycsb.md` (with `ycsb.csv` and `ycsb.svg`) in `EMDB_BENCH_OUT` (default `docs/bench/` of the
//! workspace).
//!
//! Run: `cargo run --release -p emdb-benches --bin ycsb` (add `--features rocksdb` for
//! `RocksDB`). Environment: `EMDB_BENCH_RECORDS`, `EMDB_BENCH_YCSB_OPS`,
//! `EMDB_BENCH_YCSB_THREADS`, `EMDB_BENCH_DIR` (where the temporary data directory goes),
//! `EMDB_BENCH_OUT`, `EMDB_BENCH_ENGINES` (a comma-separated subset of engine names).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use emdb_benches::compare::env_count;
use emdb_benches::engine::{BenchResult, Durability, Engine, Reader, size_on_disk};
use emdb_benches::engines::emdb::EmdbEngine;
use emdb_benches::harness::{
    self, Benchmark, ChildError, ENV_CHILD_ENGINE, ENV_RECORDS, EngineInfo, Reporter, millis,
    open_engine, peak_memory,
};
use emdb_benches::report::{self, EngineRun, Phase, RunStatus, Unit, Value};
use emdb_benches::zipf::{Scramble, YCSB_THETA, Zipf};
use emdb_benches::{Records, SplitMix64, machine};

const KEY_LEN: usize = 24;
const VALUE_LEN: usize = 150;
/// The records of `lmdb_style`.
const RECORD_SEED: u64 = 0x00E3_DB00_0100;
const OPS_SEED: u64 = 0x00E3_DB00_0C5B;
const DEFAULT_RECORDS: u64 = 1_000_000;
const DEFAULT_OPS: u64 = 1_000_000;
const DEFAULT_THREADS: u64 = 4;
/// Records per durable commit of the untimed load.
const LOAD_BATCH: u64 = 100_000;
/// YCSB's `maxscanlength`: scans are 1 to this many entries long.
const MAX_SCAN_LEN: u64 = 100;
/// The issue's goal for emdb's throughput over the best peer's, in every workload.
const TARGET_RATIO: f64 = 1.5;

const ENV_OPS: &str = "EMDB_BENCH_YCSB_OPS";
const ENV_THREADS: &str = "EMDB_BENCH_YCSB_THREADS";

fn main() -> ExitCode {
    let plan = match Plan::from_env() {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("ycsb: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(engine) = std::env::var(ENV_CHILD_ENGINE) {
        return harness::child::<Ycsb>(&plan, &engine);
    }
    match parent(&plan) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ycsb: {error}");
            ExitCode::FAILURE
        }
    }
}

/// How many records are loaded, how many operations each workload runs, and on how many
/// client threads.
#[derive(Debug, Clone, Copy)]
struct Plan {
    records: Records,
    loaded: u64,
    ops: u64,
    threads: u64,
}

impl Plan {
    fn new(loaded: u64, ops: u64, threads: u64) -> Self {
        Plan { records: Records::new(KEY_LEN, VALUE_LEN, RECORD_SEED), loaded, ops, threads }
    }

    fn from_env() -> Result<Self, String> {
        Ok(Plan::new(
            env_count(ENV_RECORDS, DEFAULT_RECORDS, 3)?,
            env_count(ENV_OPS, DEFAULT_OPS, 1)?,
            env_count(ENV_THREADS, DEFAULT_THREADS, 1)?,
        ))
    }

    /// The operations of thread `thread` of `threads` get an even share of `ops`, the first
    /// threads one more when it does not divide.
    fn ops_of_thread(&self, thread: u64) -> u64 {
        self.ops / self.threads + u64::from(thread < self.ops % self.threads)
    }
}

// ---------------------------------------------------------------------------------------------
// The workloads.

/// One of YCSB's core workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    A,
    B,
    C,
    F,
    E,
}

impl Workload {
    /// In the order the workloads run: E inserts, so it runs last.
    const ALL: [Workload; 5] = [Workload::A, Workload::B, Workload::C, Workload::F, Workload::E];

    fn id(self) -> &'static str {
        match self {
            Workload::A => "ycsb_a",
            Workload::B => "ycsb_b",
            Workload::C => "ycsb_c",
            Workload::F => "ycsb_f",
            Workload::E => "ycsb_e",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Workload::A => "A: 50% reads, 50% updates",
            Workload::B => "B: 95% reads, 5% updates",
            Workload::C => "C: 100% reads",
            Workload::F => "F: 50% reads, 50% read-modify-writes",
            Workload::E => "E: 95% scans of 1–100, 5% inserts",
        }
    }

    /// The kind of an operation, from a percentile in `0..100`: the workload's first kind
    /// below its share, its second kind above.
    fn kind(self, percentile: u64) -> Kind {
        let (first, share, second) = match self {
            Workload::A => (Kind::Read, 50, Kind::Update),
            Workload::B => (Kind::Read, 95, Kind::Update),
            Workload::C => (Kind::Read, 100, Kind::Update),
            Workload::F => (Kind::Read, 50, Kind::ReadModifyWrite),
            Workload::E => (Kind::Scan, 95, Kind::Insert),
        };
        if percentile < share { first } else { second }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Update,
    ReadModifyWrite,
    Scan,
    Insert,
}

/// One operation: its kind, the record it reads, updates or starts a scan at (unused by an
/// insert, which takes the next new record), and a scan's length.
#[derive(Debug, Clone, Copy)]
struct Op {
    kind: Kind,
    record: u64,
    scan_len: u16,
}

/// The operations of every client thread of `workload`, drawn before the clock starts.
fn draw_ops(plan: &Plan, workload: Workload, zipf: &Zipf, scramble: &Scramble) -> Vec<Vec<Op>> {
    (0..plan.threads)
        .map(|thread| {
            let mut rng = SplitMix64::new(OPS_SEED ^ ((workload as u64 + 1) << 32) ^ (thread + 1));
            (0..plan.ops_of_thread(thread))
                .map(|_| {
                    let kind = workload.kind(rng.next_u64() % 100);
                    let record = scramble.apply(zipf.sample(&mut rng));
                    let scan_len = if kind == Kind::Scan {
                        1 + u16::try_from(rng.next_u64() % MAX_SCAN_LEN).unwrap_or(0)
                    } else {
                        0
                    };
                    Op { kind, record, scan_len }
                })
                .collect()
        })
        .collect()
}

/// What every client thread of one workload shares: the engine's records, and the next record
/// index an insert takes.
struct Shared<'a> {
    records: &'a Records,
    next_insert: &'a AtomicU64,
}

/// Loads the plan's records in durable commits of [`LOAD_BATCH`].
fn load<E: Engine>(engine: &E, plan: &Plan) -> BenchResult<()> {
    let mut start = 0;
    while start < plan.loaded {
        let end = (start + LOAD_BATCH).min(plan.loaded);
        engine.write(&plan.records, start..end, Durability::Durable)?;
        start = end;
    }
    Ok(())
}

/// Runs `workload` on the client threads, each with its share of the operations, and returns
/// the wall time from the moment every thread is ready until the last finishes. `next_insert`
/// is the next unused record index, shared by every workload of the run.
fn run_workload<E: Engine>(
    engine: &E,
    plan: &Plan,
    workload: Workload,
    next_insert: &AtomicU64,
) -> BenchResult<Duration> {
    let zipf = Zipf::new(plan.loaded, YCSB_THETA);
    let scramble = Scramble::new(plan.loaded, &mut SplitMix64::new(OPS_SEED));
    let ops = draw_ops(plan, workload, &zipf, &scramble);
    let shared = Shared { records: &plan.records, next_insert };
    let barrier = Barrier::new(ops.len() + 1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = ops
            .iter()
            .enumerate()
            .map(|(thread, ops)| {
                let (barrier, shared) = (&barrier, &shared);
                // Each thread numbers its operations apart from the others', so every update
                // writes a value no other one writes.
                let first_op = (thread as u64) << 40;
                scope.spawn(move || -> BenchResult<()> {
                    barrier.wait();
                    client(engine, shared, ops, first_op)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for handle in handles {
            handle.join().map_err(|_| "a client thread panicked")??;
        }
        Ok(start.elapsed())
    })
}

/// One client thread: runs `ops` in order and checks every answer.
fn client<E: Engine>(
    engine: &E,
    shared: &Shared<'_>,
    ops: &[Op],
    first_op: u64,
) -> BenchResult<()> {
    let records = shared.records;
    let (mut key, mut value, mut out) =
        (Vec::with_capacity(KEY_LEN), Vec::with_capacity(VALUE_LEN), Vec::with_capacity(VALUE_LEN));
    for (n, op) in (first_op..).zip(ops) {
        match op.kind {
            Kind::Read => {
                records.fill_key(op.record, &mut key);
                if !engine.get(&key, &mut out)? {
                    return Err(format!("record {} is missing", op.record).into());
                }
                if out.len() != VALUE_LEN {
                    return Err(
                        format!("record {} has a value of {} bytes", op.record, out.len()).into()
                    );
                }
            }
            Kind::Update => {
                records.fill_key(op.record, &mut key);
                records.fill_value(op.record, &mut value);
                stamp(&mut value, n);
                engine.put(&key, &value, Durability::NonDurable)?;
            }
            Kind::ReadModifyWrite => {
                records.fill_key(op.record, &mut key);
                let mut old_len = 0;
                let found =
                    engine.read_modify_write(&key, Durability::NonDurable, &mut |old, new| {
                        old_len = old.len();
                        new.extend_from_slice(old);
                        stamp(new, n);
                    })?;
                if !found || old_len != VALUE_LEN {
                    return Err(format!(
                        "a read-modify-write of record {} found {} bytes",
                        op.record,
                        if found { old_len.to_string() } else { "nothing".to_owned() }
                    )
                    .into());
                }
            }
            Kind::Scan => {
                records.fill_key(op.record, &mut key);
                let mut first_matches = None;
                let mut bytes = 0u64;
                let seen = engine.reader()?.scan(&key, usize::from(op.scan_len), &mut |k, v| {
                    first_matches.get_or_insert(k == key.as_slice());
                    bytes += u64::from(v.first().copied().unwrap_or(0));
                })?;
                std::hint::black_box(bytes);
                if seen == 0 || first_matches != Some(true) {
                    return Err(
                        format!("a scan from record {} did not start at it", op.record).into()
                    );
                }
            }
            Kind::Insert => {
                let record = shared.next_insert.fetch_add(1, Ordering::Relaxed);
                records.fill_key(record, &mut key);
                records.fill_value(record, &mut value);
                engine.put(&key, &value, Durability::NonDurable)?;
            }
        }
    }
    Ok(())
}

/// Replaces the first 8 bytes of a value with `n`, making an updated value differ from the
/// loaded one and from every other update's.
fn stamp(value: &mut [u8], n: u64) {
    for (byte, new) in value.iter_mut().zip(n.to_le_bytes()) {
        *byte = new;
    }
}

// ---------------------------------------------------------------------------------------------
// The child: one engine, every workload.

/// The benchmark, for [`harness`].
struct Ycsb;

impl Benchmark for Ycsb {
    type Plan = Plan;
    const NAME: &'static str = "ycsb";

    fn run<E: Engine>(plan: &Plan, dir: &Path, out: &mut Reporter) -> Result<(), ChildError> {
        let mut engine: E = open_engine(dir)?;
        engine.prepare(Durability::Durable)?;
        out.time("load", || load(&engine, plan))?;
        // Untimed: emdb reopens here for its non-durable setting.
        engine.prepare(Durability::NonDurable)?;
        let next_insert = AtomicU64::new(plan.loaded);
        for workload in Workload::ALL {
            out.start(workload.id());
            let elapsed = run_workload(&engine, plan, workload, &next_insert)?;
            out.report(&Value::Millis(millis(elapsed)));
        }
        let expected = next_insert.load(Ordering::Relaxed);
        let len = engine.reader()?.len()?;
        if len != expected {
            return Err(format!("len() is {len} after the workloads, expected {expected}").into());
        }
        out.start("size");
        out.report(&Value::Bytes(size_on_disk(dir)?));
        engine.close()?;
        out.start("peak_memory");
        out.report(&peak_memory());
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The parent: one child per engine, and the reports.

fn parent(plan: &Plan) -> BenchResult<()> {
    // Removed when dropped, including on an early return.
    let data = harness::data_dir("emdb-ycsb-")?;
    let mut machine = machine::describe(data.path());
    let engines = harness::selected_engines::<Ycsb>();
    eprintln!(
        "ycsb: {} records, {} operations per workload on {} threads, data in {}",
        report::thousands(plan.loaded),
        report::thousands(plan.ops),
        plan.threads,
        data.path().display()
    );
    let env = [
        (ENV_RECORDS, plan.loaded.to_string()),
        (ENV_OPS, plan.ops.to_string()),
        (ENV_THREADS, plan.threads.to_string()),
    ];
    let runs = harness::run_children(&engines, data.path(), &env, &mut machine)?;
    for path in write_reports(plan, &engines, &runs, &machine)? {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The rows of the results: the workloads (times, which the report turns into throughput), then
/// the load, the size on disk and the peak memory.
fn phases(plan: &Plan) -> Vec<Phase> {
    let mut phases: Vec<Phase> = Workload::ALL
        .iter()
        .map(|w| Phase {
            id: w.id(),
            label: w.label().to_owned(),
            unit: Unit::Millis,
            compared: true,
        })
        .collect();
    phases.extend([
        Phase {
            id: "load",
            label: format!(
                "load: {} records, durable commits of {}",
                report::thousands(plan.loaded),
                report::thousands(LOAD_BATCH)
            ),
            unit: Unit::Millis,
            compared: true,
        },
        Phase {
            id: "size",
            label: "size on disk after E".to_owned(),
            unit: Unit::Bytes,
            compared: true,
        },
        Phase {
            id: "peak_memory",
            label: "peak memory (VmHWM of the process)".to_owned(),
            unit: Unit::Bytes,
            compared: true,
        },
    ]);
    phases
}

/// The command that reproduces this run.
fn command(plan: &Plan) -> String {
    harness::reproduce_command(
        "ycsb",
        &[
            (ENV_RECORDS, plan.loaded, DEFAULT_RECORDS),
            (ENV_OPS, plan.ops, DEFAULT_OPS),
            (ENV_THREADS, plan.threads, DEFAULT_THREADS),
        ],
    )
}

/// Writes `ycsb.{md,csv,svg}` into the output directory and prints the Markdown.
fn write_reports(
    plan: &Plan,
    engines: &[EngineInfo<Plan>],
    runs: &[EngineRun],
    machine: &[(&'static str, String)],
) -> BenchResult<Vec<PathBuf>> {
    let all = phases(plan);
    let md = document(plan, engines, runs, machine);
    let csv = report::csv(&all, runs);
    let workloads: Vec<Phase> = all.iter().take(Workload::ALL.len()).cloned().collect();
    let title = format!("emdb vs best peer: YCSB, {} records", report::thousands(plan.loaded));
    let svg = report::svg_chart(&title, &workloads, runs, EmdbEngine::NAME);

    harness::write_reports("ycsb", &md, &csv, &svg)
}

/// Operations per second of `run` in `workload`, from its time.
fn throughput(plan: &Plan, run: &EngineRun, workload: Workload) -> Option<f64> {
    let ms = run.values.get(workload.id())?.number()?;
    #[expect(clippy::cast_precision_loss, reason = "operation counts are far below 2^52")]
    let ops = plan.ops as f64;
    (ms > 0.0).then(|| ops / (ms / 1000.0))
}

/// The throughput table: one row per workload, one column per engine (the highest of a row in
/// bold), and emdb's throughput over the best peer's against the goal.
fn throughput_table(plan: &Plan, runs: &[EngineRun]) -> String {
    let emdb = EmdbEngine::NAME;
    let mut md = String::from("| Workload |");
    for run in runs {
        let _ = write!(md, " {} |", run.name);
    }
    md.push_str(" emdb ÷ best peer |\n|---|");
    for _ in runs {
        md.push_str("---:|");
    }
    md.push_str("---:|\n");
    for workload in Workload::ALL {
        let numbers: Vec<Option<f64>> =
            runs.iter().map(|r| throughput(plan, r, workload)).collect();
        let best = numbers.iter().flatten().copied().max_by(f64::total_cmp);
        let _ = write!(md, "| {} |", workload.label());
        for (run, number) in runs.iter().zip(&numbers) {
            let cell = match (number, &run.status) {
                (Some(ops), _) => {
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "a positive throughput far below 2^64"
                    )]
                    let text = report::thousands(ops.round() as u64);
                    if Some(*ops) == best && numbers.iter().flatten().count() > 1 {
                        format!("**{text}**")
                    } else {
                        text
                    }
                }
                (None, RunStatus::Unavailable(_)) => "unavailable".to_owned(),
                (None, RunStatus::Failed(_)) => "failed".to_owned(),
                (None, RunStatus::Completed) => "—".to_owned(),
            };
            let _ = write!(md, " {cell} |");
        }
        let emdb_ops =
            runs.iter().zip(&numbers).find(|(r, _)| r.name == emdb).and_then(|(_, n)| *n);
        let best_peer = runs
            .iter()
            .zip(&numbers)
            .filter(|(r, _)| !report::is_emdb_row(&r.name, emdb))
            .filter_map(|(r, n)| Some((n.as_ref().copied()?, r.name.as_str())))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let ratio = match (emdb_ops, best_peer) {
            (Some(ours), Some((theirs, peer))) => {
                let ratio = ours / theirs;
                let verdict = if ratio >= TARGET_RATIO { "met" } else { "not met" };
                format!("{ratio:.2}× ({peer}; {verdict})")
            }
            _ => "—".to_owned(),
        };
        let _ = writeln!(md, " {ratio} |");
    }
    md
}

/// The Markdown report: the command, the workload, the throughput, the other measurements, the
/// durability and read-modify-write of each engine, the engines' status and the machine.
fn document(
    plan: &Plan,
    engines: &[EngineInfo<Plan>],
    runs: &[EngineRun],
    machine: &[(&'static str, String)],
) -> String {
    let mut md = String::new();
    let _ =
        writeln!(md, "# YCSB-shaped mixed workloads, {} records\n", report::thousands(plan.loaded));
    match runs.iter().find(|r| r.name == EmdbEngine::NAME).map(|r| &r.status) {
        Some(RunStatus::Unavailable(reason)) => {
            let _ = writeln!(md, "**emdb was unavailable in this run** ({reason}).\n");
        }
        Some(RunStatus::Failed(error)) => {
            let _ = writeln!(md, "**emdb failed in this run** {error}\n");
        }
        Some(RunStatus::Completed) | None => {}
    }
    let _ = writeln!(
        md,
        "Generated by `benches/src/bin/ycsb.rs`, whose module documentation describes every \
         operation; *YCSB-shaped mixed workloads* in `docs/BENCH.md` discusses the \
         results.\n\n```sh\n{}\n```\n\n\
         Workload: {} records of {KEY_LEN}-byte random keys and {VALUE_LEN}-byte random values, \
         loaded untimed; then workloads A, B, C, F, E in that order, {} operations each on {} \
         client threads sharing one engine; keys scrambled-zipfian (θ = {YCSB_THETA}) over the \
         loaded records; every update, read-modify-write and insert its own non-durable commit. \
         Each engine in a child process of its own, in a fresh directory, started after a `sync` \
         and after the parent touched and freed 1 GiB of memory.\n",
        command(plan),
        report::thousands(plan.loaded),
        report::thousands(plan.ops),
        plan.threads,
    );
    let _ = writeln!(
        md,
        "## Throughput\n\nOperations per second (higher is better), the best of each row in \
         bold; *emdb ÷ best peer*: emdb's throughput over the best peer's (goal: at least \
         {TARGET_RATIO}×).\n"
    );
    md.push_str(&throughput_table(plan, runs));
    let _ = writeln!(
        md,
        "\n## Times, load, size and memory\n\nMilliseconds (lower is better) unless marked MiB; \
         *ratio best-peer / emdb* above 1 means emdb took less time (or space) than every \
         peer.\n"
    );
    md.push_str(&report::markdown_table(&phases(plan), runs, EmdbEngine::NAME));
    md.push_str(
        "\n## Writes\n\n| Engine | non-durable commit (every write here) | read-modify-write |\n\
         |---|---|---|\n",
    );
    for engine in engines {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            engine.name, engine.non_durable, engine.read_modify_write
        );
    }
    md.push_str("\n## Engine status\n\n");
    md.push_str(&harness::engine_status(runs));
    md.push_str("\n## Machine\n\n");
    md.push_str(&harness::machine_table(machine));
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    use emdb_benches::engine::OpenError;

    /// Every workload on a small emdb database: every read finds its key, and every insert of E
    /// lands.
    #[test]
    fn every_workload_runs_and_checks_its_answers_on_emdb() {
        let dir = tempfile::tempdir().unwrap();
        let plan = Plan::new(2_000, 4_001, 4);
        let mut engine = match EmdbEngine::open(dir.path()) {
            Ok(engine) => engine,
            Err(OpenError::Unavailable(reason)) => panic!("emdb is unavailable: {reason}"),
            Err(OpenError::Failed(error)) => panic!("emdb: {error}"),
        };
        engine.prepare(Durability::Durable).unwrap();
        load(&engine, &plan).unwrap();
        engine.prepare(Durability::NonDurable).unwrap();
        let next_insert = AtomicU64::new(plan.loaded);
        for workload in Workload::ALL {
            run_workload(&engine, &plan, workload, &next_insert).unwrap();
        }
        let inserted = next_insert.load(Ordering::Relaxed) - plan.loaded;
        // About 5% of E's operations insert.
        assert!((100..300).contains(&inserted), "{inserted} inserts");
        let mut reader = engine.reader().unwrap();
        assert_eq!(reader.len().unwrap(), plan.loaded + inserted);
        let mut value = Vec::new();
        let last = plan.loaded + inserted - 1;
        assert!(reader.get(&plan.records.key(last), &mut value).unwrap());
        assert_eq!(value, plan.records.value(last));
    }

    #[test]
    fn the_operations_follow_each_workloads_mix_and_stay_in_the_records() {
        let plan = Plan::new(10_000, 20_000, 4);
        let zipf = Zipf::new(plan.loaded, YCSB_THETA);
        let scramble = Scramble::new(plan.loaded, &mut SplitMix64::new(OPS_SEED));
        for workload in Workload::ALL {
            let ops = draw_ops(&plan, workload, &zipf, &scramble);
            assert_eq!(ops.iter().map(Vec::len).sum::<usize>(), 20_000);
            let ops: Vec<Op> = ops.into_iter().flatten().collect();
            assert!(ops.iter().all(|op| op.record < plan.loaded));
            let share = |kind| {
                let n = ops.iter().filter(|op| op.kind == kind).count();
                #[expect(clippy::cast_precision_loss, reason = "small counts")]
                let share = n as f64 / ops.len() as f64;
                share
            };
            // YCSB's proportions: the first kind's share, the rest the second kind.
            let (first, expected, second) = match workload {
                Workload::A => (Kind::Read, 0.5, Kind::Update),
                Workload::B => (Kind::Read, 0.95, Kind::Update),
                Workload::C => (Kind::Read, 1.0, Kind::Update),
                Workload::F => (Kind::Read, 0.5, Kind::ReadModifyWrite),
                Workload::E => (Kind::Scan, 0.95, Kind::Insert),
            };
            assert!((share(first) - expected).abs() < 0.01, "{workload:?}: {}", share(first));
            assert!((share(first) + share(second) - 1.0).abs() < 1e-9, "{workload:?}");
            let scans = ops.iter().filter(|op| op.kind == Kind::Scan);
            assert!(scans.clone().all(|op| (1..=100).contains(&op.scan_len)));
            if workload == Workload::E {
                assert!(scans.clone().any(|op| op.scan_len == 1));
                assert!(scans.clone().any(|op| op.scan_len == 100));
            }
        }
    }

    #[test]
    fn the_throughput_table_divides_emdb_by_the_best_peer() {
        let plan = Plan::new(1_000, 1_000_000, 4);
        let run = |name: &str, ms: f64| EngineRun {
            name: name.to_owned(),
            status: RunStatus::Completed,
            values: Workload::ALL.iter().map(|w| (w.id().to_owned(), Value::Millis(ms))).collect(),
        };
        let runs = [run("emdb", 500.0), run("redb", 2_000.0), run("lmdb", 1_000.0)];
        let table = throughput_table(&plan, &runs);
        assert!(
            table.contains("| A: 50% reads, 50% updates | **2,000,000** | 500,000 | 1,000,000 | 2.00× (lmdb; met) |"),
            "{table}"
        );
    }
}
