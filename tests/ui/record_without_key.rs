use emdb::Record;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Record)]
struct User {
    id: u64,
    name: String,
}

fn main() {}
