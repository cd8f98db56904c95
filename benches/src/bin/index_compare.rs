//! The secondary-index comparison: emdb's typed `Table` with a unique and a non-unique index
//! against `native_db` 0.8 with the same two secondary keys, on the same rows, in the same run.
//!
//! Workload: `EMDB_BENCH_ROWS` rows (default 200,000) of `{ id: u64 (key), email: String
//! (unique index, "user-0000042@example.org"), team: u32 (non-unique index, id % 100), name:
//! String (12 bytes), score: f64 }`, ids `0..rows`. Phases, each engine in a fresh temporary
//! directory: put every row in a fixed-seed random order, one durable write transaction per
//! 1,000 rows; close; reopen; `rows` unique lookups by the email of a uniformly random present
//! row through one read view; `EMDB_BENCH_TEAM_LOOKUPS` (default 2,000) lookups of a random team,
//! each returning every row of the team (about `rows / 100`), through one read view; `rows` gets
//! by primary key of the same random rows as the email lookups, through one read view. For emdb
//! the same rows are also put into a table without indexes (in a directory of its own), so the
//! put cost of the two indexes shows. Every read checks what it got against the rows it should
//! have got, and the program fails if an engine returns other rows.
//!
//! Durability: every commit is durable when it returns, for both (`native_db` cannot be set
//! otherwise): emdb `FlushPolicy::OnEachWrite`, `native_db`'s only setting (redb 2's
//! `Durability::Immediate`). Values are postcard for both.
//!
//! Run: `cargo run --release -p emdb-benches --bin index_compare`. Environment:
//! `EMDB_BENCH_ROWS` (row count), `EMDB_BENCH_TEAM_LOOKUPS` (team lookups), `EMDB_BENCH_DIR`
//! (where the temporary directories go; default the system temp dir). It prints a Markdown
//! report: ms per phase and engine, `native_db`'s time over emdb's (above 1 means emdb is faster),
//! and each engine's email lookup over its primary-key get. Results are in `docs/BENCH.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use emdb::{Emdb, FlushPolicy, Record, Table};
use emdb_benches::compare::{Tally, env_count, machine_and_table_head, mib, ms, shuffled, timed};
use emdb_benches::engine::{BenchResult, size_on_disk};
use emdb_benches::engines::CACHE_BYTES;
use emdb_benches::report::thousands;
use emdb_benches::{SplitMix64, machine};
// `ToKey` is used by the code `#[native_db]` generates.
use native_db::{Builder as NativeBuilder, Database, Models, ToKey as _, native_db};
use native_model::{Model as _, native_model};
use serde::{Deserialize, Serialize};

const DEFAULT_ROWS: u64 = 200_000;
const DEFAULT_TEAM_LOOKUPS: u64 = 2_000;
/// Rows per write transaction in the put phases.
const ROWS_PER_COMMIT: usize = 1_000;
/// Row `id` is in team `id % TEAMS`.
const TEAMS: u64 = 100;
const ORDER_SEED: u64 = 0x00E3_DB00_0220;
const GET_SEED: u64 = 0x00E3_DB00_0221;
const TEAM_SEED: u64 = 0x00E3_DB00_0222;

const ENV_ROWS: &str = "EMDB_BENCH_ROWS";
const ENV_TEAM_LOOKUPS: &str = "EMDB_BENCH_TEAM_LOOKUPS";
const ENV_DIR: &str = "EMDB_BENCH_DIR";

/// The row as emdb stores it (postcard), with its two secondary indexes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Record)]
#[emdb(table = "users")]
struct User {
    #[emdb(key)]
    id: u64,
    #[emdb(index(unique))]
    email: String,
    #[emdb(index)]
    team: u32,
    name: String,
    score: f64,
}

/// The same row for `native_db`, whose model and key attributes go on the type; postcard, as
/// emdb.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[native_model(id = 1, version = 1, with = native_model::postcard_1_0::PostCard)]
#[native_db]
struct NativeUser {
    #[primary_key]
    id: u64,
    #[secondary_key(unique)]
    email: String,
    #[secondary_key]
    team: u32,
    name: String,
    score: f64,
}

fn email(id: u64) -> String {
    format!("user-{id:07}@example.org")
}

