//! A transaction whose log frame would pass the checkpoint threshold is not logged: its
//! checkpoint writes it to the page file straight from the batch and the index learns the
//! values' disk locations directly. Everything the batch did must read back exactly, on every
//! read path, across namespaces, over earlier commits still in the memtable, with expiries,
//! before and after a reopen, while an iterator opened before it still sees the old state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use emdb_core::{Emdb, FlushPolicy, ManualClock, Ttl};

const THRESHOLD: u64 = 8 * 1024;
const START: u64 = 1_700_000_000_000;

/// key → (value, expires at ms or 0).
type Model = BTreeMap<Vec<u8>, (Vec<u8>, u64)>;

fn open(path: &Path, clock: &ManualClock) -> Emdb {
    Emdb::builder()
        .path(path)
        .flush_policy(FlushPolicy::OnEachWrite)
        .checkpoint_wal_bytes(THRESHOLD)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

fn value(i: u32, salt: u8) -> Vec<u8> {
    // Inline, packed and overflow values.
    let len = [20usize, 150, 700, 5000][(i % 4) as usize];
    (0..len).map(|j| (j % 256 * 31 + usize::from(salt) + i as usize).to_le_bytes()[0]).collect()
}

fn live(model: &Model, now: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    model
        .iter()
        .filter(|(_, (_, e))| *e == 0 || *e > now)
        .map(|(k, (v, _))| (k.clone(), v.clone()))
        .collect()
}

fn assert_reads(db: &Emdb, other: &emdb_core::Namespace, models: &[Model; 2], now: u64) {
    for (m, model) in models.iter().enumerate() {
        let want = live(model, now);
        let got: BTreeMap<Vec<u8>, Vec<u8>> = if m == 0 {
            db.iter().unwrap().map(Result::unwrap).collect()
        } else {
            other.iter().unwrap().map(Result::unwrap).collect()
        };
        assert_eq!(got.len(), want.len(), "namespace {m}: iter length");
        assert!(got == want, "namespace {m}: iter differs from the model");
        let len = if m == 0 { db.len().unwrap() } else { other.len().unwrap() };
        assert_eq!(len, want.len(), "namespace {m}: len");
        for (k, (v, e)) in model {
            let got = if m == 0 { db.get(k).unwrap() } else { other.get(k).unwrap() };
            let expected = (*e == 0 || *e > now).then(|| v.clone());
            assert_eq!(got, expected, "namespace {m}: get {k:?}");
        }
        // Keys the batch removed are gone on the point path too.
        for i in 0..40u32 {
            let k = format!("gone{i}").into_bytes();
            let got = if m == 0 { db.get(&k).unwrap() } else { other.get(&k).unwrap() };
            assert_eq!(got, None);
        }
    }
    let report = db.check_integrity().unwrap();
    let stored: usize = models.iter().map(BTreeMap::len).sum();
    assert_eq!(report.records, stored as u64, "every stored entry");
}

#[test]
fn a_batch_written_by_its_checkpoint_reads_back_whole_on_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let clock = ManualClock::new(START);
    let mut models: [Model; 2] = [Model::new(), Model::new()];
    let db = open(&path, &clock);
    let other = db.namespace("other").unwrap();
    for round in 0..2u8 {
        // Small logged commits: some reach the tree (the first checkpoint), the rest stay in
        // the memtable; the batch overwrites and removes some of both.
        for i in 0..60u32 {
            let k = format!("mem{i:03}").into_bytes();
            let v = value(i, round);
            db.insert(&k, &v).unwrap();
            models[0].insert(k, (v, 0));
            let k = format!("gone{}", i % 40).into_bytes();
            other.insert(&k, b"x").unwrap();
            db.insert(&k, b"y").unwrap();
        }
        let before: Vec<(Vec<u8>, Vec<u8>)> = db.iter().unwrap().map(Result::unwrap).collect();
        let old_iter = db.iter().unwrap();
        let mut next = [models[0].clone(), models[1].clone()];
        db.transaction(|tx| {
            for i in 0..3000u32 {
                let k = format!("big{:05}", (i * 7919) % 3000).into_bytes();
                let v = value(i, round.wrapping_add(1));
                let exp = if i % 5 == 0 {
                    tx.insert_with_ttl(&k, &v, Ttl::After(Duration::from_secs(60)))?;
                    START + 60_000 + u64::from(round) * 120_000
                } else {
                    tx.insert(&k, &v)?;
                    0
                };
                next[0].insert(k, (v, exp));
            }
            for i in (0..60u32).step_by(3) {
                let k = format!("mem{i:03}").into_bytes();
                if i % 2 == 0 {
                    tx.remove(&k)?;
                    next[0].remove(&k);
                } else {
                    let v = value(i, 99);
                    tx.insert(&k, &v)?;
                    next[0].insert(k, (v, 0));
                }
            }
            let mut ns = tx.namespace(&other);
            for i in 0..40u32 {
                let k = format!("gone{i}").into_bytes();
                ns.remove(&k)?;
            }
            for i in 0..500u32 {
                let k = format!("o{i:04}").into_bytes();
                let v = value(i, 7);
                ns.insert(&k, &v)?;
                next[1].insert(k, (v, 0));
            }
            for i in 0..40u32 {
                tx.remove(format!("gone{i}"))?;
            }
            Ok(())
        })
        .unwrap();
        models = next;
        let log = std::fs::metadata(path.with_extension("wal")).map_or(0, |m| m.len());
        assert!(log < THRESHOLD, "the batch went to the page file, not the log ({log} bytes)");
        // The iterator opened before the batch still reads the state before it.
        let mut seen = Vec::new();
        for e in old_iter {
            seen.push(e.unwrap());
        }
        assert!(seen == before, "an iterator opened before the batch saw part of it");
        let now = START + u64::from(round) * 120_000;
        assert_reads(&db, &other, &models, now);
        // The batch's expiries hold: past them, the expiring keys vanish from every path.
        clock.advance(Duration::from_secs(61));
        assert_reads(&db, &other, &models, now + 61_000);
        clock.advance(Duration::from_secs(59));
        for m in &mut models {
            m.retain(|_, (_, e)| *e == 0);
        }
        db.purge_expired().unwrap();
    }
    drop((other, db));
    let db = open(&path, &clock);
    let other = db.namespace("other").unwrap();
    assert_reads(&db, &other, &models, START + 240_000);
}

