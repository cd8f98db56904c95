//! The typed comparison: a small struct (a `u64` key and three fields) stored, read back and
//! range-read through emdb's `Table`, `native_db` 0.8, and redb 4.6 with a hand-written value type,
//! on the same rows, in the same run.
//!
//! Workload: `EMDB_BENCH_ROWS` rows (default 200,000) of `{ id: u64, name: String (12 bytes),
//! age: u32, score: f64 }`, ids `0..rows`. Phases, each engine in a fresh temporary directory:
//! put every row in a fixed-seed random order, one durable write transaction per 1,000 rows;
//! close; reopen; `rows` gets of uniformly random present ids through one read view; 10,000 range
//! reads of 10 consecutive ids from a random start through one read view (one read transaction
//! for the peers, the `Table` itself for emdb). Every read checks what it got against the rows it
//! should have got.
//!
//! Durability: every commit is durable when it returns, for all three (`native_db` cannot be set
//! otherwise): emdb `FlushPolicy::OnEachWrite`, `native_db`'s only setting (redb 2's
//! `Durability::Immediate`), redb 4.6 `Durability::Immediate`. Values are postcard for emdb and
//! `native_db`, a fixed 20-byte layout followed by the name's bytes for redb.
//!
//! Run: `cargo run --release -p emdb-benches --bin typed_compare`. Environment:
//! `EMDB_BENCH_ROWS` (row count), `EMDB_BENCH_DIR` (where the temporary directories go; default
//! the system temp dir). It prints a Markdown report: ms per phase and engine, and each peer's
//! time over emdb's (above 1 means emdb is faster). Results are in `docs/BENCH.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use emdb::{Emdb, FlushPolicy, Record};
use emdb_benches::compare::{Tally, env_count, machine_and_table_head, mib, ms, shuffled, timed};
use emdb_benches::engine::{BenchResult, size_on_disk};
use emdb_benches::engines::CACHE_BYTES;
use emdb_benches::report::thousands;
use emdb_benches::{SplitMix64, machine};
// `ToKey` is used by the code `#[native_db]` generates.
use native_db::{Builder as NativeBuilder, Models, ToKey as _, native_db};
use native_model::{Model as _, native_model};
use redb::{ReadableDatabase as _, TableDefinition, TypeName};
use serde::{Deserialize, Serialize};

const DEFAULT_ROWS: u64 = 200_000;
/// Rows per write transaction in the put phase.
const ROWS_PER_COMMIT: usize = 1_000;
const RANGES: usize = 10_000;
const RANGE_LEN: u64 = 10;
const ORDER_SEED: u64 = 0x00E3_DB00_0200;
const GET_SEED: u64 = 0x00E3_DB00_0201;
const RANGE_SEED: u64 = 0x00E3_DB00_0202;

const ENV_ROWS: &str = "EMDB_BENCH_ROWS";
const ENV_DIR: &str = "EMDB_BENCH_DIR";

/// The row, as emdb stores it (postcard) and as redb stores it (its hand-written [`redb::Value`]
/// implementation below).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Record)]
#[emdb(table = "users")]
struct User {
    #[emdb(key)]
    id: u64,
    name: String,
    age: u32,
    score: f64,
}

/// The same row for `native_db`, whose model attributes go on the type; postcard, as emdb.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[native_model(id = 1, version = 1, with = native_model::postcard_1_0::PostCard)]
#[native_db]
struct NativeUser {
    #[primary_key]
    id: u64,
    name: String,
    age: u32,
    score: f64,
}

/// The fields of row `id`.
fn user(id: u64) -> User {
    #[expect(clippy::cast_precision_loss, reason = "ids are far below 2^52")]
    let score = id as f64 * 0.25;
    User { id, name: format!("user-{id:07}"), age: u32::try_from(id % 97).unwrap_or(0), score }
}

fn native_user(id: u64) -> NativeUser {
    let User { id, name, age, score } = user(id);
    NativeUser { id, name, age, score }
}

/// A row's digest for a [`Tally`]: every field counts.
fn digest(id: u64, name: &str, age: u32, score: f64) -> u64 {
    id ^ ((name.len() as u64) << 48) ^ (u64::from(age) << 32) ^ score.to_bits()
}

