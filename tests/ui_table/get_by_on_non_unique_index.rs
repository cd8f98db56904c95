use emdb::{Emdb, Record};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Record)]
struct User {
    #[emdb(key)]
    id: u64,
    #[emdb(index)]
    team: String,
}

fn main() -> emdb::Result<()> {
    let db = Emdb::open_in_memory();
    let users = User::table(&db)?;
    users.get_by(&User::by_team(), "eng")?;
    Ok(())
}
