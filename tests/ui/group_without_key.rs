use emdb::Group;

#[derive(Group)]
struct Product {
    sku: String,
    price: u32,
}

fn main() {}
