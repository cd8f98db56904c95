//! The raw API exactly as issue 2 fixes its names and shapes: if this file stops compiling, a
//! public signature changed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::Duration;

use emdb::{Emdb, Error, FlushPolicy, Ttl};

#[test]
fn the_documented_raw_api_compiles_and_behaves() -> Result<(), Error> {
    let db = Emdb::open_in_memory();
    db.insert("name", "emdb")?;
    assert_eq!(db.get("name")?, Some(b"emdb".to_vec()));
    let old: Option<Vec<u8>> = db.remove("name")?;
    assert_eq!(old, Some(b"emdb".to_vec()));
    db.contains_key("k")?;
    db.len()?;
    db.is_empty()?;
    db.clear()?;
    for item in db.iter()? {
        let (_key, _value) = item?;
    }
    db.keys()?;
    db.range(b"a".to_vec()..b"m".to_vec())?;
    db.prefix("user:")?;
    db.transaction::<_, ()>(|tx| {
        tx.insert("a", "1")?;
        let _ = tx.get("a")?;
        tx.remove("b")?;
        Ok(())
    })?;
    let failed = db.transaction::<_, ()>(|tx| {
        tx.insert("t", "v")?;
        Err(Error::TransactionAborted("rollback"))
    });
    assert!(failed.is_err());
    db.insert_with_ttl("session", "token", Ttl::After(Duration::from_secs(30)))?;
    db.ttl("session")?;
    db.expires_at("session")?;
    db.persist("session")?;
    db.purge_expired()?;
    let db = Emdb::builder().default_ttl(Duration::from_secs(30)).build()?;
    let product = db.focus("product");
    product.insert("name", "phone")?;
    product.get("name")?;
    product.remove("name")?;
    let _variant = product.focus("variant");
    product.iter()?;
    let _: usize = product.len()?;
    let _: bool = product.is_empty()?;
    let _: usize = product.delete_group()?;
    assert_eq!(db.group("product")?.count(), 0);
    let _sessions = db.namespace("sessions")?;

    // Keys and values: &str, String, &[u8], Vec<u8>, &[u8; N].
    db.insert(String::from("s"), &b"bytes"[..])?;
    db.insert(b"arr", vec![1u8, 2])?;

    // Persistence entry points exist with their final signatures.
    let open: fn(&str) -> Result<Emdb, Error> = |p| Emdb::open(p);
    assert!(open("/nonexistent-emdb-dir/db.emdb").is_err());
    let _built = Emdb::builder().path("unused.emdb").flush_policy(FlushPolicy::EveryN(64));
    db.flush()?;
    db.checkpoint()?;
    let _compact: Result<(), Error> = db.compact();
    assert_send_sync_clone::<Emdb>();
    Ok(())
}

fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
