//! `Snapshot`: every read through one sees the commits up to the moment it was taken, through
//! the point index while nothing was committed since and through its own view after, in memory
//! and on disk, across checkpoints and compaction, and under concurrent writers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use emdb_core::{Emdb, FlushPolicy, ManualClock, Snapshot, Ttl};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Everything a snapshot can be asked, compared with `model` (the state it was taken at).
fn assert_matches(snapshot: &Snapshot, model: &Model, probes: &[Vec<u8>]) {
    let entries: Vec<(Vec<u8>, Vec<u8>)> = snapshot.iter().unwrap().map(Result::unwrap).collect();
    let expected: Vec<(Vec<u8>, Vec<u8>)> =
        model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(entries, expected, "iter");
    let keys: Vec<Vec<u8>> = snapshot.keys().unwrap().map(Result::unwrap).collect();
    assert_eq!(keys, model.keys().cloned().collect::<Vec<_>>(), "keys");
    assert_eq!(snapshot.len().unwrap(), model.len(), "len");
    assert_eq!(snapshot.is_empty().unwrap(), model.is_empty(), "is_empty");
    let mut buf = b"stale".to_vec();
    for key in probes {
        let want = model.get(key);
        assert_eq!(snapshot.get(key).unwrap().as_ref(), want, "get {key:?}");
        assert_eq!(snapshot.get_into(key, &mut buf).unwrap(), want.is_some(), "get_into {key:?}");
        assert_eq!(&buf, want.unwrap_or(&Vec::new()), "get_into's buffer for {key:?}");
        assert_eq!(snapshot.contains_key(key).unwrap(), want.is_some(), "contains_key {key:?}");
        let from: Vec<_> =
            snapshot.range(key.as_slice()..).unwrap().take(3).map(Result::unwrap).collect();
        let want_from: Vec<_> =
            model.range(key.clone()..).take(3).map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(from, want_from, "range from {key:?}");
    }
}

/// A small deterministic generator (the tests must not depend on a seed crate).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn key(i: u64) -> Vec<u8> {
    format!("key:{i:03}").into_bytes()
}

/// Random writes, with snapshots taken along the way (each with a copy of the model at that
/// moment), checked while later writes, checkpoints and (on disk) a compaction go on.
fn snapshots_keep_their_state(db: &Emdb, persistent: bool) {
    let mut rng = Rng(7);
    let mut model = Model::new();
    let mut held: Vec<(Snapshot, Model)> = Vec::new();
    let probes: Vec<Vec<u8>> = (0..70).map(key).collect();
    for step in 0..600u64 {
        let k = key(rng.below(64));
        match rng.below(10) {
            0..=5 => {
                let v = format!("v{step}").into_bytes();
                db.insert(&k, &v).unwrap();
                model.insert(k, v);
            }
            6..=7 => {
                db.remove(&k).unwrap();
                model.remove(&k);
            }
            _ => {
                // A transaction of several writes: a snapshot sees all or none of it.
                let other = key(rng.below(64));
                db.transaction(|tx| {
                    tx.insert(&k, b"tx")?;
                    tx.remove(&other).map(drop)
                })
                .unwrap();
                model.insert(k, b"tx".to_vec());
                model.remove(&other);
            }
        }
        if step % 50 == 0 {
            let snapshot = db.snapshot();
            // Fresh: nothing committed since, so point reads take the index.
            assert_matches(&snapshot, &model, &probes);
            held.push((snapshot, model.clone()));
        }
        if persistent && step % 120 == 60 {
            db.checkpoint().unwrap();
        }
        if persistent && step == 400 {
            db.compact().unwrap();
        }
    }
    assert!(held.len() >= 10);
    for (snapshot, state) in &held {
        assert_matches(snapshot, state, &probes);
    }
    drop(held);
    assert_matches(&db.snapshot(), &model, &probes);
}

#[test]
fn snapshots_keep_their_state_in_memory() {
    snapshots_keep_their_state(&Emdb::open_in_memory(), false);
}

#[test]
fn snapshots_keep_their_state_on_disk_across_checkpoints_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let db = Emdb::open(dir.path().join("db")).unwrap();
    snapshots_keep_their_state(&db, true);
    // The versions and pages the snapshots held are released: the file checks out.
    db.check_integrity().unwrap();
}

/// After a reopen (values on disk, read through the index and through the snapshot's tree).
#[test]
fn snapshot_of_a_reopened_database_reads_values_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let value = |i: u64| vec![u8::try_from(i % 251).unwrap(); 300];
    {
        let db = Emdb::open(&path).unwrap();
        db.transaction(|tx| (0..500).try_for_each(|i| tx.insert(key(i), value(i)))).unwrap();
    }
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.len().unwrap(), 500);
    let snapshot = db.snapshot();
    assert_eq!(snapshot.get(key(7)).unwrap(), Some(value(7)));
    db.insert(key(7), b"new").unwrap();
    db.remove(key(8)).unwrap();
    // Committed since: the snapshot's view (the tree under the memtable) answers.
    assert_eq!(snapshot.get(key(7)).unwrap(), Some(value(7)));
    assert_eq!(snapshot.get(key(8)).unwrap(), Some(value(8)));
    assert_eq!(snapshot.get(key(9)).unwrap(), Some(value(9)));
    let range: Vec<_> = snapshot.range(key(6)..key(10)).unwrap().map(Result::unwrap).collect();
    assert_eq!(range, (6..10).map(|i| (key(i), value(i))).collect::<Vec<_>>());
    assert_eq!(db.get(key(7)).unwrap(), Some(b"new".to_vec()));
    assert_eq!(db.get(key(8)).unwrap(), None);
}

