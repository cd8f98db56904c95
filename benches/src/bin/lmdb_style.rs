//! The comparative benchmark in the shape of redb's `lmdb_benchmark`: emdb and its peers (redb,
//! LMDB through heed, sled, fjall, and `RocksDB` with `--features rocksdb`) run the same phases on
//! the same records, each engine in a child process of its own. emdb runs twice: `emdb` reads
//! through a snapshot with the borrowing calls (`get_into`, `next_ref`), `emdb-plain` through the
//! handle with the owned ones a user writes first (`get`, the `Iterator` of `range`); each gets
//! its own ratio to the best peer.
//!
//! Workload: `EMDB_BENCH_RECORDS` records (default 1,000,000) of 24-byte random keys and 150-byte
//! random values from a fixed seed ([`Records`]); then 1,000 individual durable writes, 100
//! durable batches of 1,000, 100,000 non-durable writes, `len()`, 1,000,000 random reads (twice),
//! 500,000 random range reads of 10 entries, 1,000,000 random reads split over 1, 2, 4 and 8
//! threads, removal of half the keys in one durable commit, the size on disk, compaction, the
//! size again, reopening, and the child's peak memory. A baseline times 1,000 appends of 150 bytes
//! each followed by `fdatasync`, on the same filesystem. `docs/BENCH.md` lists the durability
//! setting each engine uses.
//!
//! Run: `cargo run --release -p emdb-benches --bin lmdb_style` (add `--features rocksdb` for
//! `RocksDB`). Environment: `EMDB_BENCH_RECORDS` (record count), `EMDB_BENCH_DIR` (where the
//! temporary data directory goes; default the system temp dir), `EMDB_BENCH_OUT` (where
//! `lmdb_style.{md,csv,svg}` are written; default `docs/bench/` of the workspace),
//! `EMDB_BENCH_ENGINES` (a comma-separated subset of engine names).
//!
//! The parent re-executes this binary once per engine with `EMDB_BENCH_CHILD_ENGINE` set (after a
//! `sync`, so that no engine's durable phases wait for the write-back of earlier work); the
//! child prints its results as tab-separated lines on standard output ([`report`]), so the peak
//! memory it reports is its own, and a crash loses one engine's remaining phases, not the run.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use emdb_benches::engine::{BenchResult, Compaction, Durability, Engine, Reader, size_on_disk};
use emdb_benches::engines::emdb::EmdbEngine;
use emdb_benches::harness::{
    self, Benchmark, ChildError, ENV_CHILD_ENGINE, ENV_RECORDS, EngineInfo, Reporter, millis,
    open_engine, peak_memory,
};
use emdb_benches::report::{self, EngineRun, Phase, RunStatus, Unit, Value};
use emdb_benches::{Records, SplitMix64, machine, random_index};

const KEY_LEN: usize = 24;
const VALUE_LEN: usize = 150;
const RECORD_SEED: u64 = 0x00E3_DB00_0100;
const READ_SEED: u64 = 0x00E3_DB00_0101;
const DEFAULT_RECORDS: u64 = 1_000_000;

const INDIVIDUAL_WRITES: u64 = 1_000;
const BATCHES: u64 = 100;
const BATCH_SIZE: u64 = 1_000;
const NON_DURABLE_WRITES: u64 = 100_000;
const READS: u64 = 1_000_000;
const SCANS: u64 = 500_000;
const SCAN_LEN: usize = 10;
const THREAD_COUNTS: [u64; 4] = [1, 2, 4, 8];
const BASELINE_SYNCS: u32 = 1_000;
/// emdb's individual durable writes should take at most this multiple of the baseline.
const BASELINE_TARGET: f64 = 1.3;

/// The phase id of the `fdatasync` baseline, which every child measures before it opens its
/// engine.
const BASELINE_PHASE: &str = "fdatasync_baseline";

fn main() -> ExitCode {
    let records = match record_count() {
        Ok(n) => n,
        Err(error) => {
            eprintln!("lmdb_style: {error}");
            return ExitCode::FAILURE;
        }
    };
    let plan = Plan::new(records);
    let result = match std::env::var(ENV_CHILD_ENGINE) {
        Ok(engine) => return harness::child::<LmdbStyle>(&plan, &engine),
        Err(_) => parent(&plan),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lmdb_style: {error}");
            ExitCode::FAILURE
        }
    }
}

