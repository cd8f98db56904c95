use emdb::Group;

#[derive(Group)]
struct Product {
    #[emdb(key)]
    sku: String,
    #[emdb(rename = "dims.width")]
    width: u32,
}

fn main() {}
