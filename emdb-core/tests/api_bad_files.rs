//! Bad files at open: a directory, a file that is not emdb's, a read-only file. Each gives its
//! documented error and changes nothing on disk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb_core::{Emdb, Error};

#[test]
fn opening_a_directory_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = Emdb::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains(&dir.path().display().to_string()), "{err}");
}

#[test]
fn a_file_that_is_not_emdbs_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let text = "these are not the pages you are looking for\n".repeat(400);
    std::fs::write(&path, &text).unwrap();
    let err = Emdb::open(&path).unwrap_err();
    assert!(matches!(err, Error::NotAnEmdbFile { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn an_empty_existing_file_is_refused_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty");
    std::fs::write(&path, b"").unwrap();
    match Emdb::open(&path) {
        Err(err) => {
            eprintln!("{err}");
            assert!(matches!(err, Error::NotAnEmdbFile { .. } | Error::Corruption { .. }), "{err}");
        }
        Ok(db) => {
            // Treating a zero-length file as a new database is also acceptable: nothing was lost.
            db.insert("k", "v").unwrap();
            assert_eq!(db.get("k").unwrap(), Some(b"v".to_vec()));
        }
    }
}

#[test]
fn a_read_only_database_file_is_a_clear_error_and_its_data_survives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Emdb::open(&path).unwrap();
        db.insert("k", "v").unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms.clone()).unwrap();
    // Root ignores file permissions; only check the refusal where they apply.
    let writable = std::fs::OpenOptions::new().write(true).open(&path).is_ok();
    match Emdb::open(&path) {
        Err(err) => {
            eprintln!("{err}");
            assert!(!writable);
            assert!(matches!(err, Error::Io { .. }), "{err}");
            assert!(err.to_string().contains(&path.display().to_string()), "{err}");
        }
        Ok(db) => {
            assert!(writable, "a read-only file opened for writing");
            assert_eq!(db.get("k").unwrap(), Some(b"v".to_vec()));
        }
    }
    #[expect(clippy::permissions_set_readonly_false, reason = "the test's own file, restored")]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.get("k").unwrap(), Some(b"v".to_vec()));
    drop(db);
    assert!(!before.is_empty());
}
