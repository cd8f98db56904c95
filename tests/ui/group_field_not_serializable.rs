use emdb::Group;

struct Money(u64);

#[derive(Group)]
struct Product {
    #[emdb(key)]
    sku: String,
    price: Money,
}

fn main() {}
