//! Ordered reads of a typed table inside a transaction see its own writes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;

use emdb_core::{Emdb, Result};
use emdb_typed::Table;

#[test]
fn iter_range_first_and_last_merge_the_transactions_writes() {
    let db = Emdb::open_in_memory();
    let t = Table::<i32, String>::open(&db, "t").unwrap();
    let mut model = BTreeMap::new();
    for k in [-5, 0, 3, 8] {
        t.insert(&k, &format!("c{k}")).unwrap();
        model.insert(k, format!("c{k}"));
    }
    let seen = db
        .transaction(|tx| {
            let mut t = t.tx(tx);
            t.insert(&1, &"new".to_owned())?;
            t.insert(&3, &"changed".to_owned())?;
            t.remove(&8)?;
            t.insert(&-9, &"lowest".to_owned())?;
            let all = t.iter()?.collect::<Result<Vec<_>>>()?;
            let some = t.range(0..4)?.collect::<Result<Vec<_>>>()?;
            Ok((all, some, t.first()?, t.last()?))
        })
        .unwrap();
    model.insert(1, "new".to_owned());
    model.insert(3, "changed".to_owned());
    model.remove(&8);
    model.insert(-9, "lowest".to_owned());
    let all: Vec<_> = model.clone().into_iter().collect();
    assert_eq!(seen.0, all);
    let some: Vec<_> = model.range(0..4).map(|(k, v)| (*k, v.clone())).collect();
    assert_eq!(seen.1, some);
    assert_eq!(seen.2, Some((-9, "lowest".to_owned())));
    assert_eq!(seen.3, Some((3, "changed".to_owned())));
    // Committed, the table reads as the transaction did.
    assert_eq!(t.iter().unwrap().collect::<Result<Vec<_>>>().unwrap(), all);
}
