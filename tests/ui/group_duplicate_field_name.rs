use emdb::Group;

#[derive(Group)]
struct Product {
    #[emdb(key)]
    sku: String,
    name: String,
    #[emdb(rename = "name")]
    title: String,
}

fn main() {}
