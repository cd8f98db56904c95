//! `TableInfo::indexes`: a table's declared secondary indexes, read from its catalog entry
//! without the table's Rust types — name and uniqueness in declared order, the set of the last
//! open when it changes, none for a table without indexes, the same after a reopen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb_core::Emdb;
use emdb_typed::{Index, NonUnique, Table, TableInfo, Unique};

type User = (String, u32);

fn by_email() -> Index<User, String, Unique> {
    Index::unique("email", |u: &User| vec![u.0.clone()])
}

fn by_team() -> Index<User, u32, NonUnique> {
    Index::non_unique("team", |u: &User| vec![u.1])
}

fn indexes(db: &Emdb, table: &str) -> Vec<(String, bool)> {
    TableInfo::read(db, table).unwrap().unwrap().indexes().to_vec()
}

fn named(list: &[(&str, bool)]) -> Vec<(String, bool)> {
    list.iter().map(|(name, unique)| ((*name).to_owned(), *unique)).collect()
}

#[test]
fn table_info_lists_the_declared_indexes_as_the_catalog_records_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Emdb::open(&path).unwrap();
        Table::<u64, User>::open(&db, "plain").unwrap();
        let users = Table::<u64, User>::options("users")
            .index(by_email())
            .index(by_team())
            .open(&db)
            .unwrap();
        users.insert(&1, &("ada@x.org".into(), 7)).unwrap();
        assert!(indexes(&db, "plain").is_empty());
        assert_eq!(indexes(&db, "users"), named(&[("email", true), ("team", false)]));
    }
    let db = Emdb::builder().path(&path).read_only(true).build().unwrap();
    let listed: Vec<(String, Vec<(String, bool)>)> = TableInfo::list(&db)
        .unwrap()
        .iter()
        .map(|info| (info.name().to_owned(), info.indexes().to_vec()))
        .collect();
    assert_eq!(
        listed,
        [
            ("plain".to_owned(), Vec::new()),
            ("users".to_owned(), named(&[("email", true), ("team", false)]))
        ]
    );
}

#[test]
fn table_info_follows_the_declared_set_when_it_changes_at_open() {
    let db = Emdb::open_in_memory();
    Table::<u64, User>::options("users").index(by_team()).open(&db).unwrap();
    assert_eq!(indexes(&db, "users"), named(&[("team", false)]));
    Table::<u64, User>::options("users").index(by_team()).index(by_email()).open(&db).unwrap();
    assert_eq!(indexes(&db, "users"), named(&[("team", false), ("email", true)]));
    Table::<u64, User>::open(&db, "users").unwrap();
    assert!(indexes(&db, "users").is_empty());
}
