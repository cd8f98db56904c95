//! Watchers unsubscribe when they drop, and a database without watchers stages nothing.

use crate::Emdb;

#[test]
fn dropping_a_watcher_ends_its_subscription() {
    let db = Emdb::open_in_memory();
    let first = db.watch_prefix("a").unwrap();
    let second = db.watch_prefix("b").unwrap().map_events(Ok);
    assert_eq!(db.keyspace().watchers(), 2);
    drop(first);
    assert_eq!(db.keyspace().watchers(), 1);
    db.insert("b1", "v").unwrap();
    assert_eq!(second.try_recv().unwrap().map(|c| c.events.len()), Some(1));
    drop(second);
    assert_eq!(db.keyspace().watchers(), 0);
    db.insert("a1", "v").unwrap();
    assert!(db.keyspace().nothing_staged(), "no watcher, nothing staged");
}
