//! The lazy open: reads while the background index build runs, and what a build that fails or
//! is cut short leaves behind.

use std::sync::Arc;
use std::time::Duration;

use crate::io::fault::{CrashMode, FaultStorage};
use crate::keyspace::IndexBuildGate;
use crate::{Emdb, Error, FlushPolicy, ManualClock, Ttl};

const DB: &str = "/lazy/db";

fn open(fs: &FaultStorage, clock: &ManualClock, gate: Option<Arc<IndexBuildGate>>) -> Emdb {
    let mut b = Emdb::builder()
        .path(DB)
        .flush_policy(FlushPolicy::OnEachWrite)
        .clock(Arc::new(clock.clone()));
    if let Some(gate) = gate {
        b = b.hold_index_build(gate);
    }
    b.build_on(Arc::new(fs.clone())).unwrap_or_else(|e| panic!("{e}"))
}

/// A closed database with inline, packed and overflow values, an expired and an expiring
/// key, and a second namespace.
fn closed(clock: &ManualClock) -> FaultStorage {
    let fs = FaultStorage::new(1);
    let db = open(&fs, clock, None);
    db.insert("inline", "tiny").unwrap();
    db.insert("packed", vec![5u8; 150]).unwrap();
    db.insert("overflow", vec![6u8; 9_000]).unwrap();
    db.insert_with_ttl("gone", "x", Ttl::After(Duration::from_secs(1))).unwrap();
    db.insert_with_ttl("later", "y", Ttl::After(Duration::from_secs(1000))).unwrap();
    db.namespace("side").unwrap().insert("k", "side value").unwrap();
    drop(db);
    clock.advance(Duration::from_secs(10));
    fs
}

fn check_reads(db: &Emdb) {
    assert_eq!(db.get("inline").unwrap(), Some(b"tiny".to_vec()));
    assert_eq!(db.get("packed").unwrap(), Some(vec![5u8; 150]));
    let mut buf = Vec::new();
    assert!(db.get_into("overflow", &mut buf).unwrap());
    assert_eq!(buf, vec![6u8; 9_000]);
    assert_eq!(db.get("gone").unwrap(), None, "an expired key was read from the tree");
    assert!(!db.contains_key("gone").unwrap());
    assert!(db.contains_key("later").unwrap());
    let ttl = db.ttl("later").unwrap().unwrap();
    assert!(ttl <= Duration::from_secs(990) && ttl > Duration::from_secs(980), "{ttl:?}");
    assert!(db.expires_at("later").unwrap().is_some());
    assert_eq!(db.get("absent").unwrap(), None);
    assert_eq!(db.namespace("side").unwrap().get("k").unwrap(), Some(b"side value".to_vec()));
    let keys: Vec<Vec<u8>> =
        db.keys().unwrap().map(Result::unwrap).filter(|k| k != b"new" && k != b"logged").collect();
    assert_eq!(keys, [&b"inline"[..], b"later", b"overflow", b"packed"]);
}

