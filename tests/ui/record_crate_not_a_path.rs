use emdb::Record;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Record)]
#[emdb(crate = "my emdb")]
struct User {
    #[emdb(key)]
    id: u64,
}

fn main() {}
