//! The page file stops growing under steady overwrites and mixed workloads without a call to
//! `compact()` (before automatic reclamation, value pages of 129 B to 2 KiB values were
//! reclaimed only by compaction and the file grew by the live data every round).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::Path;

use emdb_core::{AutoReclaim, Emdb, FlushPolicy};

#[path = "../src/test_depth.rs"]
mod test_depth;

fn open(path: &Path, reclaim: AutoReclaim) -> Emdb {
    Emdb::builder()
        .path(path)
        .flush_policy(FlushPolicy::Manual)
        .auto_reclaim(reclaim)
        .build()
        .unwrap()
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// Overwrites 2 MB of `size`-byte values (and 8-byte keys) `rounds` times, one insert per key,
/// checkpointing whenever the log passes 1 MiB and at the end of each round; returns the page
/// file's size after each round and the live bytes.
fn steady_overwrites(size: usize, rounds: u32, reclaim: AutoReclaim) -> (Vec<u64>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Emdb::builder()
        .path(&path)
        .flush_policy(FlushPolicy::Manual)
        .checkpoint_wal_bytes(1 << 20)
        .auto_reclaim(reclaim)
        .build()
        .unwrap();
    let keys = u32::try_from(2_000_000 / size).unwrap();
    let live = u64::from(keys) * (size as u64 + 8);
    let mut sizes = Vec::new();
    for round in 0..rounds {
        for k in 0..keys {
            let fill = u8::try_from((round + k) % 251).unwrap();
            db.insert(format!("key{k:05}"), vec![fill; size]).unwrap();
        }
        db.checkpoint().unwrap();
        sizes.push(file_len(&path));
    }
    assert_eq!(db.len().unwrap(), keys as usize);
    let last = rounds - 1;
    for k in [0, keys / 2, keys - 1] {
        let fill = u8::try_from((last + k) % 251).unwrap();
        assert_eq!(db.get(format!("key{k:05}")).unwrap(), Some(vec![fill; size]));
    }
    db.check_integrity().unwrap();
    (sizes, live)
}

#[test]
fn steady_overwrites_of_every_value_size_stop_growing_the_file_at_twice_the_live_data() {
    for size in [100, 129, 2_000, 20_000] {
        let rounds = test_depth::pick(16, 60, 200);
        let (sizes, live) = steady_overwrites(size, rounds, AutoReclaim::default());
        let settled = sizes[4];
        let last = *sizes.last().unwrap();
        println!("{size} B: live {live}: {sizes:?}");
        assert!(last <= 2 * live, "{size} B values: {last} bytes for {live} live: {sizes:?}");
        assert!(last <= settled + 8 * 4096, "{size} B values: the file still grows: {sizes:?}");
    }
}

#[test]
fn without_reclamation_overwritten_packed_values_keep_growing_the_file() {
    let (sizes, live) = steady_overwrites(129, 12, AutoReclaim::Off);
    let last = *sizes.last().unwrap();
    assert!(last > 5 * live, "{last} bytes for {live} live: {sizes:?}");
    assert!(sizes[11] > sizes[6], "{sizes:?}");
}

/// A deterministic pseudo-random sequence (`SplitMix64`).
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

#[test]
fn a_long_mixed_workload_keeps_the_file_within_three_times_the_live_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Emdb::builder()
        .path(&path)
        .flush_policy(FlushPolicy::Manual)
        .checkpoint_wal_bytes(1 << 20)
        .build()
        .unwrap();
    let mut rng = Rng(7);
    let keys = 4_000u64;
    let mut model = std::collections::HashMap::new();
    // The largest size of the file, in percent of the live data, after the first third.
    let mut worst = 0;
    for step in 0..60_000u64 {
        let k = rng.below(keys);
        let key = format!("k{k:06}");
        if rng.below(10) == 0 {
            db.remove(&key).unwrap();
            model.remove(&key);
        } else {
            // Sizes from inline to overflow, most in value pages.
            let size = match rng.below(20) {
                0 => 40,
                1 => 5_000,
                n => 129 + usize::try_from(n * 90).unwrap(),
            };
            let value = vec![u8::try_from(step % 251).unwrap(); size];
            db.insert(&key, &value).unwrap();
            model.insert(key, value);
        }
        if step % 5_000 == 4_999 {
            let live: u64 = model.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
            if step >= 20_000 {
                worst = worst.max(file_len(&path) * 100 / live);
            }
        }
    }
    println!("the file reached {worst} % of the live data");
    assert!(worst <= 300, "the file reached {worst} % of the live data");
    for (k, v) in &model {
        assert_eq!(db.get(k).unwrap().as_ref(), Some(v));
    }
    assert_eq!(db.len().unwrap(), model.len());
    db.check_integrity().unwrap();
}

