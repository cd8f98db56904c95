use emdb::Group;

#[derive(Group)]
#[emdb(group)]
struct Product {
    #[emdb(key)]
    sku: String,
}

fn main() {}
