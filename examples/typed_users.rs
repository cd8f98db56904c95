//! Typed tables: a `users` table of plain Rust structs, with put, get, range, update, TTL, a
//! transaction over two tables, and a reopen of the database file, printing what it does.
//!
//! Run it with `cargo run --example typed_users`.

use std::time::Duration;

use emdb::{Bincode, Emdb, Error, Postcard, Record, Table, Ttl};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
    visits: u32,
}

// `#[derive(Record)]` writes this impl for you; here it is by hand.
impl Record for User {
    type Key = u64;
    type Codec = Postcard;
    const TABLE: &'static str = "users";
    fn key(&self) -> u64 {
        self.id
    }
}

fn main() -> Result<(), Error> {
    let dir = std::env::temp_dir().join(format!("emdb-typed-users-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join("users.emdb");
    let result = run(&path);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run(path: &std::path::Path) -> Result<(), Error> {
    let db = Emdb::open(path)?;
    println!("opened {}", path.display());
    let users = User::table(&db)?;
    println!("opened table {:?} (schema version {})", users.name(), users.version());

    for (id, name) in [(3, "carol"), (1, "ada"), (7, "grace"), (12, "linus"), (5, "alan")] {
        users.put(&User { id, name: name.to_owned(), visits: 0 })?;
    }
    println!("put 5 users; len() = {}", users.len()?);

    println!("get(&7) = {:?}", users.get(&7)?);
    println!("get(&8) = {:?}", users.get(&8)?);

    println!("users with 3 <= id < 10, in key order:");
    for entry in users.range(3..10)? {
        let (id, user) = entry?;
        println!("  {id}: {}", user.name);
    }
    println!("first = {:?}", users.first()?.map(|(id, u)| (id, u.name)));
    println!("last  = {:?}", users.last()?.map(|(id, u)| (id, u.name)));

    let updated = users.update(&7, |u| u.visits += 1)?;
    println!("update(&7, visits += 1) -> {updated:?}");

    let sessions = Table::<u64, String>::open(&db, "sessions")?;
    sessions.insert_with_ttl(&7, &"token-7".to_owned(), Ttl::After(Duration::from_secs(3600)))?;
    println!("session of user 7 expires in {:?}", sessions.ttl(&7)?);

    // Two tables, one atomic commit.
    db.transaction(|tx| {
        users.tx(tx).put(&User { id: 20, name: "barbara".to_owned(), visits: 0 })?;
        sessions.tx(tx).insert(&20, &"token-20".to_owned())?;
        Ok(())
    })?;
    println!("a transaction added user 20 and their session; users = {}", users.len()?);

    let rolled_back = db.transaction::<_, ()>(|tx| {
        users.tx(tx).remove(&1)?;
        Err(Error::TransactionAborted("demonstrating a rollback"))
    });
    println!(
        "a failed transaction leaves no trace: {rolled_back:?}; user 1 present = {}",
        users.contains_key(&1)?
    );

    // Another codec: the same struct, stored with bincode in a table of its own.
    let archive = Table::<u64, User, Bincode>::open_with(&db, "users_archive")?;
    archive
        .insert(&1, &users.get(&1)?.unwrap_or(User { id: 1, name: String::new(), visits: 0 }))?;
    println!(
        "archived user 1 with bincode: {} stored bytes",
        archive.get_raw(&1)?.map_or(0, |b| b.len())
    );

    // The table remembers its types: opening it as something else is an error, not garbage.
    match Table::<String, User>::open(&db, "users") {
        Err(err) => println!("opening \"users\" with String keys fails: {err}"),
        Ok(_) => println!("unexpected: opened with the wrong key type"),
    }

    // Close every handle (the last one checkpoints), then reopen the file.
    drop((users, sessions, archive, db));
    let db = Emdb::open(path)?;
    let users = User::table(&db)?;
    println!(
        "reopened: {} users, user 7 = {:?}",
        users.len()?,
        users.get(&7)?.map(|u| (u.name, u.visits))
    );
    Ok(())
}
