//! Criterion micro-benchmarks of in-memory emdb against a `std` `HashMap` behind one `RwLock`
//! (and a `BTreeMap` behind one `RwLock` for ordered scans), measured in the same run.
//!
//! Workload: 100,000 entries, 24-byte random keys, 150-byte random values, generated from a fixed
//! seed; in memory, so there is no durability setting. The full-scan benchmark uses a second
//! dataset of 10,000 entries of the same sizes. Every benchmark name carries its workload.
//!
//! Run it with `cargo bench -p emdb-benches --bench in_memory`
//! (add `-- --warm-up-time 1 --measurement-time 3` for a short run); results are in
//! `docs/BENCH.md`.

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use emdb::Emdb;
use emdb_benches::{Dataset, LockedBTreeMap, LockedHashMap, SplitMix64, Workload, pick};

/// The main workload: what the database holds during every point and range benchmark.
const MAIN: Workload = Workload { entries: 100_000, key_len: 24, value_len: 150 };
/// The workload of the full-scan benchmark.
const SCAN: Workload = Workload { entries: 10_000, key_len: 24, value_len: 150 };
/// How many entries one range read returns.
const RANGE_LEN: usize = 100;
/// How many writes are timed between two untimed clean-ups in the insert and remove benchmarks.
const WRITE_CHUNK: u64 = 1_000;

const DATA_SEED: u64 = 0x00E3_DB00_0001;
const FRESH_SEED: u64 = 0x00E3_DB00_0002;
const SCAN_SEED: u64 = 0x00E3_DB00_0003;

/// A database holding `data`, loaded in one transaction.
fn emdb_with(data: &Dataset) -> Emdb {
    let db = Emdb::open_in_memory();
    let loaded = db.transaction(|tx| {
        for (key, value) in data.pairs() {
            tx.insert(key, value)?;
        }
        Ok(())
    });
    #[expect(clippy::expect_used, reason = "a benchmark cannot go on without its data")]
    loaded.expect("loading the dataset into an in-memory database");
    db
}

/// Runs `timed` on `n` consecutive item numbers from `*cursor`, then `untimed` on the same ones,
/// in chunks, until `iters` items are done; returns the time spent in `timed` only.
fn chunked(
    iters: u64,
    cursor: &mut usize,
    mut timed: impl FnMut(usize),
    mut untimed: impl FnMut(usize),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = WRITE_CHUNK.min(iters - done);
        let first = *cursor;
        let items = (0..n).map(|i| first.wrapping_add(usize::try_from(i).unwrap_or(0)));
        let start = Instant::now();
        items.clone().for_each(&mut timed);
        total += start.elapsed();
        items.for_each(&mut untimed);
        *cursor = first.wrapping_add(usize::try_from(n).unwrap_or(0));
        done += n;
    }
    total
}

/// `insert` of a new key into the full database, `get` of a present key, `remove` of a present
/// key: emdb against the `HashMap` peer.
fn point_ops(c: &mut Criterion, data: &Dataset, fresh: &Dataset, db: &Emdb, peer: &LockedHashMap) {
    let label = MAIN.label();

    let mut group = c.benchmark_group(format!("insert_new_key/{label}"));
    let mut cursor = 0;
    group.bench_function("emdb", |b| {
        b.iter_custom(|iters| {
            chunked(
                iters,
                &mut cursor,
                |i| drop(black_box(db.insert(fresh.key(i), fresh.value(i)))),
                |i| drop(db.remove(fresh.key(i))),
            )
        });
    });
    let mut cursor = 0;
    group.bench_function("hashmap_rwlock", |b| {
        b.iter_custom(|iters| {
            chunked(
                iters,
                &mut cursor,
                |i| peer.insert(fresh.key(i), fresh.value(i)),
                |i| drop(peer.remove(fresh.key(i))),
            )
        });
    });
    group.finish();

    let mut group = c.benchmark_group(format!("get_hit/{label}"));
    let mut rng = SplitMix64::new(1);
    group.bench_function("emdb", |b| {
        b.iter(|| black_box(db.get(data.key(rng.below(MAIN.entries)))));
    });
    let mut rng = SplitMix64::new(1);
    group.bench_function("hashmap_rwlock", |b| {
        b.iter(|| black_box(peer.get(data.key(rng.below(MAIN.entries)))));
    });
    group.finish();

    let mut group = c.benchmark_group(format!("remove_hit/{label}"));
    let mut cursor = 0;
    group.bench_function("emdb", |b| {
        b.iter_custom(|iters| {
            chunked(
                iters,
                &mut cursor,
                |i| drop(black_box(db.remove(data.key(i)))),
                |i| drop(db.insert(data.key(i), data.value(i))),
            )
        });
    });
    let mut cursor = 0;
    group.bench_function("hashmap_rwlock", |b| {
        b.iter_custom(|iters| {
            chunked(
                iters,
                &mut cursor,
                |i| drop(black_box(peer.remove(data.key(i)))),
                |i| peer.insert(data.key(i), data.value(i)),
            )
        });
    });
    group.finish();
}

/// The bytes an entry copied out of a database adds to a checksum, so no copy is optimized away.
fn weigh(key: Vec<u8>, value: Vec<u8>) -> usize {
    black_box(key).len() + black_box(value).len()
}

