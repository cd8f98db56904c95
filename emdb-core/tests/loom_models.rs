//! loom models of three small concurrent protocols of the engine, in isolated form (the same
//! locks, orderings and steps as the code, over a one-key state), explored over every
//! interleaving loom allows:
//!
//! * **commit publish vs snapshot registration** (`keyspace/mod.rs` `apply`,
//!   `keyspace/snapshot.rs`): the writer reads the open snapshot LSNs, writes the new version,
//!   prunes the versions no open snapshot can see and publishes the LSN, all under the registry
//!   mutex; a reader registers at the published LSN under the same mutex. Property: a reader
//!   always finds exactly the version of its LSN. A variant that reads the open snapshots before
//!   taking the mutex must fail (the model has teeth).
//! * **group-commit hand-off** (`wal/mod.rs` `wait_durable`): committers append and wait; the
//!   first waiter leads one sync outside the lock while others wait on the condition variable.
//!   Properties: no deadlock (loom reports one when every thread is blocked); a waiter returns
//!   `Ok` only once its frame is on disk; a failed sync wakes every waiter with an error.
//! * **a snapshot's point read through the index** (`keyspace/mod.rs` `apply`, `snapshot.rs`
//!   `Snapshot::get_into`): a commit changes its index shards and publishes its LSN before it
//!   releases them; a reader takes the index's answer only if, under the shard's read lock, the
//!   published LSN is still its snapshot's. Property: such an answer is always the snapshot's
//!   value. A variant that publishes after releasing the shards must fail.
//!
//! Not part of `cargo test`. Run:
//! `RUSTFLAGS="--cfg loom" cargo test -p emdb-core --test loom_models --release`
#![expect(unexpected_cfgs, reason = "`loom` is set by RUSTFLAGS when running these models")]
#![cfg(loom)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use loom::sync::{Arc, Condvar, Mutex, RwLock};
use loom::thread;

/// Explores every interleaving of `f` (no preemption bound: the models are small enough) and
/// prints how many it ran.
fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = std::sync::Arc::clone(&runs);
    loom::model::Builder::new().check(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    eprintln!("loom {name}: {} interleavings", runs.load(std::sync::atomic::Ordering::Relaxed));
}

// ---------------------------------------------------------------------------------------------
// Commit publish vs snapshot registration.

/// One key's memtable chain: `(lsn, value)` versions, oldest first; commit `n` writes value `n`.
struct Keyspace {
    /// The snapshot registry: the LSNs of open snapshots.
    registry: Mutex<Vec<u64>>,
    committed: AtomicU64,
    versions: Mutex<Vec<(u64, u64)>>,
    /// Take the open snapshot LSNs before the registry mutex (the bug the model must catch).
    racy: bool,
}

impl Keyspace {
    fn new(racy: bool) -> Self {
        Keyspace {
            registry: Mutex::new(Vec::new()),
            committed: AtomicU64::new(0),
            versions: Mutex::new(vec![(0, 0)]),
            racy,
        }
    }

    fn commit(&self, lsn: u64) {
        let early = self.racy.then(|| self.registry.lock().unwrap().clone());
        let registry = self.registry.lock().unwrap();
        let open = early.unwrap_or_else(|| registry.clone());
        let mut versions = self.versions.lock().unwrap();
        versions.push((lsn, lsn));
        // Keep the newest version, and each older one that some open snapshot sees (the newest
        // version at or below the snapshot's LSN): `Chain::prune`.
        let all = std::mem::take(&mut *versions);
        for (i, v) in all.iter().enumerate() {
            let next = all.get(i + 1).map(|n| n.0);
            let seen = open.iter().any(|&s| s >= v.0 && next.is_none_or(|n| s < n));
            if next.is_none() || seen {
                versions.push(*v);
            }
        }
        drop(versions);
        self.committed.store(lsn, Ordering::Release);
        drop(registry);
    }

    /// Registers a snapshot, reads the key at it, releases it; returns what it read.
    fn read(&self) -> (u64, Option<u64>) {
        let lsn = {
            let mut registry = self.registry.lock().unwrap();
            let lsn = self.committed.load(Ordering::Acquire);
            registry.push(lsn);
            lsn
        };
        let seen = self.versions.lock().unwrap().iter().rev().find(|v| v.0 <= lsn).map(|v| v.1);
        let mut registry = self.registry.lock().unwrap();
        let at = registry.iter().position(|&s| s == lsn).unwrap();
        registry.swap_remove(at);
        (lsn, seen)
    }
}

fn publish_model(racy: bool) {
    model(if racy { "publish (racy variant)" } else { "publish" }, move || {
        let ks = Arc::new(Keyspace::new(racy));
        let writer = {
            let ks = Arc::clone(&ks);
            thread::spawn(move || {
                ks.commit(1);
                ks.commit(2);
            })
        };
        let reader = {
            let ks = Arc::clone(&ks);
            thread::spawn(move || ks.read())
        };
        let (lsn, seen) = ks.read();
        assert_eq!(seen, Some(lsn), "a snapshot at {lsn} read {seen:?}");
        let (lsn, seen) = reader.join().unwrap();
        assert_eq!(seen, Some(lsn), "a snapshot at {lsn} read {seen:?}");
        writer.join().unwrap();
    });
}

#[test]
fn a_snapshot_always_reads_the_version_of_its_lsn() {
    publish_model(false);
}

#[test]
#[should_panic(expected = "a snapshot at")]
fn reading_the_open_snapshots_outside_the_registry_lock_loses_a_version() {
    publish_model(true);
}

// ---------------------------------------------------------------------------------------------
// Group-commit hand-off.

struct State {
    last_lsn: u64,
    synced_lsn: u64,
    syncing: bool,
    poisoned: bool,
}

