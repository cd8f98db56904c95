// A table value must own its data too: `&str` is refused, and the error names `String` as the fix.
use emdb::{Emdb, Table};

fn main() {
    let db = Emdb::open_in_memory();
    let _names = Table::<u64, &str>::open(&db, "names");
}