fn record_count() -> BenchResult<u64> {
    match std::env::var(ENV_RECORDS) {
        Ok(text) => {
            let n: u64 =
                text.replace('_', "").parse().map_err(|e| format!("{ENV_RECORDS}: {e}"))?;
            if n < 2 {
                return Err(format!("{ENV_RECORDS} must be at least 2").into());
            }
            Ok(n)
        }
        Err(_) => Ok(DEFAULT_RECORDS),
    }
}

/// Which records each phase writes: the bulk load takes indices `0..n`, and every later write
/// phase the next unused ones, so each write inserts a new key.
#[derive(Debug, Clone, Copy)]
struct Plan {
    records: Records,
    bulk: u64,
}

impl Plan {
    fn new(bulk: u64) -> Self {
        Plan { records: Records::new(KEY_LEN, VALUE_LEN, RECORD_SEED), bulk }
    }

    fn individual_start(&self) -> u64 {
        self.bulk
    }

    fn batch_start(&self) -> u64 {
        self.individual_start() + INDIVIDUAL_WRITES
    }

    fn non_durable_start(&self) -> u64 {
        self.batch_start() + BATCHES * BATCH_SIZE
    }

    /// The number of records once every write phase ran.
    fn total(&self) -> u64 {
        self.non_durable_start() + NON_DURABLE_WRITES
    }

    /// The rows of the results, in the order the phases run.
    fn phases(&self) -> Vec<Phase> {
        let ms = |id, label: String| Phase { id, label, unit: Unit::Millis, compared: true };
        let bytes = |id, label: String| Phase { id, label, unit: Unit::Bytes, compared: true };
        let mut phases = vec![
            Phase {
                id: BASELINE_PHASE,
                label: format!(
                    "baseline: {} × ({VALUE_LEN}-byte append + fdatasync), no engine",
                    group(u64::from(BASELINE_SYNCS))
                ),
                unit: Unit::Millis,
                compared: false,
            },
            ms("bulk_load", format!("bulk load: {} records, 1 durable commit", group(self.bulk))),
            ms(
                "individual_writes",
                format!("{} individual durable writes", group(INDIVIDUAL_WRITES)),
            ),
            ms(
                "batch_writes",
                format!("{BATCHES} durable batches of {} writes", group(BATCH_SIZE)),
            ),
            ms("non_durable_writes", format!("{} non-durable writes", group(NON_DURABLE_WRITES))),
            ms("len", format!("len() = {}, mean of repeated calls", group(self.total()))),
            ms("random_reads_1", format!("{} random reads (1st)", group(READS))),
            ms("random_reads_2", format!("{} random reads (2nd)", group(READS))),
            ms("range_reads", format!("{} random range reads × {SCAN_LEN}", group(SCANS))),
        ];
        for threads in THREAD_COUNTS {
            phases.push(ms(
                thread_phase_id(threads),
                format!("{} random reads, {threads} thread{}", group(READS), plural(threads)),
            ));
        }
        phases.extend([
            ms(
                "removals",
                format!("removal of {} keys, 1 durable commit", group(self.total() / 2)),
            ),
            bytes("size_uncompacted", "size on disk, uncompacted".to_owned()),
            ms("compaction", "compaction".to_owned()),
            bytes("size_compacted", "size on disk, compacted".to_owned()),
            ms("reopen", "reopen".to_owned()),
            bytes("peak_memory", "peak memory (VmHWM of the process)".to_owned()),
        ]);
        phases
    }
}