fn add_user(tally: &mut Tally, u: &User) {
    tally.add(digest(u.id, &u.name, u.age, u.score));
}

/// The work every engine does: the same put order, get ids and range starts.
struct Plan {
    rows: u64,
    put_order: Vec<u64>,
    gets: Vec<u64>,
    range_starts: Vec<u64>,
}

impl Plan {
    fn new(rows: u64) -> Self {
        let put_order = shuffled(rows, ORDER_SEED);
        let len = usize::try_from(rows).unwrap_or(usize::MAX);
        let mut rng = SplitMix64::new(GET_SEED);
        let gets = (0..rows).map(|_| rng.below(len) as u64).collect();
        let starts = len.saturating_sub(usize::try_from(RANGE_LEN).unwrap_or(0)).max(1);
        let mut rng = SplitMix64::new(RANGE_SEED);
        let range_starts = (0..RANGES).map(|_| rng.below(starts) as u64).collect();
        Plan { rows, put_order, gets, range_starts }
    }

    /// The put order in chunks of one write transaction each.
    fn commits(&self) -> impl Iterator<Item = &[u64]> {
        self.put_order.chunks(ROWS_PER_COMMIT)
    }

    /// What the get phase must add up to.
    fn expected_gets(&self) -> Tally {
        let mut tally = Tally::default();
        self.gets.iter().for_each(|&id| add_user(&mut tally, &user(id)));
        tally
    }

    /// What the range phase must add up to.
    fn expected_ranges(&self) -> Tally {
        let mut tally = Tally::default();
        for &start in &self.range_starts {
            (start..(start + RANGE_LEN).min(self.rows))
                .for_each(|id| add_user(&mut tally, &user(id)));
        }
        tally
    }
}

/// One engine's times and what its read phases returned.
#[derive(Debug, Default)]
struct Run {
    put: Duration,
    close: Duration,
    reopen: Duration,
    get: Duration,
    range: Duration,
    bytes_on_disk: u64,
    gets: Tally,
    ranges: Tally,
}

fn open_emdb(path: &Path) -> BenchResult<Emdb> {
    Ok(Emdb::builder().path(path).flush_policy(FlushPolicy::OnEachWrite).build()?)
}

/// emdb: `User::table` (a `Table<u64, User>`, postcard); puts through a typed transaction.
fn run_emdb(dir: &Path, plan: &Plan) -> BenchResult<Run> {
    let path = dir.join("emdb.db");
    let mut run = Run::default();
    let db = open_emdb(&path)?;
    let users = User::table(&db)?;
    let rows: Vec<Vec<User>> =
        plan.commits().map(|ids| ids.iter().map(|&id| user(id)).collect()).collect();
    ((), run.put) = timed(|| {
        for chunk in &rows {
            db.transaction(|tx| {
                let mut table = users.tx(tx);
                chunk.iter().try_for_each(|row| table.put(row))
            })?;
        }
        Ok(())
    })?;
    ((), run.close) = timed(|| {
        drop(users);
        drop(db);
        Ok(())
    })?;
    run.bytes_on_disk = size_on_disk(dir)?;
    let (db, reopen) = timed(|| open_emdb(&path))?;
    run.reopen = reopen;
    let users = User::table(&db)?;
    (run.gets, run.get) = timed(|| {
        let mut tally = Tally::default();
        for id in &plan.gets {
            let row = users.get(id)?.ok_or("emdb: a present id was not found")?;
            add_user(&mut tally, &row);
        }
        Ok(tally)
    })?;
    (run.ranges, run.range) = timed(|| {
        let mut tally = Tally::default();
        for &start in &plan.range_starts {
            for entry in users.range(start..start + RANGE_LEN)? {
                add_user(&mut tally, &entry?.1);
            }
        }
        Ok(tally)
    })?;
    Ok(run)
}

