use emdb::Record;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Id(u64);

#[derive(Serialize, Deserialize, Record)]
struct User {
    #[emdb(key)]
    id: Id,
}

fn main() {}
