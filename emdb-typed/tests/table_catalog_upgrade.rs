//! Catalog format 1 (type names, no shapes, emdb 0.1) opens, is rewritten in format 2 by the
//! first open that writes the catalog, and keeps working; an upgrade cut short at any byte of its
//! log frame reopens to a readable table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use emdb_core::{Emdb, Error};
use emdb_typed::{Codec, Json, Postcard, Table, key, write_header};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UserV2 {
    id: u64,
    name: String,
    #[serde(default)]
    tier: u8,
}

/// A format-1 catalog entry as emdb 0.1 wrote it.
fn legacy_entry(codec: &str, version: u8) -> Vec<u8> {
    let mut out = vec![1];
    for text in ["u64", "app::User", codec] {
        out.push(u8::try_from(text.len()).unwrap());
        out.extend_from_slice(text.as_bytes());
    }
    out.push(version);
    out
}

/// Writes what emdb 0.1 left: the format-1 catalog entry and `count` rows of version 1.
fn write_legacy_table(db: &Emdb, count: u64) {
    db.namespace("emdb.tables").unwrap().insert("users", legacy_entry("postcard", 1)).unwrap();
    let rows = db.namespace("emdb.table.users").unwrap();
    for id in 0..count {
        let mut value = Vec::new();
        write_header(Postcard::ID, 1, &mut value);
        Postcard::encode_into(&User { id, name: format!("user {id}") }, &mut value).unwrap();
        rows.insert(key::encode(&id).unwrap(), value).unwrap();
    }
}

fn catalog_format(db: &Emdb) -> u8 {
    db.namespace("emdb.tables").unwrap().get("users").unwrap().unwrap()[0]
}

fn assert_rows_read(db: &Emdb, count: u64) {
    let users = Table::<u64, User>::open(db, "users").unwrap();
    for id in 0..count {
        assert_eq!(users.get(&id).unwrap(), Some(User { id, name: format!("user {id}") }));
    }
}

#[test]
fn an_old_format_catalog_opens_is_rewritten_in_format_2_and_keeps_working() {
    let db = Emdb::open_in_memory();
    write_legacy_table(&db, 3);
    assert_eq!(catalog_format(&db), 1);
    assert_rows_read(&db, 3);
    assert_eq!(catalog_format(&db), 2, "the first open records the shapes");
    // The recorded shape is now checked, and the table evolves from it.
    let err = Table::<u64, UserV2>::open(&db, "users").unwrap_err();
    assert!(matches!(err, Error::SchemaChanged { version: 1, .. }), "{err}");
    let v2 = Table::<u64, UserV2>::options("users").version(2).open(&db).unwrap();
    assert_eq!(v2.get(&2).unwrap(), Some(UserV2 { id: 2, name: "user 2".into(), tier: 0 }));
}

#[test]
fn an_old_format_catalog_of_another_codec_is_a_mismatch_and_stays_as_it_was() {
    let db = Emdb::open_in_memory();
    db.namespace("emdb.tables").unwrap().insert("users", legacy_entry("json", 1)).unwrap();
    let err = Table::<u64, User>::open(&db, "users").unwrap_err();
    assert!(matches!(err, Error::TableTypeMismatch { .. }), "{err}");
    assert_eq!(catalog_format(&db), 1);
    Table::<u64, User, Json>::open_with(&db, "users").unwrap();
    assert_eq!(catalog_format(&db), 2);
}

#[test]
fn a_new_version_over_an_old_format_catalog_needs_an_upgrade_from_the_unrecorded_version() {
    let db = Emdb::open_in_memory();
    write_legacy_table(&db, 1);
    // The program declares version 2 right away: version 1's shape was never recorded.
    let before = db.namespace("emdb.tables").unwrap().get("users").unwrap();
    let err = Table::<u64, UserV2>::options("users").version(2).open(&db).unwrap_err();
    match &err {
        Error::SchemaChanged { version: 1, changes, action, .. } => {
            assert!(changes[0].contains("shape of version 1 is not recorded"), "{err}");
            assert!(action.contains("register an upgrade from version 1"), "{err}");
        }
        other => panic!("expected SchemaChanged, got {other}"),
    }
    assert_eq!(db.namespace("emdb.tables").unwrap().get("users").unwrap(), before);
    let v2 = Table::<u64, UserV2>::options("users")
        .version(2)
        .with_upgrade(1, |old: User| UserV2 { id: old.id, name: old.name, tier: 1 })
        .open(&db)
        .unwrap();
    assert_eq!(v2.get(&0).unwrap().unwrap().tier, 1);
}

