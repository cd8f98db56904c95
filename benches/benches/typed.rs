//! The cost of the typed layer: typed `get`/`put` of a small struct against the raw API storing
//! the same pre-encoded bytes, in the same run; and the three value codecs compared on encoded
//! size and encode, decode and round-trip (encode then decode) speed.
//!
//! Workload: an in-memory database, 10,000 records prefilled, `u64` keys (8 encoded bytes), a
//! value struct of three fields (`u64`, a 12-byte `String`, `f64`; about 22 bytes with postcard
//! plus the 2-byte header). Puts overwrite existing keys in a cycle; gets hit existing keys.
//! Durability does not apply (in memory).
//!
//! Run: `cargo bench -p emdb-benches --bench typed -- --warm-up-time 1 --measurement-time 3`.
//! Read the overhead as `typed / (raw + codec)`: the `raw+codec` rows encode (or decode) with
//! the same key encoding and codec as the table, then call the raw API.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a benchmark: a failure must stop it loudly, and indices are taken modulo the length"
)]

use std::hint::black_box;

use criterion::Criterion;
use emdb::{
    Bincode, Codec, Emdb, Json, Namespace, Postcard, Table, key, read_header, write_header,
};
use serde::{Deserialize, Serialize};

const RECORDS: u64 = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Small {
    id: u64,
    name: String,
    score: f64,
}

fn small(id: u64) -> Small {
    #[expect(clippy::cast_precision_loss, reason = "ids are small")]
    let score = id as f64 * 0.5;
    Small { id, name: format!("user-{id:07}"), score }
}

/// The bytes the table stores for `value`: the header, then postcard.
fn encode_value(value: &Small) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    write_header(Postcard::ID, 1, &mut out);
    Postcard::encode_into(value, &mut out).unwrap_or_default();
    out
}

/// The same records in a typed table and, pre-encoded, in a raw namespace.
struct Fixture {
    table: Table<u64, Small>,
    raw: Namespace,
    values: Vec<Small>,
    /// Each record's stored key and value bytes.
    encoded: Vec<(Vec<u8>, Vec<u8>)>,
}

fn setup() -> Fixture {
    let db = Emdb::open_in_memory();
    let table = Table::<u64, Small>::open(&db, "bench").unwrap();
    let raw = db.namespace("raw").unwrap();
    let values: Vec<Small> = (0..RECORDS).map(small).collect();
    let encoded: Vec<(Vec<u8>, Vec<u8>)> =
        values.iter().map(|v| (key::encode(&v.id).unwrap_or_default(), encode_value(v))).collect();
    for (v, (k, bytes)) in values.iter().zip(&encoded) {
        table.insert(&v.id, v).unwrap();
        raw.insert(k, bytes).unwrap();
    }
    Fixture { table, raw, values, encoded }
}

fn typed_vs_raw(c: &mut Criterion) {
    // A fresh fixture per benchmark, so that none runs on a keyspace another one grew.
    let mut group = c.benchmark_group("put");
    group.bench_function("raw (pre-encoded bytes)", |b| {
        let Fixture { raw, encoded, .. } = setup();
        let mut next = 0;
        b.iter(|| {
            let (k, v) = &encoded[next % encoded.len()];
            next += 1;
            raw.insert(k, v).unwrap();
        });
    });
    group.bench_function("raw+codec (encode, then raw insert)", |b| {
        let Fixture { raw, values, .. } = setup();
        let mut next = 0;
        b.iter(|| {
            let v = &values[next % values.len()];
            next += 1;
            let k = key::encode(&v.id).unwrap_or_default();
            raw.insert(k, encode_value(v)).unwrap();
        });
    });
    group.bench_function("typed", |b| {
        let Fixture { table, values, .. } = setup();
        let mut next = 0;
        b.iter(|| {
            let v = &values[next % values.len()];
            next += 1;
            table.insert(&v.id, v).unwrap();
        });
    });
    group.finish();

    let mut group = c.benchmark_group("get");
    group.bench_function("raw (pre-encoded key)", |b| {
        let Fixture { raw, encoded, .. } = setup();
        let mut next = 0;
        b.iter(|| {
            let (k, _) = &encoded[next % encoded.len()];
            next += 1;
            black_box(raw.get(k).unwrap());
        });
    });
    group.bench_function("raw+codec (encode key, raw get, decode)", |b| {
        let Fixture { raw, .. } = setup();
        let mut next = 0;
        b.iter(|| {
            let id = next % RECORDS;
            next += 1;
            let k = key::encode(&id).unwrap_or_default();
            let bytes = raw.get(k).unwrap().unwrap_or_default();
            let (_, payload) = read_header(&bytes).unwrap();
            black_box(Postcard::decode::<Small>(payload).unwrap());
        });
    });
    group.bench_function("typed", |b| {
        let Fixture { table, .. } = setup();
        let mut next = 0;
        b.iter(|| {
            let id = next % RECORDS;
            next += 1;
            black_box(table.get(&id).unwrap());
        });
    });
    group.finish();
}

fn codec<C: Codec>(c: &mut Criterion) {
    let value = small(1_234_567);
    let bytes = C::encode(&value).unwrap_or_default();
    println!(
        "codec {:<8} encodes the 3-field struct in {} bytes (+2 header)",
        C::NAME,
        bytes.len()
    );
    let mut group = c.benchmark_group(format!("codec/{}", C::NAME));
    let mut out = Vec::with_capacity(64);
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            C::encode_into(black_box(&value), &mut out).unwrap();
        });
    });
    group.bench_function("decode", |b| {
        b.iter(|| black_box(C::decode::<Small>(black_box(&bytes)).unwrap()));
    });
    // What a typed `put` followed by a `get` of the same value costs in the codec alone.
    group.bench_function("encode+decode", |b| {
        b.iter(|| {
            out.clear();
            C::encode_into(black_box(&value), &mut out).unwrap();
            black_box(C::decode::<Small>(&out).unwrap())
        });
    });
    group.finish();
}

fn codecs(c: &mut Criterion) {
    codec::<Postcard>(c);
    codec::<Bincode>(c);
    codec::<Json>(c);
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    typed_vs_raw(&mut criterion);
    codecs(&mut criterion);
    criterion.final_summary();
}