struct Log {
    state: Mutex<State>,
    synced: Condvar,
    /// The frames written to the file (the write happens under the state lock, as in `append`).
    written: AtomicU64,
    /// What the disk holds durably: set by a sync to every frame written before it.
    on_disk: AtomicU64,
    /// Fail the first sync.
    fail_first: AtomicBool,
}

impl Log {
    fn new(fail_first: bool) -> Self {
        Log {
            state: Mutex::new(State {
                last_lsn: 0,
                synced_lsn: 0,
                syncing: false,
                poisoned: false,
            }),
            synced: Condvar::new(),
            written: AtomicU64::new(0),
            on_disk: AtomicU64::new(0),
            fail_first: AtomicBool::new(fail_first),
        }
    }

    fn append(&self) -> u64 {
        let mut st = self.state.lock().unwrap();
        st.last_lsn += 1;
        self.written.store(st.last_lsn, Ordering::SeqCst);
        st.last_lsn
    }

    fn sync_data(&self) -> Result<(), ()> {
        if self.fail_first.swap(false, Ordering::SeqCst) {
            return Err(());
        }
        self.on_disk.fetch_max(self.written.load(Ordering::SeqCst), Ordering::SeqCst);
        Ok(())
    }

    /// `Wal::wait_durable`, step for step.
    fn wait_durable(&self, lsn: u64) -> Result<(), ()> {
        let mut st = self.state.lock().unwrap();
        loop {
            if st.poisoned {
                return Err(());
            }
            if st.synced_lsn >= lsn {
                return Ok(());
            }
            if st.syncing {
                st = self.synced.wait(st).unwrap();
                continue;
            }
            st.syncing = true;
            let target = st.last_lsn;
            drop(st);
            let r = self.sync_data();
            st = self.state.lock().unwrap();
            st.syncing = false;
            if r.is_err() {
                st.poisoned = true;
                self.synced.notify_all();
                return Err(());
            }
            st.synced_lsn = st.synced_lsn.max(target);
            self.synced.notify_all();
        }
    }
}

fn group_commit_model(fail_first: bool) {
    model(if fail_first { "group commit, failed sync" } else { "group commit" }, move || {
        let log = Arc::new(Log::new(fail_first));
        let committers: Vec<_> = (0..2)
            .map(|_| {
                let log = Arc::clone(&log);
                thread::spawn(move || {
                    let lsn = log.append();
                    (lsn, log.wait_durable(lsn))
                })
            })
            .collect();
        let lsn = log.append();
        let mut results = vec![(lsn, log.wait_durable(lsn))];
        results.extend(committers.into_iter().map(|c| c.join().unwrap()));
        let mut errors = 0;
        for (lsn, r) in results {
            match r {
                Ok(()) => assert!(
                    log.on_disk.load(Ordering::SeqCst) >= lsn,
                    "commit {lsn} acknowledged durable before it reached the disk"
                ),
                Err(()) => errors += 1,
            }
        }
        assert_eq!(errors > 0, fail_first, "only a failed sync reports an error");
    });
}

#[test]
fn group_commit_acknowledges_only_synced_frames_and_never_deadlocks() {
    group_commit_model(false);
}

#[test]
fn a_failed_group_sync_wakes_every_waiter() {
    group_commit_model(true);
}

// ---------------------------------------------------------------------------------------------
// A snapshot's point read through the index.

/// Two index shards, each holding one key whose value is the LSN of the commit that wrote it
/// (every commit writes both), and the published LSN.
struct Index {
    shards: [RwLock<u64>; 2],
    committed: AtomicU64,
    /// Publish the LSN after releasing the shards (the bug the model must catch).
    racy: bool,
}

impl Index {
    /// `keyspace/mod.rs` `apply`: lock the touched shards, change them, publish the LSN, and
    /// only then release the shards.
    fn commit(&self, lsn: u64) {
        let mut a = self.shards[0].write().unwrap();
        let mut b = self.shards[1].write().unwrap();
        *a = lsn;
        *b = lsn;
        if self.racy {
            drop((a, b));
            self.committed.store(lsn, Ordering::Release);
        } else {
            self.committed.store(lsn, Ordering::Release);
            drop((a, b));
        }
    }

    /// `snapshot.rs` `Snapshot::get_into`: under the shard's read lock, the index answers only
    /// while the published LSN is still the snapshot's; `None` is the fall-back to the view.
    fn read(&self, shard: usize, snapshot: u64) -> Option<u64> {
        let value = self.shards[shard].read().unwrap();
        (self.committed.load(Ordering::Acquire) == snapshot).then_some(*value)
    }
}

fn snapshot_read_model(racy: bool) {
    model(if racy { "snapshot read (racy variant)" } else { "snapshot read" }, move || {
        let index = Arc::new(Index {
            shards: [RwLock::new(0), RwLock::new(0)],
            committed: AtomicU64::new(0),
            racy,
        });
        let writer = {
            let index = Arc::clone(&index);
            thread::spawn(move || {
                index.commit(1);
                index.commit(2);
            })
        };
        let snapshot = index.committed.load(Ordering::Acquire);
        for shard in [1, 0] {
            if let Some(value) = index.read(shard, snapshot) {
                assert_eq!(value, snapshot, "a snapshot at {snapshot} read commit {value}");
            }
        }
        writer.join().unwrap();
    });
}

#[test]
fn a_snapshot_point_read_takes_the_index_only_while_it_holds_the_snapshot() {
    snapshot_read_model(false);
}

#[test]
#[should_panic(expected = "a snapshot at")]
fn publishing_the_lsn_after_releasing_the_shards_lets_a_later_commit_through() {
    snapshot_read_model(true);
}
