use emdb::Record;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Record)]
struct User {
    #[emdb(key = true)]
    id: u64,
}

fn main() {}