fn team(id: u64) -> u32 {
    u32::try_from(id % TEAMS).unwrap_or(0)
}

/// The fields of row `id`.
fn user(id: u64) -> User {
    #[expect(clippy::cast_precision_loss, reason = "ids are far below 2^52")]
    let score = id as f64 * 0.25;
    User { id, email: email(id), team: team(id), name: format!("user-{id:07}"), score }
}

fn native_user(id: u64) -> NativeUser {
    let User { id, email, team, name, score } = user(id);
    NativeUser { id, email, team, name, score }
}

/// A row's digest for a [`Tally`]: every field counts.
fn digest(id: u64, email: &str, team: u32, name: &str, score: f64) -> u64 {
    id ^ ((email.len() as u64) << 56)
        ^ ((name.len() as u64) << 48)
        ^ (u64::from(team) << 32)
        ^ score.to_bits()
}

fn add_user(tally: &mut Tally, u: &User) {
    tally.add(digest(u.id, &u.email, u.team, &u.name, u.score));
}

fn add_native(tally: &mut Tally, u: &NativeUser) {
    tally.add(digest(u.id, &u.email, u.team, &u.name, u.score));
}

/// The work both engines do: the same put order, lookups and teams.
struct Plan {
    rows: u64,
    put_order: Vec<u64>,
    /// The rows looked up, by email and by primary key.
    gets: Vec<u64>,
    /// The emails of `gets`, made before any clock starts.
    emails: Vec<String>,
    teams: Vec<u32>,
}

impl Plan {
    fn new(rows: u64, team_lookups: u64) -> Self {
        let len = usize::try_from(rows).unwrap_or(usize::MAX);
        let mut rng = SplitMix64::new(GET_SEED);
        let gets: Vec<u64> = (0..rows).map(|_| rng.below(len) as u64).collect();
        let emails = gets.iter().map(|&id| email(id)).collect();
        let teams_present = usize::try_from(TEAMS.min(rows)).unwrap_or(1).max(1);
        let mut rng = SplitMix64::new(TEAM_SEED);
        let teams = (0..team_lookups)
            .map(|_| u32::try_from(rng.below(teams_present)).unwrap_or(0))
            .collect();
        Plan { rows, put_order: shuffled(rows, ORDER_SEED), gets, emails, teams }
    }

    /// The put order in chunks of one write transaction each.
    fn commits(&self) -> impl Iterator<Item = &[u64]> {
        self.put_order.chunks(ROWS_PER_COMMIT)
    }

    /// What the email lookups and the primary-key gets must each add up to.
    fn expected_gets(&self) -> Tally {
        let mut tally = Tally::default();
        self.gets.iter().for_each(|&id| add_user(&mut tally, &user(id)));
        tally
    }

    /// What the team lookups must add up to.
    fn expected_teams(&self) -> Tally {
        let mut tally = Tally::default();
        let step = usize::try_from(TEAMS).unwrap_or(1);
        for &t in &self.teams {
            (u64::from(t)..self.rows).step_by(step).for_each(|id| add_user(&mut tally, &user(id)));
        }
        tally
    }

    /// How many rows the team lookups return in all.
    fn team_rows(&self) -> u64 {
        self.expected_teams().rows
    }
}

/// One engine's times and what its read phases returned.
#[derive(Debug, Default)]
struct Run {
    /// The put of the same rows into a table without indexes (emdb only).
    put_plain: Option<Duration>,
    put: Duration,
    close: Duration,
    reopen: Duration,
    get_by: Duration,
    find_by: Duration,
    get: Duration,
    bytes_on_disk: u64,
    by_email: Tally,
    by_team: Tally,
    by_id: Tally,
}

fn open_emdb(path: &Path) -> BenchResult<Emdb> {
    Ok(Emdb::builder().path(path).flush_policy(FlushPolicy::OnEachWrite).build()?)
}

/// Puts every row of `plan` into `table`, one `db.transaction` per 1,000 rows, and returns the
/// time it took.
fn put_emdb(db: &Emdb, table: &Table<u64, User>, plan: &Plan) -> BenchResult<Duration> {
    let rows: Vec<Vec<User>> =
        plan.commits().map(|ids| ids.iter().map(|&id| user(id)).collect()).collect();
    let ((), put) = timed(|| {
        for chunk in &rows {
            db.transaction(|tx| {
                let mut t = table.tx(tx);
                chunk.iter().try_for_each(|row| t.put(row))
            })?;
        }
        Ok(())
    })?;
    Ok(put)
}