/// `native_db` 0.8: one model, `rw_transaction` per 1,000 rows, reads through one
/// `r_transaction` per phase.
fn run_native_db(dir: &Path, plan: &Plan) -> BenchResult<Run> {
    let path = dir.join("native_db.redb");
    let mut models = Models::new();
    models.define::<NativeUser>()?;
    let mut run = Run::default();
    let db = NativeBuilder::new().set_cache_size(CACHE_BYTES).create(&models, &path)?;
    // `insert` takes the row by value: build them before the clock starts.
    let rows: Vec<Vec<NativeUser>> =
        plan.commits().map(|ids| ids.iter().map(|&id| native_user(id)).collect()).collect();
    ((), run.put) = timed(|| {
        for chunk in rows {
            let rw = db.rw_transaction()?;
            for row in chunk {
                rw.insert(row)?;
            }
            rw.commit()?;
        }
        Ok(())
    })?;
    ((), run.close) = timed(|| {
        drop(db);
        Ok(())
    })?;
    run.bytes_on_disk = size_on_disk(dir)?;
    let (db, reopen) =
        timed(|| Ok(NativeBuilder::new().set_cache_size(CACHE_BYTES).open(&models, &path)?))?;
    run.reopen = reopen;
    (run.gets, run.get) = timed(|| {
        let r = db.r_transaction()?;
        let mut tally = Tally::default();
        for &id in &plan.gets {
            let row: NativeUser =
                r.get().primary(id)?.ok_or("native_db: a present id was not found")?;
            tally.add(digest(row.id, &row.name, row.age, row.score));
        }
        Ok(tally)
    })?;
    (run.ranges, run.range) = timed(|| {
        let r = db.r_transaction()?;
        let mut tally = Tally::default();
        for &start in &plan.range_starts {
            for row in r.scan().primary::<NativeUser>()?.range(start..start + RANGE_LEN)? {
                let row = row?;
                tally.add(digest(row.id, &row.name, row.age, row.score));
            }
        }
        Ok(tally)
    })?;
    Ok(run)
}

// The redb value type, written by hand: a fixed layout, no serde.
//
// ```text
// 0        8      12       20
// | id u64 | age  | score  | name (UTF-8, the rest)
// |   LE   | u32  | f64 LE |
// ```
const ID_END: usize = 8;
const AGE_END: usize = ID_END + 4;
const SCORE_END: usize = AGE_END + 8;

/// The `N` bytes of `data` from `start`, zeros where `data` is shorter (it never is: redb hands
/// `from_bytes` only what `as_bytes` made).
fn field<const N: usize>(data: &[u8], start: usize) -> [u8; N] {
    let mut out = [0; N];
    if let Some(bytes) = data.get(start..start + N) {
        out.copy_from_slice(bytes);
    }
    out
}

impl redb::Value for User {
    type SelfType<'a> = User;
    type AsBytes<'a> = Vec<u8>;

    fn fixed_width() -> Option<usize> {
        None
    }

    fn from_bytes<'a>(data: &'a [u8]) -> User
    where
        Self: 'a,
    {
        User {
            id: u64::from_le_bytes(field(data, 0)),
            age: u32::from_le_bytes(field(data, ID_END)),
            score: f64::from_le_bytes(field(data, AGE_END)),
            name: String::from_utf8_lossy(data.get(SCORE_END..).unwrap_or_default()).into_owned(),
        }
    }

    fn as_bytes<'a, 'b: 'a>(value: &'a User) -> Vec<u8>
    where
        Self: 'b,
    {
        let mut out = Vec::with_capacity(SCORE_END + value.name.len());
        out.extend_from_slice(&value.id.to_le_bytes());
        out.extend_from_slice(&value.age.to_le_bytes());
        out.extend_from_slice(&value.score.to_le_bytes());
        out.extend_from_slice(value.name.as_bytes());
        out
    }

    fn type_name() -> TypeName {
        TypeName::new("emdb_benches::typed_compare::User")
    }
}

const REDB_TABLE: TableDefinition<u64, User> = TableDefinition::new("users");

fn open_redb(path: &Path, create: bool) -> BenchResult<redb::Database> {
    let mut builder = redb::Database::builder();
    builder.set_cache_size(CACHE_BYTES);
    Ok(if create { builder.create(path)? } else { builder.open(path)? })
}

