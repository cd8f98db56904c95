//! What the change feed costs a writer: `insert` of a new key into an in-memory database of
//! 100,000 entries with no watcher, with a watcher of another prefix, with a watcher of every
//! key whose queue the writing thread empties between chunks of inserts (untimed: the writer's
//! own share, reading the old value and building and queueing one event per commit), and with
//! a watcher of every key that another thread drains (the events then cross threads).
//!
//! Run it with `cargo bench -p emdb-benches --bench feed`
//! (add `-- --warm-up-time 1 --measurement-time 3` for a short run); results are in
//! `docs/BENCH.md`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::Criterion;
use emdb::{Emdb, Error, FlushPolicy};
use emdb_benches::{Dataset, Workload};

const MAIN: Workload = Workload { entries: 100_000, key_len: 24, value_len: 150 };
const WRITE_CHUNK: u64 = 1_000;
const DATA_SEED: u64 = 0x00E3_DB00_0001;
const FRESH_SEED: u64 = 0x00E3_DB00_0002;

/// `db`, loaded with `data` in one transaction.
fn emdb_with(db: Emdb, data: &Dataset) -> Emdb {
    let loaded = db.transaction(|tx| {
        for (key, value) in data.pairs() {
            tx.insert(key, value)?;
        }
        Ok(())
    });
    #[expect(clippy::expect_used, reason = "a benchmark cannot go on without its data")]
    loaded.expect("loading the dataset");
    db
}

/// Times `iters` inserts of fresh keys, in chunks, removing them again untimed.
fn inserts(db: &Emdb, fresh: &Dataset, iters: u64, cursor: &mut usize) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = WRITE_CHUNK.min(iters - done);
        let first = *cursor;
        let items = (0..n).map(|i| first.wrapping_add(usize::try_from(i).unwrap_or(0)));
        let start = Instant::now();
        items.clone().for_each(|i| drop(black_box(db.insert(fresh.key(i), fresh.value(i)))));
        total += start.elapsed();
        items.for_each(|i| drop(db.remove(fresh.key(i))));
        *cursor = first.wrapping_add(usize::try_from(n).unwrap_or(0));
        done += n;
    }
    total
}

fn main() -> Result<(), Error> {
    let data = Dataset::generate(MAIN, DATA_SEED);
    let fresh = Dataset::generate(MAIN, FRESH_SEED);
    println!(
        "workload: {} entries, {} B random keys, {} B random values (fixed seed); in memory, \
         and in a file with every commit durable (FlushPolicy::OnEachWrite)",
        MAIN.entries, MAIN.key_len, MAIN.value_len
    );
    let mut c = Criterion::default().configure_from_args();
    let db = emdb_with(Emdb::open_in_memory(), &data);
    cases(&mut c, "in_memory", &db, &fresh)?;
    drop(db);
    let dir = tempfile::tempdir().map_err(|e| Error::io(Path::new("tempdir"), e))?;
    let file = Emdb::builder().path(dir.path().join("db")).flush_policy(FlushPolicy::OnEachWrite);
    let db = emdb_with(file.build()?, &data);
    cases(&mut c, "durable_file", &db, &fresh)?;
    c.final_summary();
    Ok(())
}

/// The four cases on `db`, in the benchmark group `insert_new_key/<where>/<workload>`.
fn cases(c: &mut Criterion, place: &str, db: &Emdb, fresh: &Dataset) -> Result<(), Error> {
    let mut group = c.benchmark_group(format!("insert_new_key/{place}/{}", MAIN.label()));
    let mut cursor = 0;
    group.bench_function("no_watcher", |b| b.iter_custom(|n| inserts(db, fresh, n, &mut cursor)));

    // A random key starts with FF FF FF once in 16 million: this watcher follows none of them.
    let other = db.watch_prefix([0xFF, 0xFF, 0xFF])?;
    let mut cursor = 0;
    group.bench_function("watcher_of_another_prefix", |b| {
        b.iter_custom(|n| inserts(db, fresh, n, &mut cursor));
    });
    drop(other);

    // The writer's own share of a watched commit (reading the old value, building the event,
    // queueing it): the queue is emptied between chunks, untimed, by the same thread.
    let queued = db.watch_prefix_with_capacity([], 1 << 16)?;
    let mut cursor = 0;
    group.bench_function("watcher_of_every_key_emptied_between_chunks", |b| {
        b.iter_custom(|n| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < n {
                let chunk = WRITE_CHUNK.min(n - done);
                total += inserts(db, fresh, chunk, &mut cursor);
                while let Ok(Some(commit)) = queued.try_recv() {
                    drop(black_box(commit));
                }
                done += chunk;
            }
            total
        });
    });
    drop(queued);

    let all = db.watch_prefix_with_capacity([], 1 << 16)?;
    let stop = Arc::new(AtomicBool::new(false));
    let drain = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut events = 0usize;
            while !stop.load(Ordering::Relaxed) {
                match all.recv_timeout(Duration::from_millis(50)) {
                    Ok(Some(commit)) => events += commit.events.len(),
                    Ok(None) | Err(Error::Lagged { .. }) => {}
                    Err(_) => break,
                }
            }
            events
        })
    };
    let mut cursor = 0;
    group.bench_function("watcher_of_every_key_drained", |b| {
        b.iter_custom(|n| inserts(db, fresh, n, &mut cursor));
    });
    group.finish();
    stop.store(true, Ordering::Relaxed);
    let events = drain.join().unwrap_or(0);
    println!("{place}: the draining watcher received {events} events");
    Ok(())
}
