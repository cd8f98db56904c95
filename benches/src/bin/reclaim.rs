//! How the page file's size follows the live data without `compact()`, and how long writers
//! wait behind the checkpoints that reclaim value pages; emdb alone, with automatic reclamation
//! off (as before it existed) and at its default.
//!
//! ```sh
//! cargo run --release -p emdb-benches --bin reclaim
//! ```
//!
//! Three parts:
//!
//! 1. **steady overwrites**: 2 MB of live values (8-byte keys) of 100, 129, 2,000 and 20,000
//!    bytes, overwritten 60 times, one insert per key (`FlushPolicy::Manual`), checkpointing
//!    whenever the log passes 1 MiB and at the end of each round; the page file's size after
//!    each round.
//! 2. **mixed**: `EMDB_RECLAIM_MIXED_OPS` (default 600,000) random operations over 60,000 keys
//!    (24 bytes): 10 % removes, the rest inserts of values of 40 B to 5,000 B (most 200 B to
//!    1,900 B), log threshold 16 MiB, no `compact()`; the file against the live bytes every
//!    10 % of the run.
//! 3. **writer waits** at `EMDB_BENCH_RECORDS` (default 1,000,000) records of 24 + 150 bytes:
//!    load them, overwrite a random 60 % (so most value pages are more than half dead), then
//!    one thread inserts new records one commit at a time (`Manual`) while the main thread
//!    runs 40 checkpoints back to back; the longest time one insert took, and the longest
//!    checkpoint.
//!
//! `EMDB_BENCH_DIR` says where the temporary databases go (default the system temp dir).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use emdb::{AutoReclaim, Emdb, FlushPolicy};
use emdb_benches::{Records, SplitMix64};

type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const ENV_RECORDS: &str = "EMDB_BENCH_RECORDS";
const ENV_MIXED_OPS: &str = "EMDB_RECLAIM_MIXED_OPS";
const ENV_DIR: &str = "EMDB_BENCH_DIR";
const SETTINGS: [(&str, AutoReclaim); 2] = [
    ("off (before)", AutoReclaim::Off),
    ("default, DeadPercent(50)", AutoReclaim::DeadPercent(50)),
];

fn main() {
    if let Err(e) = run() {
        eprintln!("reclaim: {e}");
        std::process::exit(1);
    }
}

fn env_u64(name: &str, default: u64) -> AnyResult<u64> {
    Ok(match std::env::var(name) {
        Ok(s) => s.replace('_', "").parse()?,
        Err(_) => default,
    })
}