/// redb 4.6: `TableDefinition<u64, User>` with the hand-written value type; one write
/// transaction per 1,000 rows at `Durability::Immediate` (the default), reads through one read
/// transaction per phase.
fn run_redb(dir: &Path, plan: &Plan) -> BenchResult<Run> {
    let path = dir.join("redb.redb");
    let mut run = Run::default();
    let db = open_redb(&path, true)?;
    let rows: Vec<Vec<User>> =
        plan.commits().map(|ids| ids.iter().map(|&id| user(id)).collect()).collect();
    ((), run.put) = timed(|| {
        for chunk in &rows {
            let txn = db.begin_write()?;
            {
                let mut table = txn.open_table(REDB_TABLE)?;
                for row in chunk {
                    table.insert(row.id, row)?;
                }
            }
            txn.commit()?;
        }
        Ok(())
    })?;
    ((), run.close) = timed(|| {
        drop(db);
        Ok(())
    })?;
    run.bytes_on_disk = size_on_disk(dir)?;
    let (db, reopen) = timed(|| open_redb(&path, false))?;
    run.reopen = reopen;
    (run.gets, run.get) = timed(|| {
        let table = db.begin_read()?.open_table(REDB_TABLE)?;
        let mut tally = Tally::default();
        for &id in &plan.gets {
            let row = table.get(id)?.ok_or("redb: a present id was not found")?.value();
            add_user(&mut tally, &row);
        }
        Ok(tally)
    })?;
    (run.ranges, run.range) = timed(|| {
        let table = db.begin_read()?.open_table(REDB_TABLE)?;
        let mut tally = Tally::default();
        for &start in &plan.range_starts {
            for entry in table.range(start..start + RANGE_LEN)? {
                add_user(&mut tally, &entry?.1.value());
            }
        }
        Ok(tally)
    })?;
    Ok(run)
}

/// The engines, in the order they run.
/// How long one phase of a [`Run`] took.
type PhaseTime = fn(&Run) -> Duration;

/// One engine's part of the benchmark: every phase, in a directory of its own.
type RunEngine = fn(&Path, &Plan) -> BenchResult<Run>;

const ENGINES: [(&str, RunEngine); 3] =
    [("emdb", run_emdb), ("native_db 0.8", run_native_db), ("redb 4.6", run_redb)];

/// Runs every engine in a temporary directory of its own under `base` and checks each one's
/// reads against the plan.
fn run_all(base: &Path, plan: &Plan) -> BenchResult<Vec<(&'static str, Run)>> {
    let (gets, ranges) = (plan.expected_gets(), plan.expected_ranges());
    let mut runs = Vec::new();
    for (name, run) in ENGINES {
        let dir = tempfile::Builder::new().prefix("emdb-typed-compare-").tempdir_in(base)?;
        eprintln!("typed_compare: {name} ...");
        let result = run(dir.path(), plan).map_err(|e| format!("{name}: {e}"))?;
        if result.gets != gets || result.ranges != ranges {
            return Err(format!(
                "{name} read other rows than it was given: gets {:?} (expected {gets:?}), ranges \
                 {:?} (expected {ranges:?})",
                result.gets, result.ranges
            )
            .into());
        }
        runs.push((name, result));
    }
    Ok(runs)
}

