//! The memory-and-scale benchmark of issue 21 ("Memory that does not grow with the data"): emdb
//! (default, and with a `memory_budget`), LMDB through heed 0.22 and redb 4.6 each load the same
//! records, and a fresh process per engine then reports the time to reopen, the anonymous memory
//! after reading every key once, random point reads (uniform and Zipf, 1 and 4 threads), range
//! reads, and the time to the first durable write after opening.
//!
//! ```sh
//! cargo run --release -p emdb-benches --bin scale
//! ```
//!
//! Environment:
//! - `EMDB_BENCH_RECORDS`: records to load (default 1,000,000; at least 1,000).
//! - `EMDB_BENCH_VALUE_LEN`: value length in bytes (default 100).
//! - `EMDB_BENCH_READS`: gets per point-read configuration (default 1,000,000).
//! - `EMDB_BENCH_BUDGET`: the `memory_budget` of the `emdb-budget` engine in bytes (default
//!   5 bytes per record, an eighth of what default emdb's point index needs, at least 1 MiB).
//! - `EMDB_BENCH_DIR`: where the temporary databases go (default the system temp dir). Each
//!   engine gets a fresh directory, removed when the engine is done.
//!
//! Records are the comparative harness's ([`Records`]): 24-byte random keys and random values
//! from a fixed seed, loaded in durable write transactions of 100,000 records. Every engine runs
//! in three child processes (this binary re-executed with `EMDB_SCALE_CHILD` set): one loads,
//! one reopens and reads, one reopens and writes once. So the memory figure counts nothing the
//! load allocated, and every reopen is a cold process. The report is Markdown on stdout.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use emdb_benches::engine::size_on_disk;
use emdb_benches::engines::CACHE_BYTES;
use emdb_benches::report::thousands;
use emdb_benches::zipf::{Scramble, YCSB_THETA, Zipf};
use emdb_benches::{Records, SplitMix64, machine, random_index, settle};

// A binary's root resolves `mod` next to itself; its modules live in `scale/`.
#[path = "scale/subjects.rs"]
mod subjects;

use subjects::{EmdbSubject, LmdbSubject, RedbSubject, Subject};

type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const ENV_RECORDS: &str = "EMDB_BENCH_RECORDS";
const ENV_VALUE_LEN: &str = "EMDB_BENCH_VALUE_LEN";
const ENV_READS: &str = "EMDB_BENCH_READS";
const ENV_BUDGET: &str = "EMDB_BENCH_BUDGET";
const ENV_DIR: &str = "EMDB_BENCH_DIR";
/// Set in a child process: which step it runs (`load`, `read` or `first-write`).
const ENV_CHILD: &str = "EMDB_SCALE_CHILD";
const ENV_CHILD_ENGINE: &str = "EMDB_SCALE_ENGINE";
const ENV_CHILD_DIR: &str = "EMDB_SCALE_DIR";

const DEFAULT_RECORDS: u64 = 1_000_000;
const MIN_RECORDS: u64 = 1_000;
const DEFAULT_VALUE_LEN: usize = 100;
const DEFAULT_READS: u64 = 1_000_000;
/// The default budget per record: an eighth of the 40 bytes per key default emdb may spend.
const BUDGET_BYTES_PER_RECORD: u64 = 5;
const MIN_BUDGET: u64 = 1 << 20;

/// The records of the comparative harness (same key length and seed).
const KEY_LEN: usize = 24;
const RECORD_SEED: u64 = 0x00E3_DB00_0100;
const READ_SEED: u64 = 0x00E3_DB00_5CA1;
/// Records per durable write transaction of the load.
const LOAD_CHUNK: u64 = 100_000;
/// Gets (and range reads) per read transaction of the peers.
const READS_PER_TXN: usize = 1_000;
const THREAD_COUNTS: [u64; 2] = [1, 4];
const RANGES: u64 = 100_000;
const RANGE_LEN: usize = 10;

