use emdb::Group;

#[derive(Group)]
union Product {
    price: u32,
    weight: f32,
}

fn main() {}
