// A table key must own its data: `&str` is refused, and the error names `String` as the fix.
use emdb::{Emdb, Table};

fn main() {
    let db = Emdb::open_in_memory();
    let _names = Table::<&str, u32>::open(&db, "names");
}