/// A batch of many small writes fits the default log threshold, yet is checkpointed rather
/// than logged: the log stays empty and everything reads back, before and after a reopen.
#[test]
fn a_batch_of_many_small_writes_is_checkpointed_not_logged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let open =
        || Emdb::builder().path(&path).flush_policy(FlushPolicy::OnEachWrite).build().unwrap();
    let db = open();
    let key = |i: u32| format!("key{i:06}").into_bytes();
    db.transaction(|tx| (0..70_000u32).try_for_each(|i| tx.insert(key(i), i.to_le_bytes())))
        .unwrap();
    db.insert("logged", "one").unwrap();
    // The frames' bytes (the file also holds zeros written ahead of them).
    let log = db.stats().unwrap().wal_bytes;
    assert!(log < 4096, "only the single insert was logged ({log} bytes)");
    db.transaction(|tx| (0..70_000u32).step_by(2).try_for_each(|i| tx.remove(key(i)).map(drop)))
        .unwrap();
    let check = |db: &Emdb| {
        assert_eq!(db.len().unwrap(), 35_001);
        for i in (0..70_000u32).step_by(997) {
            let want = (i % 2 == 1).then(|| i.to_le_bytes().to_vec());
            assert_eq!(db.get(key(i)).unwrap(), want);
        }
        assert_eq!(db.get("logged").unwrap(), Some(b"one".to_vec()));
        assert_eq!(db.check_integrity().unwrap().records, 35_001);
    };
    check(&db);
    drop(db);
    check(&open());
}
