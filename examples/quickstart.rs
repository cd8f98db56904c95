//! The main example: the raw key-value API of emdb in a few lines, printing what it does.
//!
//! Run it with `cargo run --example quickstart`.

use std::time::Duration;

use emdb::{Emdb, Error, Ttl};

fn main() -> Result<(), Error> {
    let db = Emdb::open_in_memory();
    println!("opened an in-memory emdb database");

    db.insert("user:1", "alice")?;
    db.insert("user:2", "bob")?;
    db.insert("user:3", "carol")?;
    println!("inserted 3 users; len() = {}", db.len()?);

    let alice = db.get("user:1")?.map(String::from_utf8).transpose().ok().flatten();
    println!("get(\"user:1\") = {alice:?}");

    println!("users in key order:");
    for item in db.prefix("user:")? {
        let (key, value) = item?;
        println!("  {} = {}", String::from_utf8_lossy(&key), String::from_utf8_lossy(&value));
    }

    db.transaction::<_, ()>(|tx| {
        tx.insert("user:4", "dave")?;
        tx.remove("user:2")?;
        Ok(())
    })?;
    println!("transaction added user:4 and removed user:2 atomically; len() = {}", db.len()?);

    let rolled_back = db.transaction::<_, ()>(|tx| {
        tx.insert("user:5", "eve")?;
        Err(Error::TransactionAborted("demonstrating a rollback"))
    });
    println!(
        "a failed transaction leaves no trace: {rolled_back:?}, user:5 present = {}",
        db.contains_key("user:5")?
    );

    db.insert_with_ttl("session:alice", "token", Ttl::After(Duration::from_secs(30)))?;
    println!("session:alice expires in {:?}", db.ttl("session:alice")?);

    let product = db.focus("product");
    product.insert("name", "phone")?;
    product.focus("variant").insert("color", "black")?;
    println!("group \"product\" holds {} entries:", db.group("product")?.count());
    for item in product.iter()? {
        let (key, value) = item?;
        println!(
            "  product.{} = {}",
            String::from_utf8_lossy(&key),
            String::from_utf8_lossy(&value)
        );
    }

    let sessions = db.namespace("sessions")?;
    sessions.insert("user:1", "a different keyspace")?;
    println!(
        "namespace \"sessions\" has {} entry; the default namespace still has {}",
        sessions.len()?,
        db.len()?
    );
    println!("done");
    Ok(())
}