/// The issue's targets for default emdb.
const TARGET_RSS_PER_KEY: f64 = 40.0;
const TARGET_READS_VS_LMDB: f64 = 2.0;

fn main() {
    if let Err(e) = run() {
        eprintln!("scale: {e}");
        std::process::exit(1);
    }
}

fn run() -> AnyResult<()> {
    let workload = Workload::from_env()?;
    if let Ok(step) = std::env::var(ENV_CHILD) {
        let engine = std::env::var(ENV_CHILD_ENGINE)?;
        let engine = EngineKind::from_id(&engine).ok_or("unknown engine for the child")?;
        let dir = PathBuf::from(std::env::var_os(ENV_CHILD_DIR).ok_or("no dir for the child")?);
        return match engine {
            EngineKind::Emdb | EngineKind::EmdbBudget => {
                child::<EmdbSubject>(&step, engine, &dir, &workload)
            }
            EngineKind::Lmdb => child::<LmdbSubject>(&step, engine, &dir, &workload),
            EngineKind::Redb => child::<RedbSubject>(&step, engine, &dir, &workload),
        };
    }
    parent(&workload)
}

// ---------------------------------------------------------------------------------------------
// The workload and the engines.

/// What every process of a run agrees on, read from the environment.
#[derive(Debug, Clone, Copy)]
struct Workload {
    records: u64,
    value_len: usize,
    reads: u64,
    budget: u64,
}

impl Workload {
    fn from_env() -> AnyResult<Self> {
        let records = env_number(ENV_RECORDS)?.unwrap_or(DEFAULT_RECORDS);
        if records < MIN_RECORDS {
            return Err(format!("{ENV_RECORDS} must be at least {MIN_RECORDS}").into());
        }
        let value_len = match env_number(ENV_VALUE_LEN)? {
            Some(len) => usize::try_from(len)?,
            None => DEFAULT_VALUE_LEN,
        };
        let reads = env_number(ENV_READS)?.unwrap_or(DEFAULT_READS).max(1);
        let budget = env_number(ENV_BUDGET)?
            .unwrap_or_else(|| (records * BUDGET_BYTES_PER_RECORD).max(MIN_BUDGET));
        Ok(Workload { records, value_len, reads, budget })
    }

    fn records(&self) -> Records {
        Records::new(KEY_LEN, self.value_len, RECORD_SEED)
    }

    /// The command that reproduces this run.
    fn command(&self) -> String {
        let mut command = String::new();
        for (name, value, default) in [
            (ENV_RECORDS, self.records, DEFAULT_RECORDS),
            (ENV_VALUE_LEN, self.value_len as u64, DEFAULT_VALUE_LEN as u64),
            (ENV_READS, self.reads, DEFAULT_READS),
        ] {
            if value != default {
                let _ = write!(command, "{name}={value} ");
            }
        }
        if std::env::var_os(ENV_BUDGET).is_some() {
            let _ = write!(command, "{ENV_BUDGET}={} ", self.budget);
        }
        command.push_str("cargo run --release -p emdb-benches --bin scale");
        command
    }
}

/// A non-negative integer from the environment (`_` separators allowed), if the variable is set.
fn env_number(name: &str) -> AnyResult<Option<u64>> {
    match std::env::var(name) {
        Ok(text) => Ok(Some(text.replace('_', "").parse().map_err(|e| format!("{name}: {e}"))?)),
        Err(_) => Ok(None),
    }
}

/// The engines, in the order of the report's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EngineKind {
    Emdb,
    EmdbBudget,
    Lmdb,
    Redb,
}

impl EngineKind {
    const ALL: [EngineKind; 4] =
        [EngineKind::Emdb, EngineKind::EmdbBudget, EngineKind::Lmdb, EngineKind::Redb];

