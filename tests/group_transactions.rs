//! Groups and their typed field handles inside transactions: a refused order takes no stock,
//! a committed one takes it with the order, and loads inside the transaction see its writes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb::{Emdb, Error, Group, Table};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Group)]
#[emdb(group = "product")]
struct Product {
    #[emdb(key)]
    sku: String,
    stock: u32,
}

#[derive(Debug)]
enum OrderError {
    OutOfStock { sku: String, have: u32, want: u32 },
    Db(Error),
}

impl From<Error> for OrderError {
    fn from(e: Error) -> Self {
        OrderError::Db(e)
    }
}

/// Places an order of `want` units of `sku`: the stock decrement and the order row commit
/// together, or neither does.
fn order(
    db: &Emdb,
    orders: &Table<u64, String>,
    id: u64,
    sku: &str,
    want: u32,
) -> Result<(), OrderError> {
    let stock = Product::focus(db, sku).stock();
    db.try_transaction(|tx| {
        orders.tx(tx).insert(&id, &sku.to_owned())?;
        let have = stock.get_in(tx)?.unwrap_or(0);
        if have < want {
            return Err(OrderError::OutOfStock { sku: sku.to_owned(), have, want });
        }
        stock.insert_in(tx, &(have - want))?;
        Ok(())
    })
}

#[test]
fn a_refused_order_takes_no_stock_and_a_placed_one_takes_it_with_the_order() {
    let db = Emdb::open_in_memory();
    let orders = Table::<u64, String>::open(&db, "orders").unwrap();
    Product { sku: "pen".into(), stock: 3 }.save(&db).unwrap();
    let refused = order(&db, &orders, 1, "pen", 5);
    assert!(
        matches!(&refused, Err(OrderError::OutOfStock { sku, have: 3, want: 5 }) if sku == "pen"),
        "{refused:?}"
    );
    assert_eq!(Product::load(&db, "pen").unwrap().unwrap().stock, 3, "no stock taken");
    assert_eq!(orders.get(&1).unwrap(), None, "no order either");
    order(&db, &orders, 2, "pen", 2).unwrap();
    assert_eq!(Product::load(&db, "pen").unwrap().unwrap().stock, 1);
    assert_eq!(orders.get(&2).unwrap().as_deref(), Some("pen"));
}

#[test]
fn loads_and_field_reads_inside_a_transaction_see_its_own_writes() {
    let db = Emdb::open_in_memory();
    Product { sku: "ink".into(), stock: 10 }.save(&db).unwrap();
    let stock = Product::focus(&db, "ink").stock();
    db.transaction(|tx| {
        assert_eq!(Product::load_in(tx, "ink")?.map(|p| p.stock), Some(10));
        stock.insert_in(tx, &7)?;
        assert_eq!(stock.get_in(tx)?, Some(7));
        assert_eq!(Product::load_in(tx, "ink")?.map(|p| p.stock), Some(7));
        Product { sku: "cap".into(), stock: 1 }.save_in(tx)?;
        assert_eq!(Product::load_in(tx, "cap")?, Some(Product { sku: "cap".into(), stock: 1 }));
        assert!(Product::delete_in(tx, "cap")?);
        assert_eq!(Product::load_in(tx, "cap")?, None);
        assert!(stock.remove_in(tx)?);
        assert_eq!(stock.get_in(tx)?, None);
        Ok(())
    })
    .unwrap();
    assert_eq!(stock.get().unwrap(), None, "the field removal committed");
    let invalid = db.transaction(|tx| Product::load_in(tx, "a.b"));
    assert!(matches!(invalid, Err(Error::InvalidPrefix { .. })));
    let db_error = order(&db, &Table::open(&db, "orders").unwrap(), 9, "a.b", 1);
    assert!(matches!(db_error, Err(OrderError::Db(Error::InvalidPrefix { .. }))), "{db_error:?}");
}
