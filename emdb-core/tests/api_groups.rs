//! Dotted-prefix groups and `Focus` handles: key layout, nesting, relative iteration, atomic
//! deletion, and the errors for bad prefixes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb_core::{Emdb, Error};

fn strings(keys: emdb_core::Keys) -> Vec<String> {
    keys.map(|k| String::from_utf8(k.unwrap()).unwrap()).collect()
}

#[test]
fn nested_focus_handles_write_dotted_keys() {
    let db = Emdb::open_in_memory();
    db.focus("a").focus("b").insert("c", "v").unwrap();
    assert_eq!(db.get("a.b.c").unwrap(), Some(b"v".to_vec()));
    assert_eq!(db.focus("a.b").get("c").unwrap(), Some(b"v".to_vec()));
    assert_eq!(db.focus("a").focus("b").prefix().unwrap(), "a.b.");
}

#[test]
fn a_group_holds_every_key_under_its_prefix_at_any_depth_and_nothing_else() {
    let db = Emdb::open_in_memory();
    for k in [
        "product.name",
        "product.variant.color",
        "product.variant.size",
        "products.x",
        "product",
        "productx",
        "prod.uct",
    ] {
        db.insert(k, k).unwrap();
    }
    let keys: Vec<String> =
        db.group("product").unwrap().map(|r| String::from_utf8(r.unwrap().0).unwrap()).collect();
    assert_eq!(keys, ["product.name", "product.variant.color", "product.variant.size"]);
    assert_eq!(db.group("product.variant").unwrap().count(), 2);
    assert_eq!(db.focus("product").len().unwrap(), 3);
    assert!(!db.focus("product").is_empty().unwrap());
    assert!(db.focus("products.y").is_empty().unwrap());
}

#[test]
fn focus_iteration_yields_keys_relative_to_the_focus() {
    let db = Emdb::open_in_memory();
    let product = db.focus("product");
    product.insert("name", "phone").unwrap();
    product.focus("variant").insert("color", "black").unwrap();
    assert_eq!(strings(product.keys().unwrap()), ["name", "variant.color"]);
    let entries: Vec<(Vec<u8>, Vec<u8>)> =
        product.focus("variant").iter().unwrap().map(Result::unwrap).collect();
    assert_eq!(entries, [(b"color".to_vec(), b"black".to_vec())]);
    let reversed: Vec<Vec<u8>> = product.keys().unwrap().rev().map(Result::unwrap).collect();
    assert_eq!(reversed, [b"variant.color".to_vec(), b"name".to_vec()]);
}

#[test]
fn focus_insert_get_remove_and_ttl_act_on_the_prefixed_key() {
    let db = Emdb::open_in_memory();
    let f = db.focus("cfg");
    f.insert("a", "1").unwrap();
    f.insert_with_ttl("b", "2", emdb_core::Ttl::After(std::time::Duration::from_secs(60))).unwrap();
    assert!(f.contains_key("a").unwrap());
    assert!(f.ttl("b").unwrap().is_some());
    assert!(f.expires_at("b").unwrap().is_some());
    assert_eq!(f.remove("a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(db.get("cfg.a").unwrap(), None);
    assert_eq!(db.get("cfg.b").unwrap(), Some(b"2".to_vec()));
}

#[test]
fn a_focus_deletes_its_group_atomically_and_leaves_neighbours() {
    let db = Emdb::open_in_memory();
    for i in 0..300 {
        db.focus("cart").focus(&format!("item{i}")).insert("qty", "1").unwrap();
    }
    db.insert("cart", "the bare key is not in the group").unwrap();
    db.insert("carts.x", "neighbour").unwrap();
    let reader = db.iter().unwrap();
    assert_eq!(db.focus("cart").delete_group().unwrap(), 300);
    assert_eq!(db.group("cart").unwrap().count(), 0);
    assert!(db.focus("cart").is_empty().unwrap());
    assert_eq!(db.len().unwrap(), 2);
    // An iterator opened before the deletion still sees the whole group.
    assert_eq!(reader.count(), 302);
    assert_eq!(db.delete_group("cart").unwrap(), 0);
}

#[test]
fn invalid_prefixes_are_clear_errors_on_every_operation() {
    let db = Emdb::open_in_memory();
    for bad in ["", ".", "a.", ".a", "a..b"] {
        let f = db.focus(bad);
        assert!(matches!(f.insert("k", "v"), Err(Error::InvalidPrefix { .. })), "{bad:?}");
        assert!(matches!(f.get("k"), Err(Error::InvalidPrefix { .. })));
        assert!(matches!(f.iter(), Err(Error::InvalidPrefix { .. })));
        assert!(matches!(f.delete_group(), Err(Error::InvalidPrefix { .. })));
        assert!(matches!(db.group(bad), Err(Error::InvalidPrefix { .. })));
        assert!(matches!(db.delete_group(bad), Err(Error::InvalidPrefix { .. })));
    }
    let err = db.group(b"\xff\xfe").unwrap_err();
    assert!(err.to_string().contains("UTF-8"), "{err}");
    assert!(matches!(db.focus("ok").focus("").get("k"), Err(Error::InvalidPrefix { .. })));
    assert!(db.is_empty().unwrap());
}

#[test]
fn a_focused_key_counts_its_prefix_against_the_key_limit() {
    let db = Emdb::open_in_memory();
    let key = vec![b'k'; emdb_core::MAX_KEY_LEN - 2];
    assert!(matches!(db.focus("ab").insert(&key, "v"), Err(Error::KeyTooLarge { .. })));
    db.focus("a").insert(&key, "v").unwrap();
    assert_eq!(db.get([b"a.".as_slice(), &key].concat()).unwrap(), Some(b"v".to_vec()));
}

#[test]
fn a_transaction_can_delete_a_group_including_its_own_writes() {
    let db = Emdb::open_in_memory();
    db.insert("g.a", "1").unwrap();
    db.insert("g.b", "2").unwrap();
    db.insert("h.a", "3").unwrap();
    let removed = db
        .transaction(|tx| {
            tx.insert("g.c", "new")?;
            tx.remove("g.a")?;
            tx.delete_group("g")
        })
        .unwrap();
    assert_eq!(removed, 2, "g.b and g.c were live inside the transaction");
    assert_eq!(db.group("g").unwrap().count(), 0);
    assert_eq!(db.len().unwrap(), 1);
}