/// emdb: `User::table` (a `Table<u64, User>` with the unique index `email` and the index `team`,
/// postcard); puts through a typed transaction, reads through one `TableSnapshot` per phase.
/// First the same puts into `Table::<u64, User>::open`, a table without indexes, in a database
/// of its own.
fn run_emdb(dir: &Path, plan: &Plan) -> BenchResult<Run> {
    let mut run = Run::default();
    let plain_dir = dir.join("plain");
    std::fs::create_dir_all(&plain_dir)?;
    {
        let db = open_emdb(&plain_dir.join("emdb.db"))?;
        let unindexed = Table::<u64, User>::open(&db, "users")?;
        run.put_plain = Some(put_emdb(&db, &unindexed, plan)?);
    }
    std::fs::remove_dir_all(&plain_dir)?;

    let indexed_dir = dir.join("indexed");
    std::fs::create_dir_all(&indexed_dir)?;
    let path = indexed_dir.join("emdb.db");
    let db = open_emdb(&path)?;
    let users = User::table(&db)?;
    run.put = put_emdb(&db, &users, plan)?;
    ((), run.close) = timed(|| {
        drop(users);
        drop(db);
        Ok(())
    })?;
    run.bytes_on_disk = size_on_disk(&indexed_dir)?;
    let (db, reopen) = timed(|| open_emdb(&path))?;
    run.reopen = reopen;
    let users = User::table(&db)?;
    let by_email = User::by_email();
    let by_team = User::by_team();
    (run.by_email, run.get_by) = timed(|| {
        let view = users.snapshot();
        let mut tally = Tally::default();
        for email in &plan.emails {
            let row =
                view.get_by(&by_email, email)?.ok_or("emdb: a present email was not found")?;
            if row.email != *email {
                return Err(format!("emdb: get_by email {email} returned {row:?}").into());
            }
            add_user(&mut tally, &row);
        }
        Ok(tally)
    })?;
    (run.by_team, run.find_by) = timed(|| {
        let view = users.snapshot();
        let mut tally = Tally::default();
        for team in &plan.teams {
            for entry in view.find_by(&by_team, team)? {
                let (id, row) = entry?;
                if row.team != *team || row.id != id {
                    return Err(format!("emdb: find_by team {team} returned {id}: {row:?}").into());
                }
                add_user(&mut tally, &row);
            }
        }
        Ok(tally)
    })?;
    (run.by_id, run.get) = timed(|| {
        let view = users.snapshot();
        let mut tally = Tally::default();
        for id in &plan.gets {
            let row = view.get(id)?.ok_or("emdb: a present id was not found")?;
            add_user(&mut tally, &row);
        }
        Ok(tally)
    })?;
    Ok(run)
}

fn open_native_db<'a>(models: &'a Models, path: &Path, create: bool) -> BenchResult<Database<'a>> {
    let mut builder = NativeBuilder::new();
    builder.set_cache_size(CACHE_BYTES);
    Ok(if create { builder.create(models, path)? } else { builder.open(models, path)? })
}

