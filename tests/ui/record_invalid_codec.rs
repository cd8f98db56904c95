use emdb::Record;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Record)]
#[emdb(codec = "msgpack")]
struct User {
    #[emdb(key)]
    id: u64,
}

fn main() {}
