use emdb::Record;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Record)]
#[emdb(group = "users")]
struct User {
    #[emdb(key)]
    id: u64,
    #[emdb(rename = "full_name", default)]
    name: String,
}

fn main() {}
