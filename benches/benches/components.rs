//! Criterion micro-benchmarks of emdb's hot paths, one group per component, so that a regression
//! shows in the component that caused it: the point index (`get`), the write-ahead log and group
//! commit, the page encoder and decoder (measured through checkpoint and a full scan, the public
//! paths that run them), and the typed layer's order-preserving key encoding. The value codecs
//! are measured in `typed.rs` (`codec/*`).
//!
//! Workload: 100,000 entries of 24-byte random keys and 150-byte random values (fixed seed), in
//! memory or in a file in a temporary directory; the commit benchmarks insert one new 24-byte key
//! with a 150-byte value per commit into a database that starts empty, durable
//! (`FlushPolicy::OnEachWrite`) or not (`FlushPolicy::Manual`). Every benchmark name carries its
//! workload. The same-run references: the in-memory database for the file-backed `get` and full
//! scan, and one 174-byte append plus `fdatasync` on the same filesystem for the durable commit.
//!
//! Run it with `cargo bench -p emdb-benches --bench components -- --warm-up-time 1
//! --measurement-time 2`; results are in `docs/BENCH.md`.

#![expect(
    clippy::expect_used,
    reason = "a benchmark: a failed commit or checkpoint must stop it loudly, not be timed"
)]

use std::fs::File;
use std::hint::black_box;
use std::io::Write as _;
use std::path::Path;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use emdb::{Emdb, FlushPolicy, key};
use emdb_benches::{Dataset, SplitMix64, Workload};
use tempfile::TempDir;

/// What the database holds in the lookup, checkpoint and scan benchmarks.
const MAIN: Workload = Workload { entries: 100_000, key_len: 24, value_len: 150 };
/// How many entries change before each timed checkpoint.
const CHANGED_KEYS: [usize; 2] = [1_000, 10_000];
/// Threads that commit at once in the group-commit benchmark.
const COMMIT_THREADS: usize = 4;
/// The log size past which a commit checkpoints, in the commit benchmarks: high enough that no
/// checkpoint runs during them, so that they time the log and nothing else.
const NO_AUTO_CHECKPOINT: u64 = 1 << 40;

const DATA_SEED: u64 = 0x00E3_DB00_0301;
const CHANGE_SEED: u64 = 0x00E3_DB00_0302;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Loads `data` into `db`, 10,000 entries per transaction.
fn load(db: &Emdb, data: &Dataset) -> emdb::Result<()> {
    let pairs: Vec<_> = data.pairs().collect();
    for chunk in pairs.chunks(10_000) {
        db.transaction(|tx| chunk.iter().try_for_each(|&(k, v)| tx.insert(k, v)))?;
    }
    Ok(())
}

/// A file-backed database holding `data`, written, closed and opened again, so that reads go to
/// the page file (the index holds value locations, not bytes).
fn reopened_file_db(dir: &Path, data: &Dataset) -> BenchResult<Emdb> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("components.emdb");
    {
        let db = Emdb::builder().path(&path).flush_policy(FlushPolicy::Manual).build()?;
        load(&db, data)?;
    }
    Ok(Emdb::builder().path(&path).flush_policy(FlushPolicy::Manual).build()?)
}

/// A 24-byte key no other call returns for another `n`.
fn fresh_key(n: u64) -> Vec<u8> {
    let mut key = SplitMix64::new(n ^ 0x5EED_0000_0000).bytes(16);
    key.extend_from_slice(&n.to_be_bytes());
    key
}

/// (a) The point index: `get` of a present key, copying the value out, on an in-memory database
/// and on a file-backed one after reopening (index holds a value location; the value is read
/// from the mapped page file).
fn index_lookup(c: &mut Criterion, data: &Dataset, memory_db: &Emdb, file_db: &Emdb) {
    let mut group = c.benchmark_group(format!("index_get_hit/{}", MAIN.label()));
    for (name, db) in [("in_memory", memory_db), ("file_reopened", file_db)] {
        let mut rng = SplitMix64::new(1);
        group.bench_function(name, |b| {
            b.iter(|| black_box(db.get(data.key(rng.below(MAIN.entries)))));
        });
    }
    group.finish();
}

