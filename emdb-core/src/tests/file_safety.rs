//! Power loss at every I/O of a workload that crosses every place the page file and its log
//! meet: the creation of the file, commits after it, a clean close (which records that the log
//! is empty), a reopen whose first commit records the log in use again, a `backup_to` and more
//! commits. Each crash is taken in every damage mode; the reopened database must hold a prefix
//! of the attempted commits with every acknowledged one; with its log deleted it must either
//! open to that very state (nothing was pending) or refuse with `LogMissing`, never lose an
//! acknowledged commit silently; a read-only open of the crash state reads exactly what the
//! writable open then finds and changes no byte of any file; and a backup that exists after the
//! crash opens to exactly the commits made before it.

use std::path::Path;
use std::sync::Arc;

use crate::db::Emdb;
use crate::error::Error;
use crate::io::fault::{CrashMode, FaultStorage};
use crate::io::{Storage, sidecar};
use crate::keyspace::FlushPolicy;
use crate::test_depth;

const DB: &str = "/db/data";
const COPY: &str = "/db/copy";
/// Commits before the clean close, after the reopen before the backup, and after the backup.
const FIRST: u32 = 4;
const SECOND: u32 = 4;
const THIRD: u32 = 3;

fn open_read_only(fs: &FaultStorage, path: &str) -> crate::Result<Emdb> {
    Emdb::builder().path(path).read_only(true).build_on(Arc::new(fs.clone()))
}

/// The bytes of every file of the database at `DB` (`None` for a missing one).
fn files(fs: &FaultStorage) -> Vec<Option<Vec<u8>>> {
    [DB.to_owned(), format!("{DB}.wal"), format!("{DB}.lock")]
        .iter()
        .map(|p| fs.file_bytes(Path::new(p)))
        .collect()
}

fn open(fs: &FaultStorage, path: &str) -> crate::Result<Emdb> {
    Emdb::builder()
        .path(path)
        .flush_policy(FlushPolicy::OnEachWrite)
        .checkpoint_wal_bytes(u64::MAX)
        .build_on(Arc::new(fs.clone()))
}

/// The keys in `db`, as commit numbers.
fn commits(db: &Emdb) -> crate::Result<Vec<u32>> {
    db.keys()?.map(|k| k.map(|k| u32::from_be_bytes(k.try_into().unwrap_or_default()))).collect()
}

/// Runs the workload until the first error. Returns the commits attempted and acknowledged,
/// and how many had been acknowledged when the backup was taken (if it returned `Ok`).
fn workload(fs: &FaultStorage) -> (u32, u32, Option<u32>) {
    let (mut attempted, mut acked) = (0u32, 0u32);
    let mut commit = |db: &Emdb| -> crate::Result<()> {
        attempted += 1;
        db.insert(attempted.to_be_bytes(), vec![7u8; 300])?;
        acked = attempted;
        Ok(())
    };
    let mut backed_up = None;
    let run = (|| -> crate::Result<()> {
        let db = open(fs, DB)?;
        for _ in 0..FIRST {
            commit(&db)?;
        }
        drop(db);
        let db = open(fs, DB)?;
        for _ in 0..SECOND {
            commit(&db)?;
        }
        db.backup_to(Path::new(COPY))?;
        backed_up = Some(FIRST + SECOND);
        for _ in 0..THIRD {
            commit(&db)?;
        }
        Ok(())
    })();
    let _ = run;
    (attempted, acked, backed_up)
}

