use emdb::Group;

#[derive(Group)]
struct Product<T> {
    #[emdb(key)]
    sku: String,
    extra: T,
}

fn main() {}
