use emdb::Group;

#[derive(Group)]
#[emdb(group = "shop..product")]
struct Product {
    #[emdb(key)]
    sku: String,
}

fn main() {}