#[test]
fn expiry_is_judged_at_each_read() {
    let clock = ManualClock::new(1_700_000_000_000);
    let db = Emdb::builder().clock(Arc::new(clock.clone())).build().unwrap();
    db.insert_with_ttl("short", "s", Ttl::After(Duration::from_secs(10))).unwrap();
    db.insert("forever", "f").unwrap();
    let snapshot = db.snapshot();
    assert_eq!(snapshot.get("short").unwrap(), Some(b"s".to_vec()));
    clock.advance(Duration::from_secs(11));
    // Nothing committed: the index path.
    assert_eq!(snapshot.get("short").unwrap(), None);
    assert!(!snapshot.contains_key("short").unwrap());
    db.insert("later", "l").unwrap();
    // Committed since: the view path judges the expiry the same way.
    assert_eq!(snapshot.get("short").unwrap(), None);
    let keys: Vec<_> = snapshot.keys().unwrap().map(Result::unwrap).collect();
    assert_eq!(keys, [b"forever".to_vec()]);
    assert_eq!(snapshot.len().unwrap(), 1, "an expired entry is not counted");
}

fn send_sync<T: Send + Sync>(_: &T) {}

#[test]
fn snapshots_are_per_namespace_and_shared_by_clones() {
    let db = Emdb::open_in_memory();
    let users = db.namespace("users").unwrap();
    users.insert("a", "user").unwrap();
    db.insert("a", "default").unwrap();
    let snapshot = users.snapshot();
    let clone = snapshot.clone();
    users.insert("a", "changed").unwrap();
    users.insert("b", "new").unwrap();
    drop(snapshot);
    assert_eq!(clone.get("a").unwrap(), Some(b"user".to_vec()));
    assert_eq!(clone.prefix("").unwrap().count(), 1);
    assert_eq!(db.snapshot().get("a").unwrap(), Some(b"default".to_vec()));
    assert!(format!("{clone:?}").contains("users"));
    send_sync(&clone);
}

/// A writer moves amounts between accounts (the sum never changes) while readers, each through
/// one snapshot, read every balance, wait for more transfers, and read them again by point reads
/// and by a scan: each read must give the snapshot's balance (a point read that took the index
/// after a later commit had changed it would see newer ones, or part of a transfer).
#[test]
fn snapshot_reads_never_see_a_later_commit() {
    const ACCOUNTS: u64 = 8;
    let dir = tempfile::tempdir().unwrap();
    let db = Emdb::builder()
        .path(dir.path().join("db"))
        .flush_policy(FlushPolicy::Manual)
        .build()
        .unwrap();
    let account = |a: u64| format!("acct:{a}");
    db.transaction(|tx| {
        (0..ACCOUNTS).try_for_each(|a| tx.insert(account(a), 100u64.to_be_bytes()))
    })
    .unwrap();
    let total = ACCOUNTS * 100;
    let balance = |v: &[u8]| u64::from_be_bytes(v.try_into().unwrap());

    let stop = Arc::new(AtomicBool::new(false));
    let transfers = Arc::new(AtomicU64::new(0));
    let writer = {
        let (db, stop, transfers) = (db.clone(), Arc::clone(&stop), Arc::clone(&transfers));
        thread::spawn(move || {
            let mut rng = Rng(3);
            while !stop.load(Ordering::Relaxed) {
                let from = rng.below(ACCOUNTS);
                let to = (from + 1 + rng.below(ACCOUNTS - 1)) % ACCOUNTS;
                db.transaction(|tx| {
                    let a = balance(&tx.get(account(from))?.unwrap());
                    let b = balance(&tx.get(account(to))?.unwrap());
                    if a > 0 {
                        tx.insert(account(from), (a - 1).to_be_bytes())?;
                        tx.insert(account(to), (b + 1).to_be_bytes())?;
                    }
                    Ok(())
                })
                .unwrap();
                let n = transfers.fetch_add(1, Ordering::Relaxed) + 1;
                if n % 500 == 0 {
                    db.checkpoint().unwrap();
                }
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (db, transfers) = (db.clone(), Arc::clone(&transfers));
            thread::spawn(move || {
                let mut buf = Vec::new();
                let mut read = |snapshot: &Snapshot| -> Vec<u64> {
                    (0..ACCOUNTS)
                        .map(|a| {
                            assert!(snapshot.get_into(account(a), &mut buf).unwrap());
                            balance(&buf)
                        })
                        .collect()
                };
                for _ in 0..300 {
                    let snapshot = db.snapshot();
                    let first = read(&snapshot);
                    assert_eq!(first.iter().sum::<u64>(), total, "point reads of one snapshot");
                    let seen = transfers.load(Ordering::Relaxed);
                    while transfers.load(Ordering::Relaxed) < seen + 2 {
                        thread::yield_now();
                    }
                    assert_eq!(read(&snapshot), first, "the same snapshot read after commits");
                    let scanned: Vec<u64> =
                        snapshot.prefix("acct:").unwrap().map(|e| balance(&e.unwrap().1)).collect();
                    assert_eq!(scanned, first, "a scan of the same snapshot");
                }
            })
        })
        .collect();
    for reader in readers {
        reader.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(transfers.load(Ordering::Relaxed) >= 600);
}
