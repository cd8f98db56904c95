use emdb::Group;

struct Dims {
    width: u32,
}

#[derive(Group)]
struct Product {
    #[emdb(key)]
    sku: String,
    #[emdb(group)]
    dims: Dims,
}

fn main() {}
