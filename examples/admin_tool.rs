//! A second program sharing a table with another: an admin tool with its own copy of the `User`
//! struct (another crate, another path) opens the table by name and shape, lists its rows and
//! adds one.
//!
//! ```text
//! cargo run --example admin_tool -- <database path>
//! ```
//!
//! `tests/table_shared_between_binaries.rs` runs it against a table another binary wrote.

use emdb::{Emdb, Record};
use serde::{Deserialize, Serialize};

/// The admin tool's `User`: the same fields as the shop's, defined here.
#[derive(Debug, Serialize, Deserialize, Record)]
#[emdb(table = "users")]
struct User {
    #[emdb(key)]
    id: u64,
    name: String,
}

fn main() -> emdb::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "admin_tool.emdb".to_owned());
    let db = Emdb::open(&path)?;
    let users = User::table(&db)?;
    for user in users.iter()? {
        let (id, user) = user?;
        println!("{id}: {}", user.name);
    }
    let next = users.last()?.map_or(1, |(id, _)| id + 1);
    users.put(&User { id: next, name: "added by admin_tool".to_owned() })?;
    println!("added {next}");
    Ok(())
}
