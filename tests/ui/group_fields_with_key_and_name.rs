use emdb::GroupFields;

#[derive(GroupFields)]
#[emdb(group = "dims")]
struct Dims {
    #[emdb(key)]
    id: String,
    width: u32,
}

fn main() {}