fn thread_phase_id(threads: u64) -> &'static str {
    match threads {
        1 => "reads_1_thread",
        2 => "reads_2_threads",
        4 => "reads_4_threads",
        _ => "reads_8_threads",
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn group(n: u64) -> String {
    report::thousands(n)
}

// ---------------------------------------------------------------------------------------------
// The child: one engine, every phase.

/// The benchmark, for [`harness`].
struct LmdbStyle;

impl Benchmark for LmdbStyle {
    type Plan = Plan;
    const NAME: &'static str = "lmdb_style";

    fn run<E: Engine>(plan: &Plan, dir: &Path, out: &mut Reporter) -> Result<(), ChildError> {
        run::<E>(plan, dir, out)
    }
}

/// Every phase, in order, on engine `E` in the empty directory `dir`.
fn run<E: Engine>(plan: &Plan, dir: &Path, out: &mut Reporter) -> Result<(), ChildError> {
    let records = &plan.records;
    // Before the engine exists, so that none of its threads share the disk with the baseline.
    out.time(BASELINE_PHASE, || baseline(dir))?;
    let mut engine: E = open_engine(dir)?;

    engine.prepare(Durability::Durable)?;
    out.time("bulk_load", || engine.write(records, 0..plan.bulk, Durability::Durable))?;

    out.time("individual_writes", || {
        let start = plan.individual_start();
        for i in start..start + INDIVIDUAL_WRITES {
            engine.write(records, i..i + 1, Durability::Durable)?;
        }
        Ok(())
    })?;

    out.time("batch_writes", || {
        for batch in 0..BATCHES {
            let start = plan.batch_start() + batch * BATCH_SIZE;
            engine.write(records, start..start + BATCH_SIZE, Durability::Durable)?;
        }
        Ok(())
    })?;

    engine.prepare(Durability::NonDurable)?;
    out.time("non_durable_writes", || {
        let start = plan.non_durable_start();
        for i in start..start + NON_DURABLE_WRITES {
            engine.write(records, i..i + 1, Durability::NonDurable)?;
        }
        Ok(())
    })?;
    engine.prepare(Durability::Durable)?;

    let total = plan.total();
    let mut reader = engine.reader()?;
    let len = out.time_repeated("len", || reader.len())?;
    expect_len(len, total)?;

    // The same reads twice: the first run also warms the engine's cache.
    for phase in ["random_reads_1", "random_reads_2"] {
        out.time(phase, || random_reads(&mut reader, records, total, READ_SEED, READS))?;
    }

    out.time("range_reads", || range_reads(&mut reader, records, total))?;
    drop(reader);

    for threads in THREAD_COUNTS {
        out.start(thread_phase_id(threads));
        let elapsed = threaded_reads(&engine, records, total, threads)?;
        out.report(&Value::Millis(millis(elapsed)));
    }

    let removed = total / 2;
    out.time("removals", || engine.remove(records, 0..removed, Durability::Durable))?;
    expect_len(engine.reader()?.len()?, total - removed)?;

    out.start("size_uncompacted");
    out.report(&Value::Bytes(size_on_disk(dir)?));

    out.start("compaction");
    let start = Instant::now();
    match engine.compact()? {
        Compaction::Done => {
            out.report(&Value::Millis(millis(start.elapsed())));
            expect_len(engine.reader()?.len()?, total - removed)?;
            out.start("size_compacted");
            out.report(&Value::Bytes(size_on_disk(dir)?));
        }
        Compaction::Unsupported(reason) => {
            out.report(&Value::NotApplicable(reason.to_owned()));
            out.start("size_compacted");
            out.report(&Value::NotApplicable(reason.to_owned()));
        }
    }

    engine.close()?;
    out.start("reopen");
    let start = Instant::now();
    let engine = E::open(dir)?;
    out.report(&Value::Millis(millis(start.elapsed())));
    expect_len(engine.reader()?.len()?, total - removed)?;
    engine.close()?;

    out.start("peak_memory");
    out.report(&peak_memory());
    Ok(())
}

fn expect_len(len: u64, expected: u64) -> BenchResult<()> {
    if len == expected {
        Ok(())
    } else {
        Err(format!("len() is {len}, expected {expected}").into())
    }
}

/// `count` reads of uniformly random present keys; checks every value's length and the sum of
/// their first bytes.
fn random_reads(
    reader: &mut impl Reader,
    records: &Records,
    total: u64,
    seed: u64,
    count: u64,
) -> BenchResult<()> {
    let mut rng = SplitMix64::new(seed);
    let (mut key, mut value) = (Vec::with_capacity(KEY_LEN), Vec::with_capacity(VALUE_LEN));
    let (mut sum, mut expected) = (0u64, 0u64);
    for _ in 0..count {
        let index = random_index(&mut rng, total);
        records.fill_key(index, &mut key);
        if !reader.get(&key, &mut value)? {
            return Err(format!("record {index} is missing").into());
        }
        if value.len() != records.value_len() {
            return Err(format!("record {index} has a value of {} bytes", value.len()).into());
        }
        sum += u64::from(value.first().copied().unwrap_or(0));
        expected += u64::from(records.value_first_byte(index));
    }
    if sum == expected { Ok(()) } else { Err("read values differ from the written ones".into()) }
}

/// [`SCANS`] range reads of up to [`SCAN_LEN`] entries from a random present key.
fn range_reads(reader: &mut impl Reader, records: &Records, total: u64) -> BenchResult<()> {
    let mut rng = SplitMix64::new(READ_SEED ^ 0x5CA7);
    let mut key = Vec::with_capacity(KEY_LEN);
    let mut bytes = 0u64;
    for _ in 0..SCANS {
        let index = random_index(&mut rng, total);
        records.fill_key(index, &mut key);
        let mut first_key_matches = None;
        let seen = reader.scan(&key, SCAN_LEN, &mut |k, v| {
            first_key_matches.get_or_insert(k == key.as_slice());
            bytes += u64::from(v.first().copied().unwrap_or(0));
        })?;
        if seen == 0 || first_key_matches != Some(true) {
            return Err(format!("a range read from record {index} did not start at it").into());
        }
    }
    std::hint::black_box(bytes);
    Ok(())
}

/// [`READS`] random reads split over `threads` threads, each with its own reader; the time runs
/// from the moment every thread has its reader until the last one finishes.
fn threaded_reads<E: Engine>(
    engine: &E,
    records: &Records,
    total: u64,
    threads: u64,
) -> BenchResult<Duration> {
    let barrier = Barrier::new(usize::try_from(threads)? + 1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                scope.spawn(move || -> BenchResult<()> {
                    let reader = engine.reader();
                    // Wait even if the reader failed, or the others would wait forever.
                    barrier.wait();
                    let mut reader = reader?;
                    random_reads(&mut reader, records, total, READ_SEED ^ (t + 1), READS / threads)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for handle in handles {
            handle.join().map_err(|_| "a reader thread panicked")??;
        }
        Ok(start.elapsed())
    })
}

// ---------------------------------------------------------------------------------------------
// The parent: the baseline, one child per engine, and the reports.

fn parent(plan: &Plan) -> BenchResult<()> {
    // Removed when dropped, including on an early return.
    let data = harness::data_dir("emdb-lmdb-style-")?;
    let mut machine = machine::describe(data.path());
    let engines = harness::selected_engines::<LmdbStyle>();
    eprintln!(
        "lmdb_style: {} records ({} after every write phase), data in {}",
        group(plan.bulk),
        group(plan.total()),
        data.path().display()
    );
    let env = [(ENV_RECORDS, plan.bulk.to_string())];
    let runs = harness::run_children(&engines, data.path(), &env, &mut machine)?;
    let outputs = write_reports(plan, &engines, &runs, &machine)?;
    for path in outputs {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// [`BASELINE_SYNCS`] appends of one 150-byte value to a file in `dir`, each followed by
/// `fdatasync`: what a durable append costs on this filesystem. Each child measures it first,
/// before it opens its engine, so that the baselines of all engines see a quiet disk within
/// minutes of the engine's own writes.
fn baseline(dir: &Path) -> BenchResult<()> {
    let path = dir.join("baseline.log");
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
    let value = Records::new(KEY_LEN, VALUE_LEN, RECORD_SEED).value(0);
    for _ in 0..BASELINE_SYNCS {
        file.write_all(&value)?;
        file.sync_data()?;
    }
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(())
}

/// The command that reproduces this run.
fn command(plan: &Plan) -> String {
    harness::reproduce_command("lmdb_style", &[(ENV_RECORDS, plan.bulk, DEFAULT_RECORDS)])
}

/// Writes `lmdb_style.{md,csv,svg}` into the output directory and prints the Markdown.
fn write_reports(
    plan: &Plan,
    engines: &[EngineInfo<Plan>],
    runs: &[EngineRun],
    machine: &[(&'static str, String)],
) -> BenchResult<Vec<PathBuf>> {
    let phases = plan.phases();
    let md = document(plan, engines, runs, machine);
    let csv = report::csv(&phases, runs);
    let title = format!("emdb vs best peer: lmdb_style, {} records", group(plan.bulk));
    let svg = report::svg_chart(&title, &phases, runs, EmdbEngine::NAME);

    harness::write_reports("lmdb_style", &md, &csv, &svg)
}

/// The Markdown report: the emdb status, the command, the workload, the results, the baseline,
/// the durability settings, the engines' status and the machine.
fn document(
    plan: &Plan,
    engines: &[EngineInfo<Plan>],
    runs: &[EngineRun],
    machine: &[(&'static str, String)],
) -> String {
    let emdb = EmdbEngine::NAME;
    let n = group(plan.bulk);
    let mut md = String::new();
    let _ = writeln!(md, "# Comparative benchmark (lmdb_style), {n} records\n");
    match runs.iter().find(|r| r.name == emdb).map(|r| &r.status) {
        Some(RunStatus::Unavailable(reason)) => {
            let _ = writeln!(
                md,
                "**emdb was unavailable in this run** ({reason}). Its column is empty and there \
                 are no ratios: this run shows the harness working with every peer.\n"
            );
        }
        Some(RunStatus::Failed(error)) => {
            let _ = writeln!(md, "**emdb failed in this run** {error}\n");
        }
        Some(RunStatus::Completed) | None => {}
    }
    let _ = writeln!(
        md,
        "Generated by `benches/src/bin/lmdb_style.rs`; *Comparative benchmark (lmdb_style)* in \
         `docs/BENCH.md` says what each phase does.\n\n```sh\n{}\n```\n\n\
         Workload: {n} records bulk-loaded, {} after every write phase; {KEY_LEN}-byte random \
         keys, {VALUE_LEN}-byte random values (fixed-seed SplitMix64); each engine in a child \
         process of its own, in a fresh directory, started after a `sync` and after the parent touched and freed 1 GiB of memory.\n",
        command(plan),
        group(plan.total()),
    );
    let _ = writeln!(
        md,
        "## Results\n\nMilliseconds (lower is better) unless marked MiB; the best of each row \
         in bold. *ratio best-peer / emdb*: the best peer's number divided by emdb's; above 1 \
         means emdb took less time (or space) than every peer.\n"
    );
    md.push_str(&report::markdown_table(&plan.phases(), runs, emdb));

    let _ = writeln!(
        md,
        "\n## Baseline\n\nEach child times {} appends of {VALUE_LEN} bytes to one file in its \
         directory, each followed by `fdatasync`, before it opens its engine. An engine that \
         syncs writes into space it allocated earlier can beat it: an append also makes the \
         filesystem commit the file's new size. Target: emdb's {} individual durable writes take at most {BASELINE_TARGET}× its \
         baseline.\n\n| Engine | baseline | per sync | individual durable writes ÷ baseline |\n\
         |---|---:|---:|---:|",
        group(u64::from(BASELINE_SYNCS)),
        group(INDIVIDUAL_WRITES),
    );
    for run in runs {
        let value = |id: &str| run.values.get(id).and_then(Value::number);
        let Some(baseline) = value(BASELINE_PHASE) else {
            let _ = writeln!(md, "| {} | — | — | — |", run.name);
            continue;
        };
        let ratio = value("individual_writes").map_or_else(
            || "—".to_owned(),
            |writes| {
                let ratio = writes / baseline;
                if run.name == emdb {
                    let verdict = if ratio <= BASELINE_TARGET { "met" } else { "not met" };
                    format!("**{ratio:.2}×** (target {verdict})")
                } else {
                    format!("{ratio:.2}×")
                }
            },
        );
        let per_sync = baseline * 1000.0 / f64::from(BASELINE_SYNCS);
        let cell = Value::Millis(baseline).cell();
        let _ = writeln!(md, "| {} | {cell} ms | {per_sync:.0} µs | {ratio} |", run.name);
    }

    md.push_str(
        "\n## Durability settings\n\n| Engine | durable phases | non-durable phase |\n\
         |---|---|---|\n",
    );
    for engine in engines {
        let _ = writeln!(md, "| {} | {} | {} |", engine.name, engine.durable, engine.non_durable);
    }

    md.push_str("\n## Engine status\n\n");
    md.push_str(&harness::engine_status(runs));
    md.push_str("\n## Machine\n\n");
    md.push_str(&harness::machine_table(machine));
    md
}
