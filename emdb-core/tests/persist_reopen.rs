//! Every API feature survives closing and reopening a database file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use emdb_core::{Emdb, Error, FlushPolicy, ManualClock, Ttl};

fn open(path: &std::path::Path) -> Emdb {
    Emdb::open(path).unwrap()
}

#[test]
fn plain_writes_and_removes_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = open(&path);
        for i in 0..100u32 {
            db.insert(format!("k{i:03}"), i.to_le_bytes()).unwrap();
        }
        db.remove("k050").unwrap();
        db.insert("big", vec![7u8; 10_000]).unwrap();
        db.insert("mid", vec![9u8; 700]).unwrap();
    }
    let db = open(&path);
    assert_eq!(db.len().unwrap(), 101);
    assert_eq!(db.get("k007").unwrap(), Some(7u32.to_le_bytes().to_vec()));
    assert_eq!(db.get("k050").unwrap(), None);
    assert_eq!(db.get("big").unwrap(), Some(vec![7u8; 10_000]));
    assert_eq!(db.get("mid").unwrap(), Some(vec![9u8; 700]));
    let keys: Vec<Vec<u8>> = db.keys().unwrap().map(Result::unwrap).collect();
    assert_eq!(keys.len(), 101);
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn namespaces_groups_transactions_and_clear_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = open(&path);
        let audit = db.namespace("audit").unwrap();
        let empty = db.namespace("empty").unwrap();
        empty.insert("x", "1").unwrap();
        empty.clear().unwrap();
        db.focus("product").focus("1").insert("name", "chair").unwrap();
        db.focus("product").focus("2").insert("name", "table").unwrap();
        db.delete_group("product.2").unwrap();
        db.transaction(|tx| {
            tx.insert("balance:a", "70")?;
            tx.insert("balance:b", "30")?;
            tx.namespace(&audit).insert("1", "moved 30")?;
            Ok(())
        })
        .unwrap();
        let aborted: Result<(), Error> = db.transaction(|tx| {
            tx.insert("balance:a", "0")?;
            Err(Error::TransactionAborted("no"))
        });
        assert!(aborted.is_err());
    }
    let db = open(&path);
    assert_eq!(db.namespace_names(), ["audit", "empty"]);
    assert_eq!(db.namespace("audit").unwrap().get("1").unwrap(), Some(b"moved 30".to_vec()));
    assert!(db.namespace("empty").unwrap().is_empty().unwrap());
    assert_eq!(db.get("balance:a").unwrap(), Some(b"70".to_vec()));
    assert_eq!(db.get("product.1.name").unwrap(), Some(b"chair".to_vec()));
    assert_eq!(db.group("product").unwrap().count(), 1);
    // A namespace created after the reopen gets a fresh id.
    let fresh = db.namespace("fresh").unwrap();
    fresh.insert("k", "v").unwrap();
    assert!(db.namespace("audit").unwrap().get("k").unwrap().is_none());
}

#[test]
fn expiries_survive_a_reopen_and_are_judged_by_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let clock = ManualClock::new(1_000_000);
    let build = || Emdb::builder().path(&path).clock(Arc::new(clock.clone())).build().unwrap();
    {
        let db = build();
        db.insert_with_ttl("short", "v", Ttl::After(Duration::from_secs(5))).unwrap();
        db.insert_with_ttl("long", "v", Ttl::After(Duration::from_secs(500))).unwrap();
        db.insert_with_ttl("kept", "v", Ttl::After(Duration::from_secs(5))).unwrap();
        assert!(db.persist("kept").unwrap());
    }
    clock.advance(Duration::from_secs(10));
    let db = build();
    assert_eq!(db.get("short").unwrap(), None);
    assert_eq!(db.len().unwrap(), 2);
    assert!(db.ttl("long").unwrap().unwrap() <= Duration::from_secs(490));
    assert_eq!(db.ttl("kept").unwrap(), None);
    assert_eq!(db.purge_expired().unwrap(), 1);
}

