//! `#[derive(Record)]`: the key, table name, codec and schema version a record declares. Prints
//! what it does. (With the typed tables of `Table`, `User::table(&db)` opens the record's table:
//! see `derive_records.rs.pending`, which replaces this file once tables are merged.)
//!
//! Run it with `cargo run --example derive_records`.

use emdb::{Codec, Error, Record};
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
    let ada = User { id: 7, name: "Ada".into() };
    println!("{ada:?}: table {:?}, key {}, version {}", User::TABLE, ada.key(), User::VERSION);

    let member = TeamMember { team: "core".into(), user: 7, role: "maintainer".into() };
    println!(
        "{member:?}: table {:?} (the snake_case type name), key {:?}, version {}",
        TeamMember::TABLE,
        member.key(),
        TeamMember::VERSION
    );

    let bytes = <TeamMember as Record>::Codec::encode(&member)
        .map_err(|source| Error::Encode { table: TeamMember::TABLE.into(), source })?;
    println!(
        "its value, encoded with the {} codec: {}",
        <TeamMember as Record>::Codec::NAME,
        String::from_utf8_lossy(&bytes)
    );
    Ok(())
}
