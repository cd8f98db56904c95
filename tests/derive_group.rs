//! `#[derive(Group)]` and `#[derive(GroupFields)]`: the stored layout, atomic save and delete,
//! typed field focus, load with missing and unknown fields, nested groups, iteration, and the
//! key rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use emdb::{Emdb, Error, FieldFocus, Group, GroupFields, GroupPath, Json, Postcard};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Group)]
#[emdb(group = "product")]
struct Product {
    #[emdb(key)]
    sku: String,
    name: String,
    price: u32,
}

fn phone() -> Product {
    Product { sku: "phone".into(), name: "Phone X".into(), price: 799 }
}

/// Every raw entry of the database, keys as text.
fn entries(db: &Emdb) -> Vec<(String, Vec<u8>)> {
    db.iter()
        .unwrap()
        .map(|item| {
            let (key, value) = item.unwrap();
            (String::from_utf8(key).unwrap(), value)
        })
        .collect()
}

#[test]
fn save_writes_one_entry_per_field_and_none_for_the_key() {
    let db = Emdb::open_in_memory();
    phone().save(&db).unwrap();
    assert_eq!(db.group("product.phone").unwrap().count(), 2);
    let keys: Vec<String> = entries(&db).into_iter().map(|(key, _)| key).collect();
    assert_eq!(keys, ["product.phone.name", "product.phone.price"]);
    // The value header (postcard = 1, version 1), then postcard's varint 799.
    assert_eq!(db.get("product.phone.price").unwrap(), Some(vec![1, 1, 0x9f, 0x06]));
}

#[test]
fn the_readme_walkthrough_works() {
    let db = Emdb::open_in_memory();
    let p = phone();
    p.save(&db).unwrap();
    let f = Product::focus(&db, "phone");
    assert_eq!(f.price().get().unwrap(), Some(799));
    f.price().insert(&899).unwrap();
    let back: Option<Product> = Product::load(&db, "phone").unwrap();
    assert_eq!(back, Some(Product { price: 899, ..phone() }));
    assert!(Product::delete(&db, "phone").unwrap());
    assert_eq!(Product::all(&db).unwrap().count(), 0);
    assert!(db.is_empty().unwrap());
}

#[test]
fn setting_one_field_writes_one_entry_and_leaves_the_others_untouched() {
    let db = Emdb::open_in_memory();
    phone().save(&db).unwrap();
    let name_before = db.get("product.phone.name").unwrap();
    Product::focus(&db, "phone").price().insert(&1).unwrap();
    assert_eq!(db.get("product.phone.name").unwrap(), name_before);
    assert_eq!(db.len().unwrap(), 2);
    let name: FieldFocus<String> = Product::focus(&db, "phone").name();
    assert_eq!(name.get().unwrap().as_deref(), Some("Phone X"));
    assert_eq!(name.key(), "product.phone.name");
    assert_eq!(name.name(), "name");
}

#[test]
fn a_field_focus_on_an_absent_entry_reads_none_and_can_create_a_partial_entry() {
    let db = Emdb::open_in_memory();
    let focus = Product::focus(&db, "ghost");
    assert_eq!(focus.price().get().unwrap(), None);
    assert!(!focus.price().contains_key().unwrap());
    assert!(!focus.price().remove().unwrap());
    focus.price().insert(&5).unwrap();
    let err = Product::load(&db, "ghost").unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    assert!(err.to_string().contains("field \"name\" of \"product.ghost\" is missing"), "{err}");
}

#[test]
fn save_replaces_the_whole_entry_and_drops_stale_sub_keys() {
    let db = Emdb::open_in_memory();
    db.insert("product.phone.colour", "left over from an older schema").unwrap();
    db.insert("product.phone.deep.er", "anything under the prefix").unwrap();
    db.insert("product.phones.name", "another key: untouched").unwrap();
    phone().save(&db).unwrap();
    let keys: Vec<String> = entries(&db).into_iter().map(|(key, _)| key).collect();
    assert_eq!(keys, ["product.phone.name", "product.phone.price", "product.phones.name"]);
}

/// A value whose encoding always fails.
#[derive(Debug, Default, PartialEq)]
struct Unencodable;

impl Serialize for Unencodable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this value refuses to be encoded"))
    }
}

impl<'de> Deserialize<'de> for Unencodable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <()>::deserialize(d).map(|()| Unencodable)
    }
}

#[derive(Debug, Group)]
#[emdb(group = "fragile")]
struct Fragile {
    #[emdb(key)]
    id: String,
    first: u32,
    second: Unencodable,
}