fn run() -> AnyResult<()> {
    let base = std::env::var_os(ENV_DIR).map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = base.join(format!("emdb-reclaim-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = measure(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(dir: &Path) -> AnyResult<()> {
    println!("# emdb: file size without compact(), and writer waits behind reclamation");
    println!();
    steady(dir)?;
    mixed(dir, env_u64(ENV_MIXED_OPS, 600_000)?)?;
    waits(dir, env_u64(ENV_RECORDS, 1_000_000)?)?;
    println!("Command: `cargo run --release -p emdb-benches --bin reclaim`");
    Ok(())
}

#[expect(clippy::cast_precision_loss, reason = "sizes far below 2^52 bytes")]
fn mib(bytes: u64) -> String {
    format!("{:.2}", bytes as f64 / (1024.0 * 1024.0))
}

#[expect(clippy::cast_precision_loss, reason = "sizes far below 2^52 bytes")]
fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b as f64
}

fn fresh(dir: &Path, name: &str) -> AnyResult<PathBuf> {
    let path = dir.join(name);
    for p in [path.clone(), dir.join(format!("{name}.wal")), dir.join(format!("{name}.lock"))] {
        if p.exists() {
            std::fs::remove_file(p)?;
        }
    }
    Ok(path)
}

fn steady(dir: &Path) -> AnyResult<()> {
    println!("## Steady overwrites: page file MiB after each of 60 rounds");
    println!();
    println!(
        "2 MB of live values with 8-byte keys, every key overwritten each round by one insert, \
         `FlushPolicy::Manual`, a checkpoint whenever the log passes 1 MiB and at the end of \
         each round."
    );
    println!();
    println!("| value | live MiB | reclamation | rounds 1-60 (MiB) | last / live |");
    println!("|---:|---:|---|---|---:|");
    for size in [100usize, 129, 2_000, 20_000] {
        for (name, setting) in SETTINGS {
            let path = fresh(dir, "steady")?;
            let db = Emdb::builder()
                .path(&path)
                .flush_policy(FlushPolicy::Manual)
                .checkpoint_wal_bytes(1 << 20)
                .auto_reclaim(setting)
                .build()?;
            let keys = u32::try_from(2_000_000 / size)?;
            let live = u64::from(keys) * (size as u64 + 8);
            let mut sizes = Vec::new();
            for round in 0..60u32 {
                for k in 0..keys {
                    let fill = u8::try_from((round + k) % 251)?;
                    db.insert(format!("key{k:05}"), vec![fill; size])?;
                }
                db.checkpoint()?;
                sizes.push(std::fs::metadata(&path)?.len());
            }
            drop(db);
            let last = sizes.last().copied().unwrap_or(0);
            let curve: Vec<String> = sizes.iter().map(|&s| mib(s)).collect();
            println!(
                "| {size} B | {} | {name} | {} | {:.2}× |",
                mib(live),
                curve.join(" "),
                ratio(last, live)
            );
        }
    }
    println!();
    Ok(())
}

fn mixed(dir: &Path, ops: u64) -> AnyResult<()> {
    const KEYS: u64 = 60_000;
    println!("## Mixed workload: page file / live bytes, no compact()");
    println!();
    println!(
        "{ops} random operations over {KEYS} keys of 24 bytes: 10 % removes, the rest inserts of \
         values of 40 B (5 %), 5,000 B (5 %) or 219 B to 1,839 B (90 %); `Manual`, log threshold \
         16 MiB. Sampled every 10 % of the run."
    );
    println!();
    println!(
        "| reclamation | file / live at 10 %, 20 %, … 100 % | largest | file MiB at the end |"
    );
    println!("|---|---|---:|---:|");
    for (name, setting) in SETTINGS {
        let path = fresh(dir, "mixed")?;
        let db = Emdb::builder()
            .path(&path)
            .flush_policy(FlushPolicy::Manual)
            .checkpoint_wal_bytes(16 << 20)
            .auto_reclaim(setting)
            .build()?;
        let mut rng = SplitMix64::new(42);
        let mut live: Vec<u32> = vec![0; usize::try_from(KEYS)?];
        let mut live_bytes: u64 = 0;
        let mut ratios = Vec::new();
        for op in 0..ops {
            let k = rng.next_u64() % KEYS;
            let key = format!("mixed-key-{k:014}");
            let slot = live.get_mut(usize::try_from(k)?).ok_or("key out of range")?;
            live_bytes -= u64::from(*slot);
            if rng.next_u64().is_multiple_of(10) {
                db.remove(&key)?;
                *slot = 0;
            } else {
                let size = match rng.next_u64() % 20 {
                    0 => 40,
                    1 => 5_000,
                    n => 129 + usize::try_from(n)? * 90,
                };
                db.insert(&key, vec![u8::try_from(op % 251)?; size])?;
                *slot = u32::try_from(24 + size)?;
            }
            live_bytes += u64::from(*slot);
            if (op + 1) % (ops / 10).max(1) == 0 {
                ratios.push(ratio(std::fs::metadata(&path)?.len(), live_bytes));
            }
        }
        let end = std::fs::metadata(&path)?.len();
        drop(db);
        let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        let largest = ratios.iter().copied().fold(0.0, f64::max);
        println!("| {name} | {} | {largest:.2}× | {} |", shown.join(" "), mib(end));
    }
    println!();
    Ok(())
}

/// The durations, sorted, of `count` checkpoints with nothing else to write: one insert (of
/// record `first`, `first + 1`, …) before each.
fn checkpoints_alone(
    db: &Emdb,
    records: &Records,
    first: u64,
    count: u64,
) -> AnyResult<Vec<Duration>> {
    let mut took = Vec::new();
    for i in first..first + count {
        db.insert(records.key(i), records.value(i))?;
        let started = Instant::now();
        db.checkpoint()?;
        took.push(started.elapsed());
    }
    took.sort_unstable();
    Ok(took)
}

/// One thread inserts records `first`, `first + 1`, … one `Manual` commit at a time while this
/// one runs `checkpoints` checkpoints 20 ms apart; the durations of every insert and every
/// checkpoint.
fn concurrent(
    db: &Emdb,
    records: &Records,
    first: u64,
    checkpoints: u32,
) -> AnyResult<(Vec<Duration>, Vec<Duration>)> {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| -> AnyResult<_> {
        let writer = s.spawn(|| -> AnyResult<Vec<Duration>> {
            let mut took = Vec::new();
            let mut i = first;
            let (mut key, mut value) = (Vec::new(), Vec::new());
            while !stop.load(Ordering::Relaxed) {
                records.fill_key(i, &mut key);
                records.fill_value(i, &mut value);
                let started = Instant::now();
                db.insert(&key, &value)?;
                took.push(started.elapsed());
                i += 1;
            }
            Ok(took)
        });
        let mut took = Vec::new();
        for _ in 0..checkpoints {
            std::thread::sleep(Duration::from_millis(20));
            let started = Instant::now();
            db.checkpoint()?;
            took.push(started.elapsed());
        }
        stop.store(true, Ordering::Relaxed);
        let inserts = writer.join().map_err(|_| "the writer panicked")??;
        Ok((inserts, took))
    })
}

