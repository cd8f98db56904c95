//! Typed and raw access to the same database: a typed table is plain bytes in a core namespace,
//! readable with the raw API. This example reads table `users` through `db.namespace(...)`,
//! decodes its keys and value headers by hand, and shows the catalog entry.
//!
//! Run it with `cargo run --example raw_escape_hatch`.

use emdb::{Codec, Emdb, Error, Postcard, Table, codec_name, key, read_header};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct User {
    name: String,
    visits: u32,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

fn main() -> Result<(), Error> {
    let db = Emdb::open_in_memory();
    let users = Table::<i64, User>::open(&db, "users")?;
    users.insert(&-1, &User { name: "ada".to_owned(), visits: 3 })?;
    users.insert(&2, &User { name: "bob".to_owned(), visits: 0 })?;
    db.insert("config:theme", "dark")?; // a raw key in the default namespace: never collides
    println!("typed: users = {} entries, default namespace = {} entry", users.len()?, db.len()?);

    // Table `users` is the core namespace `emdb.table.users`. Names starting with `emdb.` are
    // reserved for the typed layer.
    let raw = db.namespace("emdb.table.users")?;
    println!("\nraw view of namespace {:?}:", raw.name());
    for entry in raw.iter()? {
        let (key_bytes, value_bytes) = entry?;
        // The key is the order-preserving key encoding of the i64: big-endian with the sign bit
        // flipped, so -1 (7f ff ..) sorts before 2 (80 00 .. 02), exactly like the numbers.
        let id: i64 = key::decode(&key_bytes)?;
        // The value is a header (codec id, schema version as LEB128) and the codec's payload.
        let (header, payload) = read_header(&value_bytes)?;
        let codec = codec_name(header.codec_id).unwrap_or("unknown");
        println!("  key   {:<26} = {id}", hex(&key_bytes));
        println!(
            "  value {} = header [codec {} ({codec}), version {}] + payload {}",
            hex(&value_bytes),
            header.codec_id,
            header.schema_version,
            hex(payload)
        );
        let user: User = Postcard::decode(payload).map_err(|source| Error::Decode {
            table: "users".to_owned(),
            key: key_bytes.clone(),
            key_text: None,
            source,
        })?;
        println!("        decoded by hand: {user:?}");
    }

    // Raw writes are visible to the typed table: build the bytes the way the table would.
    let mut value = Vec::new();
    emdb::write_header(Postcard::ID, 1, &mut value);
    Postcard::encode_into(&User { name: "carol".to_owned(), visits: 1 }, &mut value)
        .map_err(|source| Error::Encode { table: "users".to_owned(), source })?;
    raw.insert(key::encode(&3_i64)?, &value)?;
    println!("\nwrote key 3 raw; typed get(&3) = {:?}", users.get(&3)?);
    println!("typed get_raw(&3) = {}", hex(&users.get_raw(&3)?.unwrap_or_default()));

    // Bytes that are not a User are an error for that entry, never a panic or a skipped row.
    raw.insert(key::encode(&4_i64)?, [Postcard::ID, 1, 0xff])?;
    for entry in users.iter()? {
        match entry {
            Ok((id, user)) => println!("  {id}: {user:?}"),
            Err(err) => println!("  error: {err}"),
        }
    }

    // The catalog: key = table name, value = format byte 2 + postcard(codec, key shape, newest
    // version, every version with its value shape).
    let catalog = db.namespace("emdb.tables")?;
    if let Some(entry) = catalog.get("users")? {
        println!("\ncatalog entry for \"users\": {}", hex(&entry));
        println!(
            "  (02 = format; then length-prefixed \"postcard\", the key shape, version 1, then the value shape of version 1)"
        );
    }
    Ok(())
}
