use emdb::Record;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Record)]
#[emdb(tabel = "users")]
struct User {
    #[emdb(primary)]
    id: u64,
}

fn main() {}
