use emdb::Group;

#[derive(Group)]
#[emdb(codec = "yaml", codec = "json", colour = "blue")]
struct Product {
    #[emdb(key)]
    id: u64,
    #[emdb(key)]
    sku: String,
    #[emdb(index)]
    name: String,
    #[emdb(rename = "")]
    price: u32,
}

fn main() {}
