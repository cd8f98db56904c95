//! The parent-and-children machinery of the comparative benchmarks (`src/bin/lmdb_style.rs`,
//! `src/bin/ycsb.rs`): the parent re-executes its own binary once per engine with
//! [`ENV_CHILD_ENGINE`] set (after a `sync` and after warming free memory, [`settle`]); the
//! child runs every phase of a [`Benchmark`] on that one engine and prints its results as
//! protocol lines on standard output ([`report`]), so the peak memory it reports is its own, and
//! a crash loses one engine's remaining phases, not the run.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::engine::{BenchError, BenchResult, Engine, OpenError};
use crate::engines::emdb::EmdbEngine;
use crate::engines::emdb_plain::EmdbPlainEngine;
use crate::engines::fjall::FjallEngine;
use crate::engines::heed::HeedEngine;
use crate::engines::redb::RedbEngine;
#[cfg(feature = "rocksdb")]
use crate::engines::rocksdb::RocksdbEngine;
use crate::engines::sled::SledEngine;
use crate::report::{self, EngineRun, RunStatus, Value};
use crate::{machine, settle};

/// The number of records to load.
pub const ENV_RECORDS: &str = "EMDB_BENCH_RECORDS";
/// Where the temporary data directory goes (default the system temp dir).
pub const ENV_DIR: &str = "EMDB_BENCH_DIR";
/// Where the reports are written (default `docs/bench/` of the workspace).
pub const ENV_OUT: &str = "EMDB_BENCH_OUT";
/// A comma-separated subset of engine names to run.
pub const ENV_ENGINES: &str = "EMDB_BENCH_ENGINES";
/// Set by the parent: the engine a child runs.
pub const ENV_CHILD_ENGINE: &str = "EMDB_BENCH_CHILD_ENGINE";
/// Set by the parent: the empty directory a child's engine lives in.
pub const ENV_CHILD_DIR: &str = "EMDB_BENCH_CHILD_DIR";

/// One comparative benchmark: its name in messages, and every phase on one engine.
pub trait Benchmark {
    /// What a child needs to run the phases (record counts and the like), built in both the
    /// parent and the child from the environment.
    type Plan;
    /// The binary's name, such as `"lmdb_style"`.
    const NAME: &'static str;

    /// Every phase, in order, on engine `E` in the empty directory `dir`, each result reported
    /// through `out` as soon as it is measured.
    ///
    /// # Errors
    /// [`ChildError::Unavailable`] if the engine cannot run in this build, or the first failure.
    fn run<E: Engine>(plan: &Self::Plan, dir: &Path, out: &mut Reporter) -> Result<(), ChildError>;
}

/// What the parent knows about an engine without opening it, and how a child runs it.
pub struct EngineInfo<P> {
    /// The engine's name, [`Engine::NAME`].
    pub name: &'static str,
    /// [`Engine::DURABLE`].
    pub durable: &'static str,
    /// [`Engine::NON_DURABLE`].
    pub non_durable: &'static str,
    /// [`Engine::READ_MODIFY_WRITE`].
    pub read_modify_write: &'static str,
    /// The benchmark's phases on this engine.
    pub run: fn(&P, &Path, &mut Reporter) -> Result<(), ChildError>,
}

fn info<B: Benchmark, E: Engine>() -> EngineInfo<B::Plan> {
    EngineInfo {
        name: E::NAME,
        durable: E::DURABLE,
        non_durable: E::NON_DURABLE,
        read_modify_write: E::READ_MODIFY_WRITE,
        run: B::run::<E>,
    }
}

/// Every engine this build can run; emdb first.
pub fn engines<B: Benchmark>() -> Vec<EngineInfo<B::Plan>> {
    vec![
        info::<B, EmdbEngine>(),
        info::<B, EmdbPlainEngine>(),
        info::<B, RedbEngine>(),
        info::<B, HeedEngine>(),
        info::<B, SledEngine>(),
        info::<B, FjallEngine>(),
        #[cfg(feature = "rocksdb")]
        info::<B, RocksdbEngine>(),
    ]
}

