//! Damaged media: every bit of both meta pages, every truncation of the log, byte flips in the
//! log and in data pages. Allowed: a clear error, a torn log tail cut back to a whole frame (a
//! prefix state), or no visible change. Never a panic or a value the model does not have.

use std::path::{Path, PathBuf};

use super::crash_tests::{DB, State, TXNS, open, read_state, run_txns, state_after};
use crate::error::Error;
use crate::io::fault::{CrashMode, FaultStorage};

fn wal_path() -> PathBuf {
    PathBuf::from(format!("{DB}.wal"))
}

/// A database with two checkpoints (both meta pages in use) and the last transactions only in
/// the log. Returns the storage and how many transactions were checkpointed.
fn base() -> (FaultStorage, usize) {
    let fs = FaultStorage::new(3);
    let db = open(&fs).unwrap_or_else(|e| panic!("{e}"));
    let (_, acked) = run_txns(&db);
    assert_eq!(acked, TXNS);
    db.checkpoint().unwrap_or_else(|e| panic!("{e}"));
    std::mem::forget(db);
    (fs.crash(0, CrashMode::KeepAll), TXNS)
}

/// Adds `extra` more transactions that stay in the log.
fn with_log_tail(fs: &FaultStorage, extra: usize) {
    let db = open(fs).unwrap_or_else(|e| panic!("{e}"));
    for t in 0..extra {
        let key = format!("tail{t}");
        db.insert(&key, [u8::try_from(t).unwrap_or(0); 40]).unwrap_or_else(|e| panic!("{e}"));
    }
    std::mem::forget(db);
}

fn tail_state(extra: usize) -> State {
    let mut s = state_after(TXNS);
    for t in 0..extra {
        s.insert(format!("tail{t}").into_bytes(), vec![u8::try_from(t).unwrap_or(0); 40]);
    }
    s
}

/// Opens a copy of `fs` with `path` replaced by `bytes`; returns the state read, or the error.
fn open_damaged(fs: &FaultStorage, path: &Path, bytes: Vec<u8>) -> crate::Result<State> {
    let copy = fs.crash(0, CrashMode::KeepAll);
    copy.set_file_bytes(path, bytes);
    let db = open(&copy)?;
    db.check_integrity()?;
    read_state(&db)
}

fn is_clear(e: &Error) -> bool {
    matches!(e, Error::Corruption { .. } | Error::NotAnEmdbFile { .. })
}

#[test]
fn flipping_any_bit_of_either_meta_page_is_a_clear_error_or_the_newest_state() {
    let (fs, _) = base();
    let good = fs.file_bytes(Path::new(DB)).unwrap_or_default();
    let want = state_after(TXNS);
    let (mut errors, mut same) = (0, 0);
    for bit in 0..2 * 4096 * 8 {
        let mut bytes = good.clone();
        if let Some(b) = bytes.get_mut(bit / 8) {
            *b ^= 1 << (bit % 8);
        }
        match open_damaged(&fs, Path::new(DB), bytes) {
            Ok(state) => {
                assert_eq!(state, want, "bit {bit}: a state other than the newest");
                same += 1;
            }
            Err(e) => {
                assert!(is_clear(&e), "bit {bit}: unexpected error {e}");
                errors += 1;
            }
        }
    }
    eprintln!(
        "meta pages: {} bit flips, {errors} errors, {same} opened the other slot",
        errors + same
    );
    assert!(errors > 0 && same > 0, "{errors} errors, {same} opens of the older slot");
}

#[test]
fn truncating_the_log_anywhere_leaves_a_prefix_of_its_commits() {
    let (fs, _) = base();
    with_log_tail(&fs, 12);
    let log = fs.file_bytes(&wal_path()).unwrap_or_default();
    let prefixes: Vec<State> = (0..=12).map(tail_state).collect();
    let mut found = std::collections::BTreeSet::new();
    for len in 0..=log.len() {
        let state = open_damaged(&fs, &wal_path(), log.get(..len).unwrap_or_default().to_vec())
            .unwrap_or_else(|e| panic!("truncated at {len}: {e}"));
        let n = prefixes.iter().position(|p| *p == state);
        let Some(n) = n else { panic!("truncated at {len}: not a prefix state") };
        found.insert(n);
    }
    eprintln!("log truncations: {} lengths, {} distinct prefixes", log.len() + 1, found.len());
    assert_eq!(found.len(), 13, "every frame boundary gives its own prefix");
}

#[test]
fn byte_flips_in_the_log_are_a_clear_error_or_a_prefix() {
    let (fs, _) = base();
    with_log_tail(&fs, 12);
    let log = fs.file_bytes(&wal_path()).unwrap_or_default();
    let prefixes: Vec<State> = (0..=12).map(tail_state).collect();
    let mut errors = 0;
    for at in 0..log.len() {
        let mut bytes = log.clone();
        if let Some(b) = bytes.get_mut(at) {
            *b ^= 0x5a;
        }
        match open_damaged(&fs, &wal_path(), bytes) {
            Ok(state) => {
                assert!(prefixes.contains(&state), "flip at {at}: not a prefix state");
            }
            Err(e) => {
                assert!(is_clear(&e), "flip at {at}: unexpected error {e}");
                errors += 1;
            }
        }
    }
    eprintln!("log byte flips: {} bytes, {errors} errors, the rest a prefix", log.len());
}

#[test]
fn random_flips_in_data_pages_never_give_a_wrong_value() {
    let (fs, _) = base();
    let good = fs.file_bytes(Path::new(DB)).unwrap_or_default();
    let want = state_after(TXNS);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let (mut clean, mut caught) = (0, 0);
    for _ in 0..10_000 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let data = good.len().saturating_sub(2 * 4096).max(1);
        let at = 2 * 4096 + usize::try_from(seed >> 33).unwrap_or(0) % data;
        let mut bytes = good.clone();
        if let Some(b) = bytes.get_mut(at) {
            *b ^= u8::try_from((seed >> 8) & 0xff).unwrap_or(1).max(1);
        }
        let copy = fs.crash(0, CrashMode::KeepAll);
        copy.set_file_bytes(Path::new(DB), bytes);
        let db = match open(&copy) {
            Ok(db) => db,
            Err(e) => {
                assert!(is_clear(&e), "flip at {at}: unexpected error {e}");
                caught += 1;
                continue;
            }
        };
        if let Err(e) = db.check_integrity() {
            assert!(is_clear(&e), "flip at {at}: unexpected error from the check {e}");
        }
        for (k, v) in &want {
            match db.get(k) {
                Ok(got) => assert_eq!(got.as_ref(), Some(v), "flip at {at}: wrong value"),
                Err(e) => assert!(is_clear(&e), "flip at {at}: unexpected error {e}"),
            }
        }
        for item in db.iter().into_iter().flatten() {
            match item {
                Ok((k, v)) => assert_eq!(want.get(&k), Some(&v), "flip at {at}: wrong entry"),
                Err(e) => assert!(is_clear(&e), "flip at {at}: unexpected error {e}"),
            }
        }
        clean += 1;
    }
    eprintln!(
        "data page flips: {} random, {caught} caught at open, {clean} opened",
        caught + clean
    );
    assert!(caught > 0 && clean > 0, "{caught} caught at open, {clean} opened");
}
