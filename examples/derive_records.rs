//! `#[derive(Record)]`: a struct stored whole in a typed table of its own, under the key its
//! `#[emdb(key)]` fields make. Prints what it does.
//!
//! Run it with `cargo run --example derive_records`.

use emdb::{Emdb, Error, Record};
use serde::{Deserialize, Serialize};

/// A user, stored whole in the table `users` under its `id`.
#[derive(Debug, Serialize, Deserialize, Record)]
#[emdb(table = "users")]
struct User {
    #[emdb(key)]
    id: u64,
    name: String,
}

/// A team membership, keyed by `(team, user)`, stored as JSON at schema version 2.
#[derive(Debug, Serialize, Deserialize, Record)]
#[emdb(codec = "json", version = 2)]
struct TeamMember {
    #[emdb(key)]
    team: String,
    #[emdb(key)]
    user: u64,
    role: String,
}

fn main() -> Result<(), Error> {
    let db = Emdb::open_in_memory();

    let users = User::table(&db)?;
    for (id, name) in [(7, "Ada"), (3, "Grace"), (12, "Barbara")] {
        let user = User { id, name: name.into() };
        users.put(&user)?;
        println!("put {user:?} under key {} in table {:?}", user.key(), User::TABLE);
    }
    println!("get(&3) = {:?}", users.get(&3)?);
    println!("every user, in key order:");
    for entry in users.iter()? {
        let (id, user) = entry?;
        println!("  {id}: {}", user.name);
    }

    let members = TeamMember::table(&db)?;
    members.put(&TeamMember { team: "core".into(), user: 7, role: "maintainer".into() })?;
    members.put(&TeamMember { team: "core".into(), user: 3, role: "reviewer".into() })?;
    println!(
        "table {:?} (the snake_case type name) at version {} holds {} members; core/3 is {:?}",
        TeamMember::TABLE,
        members.version(),
        members.len()?,
        members.get(&("core".to_owned(), 3))?.map(|m| m.role)
    );
    Ok(())
}