#[test]
fn a_second_open_of_the_same_path_is_locked_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let first = open(&path);
    let clone = first.clone();
    match Emdb::open(&path) {
        Err(Error::Locked { path: locked, pid }) => {
            let same =
                std::fs::canonicalize(&locked).unwrap() == std::fs::canonicalize(&path).unwrap();
            assert!(same, "the page file is locked, not {}", locked.display());
            assert_eq!(pid, Some(std::process::id()), "the writer recorded itself");
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(first);
    assert!(matches!(Emdb::open(&path), Err(Error::Locked { .. })), "a clone keeps it open");
    drop(clone);
    open(&path);
}

#[test]
fn every_flush_policy_keeps_commits_across_a_clean_reopen() {
    for policy in [
        FlushPolicy::OnEachWrite,
        FlushPolicy::EveryN(3),
        FlushPolicy::Manual,
        FlushPolicy::Interval(Duration::from_millis(5)),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let db = Emdb::builder().path(&path).flush_policy(policy).build().unwrap();
            for i in 0..20u32 {
                db.insert(i.to_be_bytes(), "v").unwrap();
            }
            db.flush().unwrap();
            if matches!(policy, FlushPolicy::Interval(_)) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let db = open(&path);
        assert_eq!(db.len().unwrap(), 20, "{policy:?}");
    }
}

#[test]
fn a_file_that_is_not_a_database_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, vec![b'x'; 10_000]).unwrap();
    assert!(matches!(Emdb::open(&path), Err(Error::NotAnEmdbFile { .. })));
}

#[test]
fn concurrent_committers_under_on_each_write_all_survive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = open(&path);
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let db = db.clone();
                std::thread::spawn(move || {
                    for i in 0..50u32 {
                        db.insert(format!("{t}:{i}"), "v").unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
    assert_eq!(open(&path).len().unwrap(), 200);
}

fn wal_len(path: &std::path::Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push(".wal");
    std::fs::metadata(wal).unwrap().len()
}

#[test]
fn a_checkpoint_folds_the_log_into_the_page_file_and_reads_come_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Emdb::builder().path(&path).flush_policy(FlushPolicy::Manual).build().unwrap();
    for i in 0..300u32 {
        let size = [5usize, 400, 5000][i as usize % 3];
        db.insert(i.to_be_bytes(), vec![u8::try_from(i % 251).unwrap(); size]).unwrap();
    }
    assert!(wal_len(&path) > 100_000);
    db.checkpoint().unwrap();
    assert!(wal_len(&path) <= 64, "the log starts over after a checkpoint");
    assert!(std::fs::metadata(&path).unwrap().len() > 500_000);
    for i in (0..300u32).step_by(7) {
        let size = [5usize, 400, 5000][i as usize % 3];
        let want = vec![u8::try_from(i % 251).unwrap(); size];
        assert_eq!(db.get(i.to_be_bytes()).unwrap(), Some(want));
    }
    // Changes after the checkpoint overlay the tree.
    db.remove(7u32.to_be_bytes()).unwrap();
    db.insert(8u32.to_be_bytes(), "new").unwrap();
    let keys: Vec<Vec<u8>> = db.keys().unwrap().map(Result::unwrap).collect();
    assert_eq!(keys.len(), 299);
    assert!(!keys.contains(&7u32.to_be_bytes().to_vec()));
    let back: Vec<Vec<u8>> = db.keys().unwrap().rev().map(Result::unwrap).collect();
    assert_eq!(back.len(), 299);
    assert!(back.windows(2).all(|w| w[0] > w[1]));
    assert_eq!(db.len().unwrap(), 299);
    let range: Vec<_> =
        db.range(5u32.to_be_bytes()..10u32.to_be_bytes()).unwrap().map(Result::unwrap).collect();
    assert_eq!(range.len(), 4);
    assert_eq!(range[2], (8u32.to_be_bytes().to_vec(), b"new".to_vec()));
    drop(db);
    let db = open(&path);
    assert_eq!(db.len().unwrap(), 299);
    assert_eq!(db.get(8u32.to_be_bytes()).unwrap(), Some(b"new".to_vec()));
    assert_eq!(db.get(299u32.to_be_bytes()).unwrap(), Some(vec![48u8; 5000]));
}

#[test]
fn an_iterator_opened_before_a_checkpoint_keeps_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Emdb::builder().path(&path).flush_policy(FlushPolicy::Manual).build().unwrap();
    for i in 0..500u32 {
        db.insert(i.to_be_bytes(), vec![1u8; 300]).unwrap();
    }
    db.checkpoint().unwrap();
    let before = db.iter().unwrap();
    for i in 0..500u32 {
        if i % 2 == 0 {
            db.remove(i.to_be_bytes()).unwrap();
        } else {
            db.insert(i.to_be_bytes(), vec![2u8; 300]).unwrap();
        }
    }
    db.checkpoint().unwrap();
    for i in 500..900u32 {
        db.insert(i.to_be_bytes(), vec![3u8; 3000]).unwrap();
    }
    db.checkpoint().unwrap();
    let seen: Vec<_> = before.map(Result::unwrap).collect();
    assert_eq!(seen.len(), 500);
    assert!(seen.iter().all(|(_, v)| *v == vec![1u8; 300]));
    assert_eq!(db.iter().unwrap().count(), 650);
}