/// The Markdown report: the workload, then one row per phase with each engine's value and each
/// peer's value over emdb's.
fn report(plan: &Plan, runs: &[(&str, Run)], base: &Path, stall: Option<Duration>) -> String {
    let mut out = String::new();
    let rows = thousands(plan.rows);
    let per_commit = thousands(ROWS_PER_COMMIT as u64);
    let _ = writeln!(out, "# Typed comparison\n");
    let _ = writeln!(out, "Command: `cargo run --release -p emdb-benches --bin typed_compare`\n");
    let _ = writeln!(
        out,
        "Workload: {rows} rows `{{ id: u64 (key), name: String (12 B), age: u32, score: f64 }}`; \
         put in a random order, {per_commit} rows per durable write transaction; close and \
         reopen; {rows} random gets of present ids and {} range reads of {RANGE_LEN} ids, each \
         phase through one read view. Durable commits everywhere: emdb `FlushPolicy::OnEachWrite`, \
         native_db (redb 2, `Durability::Immediate`, its only setting), redb \
         `Durability::Immediate`. Values: postcard (emdb, native_db), a hand-written fixed \
         layout (redb). Cache: 1 GiB for native_db and redb; emdb has no cache setting.\n",
        thousands(RANGES as u64),
    );
    machine_and_table_head(&mut out, base, stall, runs.iter().map(|(name, _)| *name));
    let phases: [(String, PhaseTime); 5] = [
        (format!("put {rows} rows, {per_commit} per durable commit (ms)"), |r| r.put),
        ("close (ms)".to_owned(), |r| r.close),
        ("reopen (ms)".to_owned(), |r| r.reopen),
        (format!("{rows} random gets (ms)"), |r| r.get),
        (format!("{} range reads of {RANGE_LEN} (ms)", thousands(RANGES as u64)), |r| r.range),
    ];
    for (label, time) in &phases {
        let _ = write!(out, "| {label} |");
        for (_, run) in runs {
            let _ = write!(out, " {} |", ms(time(run)));
        }
        if let Some((_, emdb)) = runs.first() {
            let base = time(emdb).as_secs_f64();
            for (_, run) in runs.iter().skip(1) {
                let _ = write!(out, " {:.2}× |", time(run).as_secs_f64() / base);
            }
        }
        let _ = writeln!(out);
    }
    let _ = write!(out, "| size on disk after close |");
    for (_, run) in runs {
        let _ = write!(out, " {} |", mib(run.bytes_on_disk));
    }
    if let Some((_, emdb)) = runs.first() {
        for (_, run) in runs.iter().skip(1) {
            #[expect(clippy::cast_precision_loss, reason = "file sizes are far below 2^52")]
            let ratio = run.bytes_on_disk as f64 / emdb.bytes_on_disk.max(1) as f64;
            let _ = write!(out, " {ratio:.2}× |");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "\nA ratio above 1 means the peer took longer (or more space) than emdb. Close and reopen \
         are shown for completeness: emdb folds its log into the page file when the last handle \
         closes."
    );
    out
}

fn row_count() -> Result<u64, String> {
    env_count(ENV_ROWS, DEFAULT_ROWS, RANGE_LEN)
}

fn main() -> ExitCode {
    let rows = match row_count() {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("typed_compare: {error}");
            return ExitCode::FAILURE;
        }
    };
    let base = std::env::var_os(ENV_DIR).map_or_else(std::env::temp_dir, PathBuf::from);
    let plan = Plan::new(rows);
    let stall_before = machine::cpu_stall();
    match run_all(&base, &plan) {
        Ok(runs) => {
            let stall = machine::cpu_stall()
                .zip(stall_before)
                .map(|(after, before)| after.saturating_sub(before));
            print!("{}", report(&plan, &runs, &base, stall));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("typed_compare: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_returns_the_rows_it_was_given() {
        let base = tempfile::tempdir().unwrap();
        let plan = Plan::new(2_500);
        let runs = run_all(base.path(), &plan).unwrap();
        assert_eq!(runs.len(), 3);
        for (name, run) in &runs {
            assert_eq!(run.gets.rows, 2_500, "{name}");
            assert_eq!(run.ranges.rows, RANGES as u64 * RANGE_LEN, "{name}");
            assert!(run.bytes_on_disk > 0, "{name}");
        }
        let text = report(&plan, &runs, base.path(), None);
        assert!(text.contains("| put 2,500 rows, 1,000 per durable commit (ms) |"), "{text}");
    }

    #[test]
    fn the_redb_value_layout_round_trips() {
        use redb::Value as _;
        let row = user(123_456);
        let bytes = User::as_bytes(&row);
        assert_eq!(bytes.len(), SCORE_END + 12);
        assert_eq!(User::from_bytes(&bytes), row);
    }

    #[test]
    fn the_plan_stays_inside_the_rows() {
        let plan = Plan::new(100);
        let mut order = plan.put_order.clone();
        order.sort_unstable();
        assert_eq!(order, (0..100).collect::<Vec<_>>());
        assert!(plan.gets.iter().all(|&id| id < 100));
        assert!(plan.range_starts.iter().all(|&s| s + RANGE_LEN <= 100));
    }
}
