use emdb::Group;

#[derive(Group)]
struct Product(#[emdb(key)] String, u32);

fn main() {}