/// The engines [`ENV_ENGINES`] selects (all of them when it is not set), in [`engines`] order.
pub fn selected_engines<B: Benchmark>() -> Vec<EngineInfo<B::Plan>> {
    let selected = std::env::var(ENV_ENGINES).ok();
    engines::<B>()
        .into_iter()
        .filter(|e| selected.as_deref().is_none_or(|s| s.split(',').any(|n| n.trim() == e.name)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The child: one engine, every phase.

/// Why a child stopped.
#[derive(Debug)]
pub enum ChildError {
    /// The engine cannot run in this build.
    Unavailable(String),
    /// A phase failed.
    Failed(String),
}

impl<E: Into<BenchError>> From<E> for ChildError {
    fn from(error: E) -> Self {
        ChildError::Failed(error.into().to_string())
    }
}

/// Opens `E` in `dir`, telling an engine unavailable in this build from a failure.
///
/// # Errors
/// The engine's [`OpenError`] as a [`ChildError`].
pub fn open_engine<E: Engine>(dir: &Path) -> Result<E, ChildError> {
    E::open(dir).map_err(|error| match error {
        OpenError::Unavailable(reason) => ChildError::Unavailable(reason),
        OpenError::Failed(error) => ChildError::Failed(format!("open: {error}")),
    })
}

/// Prints each result as a protocol line the moment it is measured, so that a crash keeps the
/// phases before it, and remembers the phase running now for the failure line.
#[derive(Debug)]
pub struct Reporter {
    phase: &'static str,
}

impl Reporter {
    /// A reporter before the first phase (`"open"`).
    pub fn new() -> Self {
        Reporter { phase: "open" }
    }

    /// Starts `phase`: failures from now on are reported as this phase's.
    pub fn start(&mut self, phase: &'static str) {
        self.phase = phase;
        eprintln!("  {phase} ...");
    }

    /// Reports `value` for the phase started last.
    pub fn report(&self, value: &Value) {
        let mut out = std::io::stdout().lock();
        // A closed pipe means the parent is gone; there is nobody left to tell.
        let _ = writeln!(out, "{}", report::value_line(self.phase, value));
        let _ = out.flush();
    }

    /// Starts `phase`, times `f`, and reports the time.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn time<T>(
        &mut self,
        phase: &'static str,
        f: impl FnOnce() -> BenchResult<T>,
    ) -> BenchResult<T> {
        self.start(phase);
        let start = Instant::now();
        let out = f()?;
        self.report(&Value::Millis(millis(start.elapsed())));
        Ok(out)
    }

    /// As [`time`](Self::time) for a read that may take well under the timer's resolution
    /// (`len()` is a counter in some engines and a full scan in others): a call that takes
    /// less than [`REPEAT_BELOW`] is repeated for [`REPEAT_FOR`] and the mean per call, first
    /// call included, is reported; a slower one is reported as it is.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn time_repeated<T>(
        &mut self,
        phase: &'static str,
        mut f: impl FnMut() -> BenchResult<T>,
    ) -> BenchResult<T> {
        self.start(phase);
        let start = Instant::now();
        let out = f()?;
        let mut elapsed = start.elapsed();
        let mut calls = 1u32;
        if elapsed < REPEAT_BELOW {
            // The clock is read once per 1,000 calls, so that its own cost (tens of
            // nanoseconds) does not swamp a call that costs as much.
            while elapsed < REPEAT_FOR {
                for _ in 0..1_000 {
                    std::hint::black_box(f()?);
                }
                calls += 1_000;
                elapsed = start.elapsed();
            }
        }
        self.report(&Value::Millis(millis(elapsed) / f64::from(calls)));
        Ok(out)
    }
}

impl Default for Reporter {
    fn default() -> Self {
        Self::new()
    }
}

/// A phase whose single call takes less than this is timed over repeated calls.
const REPEAT_BELOW: Duration = Duration::from_millis(1);
/// How long the repeated calls of a short phase run.
const REPEAT_FOR: Duration = Duration::from_millis(20);

/// A duration in milliseconds.
pub fn millis(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

/// The child's main: runs engine `name` of benchmark `B` in the directory [`ENV_CHILD_DIR`]
/// names, and reports an unavailable engine or a failure as a protocol line.
pub fn child<B: Benchmark>(plan: &B::Plan, name: &str) -> ExitCode {
    let Some(engine) = engines::<B>().into_iter().find(|e| e.name == name) else {
        eprintln!("{}: unknown engine {name:?}", B::NAME);
        return ExitCode::FAILURE;
    };
    let Some(dir) = std::env::var_os(ENV_CHILD_DIR).map(PathBuf::from) else {
        eprintln!("{}: {ENV_CHILD_DIR} is not set", B::NAME);
        return ExitCode::FAILURE;
    };
    let mut reporter = Reporter::new();
    match (engine.run)(plan, &dir, &mut reporter) {
        Ok(()) => ExitCode::SUCCESS,
        Err(ChildError::Unavailable(reason)) => {
            println!("{}", report::unavailable_line(&reason));
            eprintln!("  {name} is unavailable in this build: {reason}");
            ExitCode::SUCCESS
        }
        Err(ChildError::Failed(error)) => {
            println!("{}", report::failed_line(reporter.phase, &error));
            eprintln!("  {name} failed in phase {}: {error}", reporter.phase);
            ExitCode::FAILURE
        }
    }
}

/// The process's peak resident memory (`VmHWM` in `/proc/self/status`).
pub fn peak_memory() -> Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or_else(
            || Value::NotApplicable("no VmHWM in /proc/self/status".to_owned()),
            |kb| Value::Bytes(kb * 1024),
        )
}

// ---------------------------------------------------------------------------------------------
// The parent.

/// A fresh temporary directory for the engines' data, under [`ENV_DIR`] (default the system
/// temp dir), removed when dropped.
///
/// # Errors
/// I/O errors creating it.
pub fn data_dir(prefix: &str) -> BenchResult<tempfile::TempDir> {
    let base = std::env::var_os(ENV_DIR).map_or_else(std::env::temp_dir, PathBuf::from);
    std::fs::create_dir_all(&base)?;
    Ok(tempfile::Builder::new().prefix(prefix).tempdir_in(&base)?)
}

/// Runs each of `engines` in a child process of its own, in a fresh directory under `data`
/// (removed afterwards), after [`settle::disk`] and [`settle::memory`]; `env` is passed to every
/// child. Returns what each child reported, and adds the CPU stall of the whole run to
/// `machine`.
///
/// # Errors
/// I/O errors starting a child or handling its directory; a failed child is a [`RunStatus`].
pub fn run_children<P>(
    engines: &[EngineInfo<P>],
    data: &Path,
    env: &[(&str, String)],
    machine: &mut Vec<(&'static str, String)>,
) -> BenchResult<Vec<EngineRun>> {
    let stall_before = machine::cpu_stall();
    let start = Instant::now();
    let mut runs = Vec::new();
    for engine in engines {
        eprintln!("{}:", engine.name);
        let dir = data.join(engine.name);
        std::fs::create_dir(&dir)?;
        settle::disk();
        settle::memory();
        let output = Command::new(std::env::current_exe()?)
            .env(ENV_CHILD_ENGINE, engine.name)
            .env(ENV_CHILD_DIR, &dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let run = report::parse_run(
            engine.name,
            &stdout,
            output.status.success(),
            &output.status.to_string(),
        );
        if let RunStatus::Failed(error) = &run.status {
            eprintln!("  {} failed: {error}", engine.name);
        }
        runs.push(run);
        std::fs::remove_dir_all(&dir)?;
    }
    if let (Some(before), Some(after)) = (stall_before, machine::cpu_stall()) {
        machine.push((
            "CPU stall during the run",
            format!(
                "{:.1} s of {:.1} s (`/proc/pressure/cpu` some: time runnable tasks waited for a \
                 core; high values mean other processes competed with the benchmark)",
                (after.saturating_sub(before)).as_secs_f64(),
                start.elapsed().as_secs_f64()
            ),
        ));
    }
    Ok(runs)
}

/// The command that reproduces a run of the binary `bin`: `settings` (environment variables
/// whose value differs from their default, as `(name, value, default)`) and the engine
/// selection, if any, before `cargo run`, and the `rocksdb` feature when this build has it.
pub fn reproduce_command(bin: &str, settings: &[(&str, u64, u64)]) -> String {
    let mut command = String::new();
    for (name, value, default) in settings {
        if value != default {
            let _ = write!(command, "{name}={value} ");
        }
    }
    if let Ok(engines) = std::env::var(ENV_ENGINES) {
        let _ = write!(command, "{ENV_ENGINES}={engines} ");
    }
    let _ = write!(command, "cargo run --release -p emdb-benches --bin {bin}");
    if cfg!(feature = "rocksdb") {
        command.push_str(" --features rocksdb");
    }
    command
}

/// Writes `<bin>.md`, `<bin>.csv` and `<bin>.svg` into the [`output_dir`] and prints the
/// Markdown; returns the paths written.
///
/// # Errors
/// An error creating the directory or writing a file.
pub fn write_reports(bin: &str, md: &str, csv: &str, svg: &str) -> BenchResult<Vec<PathBuf>> {
    let dir = output_dir();
    std::fs::create_dir_all(&dir)?;
    let paths = ["md", "csv", "svg"].map(|ext| dir.join(format!("{bin}.{ext}")));
    for (path, text) in paths.iter().zip([md, csv, svg]) {
        std::fs::write(path, text)?;
    }
    println!("{md}");
    Ok(paths.into())
}

/// Where the reports go: [`ENV_OUT`], or `docs/bench/` of the workspace.
pub fn output_dir() -> PathBuf {
    std::env::var_os(ENV_OUT).map_or_else(
        || {
            // `benches/` is one level below the workspace root.
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
            manifest.parent().unwrap_or(manifest).join("docs").join("bench")
        },
        PathBuf::from,
    )
}

/// The Markdown list of each engine's status, with the reasons of its n/a measurements.
pub fn engine_status(runs: &[EngineRun]) -> String {
    let mut md = String::new();
    for run in runs {
        let status = match &run.status {
            RunStatus::Completed => "completed".to_owned(),
            RunStatus::Unavailable(reason) => format!("unavailable: {reason}"),
            RunStatus::Failed(error) => format!("failed {error}"),
        };
        let _ = writeln!(md, "- {}: {status}", run.name);
        let mut notes: Vec<_> = run
            .values
            .iter()
            .filter_map(|(id, v)| match v {
                Value::NotApplicable(reason) => Some(format!("  - `{id}`: n/a, {reason}\n")),
                _ => None,
            })
            .collect();
        notes.sort();
        md.extend(notes);
    }
    md
}

/// The Markdown table of the machine description.
pub fn machine_table(machine: &[(&'static str, String)]) -> String {
    let mut md = String::from("| | |\n|---|---|\n");
    for (what, value) in machine {
        let _ = writeln!(md, "| {what} | {value} |");
    }
    md
}
