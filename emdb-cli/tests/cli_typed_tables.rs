//! Typed tables through the binary: `stats` lists them with their codecs, schema versions,
//! recorded key and value types and declared secondary indexes, `--table` with `--key-type`
//! reads them by typed key, values of every codec show as JSON and keys as their recorded key
//! type.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{emdb, stdout_of, temp_db};
use emdb_core::Emdb;
use emdb_typed::{Bincode, Index, Json, Postcard, Table};
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
fn stats_lists_the_declared_indexes_of_each_table() {
    let (_dir, path) = temp_db();
    tables_db(&path);
    {
        let db = Emdb::open(&path).unwrap();
        let by_name = Index::unique("name", |i: &Item| vec![i.name.clone()]);
        let by_n = Index::non_unique("n", |i: &Item| vec![i.n]);
        Table::<u64, Item, Postcard>::options("by_id")
            .index(by_name)
            .index(by_n)
            .open(&db)
            .unwrap();
    }
    let json = stdout_of(emdb().args(["stats", "--json"]).arg(&path));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let tables = v["tables"].as_array().unwrap();
    let find = |name: &str| tables.iter().find(|t| t["name"] == name).unwrap().clone();
    assert_eq!(
        find("by_id")["indexes"],
        serde_json::json!([{"name": "name", "unique": true}, {"name": "n", "unique": false}])
    );
    assert_eq!(find("by_name")["indexes"], serde_json::json!([]));

    let text = stdout_of(emdb().arg("stats").arg(&path));
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("by_id")).unwrap();
    let section: Vec<&str> =
        lines[at + 1..].iter().copied().take_while(|l| l.starts_with("  ")).collect();
    assert!(section.contains(&"  index              name (unique)"), "{text}");
    assert!(section.contains(&"  index              n (non-unique)"), "{text}");
    assert_eq!(text.matches("  index  ").count(), 2, "only by_id has indexes: {text}");
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
    assert_eq!(raw[..2], [1, 1], "postcard, version 1");
    let got = stdout_of(
        emdb().args(["get", "--table", "by_id", "--key-type", "u64"]).arg(&path).arg("2"),
    );
    assert_eq!(got, "{\"name\":\"item 2\",\"n\":2}  (postcard v1)\n");
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

#[test]
fn stats_shows_each_tables_key_type_and_value_type_per_version() {
    let (_dir, path) = temp_db();
    tables_db(&path);
    let json = stdout_of(emdb().args(["stats", "--json"]).arg(&path));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let tables = v["tables"].as_array().unwrap();
    let find = |name: &str| tables.iter().find(|t| t["name"] == name).unwrap().clone();
    assert_eq!(find("by_id")["key_type"], "u64");
    assert_eq!(find("by_name")["key_type"], "String");
    assert_eq!(
        find("by_delta")["value_types"],
        serde_json::json!([{"version": 3, "value_type": "struct { name: String, n: i32 }"}])
    );
    let text = stdout_of(emdb().arg("stats").arg(&path));
    let after = |table: &str| -> Vec<&str> {
        text.lines().skip_while(|l| !l.starts_with(table)).skip(1).take(2).collect()
    };
    assert_eq!(
        after("by_delta"),
        ["  key type           i32", "  v3 value type      struct { name: String, n: i32 }"],
        "{text}"
    );
}

#[test]
fn postcard_and_bincode_values_show_as_json_and_keys_as_their_type_without_key_type() {
    let (_dir, path) = temp_db();
    tables_db(&path);
    let got = stdout_of(
        emdb().args(["get", "--table", "by_delta", "--key-type", "i32"]).arg(&path).arg("-1"),
    );
    assert_eq!(got, "{\"name\":\"item 1\",\"n\":1}  (bincode v3)\n");
    let out = stdout_of(emdb().args(["scan", "--table", "by_id", "--limit", "2"]).arg(&path));
    assert_eq!(
        out,
        "0\t{\"name\":\"item 0\",\"n\":0}  (postcard v1)\n\
         1\t{\"name\":\"item 1\",\"n\":1}  (postcard v1)\n"
    );
    let keys = stdout_of(emdb().args(["scan", "--table", "by_delta", "--keys-only"]).arg(&path));
    assert_eq!(keys, "-3\n-2\n-1\n0\n");
}

#[test]
fn dump_adds_the_decoded_json_of_binary_table_values_and_load_restores_the_bytes() {
    let (dir, path) = temp_db();
    tables_db(&path);
    let dump = stdout_of(emdb().arg("dump").arg(&path));
    let lines: Vec<serde_json::Value> =
        dump.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let entry = |ns: &str| lines.iter().find(|l| l["namespace"] == ns && l.get("key").is_some());
    assert_eq!(
        entry("emdb.table.by_id").unwrap()["decoded"],
        serde_json::json!({"name": "item 0", "n": 0})
    );
    assert!(entry("emdb.table.by_name").unwrap().get("decoded").is_none(), "json stays json");
    assert!(entry("emdb.tables").unwrap().get("decoded").is_none());

    let copy = dir.path().join("copy.emdb");
    emdb().arg("load").arg(&copy).write_stdin(dump.clone()).assert().success();
    assert_eq!(stdout_of(emdb().arg("dump").arg(&copy)), dump);
    let db = Emdb::open(&copy).unwrap();
    let by_delta = Table::<i32, Item, Bincode>::options("by_delta").version(3).open(&db).unwrap();
    assert_eq!(by_delta.get(&-2).unwrap(), Some(item(2)));
}

#[test]
fn a_damaged_catalog_entry_leaves_values_in_hex_and_the_dump_whole() {
    let (_dir, path) = temp_db();
    tables_db(&path);
    {
        let db = Emdb::open(&path).unwrap();
        db.namespace("emdb.tables").unwrap().insert("by_id", [9u8, 9]).unwrap();
    }
    let got = stdout_of(
        emdb().args(["get", "--table", "by_id", "--key-type", "u64"]).arg(&path).arg("2"),
    );
    assert!(got.starts_with("0x") && got.ends_with("  (postcard v1)\n"), "{got}");
    let dump = stdout_of(emdb().arg("dump").arg(&path));
    let lines: Vec<serde_json::Value> =
        dump.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let entries = |ns: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|l| l["namespace"] == ns && l.get("key").is_some()).collect()
    };
    assert_eq!(entries("emdb.table.by_id").len(), 4);
    assert!(entries("emdb.table.by_id").iter().all(|l| l.get("decoded").is_none()));
    assert!(entries("emdb.table.by_delta").iter().all(|l| l.get("decoded").is_some()));
    let text = stdout_of(emdb().arg("stats").arg(&path));
    assert!(text.contains("key type           (not recorded)"), "{text}");
}
