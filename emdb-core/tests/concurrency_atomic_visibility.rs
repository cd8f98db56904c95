//! Writers commit multi-key transactions while readers check, through point reads and snapshot
//! scans, that they never see part of one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use emdb_core::Emdb;

const ACCOUNTS: u64 = 16;
const TOTAL: u64 = ACCOUNTS * 1000;

fn balance(value: &[u8]) -> u64 {
    u64::from_be_bytes(value.try_into().unwrap())
}

/// Transfers keep the sum of all balances constant; a reader that saw half of a transfer would
/// see a different sum.
#[test]
fn readers_never_see_part_of_a_transaction() {
    let db = Emdb::open_in_memory();
    let audit = db.namespace("audit").unwrap();
    db.transaction(|tx| {
        for a in 0..ACCOUNTS {
            tx.insert(format!("acct:{a:02}"), 1000u64.to_be_bytes())?;
        }
        Ok(())
    })
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_millis(1500);
    let mut handles = Vec::new();
    for w in 0..2u64 {
        let (db, audit, stop) = (db.clone(), audit.clone(), Arc::clone(&stop));
        handles.push(thread::spawn(move || {
            let mut n = 0u64;
            let mut committed = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let from = format!("acct:{:02}", (n * 7 + w) % ACCOUNTS);
                let to = format!("acct:{:02}", (n * 13 + 5 + w) % ACCOUNTS);
                let wrote = db
                    .transaction(|tx| {
                        let a = balance(&tx.get(&from)?.unwrap());
                        if a == 0 || from == to {
                            return Ok(false);
                        }
                        let b = balance(&tx.get(&to)?.unwrap());
                        tx.insert(&from, (a - 1).to_be_bytes())?;
                        tx.insert(&to, (b + 1).to_be_bytes())?;
                        // The audit entry and the pair counter commit with the transfer.
                        tx.namespace(&audit).insert(format!("{w}:{n:08}"), "t")?;
                        tx.insert(format!("pair:{w}:a"), n.to_be_bytes())?;
                        tx.insert(format!("pair:{w}:b"), n.to_be_bytes())?;
                        Ok(true)
                    })
                    .unwrap();
                committed += u64::from(wrote);
                n += 1;
            }
            committed
        }));
    }
    let mut readers = Vec::new();
    for r in 0..2 {
        let (db, stop) = (db.clone(), Arc::clone(&stop));
        readers.push(thread::spawn(move || {
            let mut checks = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if r == 0 {
                    // Snapshot scan: the sum over one iterator is always exact.
                    let sum: u64 =
                        db.prefix("acct:").unwrap().map(|i| balance(&i.unwrap().1)).sum();
                    assert_eq!(sum, TOTAL, "a scan saw part of a transfer");
                    let pairs: Vec<_> = db.prefix("pair:").unwrap().map(|i| i.unwrap().1).collect();
                    for chunk in pairs.chunks(2) {
                        assert_eq!(chunk[0], chunk[1], "a scan saw half of a pair");
                    }
                } else {
                    // Point reads: `a` is written with `b`; reading `b` after `a` can only show
                    // the same commit or a later one.
                    for w in 0..2 {
                        let a = db.get(format!("pair:{w}:a")).unwrap();
                        let b = db.get(format!("pair:{w}:b")).unwrap();
                        if let (Some(a), Some(b)) = (a, b) {
                            assert!(balance(&b) >= balance(&a), "point reads saw half of a pair");
                        }
                    }
                }
                checks += 1;
            }
            checks
        }));
    }
    while Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let commits: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let checks: u64 = readers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(commits > 100, "writers made progress ({commits} commits)");
    assert!(checks > 10, "readers made progress ({checks} checks)");
    assert_eq!(
        audit.len().unwrap() as u64,
        commits,
        "every committed transfer has its audit entry"
    );
}
