//! The names deprecated when every handle took one verb per operation still work, for one
//! release, exactly as before: `Focus::set`, `set_with_ttl`, `count` and `delete_all`;
//! `Transaction::delete` and `TxNamespace::delete`; `FieldFocus::set` and `exists`.
#![allow(deprecated)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::Duration;

use emdb::{Emdb, Error, FieldFocus, GroupPath, Ttl};

#[test]
fn the_old_focus_names_write_count_and_delete_as_the_new_ones_do() {
    let db = Emdb::open_in_memory();
    let product = db.focus("product");
    product.set("name", "phone").unwrap();
    product
        .focus("variant")
        .set_with_ttl("color", "black", Ttl::After(Duration::from_secs(60)))
        .unwrap();
    assert_eq!(db.get("product.name").unwrap(), Some(b"phone".to_vec()));
    assert!(db.ttl("product.variant.color").unwrap().is_some());
    assert_eq!(product.count().unwrap(), 2);
    assert_eq!(product.count().unwrap(), product.len().unwrap());
    assert_eq!(product.delete_all().unwrap(), 2);
    assert!(product.is_empty().unwrap());
    assert!(matches!(db.focus("a..b").set("k", "v"), Err(Error::InvalidPrefix { .. })));
    assert!(matches!(db.focus("").delete_all(), Err(Error::InvalidPrefix { .. })));
}

#[test]
fn delete_removes_without_reading_and_ignores_absent_and_oversized_keys() {
    let db = Emdb::open_in_memory();
    let other = db.namespace("other").unwrap();
    db.insert("a", "1").unwrap();
    db.insert("b", "2").unwrap();
    other.insert("a", "kept").unwrap();
    db.transaction::<_, ()>(|tx| {
        tx.delete("a")?;
        assert_eq!(tx.get("a")?, None);
        tx.delete("never there")?;
        tx.delete(vec![7u8; 5000])?;
        tx.insert("b", "3")?;
        tx.delete("b")?;
        tx.insert("c", "written after nothing")?;
        assert_eq!(tx.namespace(&other).get("a")?, Some(b"kept".to_vec()));
        Ok(())
    })
    .unwrap();
    assert_eq!(db.get("a").unwrap(), None);
    assert_eq!(db.get("b").unwrap(), None);
    assert_eq!(db.len().unwrap(), 1);
    assert_eq!(other.get("a").unwrap(), Some(b"kept".to_vec()));
    db.transaction::<_, ()>(|tx| tx.namespace(&other).delete("a")).unwrap();
    assert!(other.is_empty().unwrap());
    // An aborted transaction's deletes leave the keys in place.
    let aborted = db.transaction::<_, ()>(|tx| {
        tx.delete("c")?;
        Err(Error::TransactionAborted("keep c"))
    });
    assert!(aborted.is_err());
    assert_eq!(db.get("c").unwrap(), Some(b"written after nothing".to_vec()));
}

#[test]
fn the_old_field_focus_names_write_and_test_the_field() {
    let db = Emdb::open_in_memory();
    let price: FieldFocus<u32> = GroupPath::new(&db, "product", "phone").field("price", 1);
    assert!(!price.exists().unwrap());
    price.set(&799).unwrap();
    assert!(price.exists().unwrap());
    assert_eq!(price.get().unwrap(), Some(799));
    assert!(price.contains_key().unwrap());
    let dotted: FieldFocus<u32> = GroupPath::new(&db, "product", "a.b").field("price", 1);
    assert!(matches!(dotted.set(&1), Err(Error::InvalidPrefix { .. })));
    assert!(matches!(dotted.exists(), Err(Error::InvalidPrefix { .. })));
}