#[test]
fn a_save_that_fails_to_encode_writes_nothing_and_keeps_the_old_entry() {
    let db = Emdb::open_in_memory();
    db.insert("fragile.a.first", [1, 1, 5]).unwrap();
    let before = entries(&db);
    let err = Fragile { id: "a".into(), first: 9, second: Unencodable }.save(&db).unwrap_err();
    assert!(matches!(err, Error::Encode { ref table, .. } if table == "fragile.a"), "{err}");
    assert_eq!(entries(&db), before);
}

#[test]
fn a_save_inside_a_failed_transaction_leaves_no_trace() {
    let db = Emdb::open_in_memory();
    let result = db.transaction::<_, ()>(|tx| {
        phone().save_in(tx)?;
        Err(Error::TransactionAborted("test"))
    });
    assert!(result.is_err());
    assert!(db.is_empty().unwrap());
    db.transaction(|tx| {
        phone().save_in(tx)?;
        Product { sku: "tablet".into(), name: "Tab".into(), price: 1 }.save_in(tx)?;
        Product::delete_in(tx, "tablet")
    })
    .unwrap();
    assert_eq!(Product::all(&db).unwrap().map(|p| p.unwrap().sku).collect::<Vec<_>>(), ["phone"]);
}

#[test]
fn load_returns_none_when_nothing_is_stored_and_ignores_unknown_fields() {
    let db = Emdb::open_in_memory();
    assert_eq!(Product::load(&db, "phone").unwrap(), None);
    phone().save(&db).unwrap();
    db.insert("product.phone.removed_field", "written by an older version").unwrap();
    db.insert("product.phone.sub.thing", "a sub-key").unwrap();
    assert_eq!(Product::load(&db, "phone").unwrap(), Some(phone()));
}

#[test]
fn delete_removes_every_entry_under_the_key_atomically_and_says_whether_any_existed() {
    let db = Emdb::open_in_memory();
    phone().save(&db).unwrap();
    db.insert("product.phone.extra.deep", "x").unwrap();
    db.insert("product.phone2.name", "kept").unwrap();
    assert!(Product::delete(&db, "phone").unwrap());
    assert!(!Product::delete(&db, "phone").unwrap());
    let keys: Vec<String> = entries(&db).into_iter().map(|(key, _)| key).collect();
    assert_eq!(keys, ["product.phone2.name"]);
}

#[test]
fn all_yields_every_entry_in_key_order_and_nothing_from_other_groups() {
    let db = Emdb::open_in_memory();
    for (sku, price) in [("watch", 3), ("phone", 1), ("tablet", 2)] {
        Product { sku: sku.into(), name: sku.to_uppercase(), price }.save(&db).unwrap();
    }
    db.insert("products.x.name", "another group").unwrap();
    db.insert("product.loose", "no field: not an entry").unwrap();
    db.insert("a", "before").unwrap();
    let all: Vec<Product> = Product::all(&db).unwrap().map(Result::unwrap).collect();
    let skus: Vec<&str> = all.iter().map(|p| p.sku.as_str()).collect();
    assert_eq!(skus, ["phone", "tablet", "watch"]);
    assert_eq!(all[1].name, "TABLET");
    assert_eq!(all[2].price, 3);
}

#[test]
fn all_reports_a_broken_entry_and_goes_on_with_the_next() {
    let db = Emdb::open_in_memory();
    phone().save(&db).unwrap();
    Product { sku: "watch".into(), name: "W".into(), price: 3 }.save(&db).unwrap();
    db.insert("product.tablet.price", [1, 1, 2]).unwrap(); // no name
    let items: Vec<Result<Product, Error>> = Product::all(&db).unwrap().collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().sku, "phone");
    assert!(items[1].as_ref().unwrap_err().to_string().contains("\"name\""));
    assert_eq!(items[2].as_ref().unwrap().sku, "watch");
}

#[test]
fn a_key_that_is_empty_or_has_a_dot_is_an_invalid_prefix_on_every_operation() {
    let db = Emdb::open_in_memory();
    for bad in ["", "a.b", ".", "trailing."] {
        let product = Product { sku: bad.into(), ..phone() };
        let is_invalid = |result: Result<(), Error>| matches!(result, Err(Error::InvalidPrefix { reason, .. }) if reason.contains("'.'"));
        assert!(is_invalid(product.save(&db)), "{bad:?}");
        assert!(is_invalid(Product::load(&db, bad).map(drop)));
        assert!(is_invalid(Product::delete(&db, bad).map(drop)));
        assert!(is_invalid(Product::focus(&db, bad).price().insert(&1)));
        assert!(is_invalid(Product::focus(&db, bad).price().get().map(drop)));
        assert!(is_invalid(db.transaction(|tx| product.save_in(tx))));
        assert!(is_invalid(db.transaction(|tx| Product::delete_in(tx, bad).map(drop))));
    }
    assert!(db.is_empty().unwrap());
}

