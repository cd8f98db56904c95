//! Derived records and groups on a database file survive closing and reopening it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb::{Emdb, Group, GroupFields, Record};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Record)]
#[emdb(table = "users", codec = "bincode", version = 2)]
struct User {
    #[emdb(key)]
    id: u64,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Group)]
#[emdb(group = "product")]
struct Product {
    #[emdb(key)]
    sku: String,
    name: String,
    price: u32,
    #[emdb(group)]
    dims: Dims,
}

#[derive(Debug, Clone, PartialEq, GroupFields)]
struct Dims {
    width: u32,
    height: u32,
}

fn phone() -> Product {
    Product {
        sku: "phone".into(),
        name: "Phone X".into(),
        price: 799,
        dims: Dims { width: 70, height: 150 },
    }
}

#[test]
fn derived_records_and_groups_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.emdb");
    {
        let db = Emdb::open(&path).unwrap();
        let users = User::table(&db).unwrap();
        users.put(&User { id: 1, name: "Ada".into() }).unwrap();
        users.put(&User { id: 2, name: "Grace".into() }).unwrap();
        phone().save(&db).unwrap();
        Product::focus(&db, "phone").price().insert(&899).unwrap();
        Product { sku: "tablet".into(), ..phone() }.save(&db).unwrap();
        assert!(Product::delete(&db, "tablet").unwrap());
        db.checkpoint().unwrap();
        // Written after the checkpoint: recovered from the log on reopen.
        Product::focus(&db, "phone").dims().width().insert(&72).unwrap();
    }
    let db = Emdb::open(&path).unwrap();
    let users = User::table(&db).unwrap();
    assert_eq!(users.version(), 2);
    assert_eq!(users.get(&2).unwrap(), Some(User { id: 2, name: "Grace".into() }));
    let expected = Product { price: 899, dims: Dims { width: 72, height: 150 }, ..phone() };
    assert_eq!(Product::load(&db, "phone").unwrap(), Some(expected.clone()));
    assert_eq!(Product::load(&db, "tablet").unwrap(), None);
    let all: Vec<Product> = Product::all(&db).unwrap().map(Result::unwrap).collect();
    assert_eq!(all, [expected]);
}
