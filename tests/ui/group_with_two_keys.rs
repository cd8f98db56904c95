use emdb::Group;

#[derive(Group)]
struct Product {
    #[emdb(key)]
    vendor: String,
    #[emdb(key)]
    sku: String,
    price: u32,
}

fn main() {}
