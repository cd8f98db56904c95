use emdb::Record;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct UserV1 {
    id: u64,
}

#[derive(Serialize, Deserialize, Record)]
#[emdb(version = 2, previous = "UserV1")]
struct User {
    #[emdb(key)]
    id: u64,
}

fn main() {}
