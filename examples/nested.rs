//! Nested groups: dotted keys such as `shop.phone.price`, read and written through `Focus`
//! handles (nested ones too), scanned with `group`, listed with keys relative to a focus, and
//! deleted with `Focus::delete_group` and `Emdb::delete_group`; an invalid prefix is an
//! `Error::InvalidPrefix`.
//!
//! Run it with `cargo run --example nested`.

use emdb::{Emdb, Error};

/// Prints every entry of an iterator of `(key, value)` pairs, indented.
fn print_entries(
    entries: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), Error>>,
) -> Result<(), Error> {
    for entry in entries {
        let (key, value) = entry?;
        println!("    {} = {}", String::from_utf8_lossy(&key), String::from_utf8_lossy(&value));
    }
    Ok(())
}

/// A value as text, for printing.
fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Checks that `result` is an `Error::InvalidPrefix` and prints its message.
fn report_invalid<T: std::fmt::Debug>(call: &str, result: Result<T, Error>) {
    assert!(matches!(result, Err(Error::InvalidPrefix { .. })), "{call} must fail: {result:?}");
    if let Err(err) = result {
        println!("  {call} -> {err}");
    }
}

fn main() -> Result<(), Error> {
    let db = Emdb::open_in_memory();

    // A focus is a cheap handle on the keys under `prefix.`; focus handles nest.
    let shop = db.focus("shop");
    shop.insert("name", "Corner Shop")?;
    let phone = shop.focus("phone");
    phone.insert("price", "499")?;
    phone.insert("stock", "12")?;
    phone.focus("variant").insert("color", "black")?;
    shop.focus("laptop").insert("price", "1299")?;
    db.insert("shopping-list", "not in the group: no '.' after 'shop'")?;
    let covers = phone.prefix()?;
    println!("wrote 5 keys under shop. and 1 beside it; the phone focus covers {covers:?}");

    // The full key is the prefix plus the relative key.
    let color = db.get("shop.phone.variant.color")?.map(lossy);
    println!("db.get(\"shop.phone.variant.color\") = {color:?}");
    let price = phone.get("price")?.map(lossy);
    println!("phone.get(\"price\") = {price:?}");

    // `group` scans every key under `shop.` at any depth, with full keys.
    println!("db.group(\"shop\") — full keys, every depth:");
    print_entries(db.group("shop")?)?;

    // A focus iterates with keys relative to itself.
    println!("phone.iter() — keys relative to shop.phone.:");
    print_entries(phone.iter()?)?;
    println!("phone.len() = {}", phone.len()?);

    // Deleting a group is one atomic commit.
    let removed = phone.delete_group()?;
    let left = db.group("shop")?.count();
    println!("phone.delete_group() removed {removed}; the shop group now has {left} entries");
    let removed = db.delete_group("shop")?;
    println!("db.delete_group(\"shop\") removed {removed}; what is left in the database:");
    print_entries(db.iter()?)?;

    // Invalid prefixes: a focus is made without a check, and every use of it reports the error.
    println!("invalid prefixes:");
    for bad in ["", ".shop", "shop.", "shop..phone"] {
        report_invalid(&format!("db.group({bad:?})"), db.group(bad));
    }
    let bad_focus = db.focus("shop").focus("");
    report_invalid("db.focus(\"shop\").focus(\"\").insert(..)", bad_focus.insert("price", "1"));
    report_invalid("db.delete_group(\"a..b\")", db.delete_group("a..b"));
    Ok(())
}
