//! Concurrency: writer threads commit two-key transactions (`a:<i>` and `b:<i>` together, then
//! updates of both) while reader threads scan the database and read single keys, checking that
//! they never see one key of a pair without the other, nor the two at different versions.
//!
//! Run it with `cargo run --example concurrency`.

use std::collections::BTreeMap;
use std::panic;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Instant;

use emdb::{Emdb, Error};

const WRITERS: usize = 3;
const READERS: usize = 3;
/// Pairs each writer creates; every second one is then updated once more.
const PAIRS_PER_WRITER: usize = 500;

/// What one reader thread saw.
#[derive(Debug, Default)]
struct ReaderReport {
    scans: usize,
    pairs_seen: usize,
    point_checks: usize,
    torn: usize,
}

/// The writer thread `w`: one transaction per pair, then one per update of a pair.
fn write_pairs(db: &Emdb, w: usize) -> Result<usize, Error> {
    let mut commits = 0;
    for i in 0..PAIRS_PER_WRITER {
        let id = format!("{w}-{i:05}");
        db.transaction(|tx| {
            tx.insert(format!("a:{id}"), "v1")?;
            tx.insert(format!("b:{id}"), "v1")
        })?;
        commits += 1;
        if i % 2 == 1 {
            let earlier = format!("{w}-{:05}", i / 2);
            db.transaction(|tx| {
                tx.insert(format!("a:{earlier}"), "v2")?;
                tx.insert(format!("b:{earlier}"), "v2")
            })?;
            commits += 1;
        }
    }
    Ok(commits)
}

/// The reader thread: full scans (each reads one snapshot) and point reads, until told to stop.
fn check_pairs(db: &Emdb, stop: &AtomicBool) -> Result<ReaderReport, Error> {
    let mut report = ReaderReport::default();
    loop {
        // Read the flag before the scan, so that the last scan starts after every commit.
        let last_round = stop.load(Ordering::Acquire);

        // A scan: every `a:` entry must have its `b:` entry with the same value, and vice versa.
        let mut a = BTreeMap::new();
        let mut b = BTreeMap::new();
        for entry in db.iter()? {
            let (key, value) = entry?;
            match key.split_first_chunk::<2>() {
                Some((b"a:", id)) => a.insert(id.to_vec(), value),
                Some((b"b:", id)) => b.insert(id.to_vec(), value),
                _ => None,
            };
        }
        report.scans += 1;
        report.pairs_seen = report.pairs_seen.max(a.len());
        if a != b {
            report.torn += 1;
        }

        // Point reads: once `b:` of a pair is visible, its `a:` (committed with it) must be too.
        for id in a.keys().rev().take(50) {
            let b_value = db.get([b"b:", id.as_slice()].concat())?;
            let a_value = db.get([b"a:", id.as_slice()].concat())?;
            report.point_checks += 1;
            if b_value.is_some() && a_value.is_none() {
                report.torn += 1;
            }
        }
        if last_round {
            return Ok(report);
        }
    }
}

fn main() -> Result<(), Error> {
    let db = Emdb::open_in_memory();
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    println!("{WRITERS} writer threads x {PAIRS_PER_WRITER} pairs, {READERS} reader threads");

    let (commits, reports) = thread::scope(|s| {
        let readers: Vec<_> = (0..READERS).map(|_| s.spawn(|| check_pairs(&db, &stop))).collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                s.spawn({
                    let db = &db;
                    move || write_pairs(db, w)
                })
            })
            .collect();
        // `resume_unwind` passes a thread's panic on; the threads themselves return `Result`s.
        let commits: Result<Vec<usize>, Error> = writers
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| panic::resume_unwind(p)))
            .collect();
        stop.store(true, Ordering::Release);
        let reports: Result<Vec<ReaderReport>, Error> = readers
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| panic::resume_unwind(p)))
            .collect();
        (commits, reports)
    });
    let (commits, reports) = (commits?, reports?);

    println!(
        "writers committed {} transactions in {:?}",
        commits.iter().sum::<usize>(),
        started.elapsed()
    );
    for (r, report) in reports.iter().enumerate() {
        println!(
            "reader {r}: {} scans (up to {} pairs each), {} point checks, {} torn pairs seen",
            report.scans, report.pairs_seen, report.point_checks, report.torn
        );
    }
    let torn: usize = reports.iter().map(|r| r.torn).sum();
    let pairs = db.len()? / 2;
    println!("final state: {pairs} pairs; torn pairs seen by any reader: {torn}");
    assert_eq!(torn, 0, "a reader saw half of a transaction");
    assert_eq!(pairs, WRITERS * PAIRS_PER_WRITER);
    Ok(())
}
