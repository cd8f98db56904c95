use emdb::Group;

#[derive(Group)]
struct Product {
    #[emdb(key)]
    id: u64,
    price: u32,
}

fn main() {}
