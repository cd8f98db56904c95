//! The durable-storage figures that are emdb's own (no peer involved): file size against the raw
//! data after loading and after `compact()`, reopen time, the anonymous memory of a fresh process
//! that opened the file and read every key once, and the group-commit speed-up of 8 threads each
//! committing durably against one.
//!
//! ```sh
//! cargo run --release -p emdb-benches --bin storage_targets
//! ```
//!
//! Environment: `EMDB_BENCH_RECORDS` (default 1,000,000), `EMDB_BENCH_DIR` (where the temporary
//! database goes; default the system temp dir). Records are the comparative harness's: 24-byte
//! random keys, 150-byte random values from a fixed seed. The memory figure comes from a child
//! process (this binary re-executed with `EMDB_TARGETS_CHILD=read-all`), so that nothing the
//! parent allocated while loading counts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use emdb::{Emdb, FlushPolicy};
use emdb_benches::{Records, SplitMix64};

type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const ENV_RECORDS: &str = "EMDB_BENCH_RECORDS";
const ENV_DIR: &str = "EMDB_BENCH_DIR";
const ENV_CHILD: &str = "EMDB_TARGETS_CHILD";
const ENV_CHILD_PATH: &str = "EMDB_TARGETS_PATH";
/// Durable commits per thread in the group-commit measurement.
const COMMITS_PER_THREAD: u64 = 500;
/// The records of the comparative harness (same lengths and seed).
const KEY_LEN: usize = 24;
const VALUE_LEN: usize = 150;
const SEED: u64 = 0x00E3_DB00_0100;

fn main() {
    if let Err(e) = run() {
        eprintln!("storage_targets: {e}");
        std::process::exit(1);
    }
}

fn run() -> AnyResult<()> {
    let records = Records::new(KEY_LEN, VALUE_LEN, SEED);
    let n: u64 = match std::env::var(ENV_RECORDS) {
        Ok(s) => s.replace('_', "").parse()?,
        Err(_) => 1_000_000,
    };
    if let Ok(mode) = std::env::var(ENV_CHILD) {
        let path = PathBuf::from(std::env::var_os(ENV_CHILD_PATH).ok_or("no path for the child")?);
        return match mode.as_str() {
            "read-all" => child_read_all(&path, &records, n),
            other => Err(format!("unknown child mode {other}").into()),
        };
    }
    let base = std::env::var_os(ENV_DIR).map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = base.join(format!("emdb-storage-targets-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = measure(&dir, &records, n);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(dir: &Path, records: &Records, n: u64) -> AnyResult<()> {
    let path = dir.join("emdb.db");
    let raw = n * (KEY_LEN + VALUE_LEN) as u64;
    println!("# emdb storage targets, {n} records of {KEY_LEN} + {VALUE_LEN} bytes");
    println!();
    println!("| Measure | Result | Target |");
    println!("|---|---:|---|");

    let db = Emdb::builder().path(&path).flush_policy(FlushPolicy::OnEachWrite).build()?;
    let started = Instant::now();
    db.transaction(|tx| records.try_for_each(0..n, |k, v| tx.insert(k, v)))?;
    let load = started.elapsed();
    drop(db);
    let loaded = files_size(&path)?;
    println!("| bulk load (1 durable commit) | {} ms | — |", ms(load));
    println!(
        "| size after loading / raw key+value bytes | {:.2}× ({} of {}) | ≤ 1.5× |",
        ratio(loaded, raw),
        mib(loaded),
        mib(raw)
    );

    let started = Instant::now();
    let db = Emdb::open(&path)?;
    let opened = started.elapsed();
    // `len` waits for the point index, which a clean file builds in the background.
    db.len()?;
    let indexed = started.elapsed();
    println!(
        "| reopen: `open` returns (point reads served from the tree) | {:.3} ms | ≤ 1,000 ms |",
        opened.as_secs_f64() * 1000.0
    );
    println!("| reopen: until the point index is complete | {} ms | ≤ 1,000 ms |", ms(indexed));
    db.compact()?;
    drop(db);
    let compacted = files_size(&path)?;
    println!(
        "| size after compact() / raw key+value bytes | {:.2}× ({}) | ≤ 1.25× |",
        ratio(compacted, raw),
        mib(compacted)
    );

    let child = Command::new(std::env::current_exe()?)
        .env(ENV_CHILD, "read-all")
        .env(ENV_CHILD_PATH, &path)
        .env(ENV_RECORDS, n.to_string())
        .output()?;
    if !child.status.success() {
        return Err(format!("child failed: {}", String::from_utf8_lossy(&child.stderr)).into());
    }
    let rss = String::from_utf8(child.stdout)?;
    println!("| RssAnon after opening and reading every key once | {} | ≤ 160 MiB |", rss.trim());

    let db = Emdb::builder().path(&path).flush_policy(FlushPolicy::OnEachWrite).build()?;
    let one = durable_commits(&db, records, n, 1)?;
    let eight = durable_commits(&db, records, n + 1_000_000, 8)?;
    println!(
        "| group commit: 8 threads / 1 thread, durable commits per second | {:.2}× ({:.0} / {:.0}) | ≥ 4× |",
        eight / one,
        eight,
        one
    );
    println!();
    println!("Command: `cargo run --release -p emdb-benches --bin storage_targets`");
    Ok(())
}

/// Durable commits per second of `threads` threads each inserting `COMMITS_PER_THREAD` new keys
/// one commit at a time.
fn durable_commits(db: &Emdb, records: &Records, first: u64, threads: u64) -> AnyResult<f64> {
    let barrier = Barrier::new(usize::try_from(threads)?);
    let elapsed = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || -> AnyResult<Duration> {
                    let start = first + t * COMMITS_PER_THREAD;
                    let (mut key, mut value) = (Vec::new(), Vec::new());
                    barrier.wait();
                    let started = Instant::now();
                    for i in start..start + COMMITS_PER_THREAD {
                        records.fill_key(i, &mut key);
                        records.fill_value(i, &mut value);
                        db.insert(&key, &value)?;
                    }
                    Ok(started.elapsed())
                })
            })
            .collect();
        let mut slowest = Duration::ZERO;
        for h in handles {
            slowest = slowest.max(h.join().map_err(|_| "a writer thread panicked")??);
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(slowest)
    })?;
    Ok(ratio(threads * COMMITS_PER_THREAD, 1) / elapsed.as_secs_f64())
}

/// The child: open the file, read every key once in random order, print `RssAnon`.
fn child_read_all(path: &Path, records: &Records, n: u64) -> AnyResult<()> {
    let db = Emdb::open(path)?;
    // Every index once, in a random order (a multiplicative permutation of 0..n).
    let mut rng = SplitMix64::new(7);
    let step = loop {
        let s = (rng.next_u64() % n.max(2)) | 1;
        if gcd(s, n) == 1 {
            break s;
        }
    };
    let mut key = Vec::new();
    let mut found = 0u64;
    for i in 0..n {
        records.fill_key((i * step) % n, &mut key);
        found += u64::from(db.get(&key)?.is_some());
    }
    if found != n {
        return Err(format!("read {found} of {n} keys").into());
    }
    let status = std::fs::read_to_string("/proc/self/status")?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .map_or_else(|| "n/a (no /proc)".to_owned(), |v| v.trim().to_owned());
    println!("{rss}");
    Ok(())
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The page file and its log.
fn files_size(path: &Path) -> AnyResult<u64> {
    let wal = PathBuf::from(format!("{}.wal", path.display()));
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    Ok(std::fs::metadata(path)?.len() + wal_len)
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

#[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52 bytes")]
fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b as f64
}

#[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52 bytes")]
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
