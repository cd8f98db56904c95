use emdb::{Group, GroupFields};

#[derive(GroupFields)]
struct Dims {
    width: u32,
}

#[derive(Group)]
struct Product {
    #[emdb(key)]
    sku: String,
    #[emdb(group = "size")]
    dims: Dims,
}

fn main() {}
