//! Helpers shared by the end-to-end tests: running the built `emdb` binary and making
//! databases to run it on.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use assert_cmd::Command;
use emdb_core::{Emdb, Ttl};

/// The built `emdb` binary, ready for arguments.
pub fn emdb() -> Command {
    Command::cargo_bin("emdb").expect("the emdb binary is built for the tests")
}

/// Runs the tests of one test binary one at a time.
///
/// A child process started by one test (`emdb ...`) gets a copy of every descriptor of the test
/// process until it runs the binary, the descriptors that hold other tests' database locks
/// included (`flock` locks belong to the open file, which the copy keeps open): a database
/// another test has just closed would still be locked for that moment. One test at a time, no
/// other test has a database open while a child starts.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A temporary directory that holds [`serial`] while it lives.
pub struct Scratch {
    dir: tempfile::TempDir,
    _serial: MutexGuard<'static, ()>,
}

impl Scratch {
    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A temporary directory (holding [`serial`]) and a database path in it.
pub fn temp_db() -> (Scratch, PathBuf) {
    let serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.emdb");
    (Scratch { dir, _serial: serial }, path)
}

/// A database with entries in the default namespace, a group, a namespace with an expiring
/// entry, and a binary key and value; closed when this returns.
pub fn sample_db(path: &Path) {
    let db = Emdb::open(path).unwrap();
    db.insert("user:1", "alice").unwrap();
    db.insert("user:2", "bob").unwrap();
    db.insert("config", "v2").unwrap();
    let product = db.focus("product");
    product.insert("phone.price", "99").unwrap();
    product.insert("phone.name", "Phone").unwrap();
    product.insert("laptop.price", "1299").unwrap();
    let sessions = db.namespace("sessions").unwrap();
    sessions.insert_with_ttl("s1", "token", Ttl::After(Duration::from_secs(3600))).unwrap();
    sessions.insert([0u8, 1, 0xff], [0xde, 0xad, 0xbe, 0xef]).unwrap();
    db.namespace("empty").unwrap();
}

/// The standard output of a successful run, as text.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

/// Every file in `dir` with its bytes, sorted by name: to show a command changed nothing.
pub fn snapshot_dir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}
