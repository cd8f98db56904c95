use emdb::Group;

#[derive(Group)]
struct Product {
    #[emdb(key)]
    sku: String,
    #[emdb(index)]
    name: String,
}

fn main() {}