/// A file database for the commit benchmarks, empty, with the given flush policy.
fn commit_db(dir: &Path, name: &str, policy: FlushPolicy) -> BenchResult<Emdb> {
    Ok(Emdb::builder()
        .path(dir.join(name))
        .flush_policy(policy)
        .checkpoint_wal_bytes(NO_AUTO_CHECKPOINT)
        .build()?)
}

/// `threads` threads each insert `iters` new keys, one commit each; returns the time from the
/// moment all are ready until the last finishes. `next` hands out key numbers.
fn concurrent_commits(
    db: &Emdb,
    threads: usize,
    iters: u64,
    next: &AtomicU64,
    value: &[u8],
) -> Duration {
    let barrier = Barrier::new(threads + 1);
    thread::scope(|s| {
        for _ in 0..threads {
            let first = next.fetch_add(iters, Ordering::Relaxed);
            let keys: Vec<_> = (first..first + iters).map(fresh_key).collect();
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                for key in &keys {
                    db.insert(key, value).expect("a commit of the benchmark");
                }
                barrier.wait();
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        start.elapsed()
    })
}

/// `1_thread`, `4_threads`.
fn thread_label(threads: usize) -> String {
    format!("{threads}_thread{}", if threads == 1 { "" } else { "s" })
}

/// (b) The write-ahead log and group commit: one insert per commit, durable on 1 and 4 threads
/// (concurrent committers share a sync), and non-durable; against one append plus `fdatasync`
/// of the same size on the same filesystem. Throughput is commits per second.
fn wal_commits(c: &mut Criterion, dir: &Path, value: &[u8]) -> BenchResult<()> {
    let mut group = c.benchmark_group("wal_commit/1_insert_24B_key_150B_value");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.throughput(Throughput::Elements(1));

    let mut log = File::create(dir.join("baseline.log"))?;
    let record = vec![0xA5; 24 + value.len()];
    group.bench_function("fdatasync_baseline (append 174 B + fdatasync)", |b| {
        b.iter(|| {
            log.write_all(&record).expect("an append to the baseline file");
            log.sync_data().expect("an fdatasync of the baseline file");
        });
    });

    let next = AtomicU64::new(0);
    let durable = commit_db(dir, "durable.emdb", FlushPolicy::OnEachWrite)?;
    for threads in [1, COMMIT_THREADS] {
        group.throughput(Throughput::Elements(threads as u64));
        let id = BenchmarkId::new("durable", thread_label(threads));
        group.bench_function(id, |b| {
            b.iter_custom(|iters| concurrent_commits(&durable, threads, iters, &next, value));
        });
    }
    drop(durable);

    let manual = commit_db(dir, "manual.emdb", FlushPolicy::Manual)?;
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("non_durable", thread_label(1)), |b| {
        b.iter_custom(|iters| concurrent_commits(&manual, 1, iters, &next, value));
    });
    group.finish();
    Ok(())
}

/// (c) The page encoder: `checkpoint` after N entries of the reopened database were overwritten
/// with new values (in one untimed transaction), which encodes the touched leaves, the branches
/// above them and the values' pages, writes them and syncs the file. Throughput is changed keys
/// per second.
fn checkpoints(c: &mut Criterion, dir: &Path, data: &Dataset) -> BenchResult<()> {
    let db = reopened_file_db(dir, data)?;
    let fresh = Dataset::generate(MAIN, CHANGE_SEED);
    let mut group = c.benchmark_group(format!("checkpoint/{}", MAIN.label()));
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    let mut rng = SplitMix64::new(3);
    for n in CHANGED_KEYS {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("{n}_changed_keys"), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let changed = db.transaction(|tx| {
                        (0..n).try_for_each(|_| {
                            let i = rng.below(MAIN.entries);
                            tx.insert(data.key(i), fresh.value(i))
                        })
                    });
                    changed.expect("the untimed changes before a checkpoint");
                    let start = Instant::now();
                    db.checkpoint().expect("a checkpoint of the benchmark");
                    timed += start.elapsed();
                }
                timed
            });
        });
    }
    group.finish();
    Ok(())
}

