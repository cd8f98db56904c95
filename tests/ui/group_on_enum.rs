use emdb::Group;

#[derive(Group)]
enum Product {
    Phone { sku: String },
}

fn main() {}