#[test]
fn mostly_dead_value_pages_are_emptied_by_moving_their_live_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = open(&path, AutoReclaim::DeadPercent(50));
    for k in 0..3_000u32 {
        db.insert(k.to_be_bytes(), vec![1u8; 300]).unwrap();
    }
    db.checkpoint().unwrap();
    let full = db.stats().unwrap();
    // Three values of four die: every value page is 75 % dead, none empty.
    for k in (0..3_000u32).filter(|k| k % 4 != 0) {
        db.remove(k.to_be_bytes()).unwrap();
    }
    db.checkpoint().unwrap();
    let dead = db.stats().unwrap();
    assert!(dead.reclaimable_bytes > 600_000, "{dead:?}");
    // The next checkpoints move the survivors and free the pages.
    for round in 0..3u32 {
        db.insert("tick", round.to_be_bytes()).unwrap();
        db.checkpoint().unwrap();
    }
    let moved = db.stats().unwrap();
    // What is left is the unused tails of the pages the last checkpoints wrote.
    assert!(moved.reclaimable_bytes < 4 * 4096, "{moved:?}");
    assert!(moved.free_pages > full.free_pages + 150, "{full:?} {moved:?}");
    for k in 0..3_000u32 {
        let want = (k % 4 == 0).then(|| vec![1u8; 300]);
        assert_eq!(db.get(k.to_be_bytes()).unwrap(), want, "key {k}");
    }
    assert_eq!(db.iter().unwrap().count(), 751);
    db.check_integrity().unwrap();
    drop(db);
    // Reopened after a clean close, the count comes from the background index build.
    let db = open(&path, AutoReclaim::DeadPercent(50));
    assert_eq!(db.get(8u32.to_be_bytes()).unwrap(), Some(vec![1u8; 300]));
    db.check_integrity().unwrap();
    let reopened = db.stats().unwrap();
    for k in (0..3_000u32).filter(|k| k % 4 == 0) {
        db.remove(k.to_be_bytes()).unwrap();
    }
    db.checkpoint().unwrap();
    db.insert("tick", "again").unwrap();
    db.checkpoint().unwrap();
    let emptied = db.stats().unwrap();
    assert!(emptied.free_pages > reopened.free_pages + 50, "{reopened:?} {emptied:?}");
    assert!(emptied.reclaimable_bytes < 4 * 4096, "{emptied:?}");
    db.check_integrity().unwrap();
}

#[test]
fn only_empty_pages_come_back_when_values_may_not_move() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = open(&path, AutoReclaim::EmptyPages);
    for k in 0..3_000u32 {
        db.insert(k.to_be_bytes(), vec![1u8; 300]).unwrap();
    }
    db.checkpoint().unwrap();
    for k in (0..3_000u32).filter(|k| k % 4 != 0) {
        db.remove(k.to_be_bytes()).unwrap();
    }
    db.checkpoint().unwrap();
    let dead = db.stats().unwrap();
    for round in 0..3u32 {
        db.insert("tick", round.to_be_bytes()).unwrap();
        db.checkpoint().unwrap();
    }
    assert_eq!(db.stats().unwrap().reclaimable_bytes, dead.reclaimable_bytes, "nothing moved");
    // Once every value of a page dies, the page is free.
    for k in (0..3_000u32).filter(|k| k % 4 == 0) {
        db.remove(k.to_be_bytes()).unwrap();
    }
    db.checkpoint().unwrap();
    // The pages freed by a checkpoint are free for use once the next one starts.
    db.insert("tick", "last").unwrap();
    db.checkpoint().unwrap();
    let empty = db.stats().unwrap();
    assert_eq!(empty.reclaimable_bytes, 0, "{empty:?}");
    assert!(empty.free_pages > dead.free_pages + 200, "{dead:?} {empty:?}");
    db.check_integrity().unwrap();
}

#[test]
fn reclaimable_bytes_are_counted_again_after_a_reopen_and_a_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = open(&path, AutoReclaim::Off);
    for k in 0..1_000u32 {
        db.insert(k.to_be_bytes(), vec![1u8; 400]).unwrap();
    }
    db.checkpoint().unwrap();
    for k in (0..1_000u32).step_by(2) {
        db.remove(k.to_be_bytes()).unwrap();
    }
    db.checkpoint().unwrap();
    let before = db.stats().unwrap().reclaimable_bytes;
    assert!(before > 150_000, "{before}");
    drop(db);
    let db = open(&path, AutoReclaim::Off);
    assert_eq!(db.stats().unwrap().reclaimable_bytes, before, "counted again at open");
    db.compact().unwrap();
    let after = db.stats().unwrap().reclaimable_bytes;
    assert!(after < 4_096, "compaction leaves no dead value: {after}");
}