#[test]
fn power_loss_anywhere_around_close_reopen_and_backup_keeps_the_log_bound_to_its_file() {
    let clean = FaultStorage::new(1);
    let (attempted, acked, _) = workload(&clean);
    assert_eq!((attempted, acked), (FIRST + SECOND + THIRD, FIRST + SECOND + THIRD));
    let total = clean.io_count();
    let (mut states, mut refused, mut copies) = (0u64, 0u64, 0u64);
    let mut read_only_states = 0u64;
    // Every I/O call in a full run, every 3rd in a short one.
    let stride = test_depth::stride(3);
    for n in (1..=total + 1).step_by(stride) {
        let fs = FaultStorage::new(n);
        fs.power_off_at(n);
        let (attempted, acked, backed_up) = workload(&fs);
        let modes = CrashMode::ALL.iter().chain(&[CrashMode::Random, CrashMode::Random]);
        for (i, mode) in modes.enumerate() {
            let crashed = fs.crash(n * 7 + i as u64, *mode);
            let what = format!("power off at I/O {n}, {mode:?}");
            let before = files(&crashed);
            let read_only = open_read_only(&crashed, DB).map(|db| commits(&db));
            assert_eq!(files(&crashed), before, "{what}: a read-only open changed a file");
            let with_log = match open(&crashed, DB) {
                Ok(db) => {
                    let got = commits(&db).unwrap_or_else(|e| panic!("{what}: {e}"));
                    let n_got = u32::try_from(got.len()).unwrap_or(u32::MAX);
                    assert_eq!(got, (1..=n_got).collect::<Vec<_>>(), "{what}: not a prefix");
                    assert!(
                        n_got >= acked && n_got <= attempted,
                        "{what}: {n_got} of {acked}..={attempted}"
                    );
                    // A damaged file or a disagreeing index is an error.
                    db.check_integrity().unwrap_or_else(|e| panic!("{what}: {e}"));
                    match read_only {
                        Ok(Ok(seen)) => {
                            assert_eq!(seen, got, "{what}: read-only saw another state");
                            read_only_states += 1;
                        }
                        // No page file yet: a read-only open creates none.
                        Err(Error::Io { .. }) if before[0].is_none() => {}
                        other => panic!("{what}: read-only open: {other:?}"),
                    }
                    Some(got)
                }
                // Power lost before the file was whole: nothing was acknowledged.
                Err(Error::Io { .. }) if acked == 0 => None,
                Err(e) => panic!("{what}: {e}"),
            };
            states += 1;
            // The same crash with the log deleted afterwards.
            let no_log = fs.crash(n * 7 + i as u64, *mode);
            let log = sidecar(Path::new(DB), ".wal");
            if no_log.exists(&log).unwrap_or(false) {
                no_log.remove(&log).unwrap_or(());
                match (open(&no_log, DB), &with_log) {
                    (Ok(db), Some(state)) => {
                        let got = commits(&db).unwrap_or_else(|e| panic!("{what}: {e}"));
                        assert_eq!(&got, state, "{what}: the log was deleted and commits vanished");
                    }
                    (Err(Error::LogMissing { .. }), _) => refused += 1,
                    (Ok(_) | Err(Error::Io { .. }), None) => {}
                    (Err(e), _) => panic!("{what}, log deleted: {e}"),
                }
            }
            // A backup that exists holds exactly the commits before it, and expects no log.
            if crashed.exists(Path::new(COPY)).unwrap_or(false)
                && let Some(at) = backed_up
            {
                let copy = open(&crashed, COPY).unwrap_or_else(|e| panic!("{what}: copy: {e}"));
                let got = commits(&copy).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(got, (1..=at).collect::<Vec<_>>(), "{what}: the backup");
                copies += 1;
            }
        }
    }
    eprintln!(
        "file safety sweep: {total} I/O calls, {states} crash states ({read_only_states} also \
         opened read-only), {refused} refused for a deleted log, {copies} backups opened"
    );
    assert!(read_only_states > 500 / stride as u64, "{read_only_states} read-only opens");
    assert!(states > 600 / stride as u64, "{states} crash states");
    assert!(refused > 50 / stride as u64, "a deleted log was refused only {refused} times");
    assert!(copies > 20 / stride as u64, "only {copies} backups survived to be checked");
}

fn small_log(fs: &FaultStorage) -> Emdb {
    Emdb::builder()
        .path(DB)
        .flush_policy(FlushPolicy::OnEachWrite)
        .checkpoint_wal_bytes(64 << 10)
        .build_on(Arc::new(fs.clone()))
        .unwrap_or_else(|e| panic!("open: {e}"))
}