/// (c) The page decoder: `iter()` over every entry of the reopened file database, copying each
/// key and value out; every leaf is decoded and every value read from its value page. The same
/// scan of the in-memory database (no pages: the memtable alone) is the reference.
fn full_scan(c: &mut Criterion, memory_db: &Emdb, file_db: &Emdb) {
    let mut group = c.benchmark_group(format!("iter_all/{}", MAIN.label()));
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.throughput(Throughput::Elements(MAIN.entries as u64));
    for (name, db) in [("in_memory", memory_db), ("file_reopened", file_db)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                db.iter().map_or(0, |entries| {
                    entries
                        .map(|entry| {
                            entry.map_or(0, |(k, v)| black_box(k).len() + black_box(v).len())
                        })
                        .sum::<usize>()
                })
            });
        });
    }
    group.finish();
}

/// (d) The typed layer's order-preserving key encoding (`emdb::key`, what `Table` calls on every
/// key), and its decoding, for three key shapes.
fn key_encoding(c: &mut Criterion) {
    let id = u64::MAX / 3;
    let name = "user-0001234".to_owned();
    let tuple = (1_234_u32, name.clone());
    let encoded = (
        key::encode(&id).unwrap_or_default(),
        key::encode(&tuple).unwrap_or_default(),
        key::encode(&name).unwrap_or_default(),
    );

    let mut group = c.benchmark_group("key_encode");
    group.bench_function("u64", |b| b.iter(|| key::encode(black_box(&id))));
    group.bench_function("(u32, String 12B)", |b| b.iter(|| key::encode(black_box(&tuple))));
    group.bench_function("String 12B", |b| b.iter(|| key::encode(black_box(&name))));
    group.finish();

    let mut group = c.benchmark_group("key_decode");
    group.bench_function("u64", |b| b.iter(|| key::decode::<u64>(black_box(&encoded.0))));
    group.bench_function("(u32, String 12B)", |b| {
        b.iter(|| key::decode::<(u32, String)>(black_box(&encoded.1)));
    });
    group.bench_function("String 12B", |b| b.iter(|| key::decode::<String>(black_box(&encoded.2))));
    group.finish();
}

fn run() -> BenchResult<()> {
    let data = Dataset::generate(MAIN, DATA_SEED);
    println!(
        "workload: {} entries, {} B random keys, {} B random values (fixed seed), in memory or in \
         a file reopened before reading; commits: one new {} B key with a {} B value each, \
         durable (FlushPolicy::OnEachWrite) or not (Manual)",
        MAIN.entries, MAIN.key_len, MAIN.value_len, MAIN.key_len, MAIN.value_len
    );
    let dir = TempDir::new()?;
    let file_db = reopened_file_db(&dir.path().join("read"), &data)?;
    let memory_db = Emdb::open_in_memory();
    load(&memory_db, &data)?;

    let mut c = Criterion::default().configure_from_args();
    index_lookup(&mut c, &data, &memory_db, &file_db);
    full_scan(&mut c, &memory_db, &file_db);
    drop((file_db, memory_db));
    wal_commits(&mut c, dir.path(), data.value(0))?;
    checkpoints(&mut c, &dir.path().join("checkpoint"), &data)?;
    key_encoding(&mut c);
    c.final_summary();
    Ok(())
}

fn main() {
    if let Err(error) = run() {
        eprintln!("components: {error}");
        std::process::exit(1);
    }
}
