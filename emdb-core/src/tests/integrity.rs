//! The integrity check finds an index that disagrees with the tree.

use std::sync::Arc;

use crate::Emdb;
use crate::error::Error;
use crate::keyspace::{Held, Slot};

fn ns_index(db: &Emdb) -> &crate::keyspace::ShardedIndex {
    &db.keyspace().default_ns().index
}

#[test]
fn an_index_entry_with_another_value_is_a_mismatch() {
    let db = Emdb::open_in_memory();
    db.insert("a", "1").unwrap();
    ns_index(&db).forge_recent(b"a", Some(Slot { value: Arc::from(&b"2"[..]), expires_at: 0 }));
    let err = db.check_integrity().unwrap_err();
    assert!(matches!(&err, Error::IndexMismatch { key, .. } if key == b"a"), "{err}");
}

#[test]
fn an_index_entry_with_another_expiry_is_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let db = Emdb::open(dir.path().join("db")).unwrap();
    db.insert("a", vec![5u8; 3000]).unwrap();
    db.checkpoint().unwrap();
    let slot = ns_index(&db).slot(b"a").unwrap().unwrap();
    assert!(matches!(slot.held, Held::Disk(_)), "a checkpointed large value is in a value page");
    // The same bytes, written since the checkpoint with another expiry.
    let value = Arc::from(vec![5u8; 3000]);
    ns_index(&db).forge_recent(b"a", Some(Slot { value, expires_at: 99 }));
    let err = db.check_integrity().unwrap_err();
    assert!(matches!(&err, Error::IndexMismatch { detail, .. } if detail.contains("expiry")));
}

#[test]
fn live_values_counted_apart_from_the_tree_are_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let db = Emdb::open(dir.path().join("db")).unwrap();
    for k in ["a", "b", "c"] {
        db.insert(k, vec![5u8; 500]).unwrap();
    }
    db.checkpoint().unwrap();
    db.check_integrity().unwrap();
    let persist = db.keyspace().persist().unwrap();
    let mut store = persist.store.lock();
    let mut wrong = store.live_values().cloned().unwrap();
    wrong.add(crate::page::value::ValueLoc::Packed { page: 2, offset: 16, len: 9 });
    store.set_live_values(wrong);
    drop(store);
    let err = db.check_integrity().unwrap_err();
    assert!(
        matches!(&err, Error::IndexMismatch { detail, .. } if detail.contains("value page 2")),
        "{err}"
    );
}

#[test]
fn a_write_the_memtable_does_not_hold_is_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let db = Emdb::open(dir.path().join("db")).unwrap();
    db.insert("a", "1").unwrap();
    db.checkpoint().unwrap();
    db.insert("b", "2").unwrap();
    db.check_integrity().unwrap();
    ns_index(&db).forge_recent(b"ghost", Some(Slot { value: Arc::from(&b"3"[..]), expires_at: 0 }));
    let err = db.check_integrity().unwrap_err();
    assert!(matches!(&err, Error::IndexMismatch { key, .. } if key == b"ghost"), "{err}");
}

#[test]
fn a_settled_entry_naming_a_leaf_without_its_key_is_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let db = Emdb::open(dir.path().join("db")).unwrap();
    for i in 0..500u32 {
        db.insert(i.to_be_bytes(), [7u8; 40]).unwrap();
    }
    db.checkpoint().unwrap();
    db.check_integrity().unwrap();
    // Page 2 is a page of the file, but no leaf that holds a key hashing like "ghost".
    ns_index(&db).forge_settled(b"ghost", 2);
    let err = db.check_integrity().unwrap_err();
    assert!(
        matches!(&err, Error::IndexMismatch { detail, .. } if detail.contains("does not hold")),
        "{err}"
    );
}

#[test]
fn a_key_of_the_tree_without_its_settled_entry_is_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Emdb::open(&path).unwrap();
    db.insert("a", "1").unwrap();
    db.insert("b", "2").unwrap();
    db.checkpoint().unwrap();
    db.check_integrity().unwrap();
    // The index forgets "b": the read says it is absent, and the check finds out.
    ns_index(&db).forget_settled(b"b");
    assert_eq!(db.get("b").unwrap(), None);
    let err = db.check_integrity().unwrap_err();
    assert!(matches!(&err, Error::IndexMismatch { .. }), "{err}");
}
