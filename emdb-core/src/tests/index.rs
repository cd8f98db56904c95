//! The point index over a whole database: keys whose hashes are equal, the memory budget, and
//! what the index costs per key.

use std::collections::BTreeMap;
use std::path::Path;

use crate::{Emdb, EmdbBuilder, Ttl};

/// A key of `i`, of a length that varies from 1 to 45 bytes (some held in place by the recent
/// table, some shared).
fn key(i: u32) -> Vec<u8> {
    let len = 1 + (i as usize * 7) % 45;
    let mut k = format!("{i:06}").into_bytes();
    k.resize(len.max(6), b'k');
    k
}

/// A value of `i` and `round`: inline in its leaf, or (every fifth) in a value page.
fn value(i: u32, round: u32) -> Vec<u8> {
    let len = if i.is_multiple_of(5) { 700 } else { 20 + (i % 60) as usize };
    vec![u8::try_from((i + round) % 251).unwrap_or(0); len]
}

/// Checks every key of `model` (and the absent keys past it) reads as the model says.
fn agrees(db: &Emdb, model: &BTreeMap<Vec<u8>, Vec<u8>>, keys: u32, what: &str) {
    for i in 0..keys + 50 {
        let k = key(i);
        assert_eq!(db.get(&k).unwrap().as_ref(), model.get(&k), "{what}: key {i}");
        assert_eq!(db.contains_key(&k).unwrap(), model.contains_key(&k), "{what}: key {i}");
    }
    assert_eq!(db.len().unwrap(), model.len(), "{what}");
    let report = db.check_integrity().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(report.records, model.len() as u64, "{what}");
}

/// Writes, overwrites, removes, checkpoints, reopens and compacts, checking every read against
/// a model after each step.
fn workload(path: &Path, builder: impl Fn() -> EmdbBuilder) {
    const KEYS: u32 = 600;
    let mut model = BTreeMap::new();
    let db = builder().path(path).build().unwrap();
    for i in 0..KEYS {
        db.insert(key(i), value(i, 0)).unwrap();
        model.insert(key(i), value(i, 0));
    }
    agrees(&db, &model, KEYS, "written");
    db.checkpoint().unwrap();
    agrees(&db, &model, KEYS, "checkpointed");
    for i in (0..KEYS).step_by(3) {
        db.insert(key(i), value(i, 1)).unwrap();
        model.insert(key(i), value(i, 1));
    }
    for i in (1..KEYS).step_by(7) {
        db.remove(key(i)).unwrap();
        model.remove(&key(i));
    }
    // A key with a time-to-live that has not run out: counted and read like any other.
    db.insert_with_ttl(key(KEYS + 1), b"ttl", Ttl::After(std::time::Duration::from_secs(3600)))
        .unwrap();
    model.insert(key(KEYS + 1), b"ttl".to_vec());
    agrees(&db, &model, KEYS, "changed since the checkpoint");
    db.checkpoint().unwrap();
    agrees(&db, &model, KEYS, "changed and checkpointed");
    drop(db);
    // A clean reopen builds the index in the background: reads before, during and after it.
    let db = builder().path(path).build().unwrap();
    agrees(&db, &model, KEYS, "reopened");
    db.compact().unwrap();
    agrees(&db, &model, KEYS, "compacted");
    db.transaction(|tx| {
        for i in (2..KEYS).step_by(11) {
            tx.insert(key(i), value(i, 2))?;
        }
        Ok(())
    })
    .unwrap();
    for i in (2..KEYS).step_by(11) {
        model.insert(key(i), value(i, 2));
    }
    agrees(&db, &model, KEYS, "after a transaction");
}

#[test]
fn keys_whose_hashes_are_equal_are_told_apart() {
    // Every key hashes to one of two values: each lookup tries the leaves of hundreds of keys
    // before it finds its own, and a key that is absent is compared against all of them.
    let dir = tempfile::tempdir().unwrap();
    workload(&dir.path().join("db"), || Emdb::builder().degenerate_index_hash());
}

