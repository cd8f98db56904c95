use emdb::Record;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Record)]
enum Shape {
    Circle(u32),
    Square(u32),
}

fn main() {}
