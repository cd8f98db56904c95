//! The change feed: a cache-invalidation thread follows a typed table and the raw keys under a
//! prefix while the main thread writes, transacts and purges.
//!
//! Run it with `cargo run --example watch`.

use std::time::Duration;

use emdb::{Emdb, Error, Table, TableEvent, Ttl};

fn main() -> Result<(), Error> {
    let db = Emdb::open_in_memory();
    let prices = Table::<String, u32>::open(&db, "prices")?;

    // Subscribe before writing: a watcher receives the commits made after it exists.
    let typed = prices.watch()?;
    let raw = db.watch_prefix("session.")?;

    let follower = std::thread::spawn(move || -> Result<usize, Error> {
        let mut seen = 0;
        // `recv_timeout` returns `None` when nothing comes in time.
        while let Some(commit) = typed.recv_timeout(Duration::from_millis(500))? {
            for event in commit.events {
                seen += 1;
                match event {
                    TableEvent::Insert { key, value } => {
                        println!("[lsn {}] new price {key} = {value}", commit.lsn);
                    }
                    TableEvent::Update { key, old, new } => {
                        println!(
                            "[lsn {}] {key}: {old} -> {new}, invalidating the cache",
                            commit.lsn
                        );
                    }
                    TableEvent::Remove { key, old } => {
                        println!("[lsn {}] {key} removed (was {old})", commit.lsn);
                    }
                }
            }
        }
        Ok(seen)
    });

    prices.insert("pen", &120)?;
    prices.insert("ink", &450)?;
    // A transaction arrives as one commit with all its changes.
    db.transaction(|tx| {
        let mut t = prices.tx(tx);
        t.insert("pen", &99)?;
        t.remove("ink")?;
        Ok(())
    })?;

    db.insert_with_ttl("session.42", "alice", Ttl::After(Duration::ZERO))?;
    db.purge_expired()?;
    for commit in [raw.recv()?, raw.recv()?] {
        for e in commit.events {
            let state = if e.new.is_some() { "written" } else { "removed" };
            println!("raw: {} {state}", String::from_utf8_lossy(&e.key));
        }
    }

    let seen = match follower.join() {
        Ok(seen) => seen?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    println!("the follower saw {seen} changes");
    Ok(())
}
