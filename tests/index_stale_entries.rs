//! Entries of a unique index that no longer match their row (left by a handle of the table
//! open at the same time without the index) are never answers: `get_by` through the table, a
//! snapshot and a transaction re-checks the row, and a new row may claim the value.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb::{Emdb, Error, Index, Table, Unique};

fn by_name() -> Index<String, String, Unique> {
    Index::unique("name", |name: &String| vec![name.clone()])
}

#[test]
fn a_stale_unique_entry_is_no_answer_and_no_obstacle() {
    let db = Emdb::open_in_memory();
    let indexed = Table::<u32, String>::options("t").index(by_name()).open(&db).unwrap();
    let plain = Table::<u32, String>::open(&db, "t").unwrap();
    indexed.insert(&1, &"ada".to_owned()).unwrap();
    assert_eq!(indexed.get_by(&by_name(), "ada").unwrap().as_deref(), Some("ada"));

    // The handle without the index renames row 1: the entry "ada" -> 1 stays behind.
    plain.insert(&1, &"bob".to_owned()).unwrap();
    assert!(matches!(indexed.verify_indexes(), Err(Error::IndexEntryMismatch { .. })));
    assert_eq!(indexed.get_by(&by_name(), "ada").unwrap(), None);
    assert_eq!(indexed.snapshot().get_by(&by_name(), "ada").unwrap(), None);
    let in_tx = db.transaction(|tx| indexed.tx(tx).get_by(&by_name(), "ada")).unwrap();
    assert_eq!(in_tx, None);
    assert_eq!(indexed.find_by(&by_name(), "ada").unwrap().count(), 0);

    // Row 2 may take "ada": the entry's row no longer has it.
    indexed.insert(&2, &"ada".to_owned()).unwrap();
    assert_eq!(indexed.get_by(&by_name(), "ada").unwrap().as_deref(), Some("ada"));
    let found: Vec<u32> =
        indexed.find_by(&by_name(), "ada").unwrap().map(|r| r.unwrap().0).collect();
    assert_eq!(found, [2]);
    // And a third row may not: row 2 is live and has it.
    let err = indexed.insert(&3, &"ada".to_owned()).unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
}
