//! Typed tables through the binary: `stats` lists them with their codecs and schema versions,
//! `--table` with `--key-type` reads them by typed key, json values show as JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{emdb, stdout_of, temp_db};
use emdb_core::Emdb;
use emdb_typed::{Bincode, Json, Postcard, Table};
use predicates::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    name: String,
    n: i32,
}

fn item(n: i32) -> Item {
    Item { name: format!("item {n}"), n }
}

/// Tables of each codec: `by_id` (u64 keys, postcard), `by_delta` (i32 keys, bincode, schema
/// version 3), `by_name` (string keys, json).
fn tables_db(path: &std::path::Path) {
    let db = Emdb::open(path).unwrap();
    let by_id = Table::<u64, Item, Postcard>::open_with(&db, "by_id").unwrap();
    let by_delta = Table::<i32, Item, Bincode>::options("by_delta").version(3).open(&db).unwrap();
    let by_name = Table::<String, Item, Json>::open_with(&db, "by_name").unwrap();
    for n in 0..4 {
        by_id.insert(&u64::try_from(n).unwrap(), &item(n)).unwrap();
        by_delta.insert(&-n, &item(n)).unwrap();
        by_name.insert(&format!("name {n}"), &item(n)).unwrap();
    }
}

#[test]
fn stats_lists_each_table_with_its_codec_and_schema_versions() {
    let (_dir, path) = temp_db();
    tables_db(&path);
    let json = stdout_of(emdb().args(["stats", "--json"]).arg(&path));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let tables = v["tables"].as_array().unwrap();
    let find = |name: &str| tables.iter().find(|t| t["name"] == name).unwrap().clone();
    assert_eq!(find("by_id")["codecs"], serde_json::json!(["postcard"]));
    assert_eq!(find("by_delta")["codecs"], serde_json::json!(["bincode"]));
    assert_eq!(find("by_delta")["schema_versions"], serde_json::json!([3]));
    assert_eq!(find("by_name")["codecs"], serde_json::json!(["json"]));
    assert_eq!(find("by_name")["entries"], 4);
    let text = stdout_of(emdb().arg("stats").arg(&path));
    assert!(text.lines().any(|l| l.starts_with("by_delta") && l.contains("bincode")), "{text}");
}

#[test]
fn json_values_are_shown_as_json_under_their_typed_keys() {
    let (_dir, path) = temp_db();
    tables_db(&path);
    let out = stdout_of(
        emdb()
            .args(["scan", "--table", "by_name", "--key-type", "str", "--prefix", "name "])
            .arg(&path),
    );
    let first = out.lines().next().unwrap();
    assert_eq!(first, "name 0\t{\"name\":\"item 0\",\"n\":0}  (json v1)");
    assert_eq!(out.lines().count(), 4);
    let got = stdout_of(
        emdb().args(["get", "--table", "by_name", "--key-type", "str"]).arg(&path).arg("name 2"),
    );
    assert_eq!(got, "{\"name\":\"item 2\",\"n\":2}  (json v1)\n");
}

#[test]
fn typed_keys_are_parsed_for_get_and_ranges() {
    let (_dir, path) = temp_db();
    tables_db(&path);
    let raw = {
        let db = Emdb::open(&path).unwrap();
        let by_id = Table::<u64, Item, Postcard>::open_with(&db, "by_id").unwrap();
        by_id.get_raw(&2).unwrap().unwrap()
    };
    let hex: String = raw[2..]
        .iter()
        .flat_map(|b| [b >> 4, b & 0xf])
        .map(|d| char::from_digit(d.into(), 16).unwrap())
        .collect();
    let got = stdout_of(
        emdb().args(["get", "--table", "by_id", "--key-type", "u64"]).arg(&path).arg("2"),
    );
    assert_eq!(got, format!("0x{hex}  (postcard v1)\n"));
    let keys = stdout_of(
        emdb()
            .args(["scan", "--table", "by_delta", "--key-type", "i32", "--keys-only"])
            .args(["--from", "-3", "--to", "0"])
            .arg(&path),
    );
    assert_eq!(keys, "-3\n-2\n-1\n", "signed keys in numeric order");
    let got = stdout_of(
        emdb().args(["get", "--table", "by_delta", "--key-type", "i32"]).arg(&path).arg("-1"),
    );
    assert!(got.ends_with("  (bincode v3)\n"), "{got}");
}

#[test]
fn an_unknown_table_or_a_key_type_without_a_table_is_refused() {
    let (_dir, path) = temp_db();
    tables_db(&path);
    emdb().args(["get", "--table", "nope"]).arg(&path).arg("k").assert().code(3).stderr(
        predicate::str::contains("has no table \"nope\"; it has: by_delta, by_id, by_name"),
    );
    emdb()
        .args(["get", "--key-type", "u64"])
        .arg(&path)
        .arg("1")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--table"));
    emdb()
        .args(["get", "--table", "by_id", "--key-type", "u8"])
        .arg(&path)
        .arg("300")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a u8"));
}
