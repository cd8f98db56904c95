//! How long a writer waits while `Emdb::compact` runs: issue 23 asks that writers keep
//! committing during a compaction, each waiting at most 50 ms.
//!
//! Workload: `EMDB_BENCH_RECORDS` records (default 1,000,000) of 24-byte random keys and 150-byte
//! random values, loaded in durable transactions of 100,000, then the first half removed in one
//! commit, so that the compaction has a file of half dead space to rewrite. Then one writer
//! thread inserts new records, one durable commit each (`FlushPolicy::OnEachWrite`, the
//! default), for a second with no compaction (the baseline), and again while the main thread
//! runs `compact()` right away (its starting checkpoint folds the baseline's commits). Then the
//! second quarter of the records is removed, a checkpoint runs, and the writer commits while
//! a second `compact()` runs. For each window it prints the number of commits, their median,
//! 99th percentile and longest latency, and the compaction's time.
//!
//! Run: `cargo run --release -p emdb-benches --bin compaction_wait`. `EMDB_BENCH_DIR` sets where
//! the temporary directory goes. Results are in `docs/BENCH.md`.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use emdb::Emdb;
use emdb_benches::Records;
use emdb_benches::compare::{env_count, ms};
use emdb_benches::engine::BenchResult;

const KEY_LEN: usize = 24;
const VALUE_LEN: usize = 150;
const RECORD_SEED: u64 = 0x00E3_DB00_0300;
const LOAD_CHUNK: u64 = 100_000;
/// How long the baseline window lasts.
const BASELINE: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("compaction_wait: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The latencies of the commits a writer made in one window.
struct Window {
    latencies: Vec<Duration>,
}

impl Window {
    fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into a sorted list of at most millions of latencies"
        )]
        let at = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
        sorted.get(at).copied().unwrap_or_default()
    }

    fn line(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {} | {} | {} |",
            self.latencies.len(),
            ms(self.quantile(0.5)),
            ms(self.quantile(0.99)),
            ms(self.latencies.iter().copied().max().unwrap_or_default()),
        )
    }
}

/// Inserts records from `next` on, one commit each, until `stop` is set; returns the latencies.
fn write_until(
    db: &Emdb,
    records: &Records,
    mut next: u64,
    stop: &AtomicBool,
) -> BenchResult<Window> {
    let mut latencies = Vec::new();
    let (mut key, mut value) = (Vec::new(), Vec::new());
    while !stop.load(Ordering::Acquire) {
        records.fill_key(next, &mut key);
        records.fill_value(next, &mut value);
        let start = Instant::now();
        db.insert(&key, &value)?;
        latencies.push(start.elapsed());
        next += 1;
    }
    Ok(Window { latencies })
}

fn run() -> BenchResult<()> {
    let n = env_count("EMDB_BENCH_RECORDS", 1_000_000, 1_000)?;
    let base = std::env::var_os("EMDB_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::Builder::new().prefix("emdb-compaction-wait-").tempdir_in(base)?;
    let records = Records::new(KEY_LEN, VALUE_LEN, RECORD_SEED);
    let db = Emdb::open(dir.path().join("db"))?;
    let mut at = 0;
    while at < n {
        let end = (at + LOAD_CHUNK).min(n);
        db.transaction(|tx| records.try_for_each(at..end, |k, v| tx.insert(k, v)))?;
        at = end;
    }
    db.transaction(|tx| {
        records.try_for_each_key(0..n / 2, |k| {
            tx.discard(k);
            Ok(())
        })
    })?;

    let stop = Arc::new(AtomicBool::new(false));
    let writer = |from: u64| {
        let (db, stop) = (db.clone(), Arc::clone(&stop));
        std::thread::spawn(move || write_until(&db, &records, from, &stop))
    };
    let baseline = writer(n);
    std::thread::sleep(BASELINE);
    stop.store(true, Ordering::Release);
    let baseline = baseline.join().map_err(|_| "the baseline writer panicked")??;

    let mut lines = vec![baseline.line("one second without compaction")];
    // The first compaction starts right after the baseline: its checkpoint folds that second's
    // commits first. The second starts right after a checkpoint, on a file whose second quarter
    // was removed since, so that it too has dead space to drop.
    for (round, after_checkpoint) in [(2, false), (3, true)] {
        if after_checkpoint {
            db.transaction(|tx| {
                records.try_for_each_key(n / 2..n / 4 * 3, |k| {
                    tx.discard(k);
                    Ok(())
                })
            })?;
            db.checkpoint()?;
        }
        stop.store(false, Ordering::Release);
        let during = writer(round * n);
        let start = Instant::now();
        db.compact()?;
        let compaction = start.elapsed();
        stop.store(true, Ordering::Release);
        let during = during.join().map_err(|_| "the writer panicked")??;
        let name = if after_checkpoint {
            format!("while `compact()` runs right after a checkpoint ({} ms)", ms(compaction))
        } else {
            format!("while `compact()` runs right after that second ({} ms)", ms(compaction))
        };
        lines.push(during.line(&name));
    }

    println!("{n} records loaded, {} removed, then a quarter more\n", n / 2);
    println!("| window | commits | median (ms) | p99 (ms) | longest (ms) |");
    println!("|---|---:|---:|---:|---:|");
    for line in lines {
        println!("{line}");
    }
    Ok(())
}
