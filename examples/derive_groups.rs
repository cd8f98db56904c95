//! `#[derive(Group)]`: a struct stored as one raw entry per field under `product.<sku>.`, with a
//! typed focus for reading and writing single fields. Prints what it does.
//!
//! Run it with `cargo run --example derive_groups`.

use emdb::{Emdb, Error, Group, GroupFields};

/// A product: its `sku` is the key segment, every other field one entry.
#[derive(Debug, Group)]
#[emdb(group = "product")]
struct Product {
    #[emdb(key)]
    sku: String,
    name: String,
    price: u32,
    /// Added after the first products were stored: older entries load it as `None`.
    #[emdb(default)]
    discount: Option<u8>,
    /// A nested group: `product.<sku>.dims.width` and `.height`.
    #[emdb(group)]
    dims: Dims,
}

/// The dimensions of a product, stored as a sub-group of it.
#[derive(Debug, GroupFields)]
struct Dims {
    width: u32,
    height: u32,
}

/// Prints every raw entry of the database.
fn dump(db: &Emdb) -> Result<(), Error> {
    for item in db.iter()? {
        let (key, value) = item?;
        println!("  {:<28} {value:02x?}", String::from_utf8_lossy(&key));
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let db = Emdb::open_in_memory();

    let phone = Product {
        sku: "phone".into(),
        name: "Phone X".into(),
        price: 799,
        discount: None,
        dims: Dims { width: 70, height: 150 },
    };
    phone.save(&db)?;
    println!("saved {phone:?} in one atomic commit; the raw entries:");
    dump(&db)?;
    println!("group(\"product.phone\") holds {} entries", db.group("product.phone")?.count());

    let focus = Product::focus(&db, "phone");
    println!("focus on product.phone: price = {:?}", focus.price().get()?);
    focus.price().insert(&899)?;
    focus.dims().width().insert(&72)?;
    println!(
        "set price and dims.width alone: price = {:?}, width = {:?}, name untouched = {:?}",
        focus.price().get()?,
        focus.dims().width().get()?,
        focus.name().get()?
    );

    // An entry written before `discount` existed: the field is missing and marked default.
    db.transaction(|tx| {
        Product {
            sku: "tablet".into(),
            name: "Tab S".into(),
            price: 499,
            discount: Some(10),
            dims: Dims { width: 160, height: 250 },
        }
        .save_in(tx)?;
        tx.remove("product.tablet.discount")?;
        Ok(())
    })?;
    println!(
        "loaded product.tablet without its discount entry: {:?}",
        Product::load(&db, "tablet")?
    );

    println!("every product, in key order:");
    for item in Product::all(&db)? {
        let product = item?;
        println!("  {} = {} at {}", product.sku, product.name, product.price);
    }

    match Product::load(&db, "a.b") {
        Err(err) => println!("a key with a dot is refused: {err}"),
        Ok(found) => println!("unexpected: {found:?}"),
    }

    println!("delete(\"phone\") removed something: {}", Product::delete(&db, "phone")?);
    println!("load(\"phone\") after delete: {:?}", Product::load(&db, "phone")?);
    println!("entries left:");
    dump(&db)?;
    Ok(())
}
