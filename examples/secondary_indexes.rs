//! Secondary indexes: a `users` table found by email (unique), team, tags (one entry per tag)
//! and manager (only when set), queried on the table and inside a transaction, with a unique
//! violation refused and the indexes verified.
//!
//! Run it with `cargo run --example secondary_indexes`. With `-- --bench [rows]` (best with
//! `--release`) it also times, on the same machine in the same run, `put` into a table with two
//! indexes against one with none, and `get_by` on a unique index against `get` by key; see
//! docs/BENCH.md.

use std::time::{Duration, Instant};

use emdb::{Emdb, Error, Record, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, Record)]
#[emdb(table = "users")]
struct User {
    #[emdb(key)]
    id: u64,
    #[emdb(index(unique))]
    email: String,
    #[emdb(index)]
    team: String,
    #[emdb(index)]
    tags: Vec<String>,
    #[emdb(index)]
    manager: Option<u64>,
}

fn user(id: u64, email: &str, team: &str, tags: &[&str], manager: Option<u64>) -> User {
    User {
        id,
        email: email.to_owned(),
        team: team.to_owned(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        manager,
    }
}

fn main() -> Result<()> {
    let db = Emdb::open_in_memory();
    let users = User::table(&db)?;
    users.put(&user(1, "ada@example.org", "eng", &["rust", "db"], None))?;
    users.put(&user(2, "bob@example.org", "eng", &["rust"], Some(1)))?;
    users.put(&user(3, "cy@example.org", "ops", &["go"], Some(1)))?;
    users.put(&user(4, "di@example.org", "ops", &[], Some(3)))?;

    let ada = users.get_by(&User::by_email(), &"ada@example.org".to_owned())?;
    println!("by email ada@example.org: {ada:?}");
    for row in users.find_by(&User::by_team(), &"eng".to_owned())? {
        let (id, u) = row?;
        println!("team eng: {id} {}", u.email);
    }
    let rust: Vec<u64> = users
        .find_by(&User::by_tags(), "rust")?
        .map(|r| r.map(|(id, _)| id))
        .collect::<Result<_>>()?;
    println!("tagged rust: {rust:?}");
    let managed: Vec<(u64, Option<u64>)> = users
        .range_by(&User::by_manager(), 1..=3)?
        .map(|r| r.map(|(id, u)| (id, u.manager)))
        .collect::<Result<_>>()?;
    println!("managed by 1..=3 (manager order, then id): {managed:?}");

    match users.put(&user(5, "ada@example.org", "ops", &[], None)) {
        Err(err @ Error::UniqueViolation { .. }) => println!("refused: {err}"),
        other => println!("unexpected: {other:?}"),
    }

    let moved = db.transaction(|tx| {
        let mut t = users.tx(tx);
        t.update(&4, |u| u.team = "eng".into())?;
        Ok(t.find_by(&User::by_team(), "eng")?.count())
    })?;
    println!("eng after moving user 4, seen inside the transaction: {moved}");
    users.verify_indexes()?;
    println!("indexes verified");

    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--bench") {
        let rows: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
        bench(rows)?;
    }
    Ok(())
}

/// A row of the benchmark: a u64 key, two indexed strings and a payload.
#[derive(Serialize, Deserialize)]
struct Row {
    email: String,
    team: String,
    payload: String,
}

fn row(i: u64) -> Row {
    Row {
        email: format!("user{i}@example.org"),
        team: format!("team{}", i % 100),
        payload: "x".repeat(40),
    }
}

fn per_op(elapsed: Duration, n: u32) -> f64 {
    elapsed.as_secs_f64() * 1e9 / f64::from(n)
}

fn bench(rows: u32) -> Result<()> {
    use emdb::{Index, Table};
    let by_email = Index::unique("email", |r: &Row| vec![r.email.clone()]);
    let by_team = Index::non_unique("team", |r: &Row| vec![r.team.clone()]);
    let db = Emdb::open_in_memory();
    let plain = Table::<u64, Row>::open(&db, "plain")?;
    let indexed =
        Table::<u64, Row>::options("indexed").index(by_email.clone()).index(by_team).open(&db)?;
    println!(
        "workload: {rows} rows, u64 keys, ~70-byte postcard values, in memory, default durability"
    );

    let start = Instant::now();
    for i in 0..u64::from(rows) {
        plain.insert(&i, &row(i))?;
    }
    let put_plain = per_op(start.elapsed(), rows);
    let in_tx = Table::<u64, Row>::open(&db, "in_tx")?;
    let start = Instant::now();
    for i in 0..u64::from(rows) {
        db.transaction(|tx| in_tx.tx(tx).insert(&i, &row(i)))?;
    }
    let put_tx = per_op(start.elapsed(), rows);
    let start = Instant::now();
    for i in 0..u64::from(rows) {
        indexed.insert(&i, &row(i))?;
    }
    let put_indexed = per_op(start.elapsed(), rows);
    println!("put, no index:    {put_plain:>8.0} ns/op");
    println!("put, no index, in a transaction: {put_tx:>8.0} ns/op  ({:.2}x)", put_tx / put_plain);
    println!("put, two indexes: {put_indexed:>8.0} ns/op  ({:.2}x)", put_indexed / put_plain);

    let emails: Vec<String> =
        (0..u64::from(rows)).map(|i| format!("user{i}@example.org")).collect();
    let start = Instant::now();
    for i in 0..u64::from(rows) {
        std::hint::black_box(indexed.get(&i)?);
    }
    let get = per_op(start.elapsed(), rows);
    let start = Instant::now();
    for email in &emails {
        std::hint::black_box(indexed.get_by(&by_email, email)?);
    }
    let get_by = per_op(start.elapsed(), rows);
    println!("get by key:       {get:>8.0} ns/op");
    println!("get_by email:     {get_by:>8.0} ns/op  ({:.2}x)", get_by / get);
    Ok(())
}