#[test]
fn automatic_checkpoints_past_the_log_threshold_keep_the_log_small() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Emdb::builder()
        .path(&path)
        .flush_policy(FlushPolicy::Manual)
        .checkpoint_wal_bytes(50_000)
        .build()
        .unwrap();
    for i in 0..2000u32 {
        db.insert(i.to_be_bytes(), vec![9u8; 200]).unwrap();
        assert!(db.stats().unwrap().wal_bytes < 51_000);
        // The file may hold up to 64 KiB of zeros written ahead of its frames.
        assert!(wal_len(&path) <= 51_000 + 64 * 1024);
    }
    drop(db);
    let db = open(&path);
    assert_eq!(db.len().unwrap(), 2000);
    assert_eq!(db.get(1234u32.to_be_bytes()).unwrap(), Some(vec![9u8; 200]));
}

/// Values on disk read the same through the mapping (the default on 64-bit Unix) and through
/// `pread`, while checkpoints grow the file past the mapping each reader holds, after a
/// compaction moved every value, and in a new namespace created after the file was mapped.
#[test]
fn values_read_the_same_through_the_mapping_and_pread_as_the_file_grows_and_is_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let value = |i: u32| vec![u8::try_from(i % 251).unwrap(); [200, 3000, 10_000][i as usize % 3]];
    let check = |db: &Emdb, upto: u32| {
        for i in 0..upto {
            assert_eq!(db.get(format!("k{i}")).unwrap(), Some(value(i)), "key k{i}");
        }
    };
    for mmap in [true, false] {
        let path = dir.path().join(format!("db-{mmap}"));
        let db = Emdb::builder().path(&path).use_mmap(mmap).build().unwrap();
        for round in 0..4u32 {
            for i in round * 50..(round + 1) * 50 {
                db.insert(format!("k{i}"), value(i)).unwrap();
            }
            db.checkpoint().unwrap();
            check(&db, (round + 1) * 50);
        }
        let late = db.namespace("late").unwrap();
        late.insert("v", value(1)).unwrap();
        db.checkpoint().unwrap();
        assert_eq!(late.get("v").unwrap(), Some(value(1)));
        for i in (0..200).step_by(2) {
            db.remove(format!("k{i}")).unwrap();
        }
        db.compact().unwrap();
        for i in (1..200).step_by(2) {
            assert_eq!(db.get(format!("k{i}")).unwrap(), Some(value(i)), "after compaction");
        }
        assert_eq!(late.get("v").unwrap(), Some(value(1)));
        drop((late, db));
        let db = Emdb::builder().path(&path).use_mmap(!mmap).build().unwrap();
        assert_eq!(db.len().unwrap(), 100);
        assert_eq!(db.get("k199").unwrap(), Some(value(199)));
    }
}

#[test]
fn get_into_reads_values_in_memory_on_disk_and_in_overflow_runs_into_one_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let clock = ManualClock::new(1_000_000);
    let build = || Emdb::builder().path(&path).clock(Arc::new(clock.clone())).build().unwrap();
    let values: Vec<(&str, Vec<u8>)> = vec![
        ("inline", b"tiny".to_vec()),
        ("packed", vec![3u8; 150]),
        ("overflow", (0..20_000u32).map(|i| (i % 251) as u8).collect()),
        ("empty", Vec::new()),
    ];
    let check = |db: &Emdb| {
        let mut buf = vec![0xAA; 5];
        for (key, value) in &values {
            assert!(db.get_into(key, &mut buf).unwrap(), "{key}");
            assert_eq!(&buf, value, "{key}");
            assert_eq!(db.get(key).unwrap().as_ref(), Some(value), "{key}");
        }
        assert!(!db.get_into("absent", &mut buf).unwrap());
        assert!(buf.is_empty(), "a miss must leave the buffer empty");
        assert!(!db.get_into("short-lived", &mut buf).unwrap(), "an expired key was read");
        let ns = db.namespace("side").unwrap();
        assert!(ns.get_into("k", &mut buf).unwrap());
        assert_eq!(buf, b"side value");
        assert!(db.focus("cfg").get_into("port", &mut buf).unwrap());
        assert_eq!(buf, b"8080");
    };
    {
        let db = build();
        for (key, value) in &values {
            db.insert(key, value).unwrap();
        }
        db.insert_with_ttl("short-lived", "x", Ttl::After(Duration::from_secs(5))).unwrap();
        db.namespace("side").unwrap().insert("k", "side value").unwrap();
        db.focus("cfg").insert("port", "8080").unwrap();
        clock.advance(Duration::from_secs(10));
        // Resident values, before any checkpoint.
        check(&db);
        db.checkpoint().unwrap();
        // Values read from the page file.
        check(&db);
    }
    check(&build());
}