#[test]
fn reads_during_the_build_come_from_the_tree_and_writes_do_not_wait_for_it() {
    let clock = ManualClock::new(1_000_000);
    let fs = closed(&clock);
    let gate = Arc::new(IndexBuildGate::default());
    let db = open(&fs, &clock, Some(Arc::clone(&gate)));
    assert!(db.keyspace().is_loading(), "a clean database opens without its index");
    check_reads(&db);
    // Writes go ahead while the build is held: a new key, a key of the tree removed, an
    // expiring key of the tree given no expiry, and the expired one written again.
    db.insert("new", "during the build").unwrap();
    assert_eq!(db.remove("inline").unwrap(), Some(b"tiny".to_vec()));
    db.insert("later", "kept").unwrap();
    db.insert("gone", "back").unwrap();
    assert!(db.keyspace().is_loading(), "the writes did not wait for the build");
    assert_eq!(db.get("new").unwrap(), Some(b"during the build".to_vec()));
    assert_eq!(db.get("inline").unwrap(), None);
    assert_eq!(db.ttl("later").unwrap(), None);
    // `len()` waits for the build; the counts of the build and of the writes add up.
    let counted = std::thread::scope(|s| {
        let len = s.spawn(|| db.len().unwrap());
        std::thread::sleep(Duration::from_millis(100));
        assert!(!len.is_finished(), "len() answered before the index was built");
        gate.release();
        len.join().unwrap()
    });
    // packed, overflow, later, gone (written again) and new.
    assert_eq!(counted, 5);
    assert!(!db.keyspace().is_loading());
    // The expiry index holds no key: "later" lost its expiry and "gone" was written without one.
    assert_eq!(db.purge_expired().unwrap(), 0);
    db.check_integrity().unwrap();
    drop(db);
    let db = open(&fs, &clock, None);
    assert_eq!(db.len().unwrap(), 5);
    assert_eq!(db.get("new").unwrap(), Some(b"during the build".to_vec()));
    assert_eq!(db.get("inline").unwrap(), None);
    assert_eq!(db.get("gone").unwrap(), Some(b"back".to_vec()));
    db.check_integrity().unwrap();
}

/// A compaction asked for during the build of a file opened with nothing to checkpoint waits
/// for the build: the build adds entries naming the leaves of the file it reads, which the
/// compaction replaces.
#[test]
fn a_compaction_during_the_build_waits_for_it() {
    let clock = ManualClock::new(1_000_000);
    let fs = closed(&clock);
    let gate = Arc::new(IndexBuildGate::default());
    let db = open(&fs, &clock, Some(Arc::clone(&gate)));
    assert!(db.keyspace().is_loading());
    std::thread::scope(|s| {
        let compaction = s.spawn(|| db.compact());
        std::thread::sleep(Duration::from_millis(100));
        assert!(!compaction.is_finished(), "the compaction ran before the index was built");
        gate.release();
        compaction.join().unwrap().unwrap();
    });
    check_reads(&db);
    db.check_integrity().unwrap();
}

#[test]
fn a_handle_dropped_during_the_build_after_writes_keeps_them_in_the_log() {
    let clock = ManualClock::new(1_000_000);
    let fs = closed(&clock);
    let gate = Arc::new(IndexBuildGate::default());
    let db = open(&fs, &clock, Some(Arc::clone(&gate)));
    db.insert("new", "before the drop").unwrap();
    assert!(db.keyspace().is_loading());
    // The drop stops the build: no closing checkpoint, the log keeps the commit.
    drop(db);
    let db = open(&fs, &clock, None);
    assert_eq!(db.get("new").unwrap(), Some(b"before the drop".to_vec()));
    assert_eq!(db.len().unwrap(), 5);
    db.check_integrity().unwrap();
}

#[test]
fn a_snapshot_taken_during_the_build_reads_the_tree_then_the_index() {
    let clock = ManualClock::new(1_000_000);
    let fs = closed(&clock);
    let gate = Arc::new(IndexBuildGate::default());
    let db = open(&fs, &clock, Some(Arc::clone(&gate)));
    let snapshot = db.snapshot();
    let check = |snapshot: &crate::Snapshot| {
        // The index is empty until built: these come from the snapshot's tree.
        assert_eq!(snapshot.get("packed").unwrap(), Some(vec![5u8; 150]));
        assert_eq!(snapshot.get("overflow").unwrap(), Some(vec![6u8; 9_000]));
        assert_eq!(snapshot.get("gone").unwrap(), None, "an expired key");
        assert!(snapshot.contains_key("later").unwrap());
        assert_eq!(snapshot.keys().unwrap().count(), 4);
        assert_eq!(snapshot.len().unwrap(), 4);
    };
    assert!(db.keyspace().is_loading());
    check(&snapshot);
    // `len()` waits for the build (the counts it would read are not filled yet).
    let counted = std::thread::scope(|s| {
        let len = s.spawn(|| db.len().unwrap());
        std::thread::sleep(Duration::from_millis(100));
        assert!(!len.is_finished(), "len() answered before the index was built");
        gate.release();
        len.join().unwrap()
    });
    assert_eq!(counted, 4);
    assert!(!db.keyspace().is_loading());
    check(&snapshot);
}

