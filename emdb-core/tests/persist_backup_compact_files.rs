//! What `backup_to` and `compact` do to files around them: a backup never lands on one of the
//! database's own files or on a database another handle holds; both keep the file's mode (and
//! owner); and when the disk fills up, neither leaves its temporary file behind nor stops the
//! handle from writing.
// Modes, owners, symbolic links and tmpfs mounts are Unix notions.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use emdb_core::{Emdb, Error};

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn filled(path: &Path, n: u32, value_len: usize) -> Emdb {
    let db = Emdb::open(path).unwrap();
    for i in 0..n {
        db.insert(i.to_be_bytes(), vec![u8::try_from(i % 251).unwrap(); value_len]).unwrap();
    }
    db
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn a_backup_onto_any_of_the_databases_own_files_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = filled(&path, 50, 300);
    db.checkpoint().unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink("db", &link).unwrap();
    let hard = dir.path().join("hard-log");
    std::fs::hard_link(with_suffix(&path, ".wal"), &hard).unwrap();
    let page = std::fs::read(&path).unwrap();
    let cases: [(PathBuf, &str); 6] = [
        (path.clone(), "its own path"),
        (link, "a link to its page file"),
        (dir.path().join("sub/../db"), "another spelling of its path"),
        (with_suffix(&path, ".wal"), "its log"),
        (hard, "a hard link to its log"),
        // Removed when the database closes: a backup there would go with it.
        (with_suffix(&path, ".lock"), "the record of its writer"),
    ];
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    for (dest, what) in &cases {
        match db.backup_to(dest) {
            Err(Error::BackupOntoItself { .. }) => {}
            other => panic!("{what}: expected BackupOntoItself, got {other:?}"),
        }
    }
    // A database at `x.tmp`: a backup to `x` would write its temporary file there.
    let tmp_named = dir.path().join("x.tmp");
    let other = filled(&tmp_named, 3, 10);
    match other.backup_to(dir.path().join("x")) {
        Err(Error::BackupOntoItself { .. }) => {}
        r => panic!("a destination whose .tmp is the page file: got {r:?}"),
    }
    let logged = filled(&dir.path().join("y.wal"), 3, 10);
    match logged.backup_to(dir.path().join("y")) {
        Err(Error::BackupOntoItself { .. }) => {}
        r => panic!("a destination whose .wal is the page file: got {r:?}"),
    }
    drop((other, logged));
    assert_eq!(std::fs::read(&path).unwrap(), page, "the page file is untouched");
    db.insert("still", "writable").unwrap();
    drop(db);
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.len().unwrap(), 51);
}

#[test]
fn a_backup_onto_a_database_another_handle_holds_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let src = filled(&a, 10, 10);
    let held = filled(&b, 20, 10);
    match src.backup_to(&b) {
        Err(Error::Locked { path, .. }) => assert_eq!(path, std::fs::canonicalize(&b).unwrap()),
        other => panic!("expected Locked, got {other:?}"),
    }
    held.insert("more", "1").unwrap();
    drop(held);
    assert_eq!(Emdb::open(&b).unwrap().len().unwrap(), 21);
    // Once it is closed, the backup replaces it.
    src.backup_to(&b).unwrap();
    assert_eq!(Emdb::open(&b).unwrap().len().unwrap(), 10);
}

#[test]
fn compaction_and_backup_keep_the_files_mode_and_owner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = filled(&path, 100, 500);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Only a privileged process can give a file away; as one, check the owner is kept too.
    let root = std::os::unix::fs::chown(&path, Some(4321), Some(4321)).is_ok();
    for i in 0..80u32 {
        db.remove(i.to_be_bytes()).unwrap();
    }
    db.compact().unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "compaction made the file readable");
    if root {
        assert_eq!((meta.uid(), meta.gid()), (4321, 4321), "compaction changed the owner");
    } else {
        eprintln!("not privileged: the owner after compaction is not checked");
    }
    let dest = dir.path().join("copy");
    db.backup_to(&dest).unwrap();
    let copied = std::fs::metadata(&dest).unwrap();
    assert_eq!(copied.permissions().mode() & 0o777, 0o600, "the backup is readable by others");
    if root {
        assert_eq!((copied.uid(), copied.gid()), (4321, 4321));
    }
    assert_eq!(Emdb::open(&dest).unwrap().len().unwrap(), 20);
}

/// A tmpfs of `size` mounted at a new directory under `parent`, unmounted when dropped; `None`
/// where this process may not mount one.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(parent: &Path, size: &str) -> Option<SmallDisk> {
        let at = parent.join("small");
        std::fs::create_dir(&at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk(at))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_compaction_and_backup_without_leftovers_and_writes_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(dir.path(), "4m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); .ci/run runs it as root");
        return;
    };
    let path = disk.0.join("db");
    // About 2.4 MiB of values: a second copy does not fit in 4 MiB (nor does the log of them
    // beside the page file, so the log is checkpointed often).
    let db = Emdb::builder().path(&path).checkpoint_wal_bytes(256 << 10).build().unwrap();
    for i in 0..2_400u32 {
        db.insert(i.to_be_bytes(), vec![u8::try_from(i % 251).unwrap(); 1_000]).unwrap();
    }
    db.checkpoint().unwrap();
    let before = names(&disk.0);
    assert_eq!(before, ["db", "db.lock", "db.wal"]);

    let err = db.compact().unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull),
        "{err}"
    );
    assert_eq!(names(&disk.0), before, "compaction left its temporary file");

    let err = db.backup_to(disk.0.join("copy")).unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull),
        "{err}"
    );
    assert_eq!(names(&disk.0), before, "the backup left its temporary file");

    // The handle is not poisoned, and the space the failures took is back.
    db.insert("after", vec![9u8; 1_000]).unwrap();
    db.flush().unwrap();
    db.checkpoint().unwrap();
    drop(db);
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.len().unwrap(), 2_401);
    drop(db);
    drop(disk);
}