/// `native_db` 0.8: one model with a unique secondary key `email` and a secondary key `team`,
/// `rw_transaction` per 1,000 rows, reads through one `r_transaction` per phase.
fn run_native_db(dir: &Path, plan: &Plan) -> BenchResult<Run> {
    let path = dir.join("native_db.redb");
    let mut models = Models::new();
    models.define::<NativeUser>()?;
    let mut run = Run::default();
    let db = open_native_db(&models, &path, true)?;
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
    let (db, reopen) = timed(|| open_native_db(&models, &path, false))?;
    run.reopen = reopen;
    (run.by_email, run.get_by) = timed(|| {
        let r = db.r_transaction()?;
        let mut tally = Tally::default();
        for email in &plan.emails {
            let row: NativeUser = r
                .get()
                .secondary(NativeUserKey::email, email.as_str())?
                .ok_or("native_db: a present email was not found")?;
            if row.email != *email {
                return Err(format!("native_db: email {email} returned {row:?}").into());
            }
            add_native(&mut tally, &row);
        }
        Ok(tally)
    })?;
    (run.by_team, run.find_by) = timed(|| {
        let r = db.r_transaction()?;
        let mut tally = Tally::default();
        for &team in &plan.teams {
            // The exact value as a one-value range; `start_with(team)` finds the same rows (a
            // `u32` key is 4 big-endian bytes).
            for row in r.scan().secondary::<NativeUser>(NativeUserKey::team)?.range(team..=team)? {
                let row = row?;
                if row.team != team {
                    return Err(format!("native_db: team {team} returned {row:?}").into());
                }
                add_native(&mut tally, &row);
            }
        }
        Ok(tally)
    })?;
    (run.by_id, run.get) = timed(|| {
        let r = db.r_transaction()?;
        let mut tally = Tally::default();
        for &id in &plan.gets {
            let row: NativeUser =
                r.get().primary(id)?.ok_or("native_db: a present id was not found")?;
            add_native(&mut tally, &row);
        }
        Ok(tally)
    })?;
    Ok(run)
}

/// How long one phase of a [`Run`] took.
type PhaseTime = fn(&Run) -> Duration;

/// One engine's part of the benchmark: every phase, in a directory of its own.
type RunEngine = fn(&Path, &Plan) -> BenchResult<Run>;

/// The engines, in the order they run; emdb first, the baseline of the ratios.
const ENGINES: [(&str, RunEngine); 2] = [("emdb", run_emdb), ("native_db 0.8", run_native_db)];

/// Runs every engine in a temporary directory of its own under `base` and checks each one's
/// reads against the plan.
fn run_all(base: &Path, plan: &Plan) -> BenchResult<Vec<(&'static str, Run)>> {
    let (gets, teams) = (plan.expected_gets(), plan.expected_teams());
    let mut runs = Vec::new();
    for (name, run) in ENGINES {
        let dir = tempfile::Builder::new().prefix("emdb-index-compare-").tempdir_in(base)?;
        eprintln!("index_compare: {name} ...");
        let result = run(dir.path(), plan).map_err(|e| format!("{name}: {e}"))?;
        if result.by_email != gets || result.by_id != gets || result.by_team != teams {
            return Err(format!(
                "{name} read other rows than it was given: by email {:?}, by id {:?} (expected \
                 {gets:?}), by team {:?} (expected {teams:?})",
                result.by_email, result.by_id, result.by_team
            )
            .into());
        }
        runs.push((name, result));
    }
    Ok(runs)
}

/// `a / b` with two decimals and a `×`.
fn ratio(a: Duration, b: Duration) -> String {
    format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64())
}