#[derive(Debug, PartialEq, Group)]
#[emdb(group = "shop.item", codec = "json", version = 2)]
struct Item {
    #[emdb(key)]
    id: String,
    #[emdb(rename = "label")]
    name: String,
    #[emdb(default)]
    stock: u32,
    #[emdb(default)]
    note: Option<String>,
    r#type: String,
}

#[test]
fn renamed_fields_codec_version_and_dotted_group_names_shape_the_stored_keys() {
    let db = Emdb::open_in_memory();
    let item =
        Item { id: "i1".into(), name: "Lamp".into(), stock: 4, note: None, r#type: "light".into() };
    item.save(&db).unwrap();
    let stored = entries(&db);
    let expected: Vec<(String, Vec<u8>)> = vec![
        ("shop.item.i1.label".into(), b"\x03\x02\"Lamp\"".to_vec()),
        ("shop.item.i1.note".into(), b"\x03\x02null".to_vec()),
        ("shop.item.i1.stock".into(), b"\x03\x024".to_vec()),
        ("shop.item.i1.type".into(), b"\x03\x02\"light\"".to_vec()),
    ];
    assert_eq!(stored, expected);
    assert_eq!(Item::load(&db, "i1").unwrap(), Some(item));
    assert_eq!(Item::GROUP, "shop.item");
    assert_eq!(Item::VERSION, 2);
    assert_eq!(Item::focus(&db, "i1").r#type().name(), "type");
}

#[test]
fn a_missing_field_marked_default_loads_as_default_and_an_unmarked_one_is_named() {
    let db = Emdb::open_in_memory();
    // Written before `stock`, `note` and `type` existed.
    db.insert("shop.item.old.label", b"\x03\x01\"Old\"").unwrap();
    let err = Item::load(&db, "old").unwrap_err();
    match &err {
        Error::Decode { table, key, source, .. } => {
            assert_eq!(table, "shop.item.old");
            assert_eq!(key, b"shop.item.old.type");
            assert!(source.to_string().contains("field \"type\""), "{source}");
            assert!(source.to_string().contains("#[emdb(default)]"), "{source}");
        }
        other => panic!("expected a decode error, got {other}"),
    }
    Item::focus(&db, "old").r#type().insert(&"misc".to_owned()).unwrap();
    let loaded = Item::load(&db, "old").unwrap().unwrap();
    assert_eq!((loaded.stock, loaded.note, loaded.name.as_str()), (0, None, "Old"));
}

#[test]
fn a_field_from_a_newer_version_or_another_codec_is_an_error_not_garbage() {
    let db = Emdb::open_in_memory();
    db.insert("shop.item.x.label", b"\x03\x03\"From the future\"").unwrap();
    assert!(matches!(
        Item::focus(&db, "x").name().get(),
        Err(Error::UnknownSchemaVersion { found: 3, known: 2, .. })
    ));
    phone().save(&db).unwrap();
    let as_json: FieldFocus<String, Json> =
        GroupPath::new(&db, "product", "phone").field("name", 1);
    let err = as_json.get().unwrap_err();
    assert!(err.to_string().contains("postcard codec but is read with json"), "{err}");
}

#[derive(Debug, Default, Clone, PartialEq, GroupFields)]
struct Dims {
    width: u32,
    height: u32,
    #[emdb(group, default)]
    depth: Depth,
}

#[derive(Debug, Default, Clone, PartialEq, GroupFields)]
#[emdb(codec = "json")]
struct Depth {
    mm: u32,
}

#[derive(Debug, Clone, PartialEq, Group)]
struct Gadget {
    #[emdb(key)]
    sku: String,
    #[emdb(group)]
    dims: Dims,
    #[emdb(group, default, rename = "box")]
    packaging: Dims,
}

fn gadget() -> Gadget {
    Gadget {
        sku: "g1".into(),
        dims: Dims { width: 70, height: 150, depth: Depth { mm: 8 } },
        packaging: Dims { width: 100, height: 200, depth: Depth::default() },
    }
}

#[test]
fn nested_groups_become_sub_groups_with_their_own_codec() {
    let db = Emdb::open_in_memory();
    gadget().save(&db).unwrap();
    let keys: Vec<String> = entries(&db).into_iter().map(|(key, _)| key).collect();
    assert_eq!(
        keys,
        [
            "gadget.g1.box.depth.mm",
            "gadget.g1.box.height",
            "gadget.g1.box.width",
            "gadget.g1.dims.depth.mm",
            "gadget.g1.dims.height",
            "gadget.g1.dims.width",
        ]
    );
    assert_eq!(db.get("gadget.g1.dims.depth.mm").unwrap(), Some(b"\x03\x018".to_vec()));
    assert_eq!(db.get("gadget.g1.dims.width").unwrap(), Some(vec![1, 1, 70]));
    assert_eq!(Gadget::load(&db, "g1").unwrap(), Some(gadget()));
}

#[test]
fn a_nested_focus_reads_and_writes_one_field_of_the_sub_group() {
    let db = Emdb::open_in_memory();
    gadget().save(&db).unwrap();
    let focus = Gadget::focus(&db, "g1");
    assert_eq!(focus.dims().depth().mm().get().unwrap(), Some(8));
    focus.packaging().width().insert(&120).unwrap();
    assert_eq!(focus.packaging().width().key(), "gadget.g1.box.width");
    assert_eq!(db.len().unwrap(), 6);
    assert_eq!(Gadget::load(&db, "g1").unwrap().unwrap().packaging.width, 120);
    assert_eq!(focus.dims().as_ref().path(), "gadget.g1.dims");
}

#[test]
fn a_missing_sub_group_is_default_when_marked_and_a_named_error_otherwise() {
    let db = Emdb::open_in_memory();
    let focus = Gadget::focus(&db, "g2");
    focus.dims().width().insert(&1).unwrap();
    focus.dims().height().insert(&2).unwrap();
    // `box` and `dims.depth` are missing, both marked default.
    let loaded = Gadget::load(&db, "g2").unwrap().unwrap();
    assert_eq!(loaded.packaging, Dims::default());
    assert_eq!(loaded.dims.depth, Depth::default());
    focus.dims().width().remove().unwrap();
    let err = Gadget::load(&db, "g2").unwrap_err().to_string();
    assert!(err.contains("field \"width\" of \"gadget.g2.dims\" is missing"), "{err}");
}

#[test]
fn a_focus_is_cheap_to_clone_and_prints_its_path() {
    let db = Emdb::open_in_memory();
    let focus = Product::focus(&db, "phone");
    let copy = focus.clone();
    assert_eq!(format!("{copy:?}"), "ProductFocus(\"product.phone\")");
    assert_eq!(format!("{:?}", Gadget::focus(&db, "g").dims()), "DimsFocus(\"gadget.g.dims\")");
    let raw = focus.as_ref().focus().unwrap();
    assert_eq!(raw.prefix().unwrap(), "product.phone.");
    let _: &Postcard = &<Product as Group>::Codec::default();
}

/// A renamed dependency: the derive reaches emdb through `crate = "..."`.
mod deps {
    pub(crate) use emdb as database;
}

#[derive(Debug, PartialEq, Group)]
#[emdb(crate = "crate::deps::database")]
struct Setting {
    #[emdb(key)]
    name: String,
    #[emdb(group, default)]
    extra: Extra,
}

#[derive(Debug, Default, PartialEq, GroupFields)]
#[emdb(crate = "crate::deps::database")]
struct Extra {}

#[test]
fn groups_with_a_renamed_crate_and_without_fields_work() {
    let db = Emdb::open_in_memory();
    let setting = Setting { name: "s".into(), extra: Extra {} };
    setting.save(&db).unwrap();
    // No stored field at all: nothing to load.
    assert!(db.is_empty().unwrap());
    assert_eq!(Setting::load(&db, "s").unwrap(), None);
    assert_eq!(Setting::GROUP, "setting");
}

/// Field names that the generated code also uses for its own variables and methods.
#[derive(Debug, PartialEq, Group)]
struct Shadow {
    #[emdb(key)]
    id: String,
    key: String,
    fields: u8,
    path: u8,
    clone: u8,
    from: u8,
}

#[test]
fn field_names_that_match_generated_names_are_plain_fields() {
    let db = Emdb::open_in_memory();
    let value = Shadow { id: "s".into(), key: "k".into(), fields: 1, path: 2, clone: 3, from: 4 };
    value.save(&db).unwrap();
    assert_eq!(Shadow::load(&db, "s").unwrap(), Some(value));
    let focus = Shadow::focus(&db, "s");
    assert_eq!(focus.key().get().unwrap().as_deref(), Some("k"));
    assert_eq!(focus.path().get().unwrap(), Some(2));
    assert_eq!(focus.clone().get().unwrap(), Some(3));
    assert_eq!(focus.as_ref().path(), "shadow.s");
}