#[test]
fn a_checkpoint_that_finds_the_disk_full_leaves_the_handle_usable_once_space_is_freed() {
    let fs = FaultStorage::new(5);
    let db = small_log(&fs);
    let value = vec![5u8; 2_000];
    for i in 0..20u32 {
        db.insert(i.to_be_bytes(), &value).unwrap_or_else(|e| panic!("{e}"));
    }
    db.checkpoint().unwrap_or_else(|e| panic!("{e}"));
    // Room for the log to grow past its threshold, not for the checkpoint that follows.
    fs.set_capacity(Some(fs.used_bytes() + (96 << 10)));
    let mut acked = 20u32;
    let refused = loop {
        match db.insert(acked.to_be_bytes(), &value) {
            Ok(()) => acked += 1,
            Err(e) => break e,
        }
        assert!(acked < 1_000, "the disk never filled");
    };
    assert!(refused.is_out_of_space(), "{refused}");
    assert!(acked > 40, "commits past the log threshold were refused: {acked}");
    let err = db.checkpoint().unwrap_err();
    assert!(err.is_out_of_space(), "{err}");
    // A transaction too large for the log is written by a checkpoint, which fails the same
    // way: nothing of it is visible, and its LSN is given back.
    let big: Vec<u32> = (10_000..10_040).collect();
    let err = db
        .transaction(|tx| {
            for k in &big {
                tx.insert(k.to_be_bytes(), &value)?;
            }
            Ok(())
        })
        .unwrap_err();
    assert!(err.is_out_of_space(), "{err}");
    assert_eq!(db.get(10_000u32.to_be_bytes()).unwrap_or_else(|e| panic!("{e}")), None);

    // Space is freed: the same handle goes on, and everything acknowledged is durable.
    fs.set_capacity(None);
    db.insert(acked.to_be_bytes(), &value).unwrap_or_else(|e| panic!("{e}"));
    acked += 1;
    db.checkpoint().unwrap_or_else(|e| panic!("{e}"));
    db.insert(acked.to_be_bytes(), &value).unwrap_or_else(|e| panic!("{e}"));
    acked += 1;
    let crashed = fs.crash(9, CrashMode::DropAll);
    drop(db);
    let db = small_log(&crashed);
    assert_eq!(commits(&db).unwrap_or_else(|e| panic!("{e}")), (0..acked).collect::<Vec<_>>());
    db.check_integrity().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_large_transaction_refused_for_want_of_space_leaves_no_gap_in_the_log() {
    let fs = FaultStorage::new(6);
    let db = small_log(&fs);
    let value = vec![6u8; 2_000];
    db.insert(0u32.to_be_bytes(), &value).unwrap_or_else(|e| panic!("{e}"));
    db.checkpoint().unwrap_or_else(|e| panic!("{e}"));
    // Room for the log to grow by its 64 KiB step, not for 80 KB of new pages.
    fs.set_capacity(Some(fs.used_bytes() + (72 << 10)));
    // 80 KB of writes: past the log threshold, so a checkpoint writes them, and it finds no
    // room for them.
    let err = db
        .transaction(|tx| {
            for k in 1_000..1_040u32 {
                tx.insert(k.to_be_bytes(), &value)?;
            }
            Ok(())
        })
        .unwrap_err();
    assert!(err.is_out_of_space(), "{err}");
    // The next commits are logged right after the last one: recovery replays them.
    db.insert(1u32.to_be_bytes(), &value).unwrap_or_else(|e| panic!("{e}"));
    db.insert(2u32.to_be_bytes(), &value).unwrap_or_else(|e| panic!("{e}"));
    let crashed = fs.crash(3, CrashMode::DropAll);
    drop(db);
    let db = small_log(&crashed);
    assert_eq!(commits(&db).unwrap_or_else(|e| panic!("{e}")), vec![0, 1, 2]);
}