/// The Markdown report: the workload, then one row per phase with each engine's time and
/// `native_db`'s over emdb's, then each engine's email lookup over its primary-key get.
fn report(plan: &Plan, runs: &[(&str, Run)], base: &Path, stall: Option<Duration>) -> String {
    let mut out = String::new();
    let rows = thousands(plan.rows);
    let per_commit = thousands(ROWS_PER_COMMIT as u64);
    let lookups = thousands(plan.teams.len() as u64);
    let team_rows = plan.team_rows();
    let _ = writeln!(out, "# Secondary-index comparison\n");
    let _ = writeln!(out, "Command: `cargo run --release -p emdb-benches --bin index_compare`\n");
    let _ = writeln!(
        out,
        "Workload: {rows} rows `{{ id: u64 (key), email: String (unique index, 24 B), team: u32 \
         (index, id % {TEAMS}), name: String (12 B), score: f64 }}`; put in a random order, \
         {per_commit} rows per durable write transaction; close and reopen; {rows} lookups by the \
         email of a random row; {lookups} lookups of a random team ({} rows in all); {rows} gets \
         by key of the same random rows; each read phase through one read view, in that order. \
         Durable commits: emdb `FlushPolicy::OnEachWrite`, native_db (redb 2, \
         `Durability::Immediate`, its only setting). Values: postcard. Cache: 1 GiB for \
         native_db; emdb has no cache setting.\n",
        thousands(team_rows),
    );
    machine_and_table_head(&mut out, base, stall, runs.iter().map(|(name, _)| *name));
    if let Some((_, emdb)) = runs.first()
        && let Some(plain) = emdb.put_plain
    {
        let _ = write!(out, "| put {rows} rows without indexes, {per_commit} per commit (ms) |");
        let _ = write!(out, " {} |", ms(plain));
        for _ in 1..runs.len() * 2 - 1 {
            let _ = write!(out, " — |");
        }
        let _ = writeln!(out);
    }
    let phases: [(String, PhaseTime); 6] = [
        (format!("put {rows} rows with 2 indexes, {per_commit} per durable commit (ms)"), |r| {
            r.put
        }),
        ("close (ms)".to_owned(), |r| r.close),
        ("reopen (ms)".to_owned(), |r| r.reopen),
        (format!("{rows} `get_by` unique email (ms)"), |r| r.get_by),
        (format!("{lookups} `find_by` team, {} rows (ms)", thousands(team_rows)), |r| r.find_by),
        (format!("{rows} `get` by key, same rows (ms)"), |r| r.get),
    ];
    for (label, time) in &phases {
        let _ = write!(out, "| {label} |");
        for (_, run) in runs {
            let _ = write!(out, " {} |", ms(time(run)));
        }
        if let Some((_, emdb)) = runs.first() {
            for (_, run) in runs.iter().skip(1) {
                let _ = write!(out, " {} |", ratio(time(run), time(emdb)));
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
    let _ = writeln!(out, "\n| engine | put with 2 indexes ÷ without | `get_by` ÷ `get` |");
    let _ = writeln!(out, "|---|---:|---:|");
    for (name, run) in runs {
        let put = run.put_plain.map_or_else(|| "—".to_owned(), |plain| ratio(run.put, plain));
        let _ = writeln!(out, "| {name} | {put} | {} |", ratio(run.get_by, run.get));
    }
    let _ = writeln!(
        out,
        "\nA ratio above 1 in the first table means native_db took longer (or more space) than \
         emdb. The email lookups run first after the reopen, the gets by key last."
    );
    out
}

fn main() -> ExitCode {
    let counts = env_count(ENV_ROWS, DEFAULT_ROWS, TEAMS)
        .and_then(|rows| Ok((rows, env_count(ENV_TEAM_LOOKUPS, DEFAULT_TEAM_LOOKUPS, 1)?)));
    let (rows, team_lookups) = match counts {
        Ok(counts) => counts,
        Err(error) => {
            eprintln!("index_compare: {error}");
            return ExitCode::FAILURE;
        }
    };
    let base = std::env::var_os(ENV_DIR).map_or_else(std::env::temp_dir, PathBuf::from);
    let plan = Plan::new(rows, team_lookups);
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
            eprintln!("index_compare: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_return_the_rows_they_were_given() {
        let base = tempfile::tempdir().unwrap();
        let plan = Plan::new(2_500, 50);
        let runs = run_all(base.path(), &plan).unwrap();
        assert_eq!(runs.len(), 2);
        for (name, run) in &runs {
            assert_eq!(run.by_email.rows, 2_500, "{name}");
            assert_eq!(run.by_id.rows, 2_500, "{name}");
            assert_eq!(run.by_team.rows, 50 * 25, "{name}");
            assert!(run.bytes_on_disk > 0, "{name}");
        }
        assert!(runs[0].1.put_plain.is_some());
        let text = report(&plan, &runs, base.path(), None);
        assert!(
            text.contains("| put 2,500 rows without indexes, 1,000 per commit (ms) |"),
            "{text}"
        );
        assert!(text.contains("| 50 `find_by` team, 1,250 rows (ms) |"), "{text}");
    }

    #[test]
    fn the_plan_stays_inside_the_rows() {
        let plan = Plan::new(250, 20);
        assert!(plan.gets.iter().all(|&id| id < 250));
        assert!(plan.teams.iter().all(|&t| u64::from(t) < TEAMS));
        assert_eq!(plan.emails[0], email(plan.gets[0]));
        // Teams 0..50 have 3 rows (t, t + 100, t + 200), teams 50..100 have 2.
        let expected: u64 = plan.teams.iter().map(|&t| if t < 50 { 3 } else { 2 }).sum();
        assert_eq!(plan.team_rows(), expected);
    }
}
