use emdb::Record;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Record)]
struct User {
    #[emdb(key)]
    id: u64,
    #[emdb(index(uniq))]
    email: String,
}

fn main() {}
