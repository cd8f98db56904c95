//! Closure transactions: a bank transfer that checks the balance and aborts with
//! `Error::TransactionAborted`, reads that see the transaction's own writes, one transaction that
//! writes to two namespaces, and a panic inside a transaction that leaves nothing behind.
//!
//! Run it with `cargo run --example transactions`.

use std::panic::{self, AssertUnwindSafe};

use emdb::{Emdb, Error, Namespace};

/// Reads an account balance stored as decimal text.
fn parse_balance(value: Option<Vec<u8>>) -> Result<u64, Error> {
    let value = value.ok_or(Error::TransactionAborted("no such account"))?;
    std::str::from_utf8(&value)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or(Error::TransactionAborted("a balance is not a number"))
}

/// Moves `amount` from `from` to `to` and records it in `ledger`, all or nothing.
fn transfer(db: &Emdb, ledger: &Namespace, from: &str, to: &str, amount: u64) -> Result<(), Error> {
    db.transaction(|tx| {
        let from_balance = parse_balance(tx.get(from)?)?;
        let to_balance = parse_balance(tx.get(to)?)?;
        // The debit is written before the check on purpose: an abort must undo it.
        tx.insert(from, from_balance.saturating_sub(amount).to_string())?;
        if from_balance < amount {
            return Err(Error::TransactionAborted("insufficient funds"));
        }
        tx.insert(to, (to_balance + amount).to_string())?;
        let entry = format!("{from} -> {to}: {amount}");
        let seq = ledger.len()? + 1;
        tx.namespace(ledger).insert(format!("{seq:06}"), entry)?;
        Ok(())
    })
}

/// Prints both balances and the ledger.
fn show(db: &Emdb, ledger: &Namespace) -> Result<(), Error> {
    let alice = parse_balance(db.get("account:alice")?)?;
    let bob = parse_balance(db.get("account:bob")?)?;
    println!("  balances: alice = {alice}, bob = {bob}; ledger has {} entries", ledger.len()?);
    Ok(())
}

fn main() -> Result<(), Error> {
    let db = Emdb::open_in_memory();
    // Namespaces are created before the transactions that use them: creating one is a commit.
    let ledger = db.namespace("ledger")?;
    db.insert("account:alice", "100")?;
    db.insert("account:bob", "20")?;
    println!("opened accounts:");
    show(&db, &ledger)?;

    // 1. A transfer that passes the balance check commits both accounts and the ledger entry.
    transfer(&db, &ledger, "account:alice", "account:bob", 30)?;
    println!("transfer alice -> bob 30: committed");
    show(&db, &ledger)?;

    // 2. A transfer that fails the check aborts: the debit it already wrote is discarded.
    let result = transfer(&db, &ledger, "account:bob", "account:alice", 500);
    println!("transfer bob -> alice 500: {result:?}");
    assert!(matches!(result, Err(Error::TransactionAborted("insufficient funds"))));
    show(&db, &ledger)?;

    // 3. Read-your-writes: inside the closure the transaction sees its own pending writes, while
    // everyone else (here, the database handle) sees the committed state until the commit.
    db.transaction(|tx| {
        tx.insert("account:carol", "5")?;
        let own = tx.get("account:carol")?.map(|v| String::from_utf8_lossy(&v).into_owned());
        let outside = db.get("account:carol")?;
        println!("inside a transaction: tx.get(carol) = {own:?}, db.get(carol) = {outside:?}");
        tx.remove("account:carol")?;
        println!("after tx.remove: tx.contains_key(carol) = {}", tx.contains_key("account:carol")?);
        Ok(())
    })?;

    // 4. A panic inside the closure unwinds through `transaction`; nothing it wrote is committed.
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        let message = info.payload().downcast_ref::<&str>().copied().unwrap_or("?");
        println!("  (the closure panicked: {message})");
    }));
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        db.transaction::<_, ()>(|tx| {
            tx.insert("account:alice", "0")?;
            tx.namespace(&ledger).insert("999999", "never committed")?;
            #[expect(clippy::panic, reason = "the example shows that a panic writes nothing")]
            {
                panic!("simulated bug halfway through a transaction");
            }
        })
    }));
    panic::set_hook(default_hook);
    println!("catch_unwind caught the panic: {}", caught.is_err());
    show(&db, &ledger)?;
    assert_eq!(db.get("account:alice")?, Some(b"70".to_vec()));
    assert_eq!(ledger.get("999999")?, None);

    // The database is still usable after the panic: the writer lock was released.
    transfer(&db, &ledger, "account:bob", "account:alice", 10)?;
    println!("transfer bob -> alice 10 after the panic: committed");
    show(&db, &ledger)?;
    println!("ledger:");
    for entry in ledger.iter()? {
        let (seq, text) = entry?;
        println!("  {} {}", String::from_utf8_lossy(&seq), String::from_utf8_lossy(&text));
    }
    Ok(())
}
