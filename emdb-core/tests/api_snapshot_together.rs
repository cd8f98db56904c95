//! Snapshots of several namespaces taken together sit at one commit, while a writer commits to
//! all of them in each transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use emdb_core::{Emdb, Snapshot};

#[test]
fn snapshots_taken_together_never_straddle_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    for db in [Emdb::open_in_memory(), Emdb::open(dir.path().join("db")).unwrap()] {
        let (rows, index) = (db.namespace("rows").unwrap(), db.namespace("index").unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (db, rows, index, stop) =
                (db.clone(), rows.clone(), index.clone(), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) && n < 3000 {
                    db.transaction(|tx| {
                        tx.namespace(&rows).insert(n.to_be_bytes(), "row")?;
                        tx.namespace(&index).insert(n.to_be_bytes(), "entry")?;
                        Ok(())
                    })
                    .unwrap();
                    n += 1;
                }
            })
        };
        for _ in 0..300 {
            let both = Snapshot::together(&[&rows, &index]);
            assert_eq!(both.len(), 2);
            assert_eq!(both[0].len().unwrap(), both[1].len().unwrap(), "one commit for both");
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        // Namespaces of another database get a snapshot of their own.
        let other = Emdb::open_in_memory().namespace("x").unwrap();
        other.insert("k", "v").unwrap();
        let mixed = Snapshot::together(&[&rows, &other]);
        assert_eq!(mixed[1].get("k").unwrap(), Some(b"v".to_vec()));
    }
}
