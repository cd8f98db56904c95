use emdb::Record;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Record)]
#[emdb(table = "users")]
#[emdb(table = "people")]
struct User {
    #[emdb(key)]
    id: u64,
}

fn main() {}
