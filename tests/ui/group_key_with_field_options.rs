use emdb::Group;

#[derive(Group)]
struct Product {
    #[emdb(key, rename = "id", default)]
    sku: String,
}

fn main() {}
