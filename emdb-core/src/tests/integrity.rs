//! The integrity check finds an index that disagrees with the tree.

use std::sync::Arc;

use crate::Emdb;
use crate::error::Error;
use crate::keyspace::{Held, IndexSlot};

fn ns_index(db: &Emdb) -> &crate::keyspace::ShardedIndex {
    &db.keyspace().default_ns().index
}

#[test]
fn an_index_entry_with_another_value_is_a_mismatch() {
    let db = Emdb::open_in_memory();
    db.insert("a", "1").unwrap();
    let wrong = IndexSlot { held: Held::Mem(Arc::from(&b"2"[..])), expires_at: 0 };
    ns_index(&db).insert_one(b"a", wrong);
    let err = db.check_integrity().unwrap_err();
    assert!(matches!(&err, Error::IndexMismatch { key, .. } if key == b"a"), "{err}");
}

#[test]
fn an_index_entry_with_another_expiry_is_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let db = Emdb::open(dir.path().join("db")).unwrap();
    db.insert("a", vec![5u8; 3000]).unwrap();
    db.checkpoint().unwrap();
    let mut slot = ns_index(&db).slot(b"a").unwrap();
    assert!(matches!(slot.held, Held::Disk(_)), "a checkpointed large value is on disk");
    slot.expires_at = 99;
    ns_index(&db).insert_one(b"a", slot);
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
fn an_extra_index_entry_is_a_count_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let db = Emdb::open(dir.path().join("db")).unwrap();
    db.insert("a", "1").unwrap();
    db.checkpoint().unwrap();
    db.insert("b", "2").unwrap();
    db.check_integrity().unwrap();
    let extra = IndexSlot { held: Held::Mem(Arc::from(&b"3"[..])), expires_at: 0 };
    ns_index(&db).insert_one(b"ghost", extra);
    let err = db.check_integrity().unwrap_err();
    assert!(matches!(&err, Error::IndexMismatch { key, .. } if key.is_empty()), "{err}");
}
