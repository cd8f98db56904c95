//! The meta page's count of namespace catalog entries (format 4): recorded by checkpoints and
//! compaction, trusted at open when it says there are none, checked against the tree when it
//! says there are some, and unknown in files of format 3 and before (which are looked up).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::Path;

use emdb_core::{Emdb, Error, FlushPolicy};

const PAGE: usize = 4096;
const VERSION: usize = 8;
const CRC: usize = 12;
const SEQUENCE: usize = 24;
const CATALOG: usize = 80;

fn manual(path: &Path) -> Emdb {
    Emdb::builder().path(path).flush_policy(FlushPolicy::Manual).build().unwrap()
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// The byte offset of the newest meta page (the one with the higher sequence).
fn newest_meta(bytes: &[u8]) -> usize {
    if u64_at(bytes, SEQUENCE) >= u64_at(bytes, PAGE + SEQUENCE) { 0 } else { PAGE }
}

/// The newest meta page's format version and catalog count.
fn recorded(path: &Path) -> (u32, u64) {
    let bytes = std::fs::read(path).unwrap();
    let at = newest_meta(&bytes);
    let version = u32::from_le_bytes(bytes[at + VERSION..at + VERSION + 4].try_into().unwrap());
    (version, u64_at(&bytes, at + CATALOG))
}

/// Rewrites both meta pages with `edit` and fixes their checksums.
fn edit_metas(path: &Path, edit: impl Fn(&mut [u8])) {
    let mut bytes = std::fs::read(path).unwrap();
    for base in [0, PAGE] {
        let page = &mut bytes[base..base + PAGE];
        edit(page);
        page[CRC..CRC + 4].copy_from_slice(&[0; 4]);
        let crc = crc32c::crc32c(page);
        page[CRC..CRC + 4].copy_from_slice(&crc.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

/// A closed database with `names` as named namespaces, one entry in each and one in the
/// default namespace.
fn closed(path: &Path, names: &[&str]) {
    let db = manual(path);
    db.insert("plain", "value").unwrap();
    for name in names {
        db.namespace(name).unwrap().insert("k", *name).unwrap();
    }
    db.checkpoint().unwrap();
}

fn assert_holds(db: &Emdb, names: &[&str]) {
    assert_eq!(db.get("plain").unwrap().as_deref(), Some(&b"value"[..]));
    let mut want: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    want.sort();
    assert_eq!(db.namespace_names(), want);
    for name in names {
        assert_eq!(db.namespace(name).unwrap().get("k").unwrap().as_deref(), Some(name.as_bytes()));
    }
}

#[test]
fn checkpoints_and_compaction_record_the_number_of_named_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    closed(&path, &[]);
    assert_eq!(recorded(&path), (5, 0));
    let db = manual(&path);
    assert_holds(&db, &[]);
    db.namespace("users").unwrap().insert("k", "users").unwrap();
    db.namespace("orders").unwrap().insert("k", "orders").unwrap();
    db.checkpoint().unwrap();
    assert_eq!(recorded(&path), (5, 2));
    db.compact().unwrap();
    assert_eq!(recorded(&path), (5, 2), "compaction copies the catalog and its count");
    drop(db);
    let db = manual(&path);
    assert_holds(&db, &["users", "orders"]);
    db.namespace("later").unwrap().insert("k", "later").unwrap();
    drop(db);
    assert_eq!(recorded(&path), (5, 3), "the closing checkpoint counts the new namespace");
    assert_holds(&manual(&path), &["users", "orders", "later"]);
}

#[test]
fn a_format_3_meta_page_without_the_count_has_its_catalog_looked_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    closed(&path, &["a", "b"]);
    // What format 3 wrote: version 3 and zero bytes where the count (and format 5's log
    // binding) now are.
    edit_metas(&path, |page| {
        page[VERSION..VERSION + 4].copy_from_slice(&3u32.to_le_bytes());
        page[CATALOG..CATALOG + 32].copy_from_slice(&[0; 32]);
    });
    assert_eq!(recorded(&path), (3, 0));
    let db = manual(&path);
    assert_holds(&db, &["a", "b"]);
    db.insert("more", "x").unwrap();
    db.checkpoint().unwrap();
    assert_eq!(recorded(&path), (5, 2), "the next checkpoint records the count it looked up");
    drop(db);
    assert_holds(&manual(&path), &["a", "b"]);
}

#[test]
fn a_count_that_disagrees_with_the_tree_is_a_clear_error() {
    for forged in [0u64, 1, 5] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        closed(&path, &["a", "b"]);
        edit_metas(&path, |page| page[CATALOG..CATALOG + 8].copy_from_slice(&forged.to_le_bytes()));
        let err = if forged == 0 {
            // Zero skips the catalog (an open that looked would refuse the count instead): the
            // open succeeds, and the index build meets keys of namespaces it does not know,
            // which every operation that waits for it reports.
            let db = Emdb::open(&path).unwrap();
            assert!(db.namespace_names().is_empty(), "the catalog was read after all");
            db.len().unwrap_err()
        } else {
            Emdb::open(&path).unwrap_err()
        };
        assert!(matches!(err, Error::Corruption { .. }), "count {forged}: {err}");
        let want = if forged == 0 { "unknown namespace" } else { "catalog" };
        assert!(err.to_string().contains(want), "count {forged}: {err}");
    }
}
