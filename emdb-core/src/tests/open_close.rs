//! `Emdb::close` reports the error of the closing checkpoint that a drop swallows, and an empty
//! file made a database in place survives a power loss at any of its I/O calls.

use std::path::Path;
use std::sync::Arc;

use crate::db::Emdb;
use crate::error::{Error, Result};
use crate::io::fault::{CrashMode, FaultKind, FaultStorage};
use crate::keyspace::FlushPolicy;

const DB: &str = "/db/data";

fn open(fs: &FaultStorage) -> Result<Emdb> {
    Emdb::builder().path(DB).flush_policy(FlushPolicy::OnEachWrite).build_on(Arc::new(fs.clone()))
}

#[test]
fn close_reports_the_failed_checkpoint_a_drop_would_swallow_and_the_log_keeps_the_commits() {
    let fs = FaultStorage::new(1);
    let db = open(&fs).unwrap();
    db.insert("a", "1").unwrap();
    fs.fail_at(fs.io_count() + 1, true, FaultKind::Io);
    let err = db.close().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    let db = open(&fs.crash(0, CrashMode::KeepAll)).unwrap();
    assert_eq!(db.get("a").unwrap(), Some(b"1".to_vec()));
    db.close().unwrap();
}

#[test]
fn close_of_a_poisoned_handle_says_so() {
    let fs = FaultStorage::new(2);
    let db = open(&fs).unwrap();
    fs.fail_at(fs.io_count() + 1, true, FaultKind::Io);
    assert!(db.insert("a", "1").is_err());
    assert!(matches!(db.close(), Err(Error::Poisoned)));
}

#[test]
fn an_empty_file_made_a_database_survives_a_power_loss_at_any_of_its_io_calls() {
    let probe = FaultStorage::new(3);
    probe.set_file_bytes(Path::new(DB), Vec::new());
    let start = probe.io_count();
    drop(open(&probe).unwrap());
    let ios = probe.io_count() - start;
    let (mut opened, mut refused) = (0, 0);
    for n in 1..=ios {
        for mode in [CrashMode::KeepAll, CrashMode::DropAll, CrashMode::TearAll, CrashMode::Random]
        {
            let fs = FaultStorage::new(n);
            fs.set_file_bytes(Path::new(DB), Vec::new());
            fs.power_off_at(fs.io_count() + n);
            drop(open(&fs));
            match open(&fs.crash(n, mode)) {
                Ok(db) => {
                    assert!(db.is_empty().unwrap(), "I/O {n}, {mode:?}");
                    db.insert("k", "v").unwrap();
                    db.check_integrity().unwrap();
                    opened += 1;
                }
                // A torn meta page of a file that never held data: refused, never misread.
                Err(Error::Corruption { .. } | Error::NotAnEmdbFile { .. }) => refused += 1,
                Err(e) => panic!("I/O {n}, {mode:?}: {e}"),
            }
        }
    }
    assert!(opened > refused, "{opened} opened, {refused} refused");
}
