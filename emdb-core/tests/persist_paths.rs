//! Databases under paths that trip up file APIs: non-ASCII names and paths longer than
//! Windows' classic 260-character limit, through open, compaction, backup and reopen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::Path;

use emdb_core::Emdb;

fn round_trip(dir: &Path, name: &str) {
    let path = dir.join(name);
    {
        let db = Emdb::open(&path).unwrap();
        for i in 0..300u32 {
            db.insert(i.to_be_bytes(), vec![3u8; 400]).unwrap();
        }
        for i in 0..200u32 {
            db.remove(i.to_be_bytes()).unwrap();
        }
        db.compact().unwrap();
        db.backup_to(dir.join(format!("{name}.backup"))).unwrap();
        db.insert("after", "compaction").unwrap();
    }
    let db = Emdb::open(&path).unwrap();
    assert_eq!(db.len().unwrap(), 101);
    assert_eq!(db.get("after").unwrap(), Some(b"compaction".to_vec()));
    let copy = Emdb::open(dir.join(format!("{name}.backup"))).unwrap();
    assert_eq!(copy.len().unwrap(), 100);
}

#[test]
fn a_database_under_a_non_ascii_path_works() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("données-データ-Ω");
    std::fs::create_dir(&sub).unwrap();
    round_trip(&sub, "bâse-数据.emdb");
}

#[test]
fn a_database_under_a_path_longer_than_260_characters_works() {
    let dir = tempfile::tempdir().unwrap();
    let mut deep = dir.path().to_path_buf();
    while deep.as_os_str().len() < 300 {
        deep.push("a-directory-name-of-forty-characters-xx");
    }
    std::fs::create_dir_all(&deep).unwrap();
    round_trip(&deep, "long-path.emdb");
    assert!(deep.join("long-path.emdb").as_os_str().len() > 260);
}
