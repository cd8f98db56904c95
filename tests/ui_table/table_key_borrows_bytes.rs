// A borrowed byte-slice key is refused the same way with any codec: `Vec<u8>` is the fix.
use emdb::{Bincode, Emdb, Table};

fn main() {
    let db = Emdb::open_in_memory();
    let _blobs = Table::<&[u8], u32, Bincode>::open_with(&db, "blobs");
}