/// Ordered reads: a range of 100 entries of the full database from a random start, and a scan of
/// every entry of a 10,000-entry database.
fn scans(c: &mut Criterion, data: &Dataset, db: &Emdb) {
    let sorted = data.sorted_keys();
    let btree = LockedBTreeMap::from_dataset(data);
    let mut rng = SplitMix64::new(2);
    let ranges: Vec<(&[u8], &[u8])> = (0..4096)
        .map(|_| {
            let start = rng.below(sorted.len() - RANGE_LEN);
            (pick(&sorted, start).as_slice(), pick(&sorted, start + RANGE_LEN).as_slice())
        })
        .collect();

    let mut group = c.benchmark_group(format!("range_{RANGE_LEN}_entries/{}", MAIN.label()));
    group.throughput(Throughput::Elements(RANGE_LEN as u64));
    let mut i = 0;
    group.bench_function("emdb", |b| {
        b.iter(|| {
            i += 1;
            let &(lower, upper) = pick(&ranges, i);
            db.range(lower..upper).map_or(0, |entries| {
                entries.map(|entry| entry.map_or(0, |(k, v)| weigh(k, v))).sum::<usize>()
            })
        });
    });
    let mut i = 0;
    group.bench_function("btreemap_rwlock", |b| {
        b.iter(|| {
            i += 1;
            let &(lower, upper) = pick(&ranges, i);
            let mut sum = 0;
            btree.for_each_in_range(lower, upper, |k, v| sum += weigh(k, v));
            sum
        });
    });
    group.finish();

    let small = Dataset::generate(SCAN, SCAN_SEED);
    let db = emdb_with(&small);
    let hash = LockedHashMap::from_dataset(&small);
    let btree = LockedBTreeMap::from_dataset(&small);
    let mut group = c.benchmark_group(format!("iter_all/{}", SCAN.label()));
    group.throughput(Throughput::Elements(SCAN.entries as u64));
    group.bench_function("emdb", |b| {
        b.iter(|| {
            db.iter().map_or(0, |entries| {
                entries.map(|entry| entry.map_or(0, |(k, v)| weigh(k, v))).sum::<usize>()
            })
        });
    });
    group.bench_function("hashmap_rwlock", |b| {
        b.iter(|| {
            let mut sum = 0;
            hash.for_each_entry(|k, v| sum += weigh(k, v));
            sum
        });
    });
    group.bench_function("btreemap_rwlock", |b| {
        b.iter(|| {
            let mut sum = 0;
            btree.for_each_entry(|k, v| sum += weigh(k, v));
            sum
        });
    });
    group.finish();
}

/// Runs `get` on `threads` threads at once, each doing `iters` random gets of present keys, and
/// returns the wall time of the slowest thread (thread start-up is not timed).
fn parallel_gets<G>(threads: usize, iters: u64, seed: u64, get: G) -> Duration
where
    G: Fn(usize) -> Option<Vec<u8>> + Sync,
{
    let barrier = Barrier::new(threads);
    thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, get) = (&barrier, &get);
                s.spawn(move || {
                    let mut rng = SplitMix64::new(seed ^ ((t as u64) << 32));
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(get(rng.below(MAIN.entries)));
                    }
                    start.elapsed()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_default()).max().unwrap_or_default()
    })
}

/// Read throughput of random `get`s of present keys on 1 and 2 threads (total gets per second
/// across the threads), for emdb and the `HashMap` peer.
fn read_threads(c: &mut Criterion, data: &Dataset, db: &Emdb, peer: &LockedHashMap) {
    let mut group = c.benchmark_group(format!("read_throughput/{}", MAIN.label()));
    group.sampling_mode(SamplingMode::Flat);
    for threads in [1, 2] {
        // One iteration is one get on every thread; criterion reports total gets per second.
        group.throughput(Throughput::Elements(threads as u64));
        let mut seed = 0;
        group.bench_function(BenchmarkId::new("emdb", format!("{threads}_threads")), |b| {
            b.iter_custom(|iters| {
                seed += 1;
                parallel_gets(threads, iters, seed, |i| db.get(data.key(i)).ok().flatten())
            });
        });
        let mut seed = 0;
        group.bench_function(
            BenchmarkId::new("hashmap_rwlock", format!("{threads}_threads")),
            |b| {
                b.iter_custom(|iters| {
                    seed += 1;
                    parallel_gets(threads, iters, seed, |i| peer.get(data.key(i)))
                });
            },
        );
    }
    group.finish();
}

fn main() {
    let data = Dataset::generate(MAIN, DATA_SEED);
    let fresh = Dataset::generate(MAIN, FRESH_SEED);
    println!(
        "workload: {} entries, {} B random keys, {} B random values (fixed seed); in memory, no \
         durability; iter_all uses {} entries of the same sizes",
        MAIN.entries, MAIN.key_len, MAIN.value_len, SCAN.entries
    );
    println!("peers: std HashMap<Vec<u8>, Vec<u8>> and BTreeMap behind one std RwLock");
    let db = emdb_with(&data);
    let peer = LockedHashMap::from_dataset(&data);

    let mut c = Criterion::default().configure_from_args();
    point_ops(&mut c, &data, &fresh, &db, &peer);
    scans(&mut c, &data, &db);
    read_threads(&mut c, &data, &db, &peer);
    c.final_summary();
}
