//! The same struct compiled into two binaries opens one table: this test binary writes rows with
//! its `User`, and the `admin_tool` example, another program with its own `User`, reads them and
//! adds one, which this binary reads back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use emdb::{Emdb, Record};
use serde::{Deserialize, Serialize};

mod shop {
    use serde::{Deserialize, Serialize};

    /// The shop's `User`.
    #[derive(Debug, PartialEq, Serialize, Deserialize, emdb::Record)]
    #[emdb(table = "users")]
    pub(crate) struct User {
        #[emdb(key)]
        pub(crate) id: u64,
        pub(crate) name: String,
    }
}

/// A struct with the same name and another shape, to show what the other binary refuses.
#[derive(Serialize, Deserialize, Record)]
#[emdb(table = "users")]
struct User {
    #[emdb(key)]
    id: u64,
    email: String,
}

/// The `admin_tool` example next to this test binary, built first if `cargo test` did not
/// build the examples (as with `--test`).
fn admin_tool() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let tool =
        profile_dir.join("examples").join(format!("admin_tool{}", std::env::consts::EXE_SUFFIX));
    if !tool.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", "admin_tool"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success());
    }
    tool
}

#[test]
fn a_table_written_by_one_binary_is_read_and_extended_by_another() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.emdb");
    {
        let db = Emdb::open(&path).unwrap();
        let users = shop::User::table(&db).unwrap();
        users.put(&shop::User { id: 1, name: "ada".into() }).unwrap();
        users.put(&shop::User { id: 2, name: "bob".into() }).unwrap();
    }
    let output = Command::new(admin_tool()).arg(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout, "1: ada\n2: bob\nadded 3\n");

    let db = Emdb::open(&path).unwrap();
    let users = shop::User::table(&db).unwrap();
    assert_eq!(users.get(&3).unwrap().unwrap().name, "added by admin_tool");
    // A type of another shape under the same table and version is refused.
    assert!(matches!(User::table(&db), Err(emdb::Error::SchemaChanged { .. })));
}
