//! The code the derives generate compiles without a single warning in a crate that denies them
//! all, whatever the visibility of the types and fields and whether the generated focus methods
//! are used.
#![deny(warnings)]
#![deny(missing_docs, unreachable_pub, unused_qualifications, unused_results)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb::{Emdb, Group, GroupFields, Record};
use serde::{Deserialize, Serialize};

/// A public record with a tuple key and every option.
#[derive(Serialize, Deserialize, Record)]
#[emdb(table = "accounts", codec = "json", version = 2, crate = "::emdb")]
pub struct Account {
    /// Part of the key.
    #[emdb(key)]
    pub org: String,
    /// Part of the key.
    #[emdb(key)]
    pub id: u64,
    /// Not part of the key.
    pub balance: i64,
    /// A unique index whose `by_` method is never called.
    #[emdb(index(unique))]
    pub iban: String,
    /// A multi-valued index.
    #[emdb(index)]
    pub labels: Vec<String>,
}

/// A private record with indexed private fields, never queried.
#[derive(Serialize, Deserialize, Record)]
struct Hidden {
    #[emdb(key)]
    id: u64,
    #[emdb(index)]
    parent: Option<u64>,
}

/// The previous version of `Ledger`.
#[derive(Serialize, Deserialize)]
pub struct LedgerV1 {
    /// The key.
    pub id: u64,
    /// Cents.
    pub cents: u32,
}

/// A record with a hand-written step from its previous version.
#[derive(Serialize, Deserialize, Record)]
#[emdb(version = 2, previous = "LedgerV1")]
pub struct Ledger {
    /// The key.
    #[emdb(key)]
    pub id: u64,
    /// Euros.
    pub euros: f64,
}

impl From<LedgerV1> for Ledger {
    fn from(old: LedgerV1) -> Self {
        Ledger { id: old.id, euros: f64::from(old.cents) / 100.0 }
    }
}

/// A public group whose fields are private: its focus methods are private and never called.
#[derive(Group)]
#[emdb(group = "catalog.product", codec = "bincode", version = 3)]
pub struct Product {
    #[emdb(key)]
    sku: String,
    #[emdb(rename = "title")]
    name: String,
    #[emdb(default)]
    price: Option<u32>,
    #[emdb(group, default)]
    dims: Dims,
}

/// A public nested group with public fields.
#[derive(Default, GroupFields)]
pub struct Dims {
    /// Width in millimetres.
    pub width: u32,
    /// Height in millimetres.
    pub height: u32,
}

mod private {
    use emdb::{Group, GroupFields, Record};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Record)]
    pub(crate) struct Hidden(#[emdb(key)] pub(crate) u8);

    #[derive(Group)]
    pub(crate) struct Note {
        #[emdb(key)]
        pub(crate) id: String,
        pub(crate) text: String,
        #[emdb(group)]
        pub(crate) meta: Meta,
    }

    #[derive(GroupFields)]
    pub(crate) struct Meta {}

    #[derive(Group)]
    struct OnlyAKey {
        #[emdb(key)]
        id: String,
    }

    pub(crate) fn touch(db: &emdb::Emdb) -> emdb::Result<()> {
        OnlyAKey { id: "k".into() }.save(db)
    }
}

#[test]
fn both_derives_compile_warning_free_and_work() {
    let db = Emdb::open_in_memory();
    let product = Product {
        sku: "p".into(),
        name: "Pen".into(),
        price: Some(2),
        dims: Dims { width: 1, height: 2 },
    };
    product.save(&db).unwrap();
    let loaded = Product::load(&db, "p").unwrap().unwrap();
    assert_eq!((loaded.sku, loaded.name, loaded.price), ("p".into(), "Pen".into(), Some(2)));
    assert_eq!((loaded.dims.width, loaded.dims.height), (1, 2));
    assert_eq!(Product::focus(&db, "p").dims().width().get().unwrap(), Some(1));
    let account = Account { org: "o".into(), id: 1, balance: -5, iban: "x".into(), labels: vec![] };
    assert_eq!(account.key(), ("o".to_owned(), 1));
    assert_eq!(account.balance, -5);
    assert_eq!(private::Hidden(3).key(), 3);
    let note = private::Note { id: "n".into(), text: "t".into(), meta: private::Meta {} };
    note.save(&db).unwrap();
    assert_eq!(private::Note::focus(&db, "n").text().get().unwrap().as_deref(), Some("t"));
    assert_eq!(private::Note::load(&db, "n").unwrap().map(|n| n.text).as_deref(), Some("t"));
    private::touch(&db).unwrap();
    let v1 = emdb::Table::<u64, LedgerV1>::open(&db, "ledger").unwrap();
    v1.insert(&1, &LedgerV1 { id: 1, cents: 250 }).unwrap();
    let ledger = Ledger::table(&db).unwrap();
    assert_eq!(ledger.get(&1).unwrap().map(|l| l.euros), Some(2.5));
}