#[test]
fn a_handle_dropped_during_the_build_stops_it_and_loses_nothing() {
    let clock = ManualClock::new(1_000_000);
    let fs = closed(&clock);
    let gate = Arc::new(IndexBuildGate::default());
    let db = open(&fs, &clock, Some(gate));
    check_reads(&db);
    drop(db);
    let db = open(&fs, &clock, None);
    check_reads(&db);
    assert_eq!(db.len().unwrap(), 4);
    db.check_integrity().unwrap();
}

#[test]
fn a_log_with_frames_is_replayed_while_the_build_runs() {
    let clock = ManualClock::new(1_000_000);
    let fs = closed(&clock);
    let db = open(&fs, &clock, None);
    db.insert("logged", "in the log").unwrap();
    db.remove("inline").unwrap();
    // "later" loses its expiry in the log: the build must not add it back to the expiry index.
    db.insert("later", "no expiry").unwrap();
    // A power loss keeps the synced frames; the handle never closes.
    let crashed = fs.crash(7, CrashMode::KeepAll);
    std::mem::forget(db);
    let gate = Arc::new(IndexBuildGate::default());
    let db = open(&crashed, &clock, Some(Arc::clone(&gate)));
    // The frames were replayed while the build is held at its start.
    assert!(db.keyspace().is_loading(), "the open waited for the build");
    assert_eq!(db.get("logged").unwrap(), Some(b"in the log".to_vec()));
    assert_eq!(db.get("inline").unwrap(), None);
    assert_eq!(db.ttl("later").unwrap(), None);
    assert_eq!(db.get("packed").unwrap(), Some(vec![5u8; 150]));
    gate.release();
    // packed, overflow, later, logged (gone expired, inline removed); plus the expired one.
    assert_eq!(db.len().unwrap(), 4);
    assert_eq!(db.purge_expired().unwrap(), 1, "only `gone` is expired");
    db.check_integrity().unwrap();
}

#[test]
fn damage_found_by_the_build_is_reported_to_whatever_needs_the_index() {
    let clock = ManualClock::new(1_000_000);
    let fs = FaultStorage::new(1);
    let db = open(&fs, &clock, None);
    db.transaction(|tx| {
        for i in 0..2_000u32 {
            tx.insert(format!("key{i:05}"), vec![1u8; 20])?;
        }
        Ok(())
    })
    .unwrap();
    drop(db);
    // Damage a leaf in the middle of the file (its checksum no longer holds).
    let path = std::path::Path::new(DB);
    let mut bytes = fs.file_bytes(path).unwrap();
    let leaf = (2..bytes.len() / 4096)
        .find(|&p| bytes[p * 4096 + 4] == crate::page::PageType::CompactLeaf as u8)
        .unwrap();
    bytes[leaf * 4096 + 2000] ^= 0xff;
    fs.set_file_bytes(path, bytes);
    let db = open(&fs, &clock, None);
    let wait = |r: crate::Result<()>| match r {
        Err(Error::Corruption { .. }) => {}
        other => panic!("expected corruption, got {other:?}"),
    };
    wait(db.len().map(drop));
    // A commit goes ahead (a new namespace's reads nothing of the tree); the checkpoint that
    // would write it waits for the build and gets its error.
    db.namespace("fresh").unwrap();
    wait(db.checkpoint());
    wait(db.stats().map(drop));
    wait(db.check_integrity().map(drop));
    // Reads of keys on intact pages still work.
    let found = (0..2_000u32).filter(|i| db.get(format!("key{i:05}")).is_ok()).count();
    assert!(found > 1_000 && found < 2_000, "{found} keys read");
}