    /// The column title, also the child's `EMDB_SCALE_ENGINE` and the directory name.
    fn id(self) -> &'static str {
        match self {
            EngineKind::Emdb => "emdb",
            EngineKind::EmdbBudget => "emdb-budget",
            EngineKind::Lmdb => "lmdb",
            EngineKind::Redb => "redb",
        }
    }

    fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.id() == id)
    }

    fn is_peer(self) -> bool {
        matches!(self, EngineKind::Lmdb | EngineKind::Redb)
    }
}

#[expect(clippy::cast_precision_loss, reason = "counts and sizes far below 2^52")]
fn to_f64(n: u64) -> f64 {
    n as f64
}

/// How point reads choose their keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyChoice {
    Uniform,
    Zipf,
}

impl KeyChoice {
    const ALL: [KeyChoice; 2] = [KeyChoice::Uniform, KeyChoice::Zipf];

    fn id(self) -> &'static str {
        match self {
            KeyChoice::Uniform => "uniform",
            KeyChoice::Zipf => "zipf",
        }
    }

    fn label(self) -> &'static str {
        match self {
            KeyChoice::Uniform => "uniform",
            KeyChoice::Zipf => "Zipf θ=0.99",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The children: one engine, one step each, results as `scale <id> <number>` lines on stdout.

fn child<S: Subject>(
    step: &str,
    engine: EngineKind,
    dir: &Path,
    workload: &Workload,
) -> AnyResult<()> {
    let records = workload.records();
    let budget = (engine == EngineKind::EmdbBudget).then_some(workload.budget);
    match step {
        "load" => {
            let started = Instant::now();
            let db = S::open(dir, budget)?;
            let mut start = 0;
            while start < workload.records {
                let end = (start + LOAD_CHUNK).min(workload.records);
                db.write(&records, start..end)?;
                start = end;
            }
            db.close()?;
            emit("load_s", started.elapsed().as_secs_f64());
            Ok(())
        }
        "read" => child_read::<S>(dir, budget, &records, workload),
        "first-write" => {
            let started = Instant::now();
            let db = S::open(dir, budget)?;
            // A key no other step wrote.
            db.write(&records, workload.records..workload.records + 1)?;
            emit("first_write_ms", millis(started.elapsed()));
            db.close()
        }
        other => Err(format!("unknown child step {other}").into()),
    }
}

fn emit(id: &str, value: f64) {
    println!("scale\t{id}\t{value}");
}

fn millis(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

/// Reopens, reads every key once and reports `RssAnon`, then the point and range reads.
fn child_read<S: Subject>(
    dir: &Path,
    budget: Option<u64>,
    records: &Records,
    workload: &Workload,
) -> AnyResult<()> {
    let n = workload.records;
    let started = Instant::now();
    let db = S::open(dir, budget)?;
    emit("reopen_ms", millis(started.elapsed()));

    let mut rng = SplitMix64::new(READ_SEED);
    let order = Scramble::new(n, &mut rng);
    let mut chunk = Vec::with_capacity(READS_PER_TXN);
    let (mut sum, mut expected) = (0, 0);
    for i in 0..n {
        chunk.push(order.apply(i));
        if chunk.len() == READS_PER_TXN || i + 1 == n {
            sum += db.get_each(records, &chunk)?;
            expected += chunk.iter().map(|&r| u64::from(records.value_first_byte(r))).sum::<u64>();
            chunk.clear();
        }
    }
    check_sum(sum, expected)?;
    emit("rss_anon", to_f64(rss_anon()?));

    let zipf = Zipf::new(n, YCSB_THETA);
    let ranks = Scramble::new(n, &mut rng);
    for threads in THREAD_COUNTS {
        for choice in KeyChoice::ALL {
            // Every thread's keys are drawn before the clock starts.
            let per_thread: Vec<Vec<u64>> = (0..threads)
                .map(|t| {
                    let mut rng = SplitMix64::new(READ_SEED ^ (t + 1) ^ (threads << 8));
                    (0..workload.reads / threads)
                        .map(|_| match choice {
                            KeyChoice::Uniform => random_index(&mut rng, n),
                            KeyChoice::Zipf => ranks.apply(zipf.sample(&mut rng)),
                        })
                        .collect()
                })
                .collect();
            let elapsed = threaded_reads(&db, records, &per_thread)?;
            let gets = per_thread.iter().map(Vec::len).sum::<usize>() as u64;
            emit(&format!("get_{}_{threads}_s", choice.id()), elapsed.as_secs_f64());
            emit(&format!("get_{}_{threads}_n", choice.id()), to_f64(gets));
        }
    }

    let starts: Vec<u64> = (0..RANGES).map(|_| random_index(&mut rng, n)).collect();
    let started = Instant::now();
    let mut seen = 0;
    for chunk in starts.chunks(READS_PER_TXN) {
        seen += db.scan_each(records, chunk)?;
    }
    emit("range_s", started.elapsed().as_secs_f64());
    if seen < RANGES {
        return Err(format!("{RANGES} range reads found only {seen} entries").into());
    }

    if let Some(stats) = db.index_stats()? {
        emit("index_bytes", to_f64(stats.bytes));
        emit("index_hits", to_f64(stats.hits));
        emit("index_misses", to_f64(stats.misses));
    }
    db.close()
}

fn check_sum(sum: u64, expected: u64) -> AnyResult<()> {
    if sum == expected { Ok(()) } else { Err("read values differ from the written ones".into()) }
}

/// Each thread gets its keys, [`READS_PER_TXN`] per call; the time runs from the moment every
/// thread is ready until the last one finishes.
fn threaded_reads<S: Subject>(
    db: &S,
    records: &Records,
    per_thread: &[Vec<u64>],
) -> AnyResult<Duration> {
    let barrier = Barrier::new(per_thread.len() + 1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = per_thread
            .iter()
            .map(|indices| {
                let barrier = &barrier;
                scope.spawn(move || -> AnyResult<()> {
                    let expected: u64 =
                        indices.iter().map(|&r| u64::from(records.value_first_byte(r))).sum();
                    barrier.wait();
                    let mut sum = 0;
                    for chunk in indices.chunks(READS_PER_TXN) {
                        sum += db.get_each(records, chunk)?;
                    }
                    check_sum(sum, expected)
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        for handle in handles {
            handle.join().map_err(|_| "a reader thread panicked")??;
        }
        Ok(started.elapsed())
    })
}

/// The process's anonymous resident memory (`RssAnon` in `/proc/self/status`), in bytes.
fn rss_anon() -> AnyResult<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("RssAnon:"))
        .ok_or("no RssAnon in /proc/self/status")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()?;
    Ok(kib * 1024)
}

// ---------------------------------------------------------------------------------------------
// The parent: three children per engine, then the report.

/// What one engine's children reported, and why it stopped early if it did.
struct EngineRun {
    engine: EngineKind,
    values: HashMap<String, f64>,
    failure: Option<String>,
}

impl EngineRun {
    fn get(&self, id: &str) -> Option<f64> {
        self.values.get(id).copied()
    }
}

fn parent(workload: &Workload) -> AnyResult<()> {
    let base = std::env::var_os(ENV_DIR).map_or_else(std::env::temp_dir, PathBuf::from);
    std::fs::create_dir_all(&base)?;
    // Removed when dropped, including on an early return.
    let data = tempfile::Builder::new().prefix("emdb-scale-").tempdir_in(&base)?;
    let machine = machine::describe(data.path());
    eprintln!(
        "scale: {} records of {KEY_LEN} + {} bytes, data in {}",
        thousands(workload.records),
        workload.value_len,
        data.path().display()
    );
    let mut runs = Vec::new();
    for engine in EngineKind::ALL {
        eprintln!("{}:", engine.id());
        let dir = data.path().join(engine.id());
        std::fs::create_dir(&dir)?;
        let mut run = EngineRun { engine, values: HashMap::new(), failure: None };
        if let Err(e) = measure(engine, &dir, workload, &mut run.values) {
            eprintln!("  {} failed: {e}", engine.id());
            run.failure = Some(e.to_string());
        }
        runs.push(run);
        std::fs::remove_dir_all(&dir)?;
    }
    print!("{}", report(workload, &machine, &runs));
    Ok(())
}

/// Loads, sizes, reads and writes once on `engine` in the empty directory `dir`.
fn measure(
    engine: EngineKind,
    dir: &Path,
    workload: &Workload,
    values: &mut HashMap<String, f64>,
) -> AnyResult<()> {
    settle::disk();
    settle::memory();
    values.extend(run_child("load", engine, dir, workload)?);
    values.insert("file_bytes".to_owned(), to_f64(size_on_disk(dir)?));
    settle::disk();
    values.extend(run_child("read", engine, dir, workload)?);
    values.extend(run_child("first-write", engine, dir, workload)?);
    Ok(())
}

/// Runs `step` for `engine` in a child process and returns what it reported.
fn run_child(
    step: &str,
    engine: EngineKind,
    dir: &Path,
    workload: &Workload,
) -> AnyResult<HashMap<String, f64>> {
    eprintln!("  {step} ...");
    let output = Command::new(std::env::current_exe()?)
        .env(ENV_CHILD, step)
        .env(ENV_CHILD_ENGINE, engine.id())
        .env(ENV_CHILD_DIR, dir)
        .env(ENV_RECORDS, workload.records.to_string())
        .env(ENV_VALUE_LEN, workload.value_len.to_string())
        .env(ENV_READS, workload.reads.to_string())
        .env(ENV_BUDGET, workload.budget.to_string())
        .stdin(Stdio::null())
        .output()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("{step} ({}): {}", output.status, stderr.trim()).into());
    }
    let stdout = String::from_utf8(output.stdout)?;
    let mut values = HashMap::new();
    for line in stdout.lines() {
        let mut fields = line.split('\t');
        if let (Some("scale"), Some(id), Some(value)) =
            (fields.next(), fields.next(), fields.next())
        {
            values.insert(id.to_owned(), value.parse()?);
        }
    }
    Ok(values)
}

// ---------------------------------------------------------------------------------------------
// The report.

/// What a row of the table shows, and how it reads its number from an engine's run.
#[derive(Debug, Clone, Copy)]
enum Show {
    /// A time reported as `id`, in the unit its label names (smaller is better).
    Time(&'static str),
    /// A size in bytes reported as `id`, also per record (smaller is better).
    Bytes(&'static str),
    /// Point reads with `threads` threads and key choice (larger is better).
    Gets(u64, KeyChoice),
    /// The range reads (larger is better).
    Ranges,
    /// emdb's point-index figure `id`: bytes, or a count; not compared with the peers.
    Index(&'static str),
}

/// One row of the table.
struct Row {
    label: String,
    show: Show,
}

impl Row {
    fn new(label: impl Into<String>, show: Show) -> Self {
        Row { label: label.into(), show }
    }

    /// The number the ratio compares: the time, size or speed of the row.
    fn number(&self, run: &EngineRun) -> Option<f64> {
        match self.show {
            Show::Time(id) | Show::Bytes(id) | Show::Index(id) => run.get(id),
            Show::Gets(threads, choice) => gets_per_second(run, threads, choice),
            Show::Ranges => Some(to_f64(RANGES) / run.get("range_s")?),
        }
    }

    /// Whether a larger number is better, or `None` if the row is not compared with the peers.
    fn larger_is_better(&self) -> Option<bool> {
        match self.show {
            Show::Time(_) | Show::Bytes(_) => Some(false),
            Show::Gets(..) | Show::Ranges => Some(true),
            Show::Index(_) => None,
        }
    }

    fn cell(&self, run: &EngineRun, n: u64) -> Option<String> {
        let number = self.number(run)?;
        Some(match self.show {
            Show::Time(_) => format!("{number:.2}"),
            Show::Bytes(_) | Show::Index("index_bytes") => {
                format!("{} ({:.1} B/key)", mib(number), number / to_f64(n))
            }
            Show::Gets(threads, _) => {
                format!("{:.0} ns/get, {:.2} Mops/s", 1e9 * to_f64(threads) / number, number / 1e6)
            }
            Show::Ranges => {
                format!("{:.0} ns/range, {:.2} M ranges/s", 1e9 / number, number / 1e6)
            }
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a count, reported as a whole number far below 2^52"
            )]
            Show::Index(_) => thousands(number as u64),
        })
    }
}

fn report(workload: &Workload, machine: &[(&'static str, String)], runs: &[EngineRun]) -> String {
    let n = workload.records;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# emdb scale: {} records of {KEY_LEN}-byte keys and {}-byte values\n",
        thousands(n),
        workload.value_len
    );
    let _ = writeln!(out, "Command: `{}`\n", workload.command());
    out.push_str("| Machine | |\n|---|---|\n");
    for (what, value) in machine {
        let _ = writeln!(out, "| {what} | {value} |");
    }
    let _ = writeln!(
        out,
        "\nWorkload: {} records (24-byte random keys, {}-byte random values, fixed seed), loaded \
         in durable write transactions of {}; {} gets per point-read configuration; {} range \
         reads of {RANGE_LEN} entries. Engines: `emdb` (defaults, `FlushPolicy::OnEachWrite`), \
         `emdb-budget` (the same with `memory_budget({})`), `lmdb` (heed 0.22, default flags: \
         every commit syncs), `redb` (4.6, `Durability::Immediate`, a {} MiB cache). Reopen, \
         memory and reads are measured in a fresh process per engine; the peers read in one \
         read transaction per {} gets or range reads, emdb through the handle (owned `get`, \
         `range`). A point-read cell gives the time of one get on its thread (wall time × \
         threads / gets) and the gets per second of all threads together.\n",
        thousands(n),
        workload.value_len,
        thousands(LOAD_CHUNK),
        thousands(workload.reads),
        thousands(RANGES),
        thousands(workload.budget),
        CACHE_BYTES >> 20,
        thousands(READS_PER_TXN as u64),
    );
    out.push_str(&table(&rows(n), runs, n));
    out.push('\n');
    out.push_str(&targets(runs, n));
    for run in runs {
        if let Some(failure) = &run.failure {
            let _ = writeln!(out, "\n`{}` stopped early: {}", run.engine.id(), one_line(failure));
        }
    }
    out
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn rows(n: u64) -> Vec<Row> {
    let mut rows = vec![
        Row::new(
            format!("load: {} records, open to close (s)", thousands(n)),
            Show::Time("load_s"),
        ),
        Row::new("size on disk of every file after loading", Show::Bytes("file_bytes")),
        Row::new("reopen: `open` returns (ms)", Show::Time("reopen_ms")),
        Row::new("reopen: open and one durable insert (ms)", Show::Time("first_write_ms")),
        Row::new("RssAnon after reading every key once", Show::Bytes("rss_anon")),
    ];
    for threads in THREAD_COUNTS {
        for choice in KeyChoice::ALL {
            let label = format!(
                "point reads, {}, {threads} thread{}",
                choice.label(),
                if threads == 1 { "" } else { "s" }
            );
            rows.push(Row::new(label, Show::Gets(threads, choice)));
        }
    }
    rows.push(Row::new(format!("range reads of {RANGE_LEN}, 1 thread"), Show::Ranges));
    rows.push(Row::new("emdb point index: `index_bytes`", Show::Index("index_bytes")));
    for field in ["index_hits", "index_misses"] {
        rows.push(Row::new(format!("emdb after the reads: `{field}`"), Show::Index(field)));
    }
    rows
}

/// Gets per second of wall time over all threads.
fn gets_per_second(run: &EngineRun, threads: u64, choice: KeyChoice) -> Option<f64> {
    let id = format!("get_{}_{threads}", choice.id());
    Some(run.get(&format!("{id}_n"))? / run.get(&format!("{id}_s"))?)
}

/// The Markdown table: one row per measurement, one column per engine, and default emdb's
/// advantage over the best peer.
fn table(rows: &[Row], runs: &[EngineRun], n: u64) -> String {
    let mut out = String::from("| Measurement |");
    for run in runs {
        let _ = write!(out, " {} |", run.engine.id());
    }
    out.push_str(" emdb vs best peer (>1: emdb better) |\n|---|");
    for _ in runs {
        out.push_str("---:|");
    }
    out.push_str("---:|\n");
    for row in rows {
        let _ = write!(out, "| {} |", row.label);
        for run in runs {
            let cell = match row.cell(run, n) {
                Some(cell) => cell,
                None if run.failure.is_some() => "failed".to_owned(),
                None if run.engine.is_peer() => "—".to_owned(),
                None => "n/a".to_owned(),
            };
            let _ = write!(out, " {cell} |");
        }
        let ratio = advantage(row, runs)
            .map_or_else(|| "—".to_owned(), |(ratio, peer)| format!("{ratio:.2}× ({})", peer.id()));
        let _ = writeln!(out, " {ratio} |");
    }
    out
}

/// Default emdb's advantage over the best peer in `row` (above 1, emdb is faster or smaller),
/// and which peer that is.
fn advantage(row: &Row, runs: &[EngineRun]) -> Option<(f64, EngineKind)> {
    let larger_is_better = row.larger_is_better()?;
    let emdb = row.number(runs.iter().find(|r| r.engine == EngineKind::Emdb)?)?;
    let peers = runs.iter().filter(|r| r.engine.is_peer());
    let peers = peers.filter_map(|r| Some((row.number(r)?, r.engine)));
    let ratio = if larger_is_better {
        let (best, peer) = peers.max_by(|a, b| a.0.total_cmp(&b.0))?;
        (emdb / best, peer)
    } else {
        let (best, peer) = peers.min_by(|a, b| a.0.total_cmp(&b.0))?;
        (best / emdb, peer)
    };
    ratio.0.is_finite().then_some(ratio)
}

/// The issue's targets for default emdb, and whether this run met them.
fn targets(runs: &[EngineRun], n: u64) -> String {
    let find = |engine| runs.iter().find(|r| r.engine == engine);
    let mut out = String::from("Targets of issue 21 (default emdb):\n\n");
    let _ = match find(EngineKind::Emdb).and_then(|r| r.get("rss_anon")) {
        Some(bytes) => {
            let per_key = bytes / to_f64(n);
            writeln!(
                out,
                "- RssAnon ≤ {TARGET_RSS_PER_KEY:.0} B/key: {per_key:.1} B/key, {}",
                met(per_key <= TARGET_RSS_PER_KEY)
            )
        }
        None => writeln!(out, "- RssAnon ≤ {TARGET_RSS_PER_KEY:.0} B/key: not measured"),
    };
    for threads in THREAD_COUNTS {
        for choice in KeyChoice::ALL {
            let speeds = find(EngineKind::Emdb)
                .and_then(|e| gets_per_second(e, threads, choice))
                .zip(find(EngineKind::Lmdb).and_then(|l| gets_per_second(l, threads, choice)));
            let _ = match speeds {
                Some((emdb, lmdb)) => writeln!(
                    out,
                    "- point reads ≥ {TARGET_READS_VS_LMDB:.0}× LMDB, {} keys, {threads} \
                     thread(s): {:.2}×, {}",
                    choice.label(),
                    emdb / lmdb,
                    met(emdb / lmdb >= TARGET_READS_VS_LMDB)
                ),
                None => writeln!(
                    out,
                    "- point reads ≥ {TARGET_READS_VS_LMDB:.0}× LMDB, {} keys, {threads} \
                     thread(s): not measured",
                    choice.label()
                ),
            };
        }
    }
    out
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "**not met**" }
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / f64::from(1 << 20))
}