fn waits(dir: &Path, n: u64) -> AnyResult<()> {
    const KEY_LEN: usize = 24;
    const VALUE_LEN: usize = 150;
    const CHECKPOINTS: u32 = 40;
    const ALONE: u64 = 20;
    let records = Records::new(KEY_LEN, VALUE_LEN, 0x00E3_DB00_0100);
    println!("## Writer waits behind reclamation, {n} records of {KEY_LEN} + {VALUE_LEN} bytes");
    println!();
    println!(
        "Load, overwrite a random 60 % (most value pages become more than half dead), then \
         {ALONE} checkpoints of one insert each (alone), then one thread inserts new records one \
         `Manual` commit at a time while {CHECKPOINTS} checkpoints run back to back."
    );
    println!();
    let mut alone_rows = Vec::new();
    println!(
        "| reclamation | inserts | insert p99 | longest insert | checkpoint p50 | longest checkpoint | reclaimable MiB before → after | file MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---:|");
    for (name, setting) in SETTINGS {
        let path = fresh(dir, "waits")?;
        let db = Emdb::builder()
            .path(&path)
            .flush_policy(FlushPolicy::Manual)
            .auto_reclaim(setting)
            .build()?;
        db.transaction(|tx| records.try_for_each(0..n, |k, v| tx.insert(k, v)))?;
        let mut rng = SplitMix64::new(7);
        let mut chosen: Vec<u64> = (0..n).filter(|_| rng.next_u64() % 10 < 6).collect();
        chosen.sort_unstable();
        for chunk in chosen.chunks(100_000) {
            db.transaction(|tx| {
                chunk.iter().try_for_each(|&i| tx.insert(records.key(i), records.value(i + n)))
            })?;
        }
        db.checkpoint()?;
        let before = db.stats()?.reclaimable_bytes;
        let alone = checkpoints_alone(&db, &records, 3 * n, ALONE)?;
        let between = db.stats()?.reclaimable_bytes;
        let (mut inserts, mut checkpoints) = concurrent(&db, &records, 2 * n, CHECKPOINTS)?;
        inserts.sort_unstable();
        checkpoints.sort_unstable();
        let at = |v: &[Duration], q: usize| {
            let i = (v.len() * q / 100).min(v.len().saturating_sub(1));
            v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let after = db.stats()?.reclaimable_bytes;
        drop(db);
        alone_rows.push(format!(
            "| {name} | {:.1} ms | {:.1} ms | {} → {} |",
            at(&alone, 50),
            at(&alone, 100),
            mib(before),
            mib(between)
        ));
        println!(
            "| {name} | {} | {:.2} ms | {:.1} ms | {:.1} ms | {:.1} ms | {} → {} | {} |",
            inserts.len(),
            at(&inserts, 99),
            at(&inserts, 100),
            at(&checkpoints, 50),
            at(&checkpoints, 100),
            mib(between),
            mib(after),
            mib(std::fs::metadata(&path)?.len())
        );
    }
    println!();
    println!("Checkpoints alone (one insert each):");
    println!();
    println!(
        "| reclamation | checkpoint p50 | longest checkpoint | reclaimable MiB before → after |"
    );
    println!("|---|---:|---:|---|");
    for row in alone_rows {
        println!("{row}");
    }
    println!();
    Ok(())
}
