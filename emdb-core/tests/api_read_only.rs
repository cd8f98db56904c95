//! `EmdbBuilder::read_only`: any number of read-only handles share a database, a writer and
//! readers exclude each other (the refusal names the writer's process), every write is
//! `Error::ReadOnly`, the log is replayed into memory, and no byte of any file changes, also on
//! a read-only mount.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};

use std::time::Duration;

use emdb_core::{Emdb, Error, FlushPolicy, Ttl};

fn read_only(path: &Path) -> emdb_core::Result<Emdb> {
    Emdb::builder().path(path).read_only(true).build()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The bytes of every file in `dir`, by name.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    v.sort();
    v
}

/// A database left as a crash leaves it: a checkpointed key, then two logged commits and a
/// torn frame after them.
///
/// The torn frame goes where the log's last nonzero byte ends. When the last frame itself ends
/// in a zero byte (its checksum's last byte is zero about once in 256 runs), that cut would
/// tear the second commit too: the fixture is then made again with an expiry a millisecond
/// later, which changes the checksum.
fn crashed(path: &Path) {
    for attempt in 0..16 {
        crashed_with(path, Duration::from_secs(3600) + Duration::from_millis(attempt));
        let whole = read_only(path).unwrap().get("expiring").unwrap().is_some();
        if whole {
            return;
        }
        for suffix in ["", ".wal", ".lock"] {
            let _ = std::fs::remove_file(with_suffix(path, suffix));
        }
    }
    panic!("every attempt tore the second logged commit");
}

fn crashed_with(path: &Path, ttl: Duration) {
    {
        let db = Emdb::open(path).unwrap();
        db.insert("checkpointed", "1").unwrap();
        db.namespace("users").unwrap().insert("ada", "admin").unwrap();
    }
    let db = Emdb::builder().path(path).flush_policy(FlushPolicy::Manual).build().unwrap();
    db.insert("logged", "2").unwrap();
    db.insert_with_ttl("expiring", "3", Ttl::After(ttl)).unwrap();
    db.flush().unwrap();
    let page = std::fs::read(path).unwrap();
    let mut log = std::fs::read(with_suffix(path, ".wal")).unwrap();
    drop(db);
    // A torn frame after the two: garbage where the next frame would start.
    let end = log.iter().rposition(|&b| b != 0).unwrap() + 1;
    log.truncate(end);
    log.extend_from_slice(&[0xAB; 40]);
    std::fs::write(path, page).unwrap();
    std::fs::write(with_suffix(path, ".wal"), log).unwrap();
}

#[test]
fn a_read_only_open_replays_the_log_in_memory_and_changes_no_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    crashed(&path);
    let before = snapshot(dir.path());
    {
        let a = read_only(&path).unwrap();
        let b = read_only(&path).unwrap();
        for db in [&a, &b] {
            assert_eq!(db.get("checkpointed").unwrap(), Some(b"1".to_vec()));
            assert_eq!(db.get("logged").unwrap(), Some(b"2".to_vec()));
            assert!(db.ttl("expiring").unwrap().is_some());
            assert_eq!(db.len().unwrap(), 3);
            assert_eq!(db.namespace("users").unwrap().get("ada").unwrap(), Some(b"admin".to_vec()));
        }
        a.check_integrity().unwrap();
        assert!(a.stats().unwrap().live_records >= 3);
        let snap = a.snapshot();
        assert_eq!(snap.iter().unwrap().count(), 3);
        a.flush().unwrap();
    }
    assert_eq!(snapshot(dir.path()), before, "a read-only session changed the files");
    // A writable open afterwards sees the same, and cuts the torn tail then.
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.len().unwrap(), 3);
}

#[test]
fn every_write_through_a_read_only_handle_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    crashed(&path);
    let before = snapshot(dir.path());
    let db = read_only(&path).unwrap();
    let users = db.namespace("users").unwrap();
    let refusals: Vec<(&str, emdb_core::Result<()>)> = vec![
        ("insert", db.insert("k", "v")),
        ("insert_with_ttl", db.insert_with_ttl("k", "v", Ttl::Never)),
        ("remove", db.remove("logged").map(drop)),
        ("clear", db.clear()),
        ("persist", db.persist("expiring").map(drop)),
        ("purge_expired", db.purge_expired().map(drop)),
        ("delete_group", db.delete_group("a").map(drop)),
        ("transaction", db.transaction(|tx| tx.insert("k", "v"))),
        ("namespace insert", users.insert("bob", "x")),
        ("new namespace", db.namespace("orders").map(drop)),
        ("focus insert", db.focus("cfg").insert("a", "b")),
        ("checkpoint", db.checkpoint()),
        ("compact", db.compact()),
        ("backup_to", db.backup_to(dir.path().join("copy"))),
    ];
    for (what, r) in refusals {
        assert!(matches!(r, Err(Error::ReadOnly)), "{what}: {r:?}");
    }
    assert_eq!(db.len().unwrap(), 3);
    drop((users, db));
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn readers_and_a_writer_exclude_each_other_and_the_refusal_names_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let writer = Emdb::open(&path).unwrap();
    writer.insert("k", "v").unwrap();
    match read_only(&path) {
        Err(Error::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
        other => panic!("a reader opened beside the writer: {:?}", other.map(drop)),
    }
    let msg = read_only(&path).err().unwrap().to_string();
    assert!(msg.contains(&format!("process {}", std::process::id())), "{msg}");
    drop(writer);
    assert!(!with_suffix(&path, ".lock").exists(), "the writer's record outlived it");
    let reader = read_only(&path).unwrap();
    match Emdb::open(&path) {
        Err(Error::Locked { pid: None, .. }) => {}
        other => panic!("a writer opened beside a reader: {:?}", other.map(drop)),
    }
    drop(reader);
    assert!(Emdb::open(&path).is_ok());
}

#[test]
fn a_read_only_open_of_a_missing_file_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent");
    let err = read_only(&path).err().unwrap();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{err}"
    );
    assert!(snapshot(dir.path()).is_empty());
}

/// Mounts a small tmpfs under `parent`; `None` where this process may not.
#[cfg(target_os = "linux")]
fn mount_tmpfs(parent: &Path) -> Option<PathBuf> {
    let at = parent.join("mnt");
    std::fs::create_dir(&at).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(&at)
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(at)
}

#[test]
#[cfg(target_os = "linux")]
fn a_database_on_a_read_only_mount_opens_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mnt) = mount_tmpfs(dir.path()) else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); .ci/run runs it as root");
        return;
    };
    let path = mnt.join("db");
    crashed(&path);
    let remounted =
        std::process::Command::new("mount").args(["-o", "remount,ro"]).arg(&mnt).status().unwrap();
    assert!(remounted.success());
    let r = std::panic::catch_unwind(|| {
        let db = read_only(&path).unwrap();
        assert_eq!(db.len().unwrap(), 3);
        db.check_integrity().unwrap();
        drop(db);
        let err = Emdb::open(&path).expect_err("a writable open on a read-only mount");
        assert!(matches!(err, Error::Io { .. }), "{err}");
    });
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    r.unwrap();
}
