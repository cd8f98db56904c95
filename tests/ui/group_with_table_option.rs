use emdb::Group;

#[derive(Group)]
#[emdb(table = "products")]
struct Product {
    #[emdb(key)]
    sku: String,
}

fn main() {}
