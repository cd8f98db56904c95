//! The cost of schema evolution: opening a typed table (tracing the key and value shapes,
//! reading and checking the catalog entry), and reading a row of an older schema version (read
//! through its recorded shape and mapped by field name) against a row of the current version,
//! in the same run, per codec.
//!
//! Workload: an in-memory database, 1,000 rows of version 1 and 1,000 of version 2 in one
//! table, `u64` keys; version 1 is `{ id: u64, name: String (12 bytes), score: f64 }`, version 2
//! adds `email: Option<String>` in the middle and `tier: u8` with `#[serde(default)]` at the
//! end. Gets hit existing keys in a cycle. Durability does not apply (in memory).
//!
//! Run: `cargo bench -p emdb-benches --bench schema -- --warm-up-time 1 --measurement-time 3`.
#![expect(clippy::unwrap_used, reason = "a benchmark: a failure must stop it loudly")]

use std::hint::black_box;

use criterion::Criterion;
use emdb::{Bincode, Codec, Emdb, Json, Postcard, Table};
use serde::{Deserialize, Serialize};

const ROWS: u64 = 1_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UserV1 {
    id: u64,
    name: String,
    score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    email: Option<String>,
    name: String,
    score: f64,
    #[serde(default)]
    tier: u8,
}

fn v1(id: u64) -> UserV1 {
    #[expect(clippy::cast_precision_loss, reason = "ids are small")]
    let score = id as f64 * 0.5;
    UserV1 { id, name: format!("user-{id:07}"), score }
}

/// Keys `0..ROWS` hold version-1 rows, keys `ROWS..2 * ROWS` version-2 rows.
fn fixture<C: Codec>() -> (Emdb, Table<u64, User, C>) {
    let db = Emdb::open_in_memory();
    let old = Table::<u64, UserV1, C>::open_with(&db, "users").unwrap();
    for id in 0..ROWS {
        old.insert(&id, &v1(id)).unwrap();
    }
    let table = Table::<u64, User, C>::options("users").version(2).open(&db).unwrap();
    for id in ROWS..2 * ROWS {
        let UserV1 { id, name, score } = v1(id);
        table.insert(&id, &User { id, email: None, name, score, tier: 1 }).unwrap();
    }
    (db, table)
}

fn reads<C: Codec>(c: &mut Criterion) {
    let (_db, table) = fixture::<C>();
    let mut group = c.benchmark_group(format!("schema/{}", C::NAME));
    let mut n = 0;
    group.bench_function("get current (v2 row)", |b| {
        b.iter(|| {
            n = (n + 1) % ROWS;
            black_box(table.get(&(ROWS + n)).unwrap())
        });
    });
    let mut n = 0;
    group.bench_function("get old (v1 row, evolved)", |b| {
        b.iter(|| {
            n = (n + 1) % ROWS;
            black_box(table.get(&n).unwrap())
        });
    });
    group.finish();
}

fn opens(c: &mut Criterion) {
    let (db, _table) = fixture::<Postcard>();
    let mut group = c.benchmark_group("schema/open");
    group.bench_function("Table<u64, User> (struct, 2 versions recorded)", |b| {
        b.iter(|| black_box(Table::<u64, User>::options("users").version(2).open(&db).unwrap()));
    });
    Table::<u64, u64>::open(&db, "counts").unwrap();
    group.bench_function("Table<u64, u64>", |b| {
        b.iter(|| black_box(Table::<u64, u64>::open(&db, "counts").unwrap()));
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    opens(&mut c);
    reads::<Postcard>(&mut c);
    reads::<Bincode>(&mut c);
    reads::<Json>(&mut c);
    c.final_summary();
}