#[test]
fn keys_whose_hashes_are_equal_are_told_apart_under_a_budget() {
    let dir = tempfile::tempdir().unwrap();
    workload(&dir.path().join("db"), || {
        Emdb::builder().degenerate_index_hash().memory_budget(2048)
    });
}

#[test]
fn a_tiny_budget_gives_the_answers_of_no_budget() {
    let dir = tempfile::tempdir().unwrap();
    workload(&dir.path().join("db"), || Emdb::builder().memory_budget(4096));
}

#[test]
fn the_index_of_a_checkpointed_file_costs_little_heap_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = Emdb::open(dir.path().join("db")).unwrap();
    let keys = 50_000u32;
    db.transaction(|tx| {
        for i in 0..keys {
            tx.insert(format!("user:{i:08}:{:08x}", i.wrapping_mul(2_654_435_761)), [7u8; 100])?;
        }
        Ok(())
    })
    .unwrap();
    db.checkpoint().unwrap();
    let stats = db.stats().unwrap();
    let per_key = stats.index_bytes / u64::from(keys);
    // Twelve bytes and a control byte per bucket, at a load between 7/16 and 7/8.
    assert!(per_key <= 32, "{per_key} bytes of index per key");
    assert!(stats.index_bytes > 0);
}

#[test]
fn a_budget_bounds_the_index_however_many_keys_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let budget = 64 * 1024;
    let db = Emdb::builder().path(dir.path().join("db")).memory_budget(budget).build().unwrap();
    let keys = 40_000u32;
    db.transaction(|tx| {
        for i in 0..keys {
            tx.insert(i.to_be_bytes(), [3u8; 24])?;
        }
        Ok(())
    })
    .unwrap();
    db.checkpoint().unwrap();
    // Every key read twice: each earns an entry, which others take over once the budget is
    // spent.
    for round in 0..2 {
        for i in 0..keys {
            let k = i.wrapping_mul(2_654_435_761) % keys;
            assert_eq!(db.get(k.to_be_bytes()).unwrap(), Some(vec![3u8; 24]), "round {round}");
        }
        let stats = db.stats().unwrap();
        assert!(stats.index_bytes <= budget, "{} bytes of index", stats.index_bytes);
    }
    let stats = db.stats().unwrap();
    assert!(stats.index_misses >= u64::from(keys), "most reads descended the tree");
    // A key read again and again earns an entry and keeps it: its reads hit. Once the budget is
    // spent, one descent in eight is admitted, and the sweep that makes room takes an eighth of
    // the shard's unmarked entries; when every other entry was read since the last sweep, that
    // sweep only takes their marks, and the next admission, eight descents later, finds room.
    let before = db.stats().unwrap();
    for _ in 0..100 {
        assert!(db.contains_key(7u32.to_be_bytes()).unwrap());
    }
    let after = db.stats().unwrap();
    let hits = after.index_hits - before.index_hits;
    assert!(hits >= 84, "a hot key earns and keeps its entry: {hits} hits of 100 reads");
    db.check_integrity().unwrap();
}

#[test]
fn without_a_budget_reads_after_the_build_never_descend() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Emdb::open(&path).unwrap();
    for i in 0..2_000u32 {
        db.insert(i.to_be_bytes(), [1u8; 10]).unwrap();
    }
    drop(db);
    let db = Emdb::open(&path).unwrap();
    // `len` waits for the background build.
    assert_eq!(db.len().unwrap(), 2_000);
    let before = db.stats().unwrap();
    for i in 0..2_500u32 {
        assert_eq!(db.contains_key(i.to_be_bytes()).unwrap(), i < 2_000);
    }
    let after = db.stats().unwrap();
    assert_eq!(after.index_misses, before.index_misses, "the index answers for every key");
    assert_eq!(after.index_hits - before.index_hits, 2_500);
}