const CHILD_ENV: &str = "EMDB_CATALOG_UPGRADE_CHILD";

/// Run by `an_upgrade_cut_short_at_any_byte_reopens_to_a_readable_table` as a child process:
/// opens the table (which rewrites the catalog in one commit) and exits without closing the
/// database, so the commit is in the log and nowhere else.
#[test]
#[ignore = "a child process of another test"]
fn catalog_upgrade_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let db = Emdb::open(&path).unwrap();
    Table::<u64, User>::open(&db, "users").unwrap();
    assert_eq!(catalog_format(&db), 2);
    std::process::exit(0);
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    out.sort();
    out
}

/// Copies every file of `from` into `to`, with the log cut to `log_len` bytes.
fn copy_with_log(from: &Path, to: &Path, log_len: usize, garbage: bool) {
    std::fs::create_dir_all(to).unwrap();
    for file in files(from) {
        let name = file.file_name().unwrap().to_owned();
        let mut bytes = std::fs::read(&file).unwrap();
        if name.to_string_lossy().ends_with(".wal") {
            let full = bytes.len();
            bytes.truncate(log_len);
            if garbage {
                bytes.resize(full, 0xa5);
            }
        }
        if !name.to_string_lossy().ends_with(".lock") {
            std::fs::write(to.join(name), bytes).unwrap();
        }
    }
}

#[test]
fn an_upgrade_cut_short_at_any_byte_reopens_to_a_readable_table() {
    // Hundreds of reopens, each syncing its files: in memory where the system has a tmpfs.
    let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap();
    let original = dir.path().join("original");
    std::fs::create_dir_all(&original).unwrap();
    let path = original.join("db");
    {
        let db = Emdb::open(&path).unwrap();
        write_legacy_table(&db, 20);
        db.checkpoint().unwrap();
    }
    let log_path = PathBuf::from(format!("{}.wal", path.display()));
    let before = std::fs::read(&log_path).unwrap_or_default();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "catalog_upgrade_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .status()
        .unwrap();
    assert!(status.success());
    // The log is preallocated with zeros: the upgrade's frame runs from the first byte that
    // changed to the last byte that is not zero.
    let after = std::fs::read(&log_path).unwrap();
    let first = (0..after.len()).find(|&i| before.get(i) != after.get(i)).unwrap();
    let last = after.iter().rposition(|&b| b != 0).unwrap();
    assert!(last - first > 16, "the upgrade was logged (bytes {first}..={last} changed)");

    let mut upgraded = 0;
    let mut cut = 0;
    // Every cut near the frame's ends (its header, its checksum), every 16th in between, and
    // the whole log: the frame may end in zero bytes (its checksum's last byte is zero once in
    // 256 runs), which the last non-zero byte leaves out.
    let mut cuts: Vec<usize> =
        (first..=last + 1).filter(|&i| i < first + 24 || i + 24 > last || i % 16 == 0).collect();
    cuts.push(after.len());
    for len in cuts {
        for garbage in [false, true] {
            let copy = dir.path().join(format!("cut-{len}-{garbage}"));
            copy_with_log(&original, &copy, len, garbage);
            let db = Emdb::open(copy.join("db")).unwrap();
            if catalog_format(&db) == 2 {
                upgraded += 1;
            } else {
                cut += 1;
            }
            assert_rows_read(&db, 20);
            assert_eq!(catalog_format(&db), 2);
            drop(db);
            std::fs::remove_dir_all(&copy).unwrap();
        }
    }
    assert!(upgraded >= 1, "the whole log keeps the upgrade");
    assert!(cut >= 1, "a cut log loses it and the open redoes it");
}
