//! Tables work the same with all three codecs: every value round-trips, each value carries its
//! codec's id, and the same key order holds whatever the value codec.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;

use emdb_core::Emdb;
use emdb_typed::{Bincode, Codec, Json, Postcard, Record, Table, read_header};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Role {
    Reader,
    Writer { since: u64 },
    Custom(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Account {
    id: u64,
    name: String,
    balance: i64,
    ratio: f64,
    roles: Vec<Role>,
    limits: BTreeMap<String, u32>,
    manager: Option<u64>,
}

fn account(id: u64) -> Account {
    Account {
        id,
        name: format!("account {id} \u{1F980}"),
        balance: -i64::try_from(id).unwrap() * 1000,
        ratio: 0.1 * f64::from(u32::try_from(id).unwrap()),
        roles: vec![Role::Reader, Role::Writer { since: id }, Role::Custom("ops".into())],
        limits: BTreeMap::from([("daily".into(), 100), ("monthly".into(), 3000)]),
        manager: id.checked_sub(1),
    }
}

fn round_trips_through<C: Codec>(name: &str) {
    let db = Emdb::open_in_memory();
    let t = Table::<i64, Account, C>::open_with(&db, name).unwrap();
    for id in 0..20_u64 {
        t.insert(&(10 - i64::try_from(id).unwrap()), &account(id)).unwrap();
    }
    for id in 0..20_u64 {
        let key = 10 - i64::try_from(id).unwrap();
        assert_eq!(t.get(&key).unwrap(), Some(account(id)), "{}", C::NAME);
        let raw = t.get_raw(&key).unwrap().unwrap();
        assert_eq!(read_header(&raw).unwrap().0.codec_id, C::ID);
    }
    let keys: Vec<i64> = t.iter().unwrap().map(|e| e.unwrap().0).collect();
    assert_eq!(keys, (-9..=10).collect::<Vec<_>>());
    assert_eq!(t.update(&0, |a| a.balance += 1).unwrap().unwrap().balance, -9999);
}

#[test]
fn postcard_tables_round_trip_every_value() {
    round_trips_through::<Postcard>("postcard");
}

#[test]
fn bincode_tables_round_trip_every_value() {
    round_trips_through::<Bincode>("bincode");
}

#[test]
fn json_tables_round_trip_every_value() {
    round_trips_through::<Json>("json");
}

#[test]
fn json_tables_store_types_only_a_self_describing_codec_can_read() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "kind")]
    enum Event {
        Login { user: String },
        Logout { user: String, reason: Option<String> },
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Envelope {
        id: u64,
        #[serde(flatten)]
        event: Event,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }
    let db = Emdb::open_in_memory();
    let events = Table::<u64, Envelope, Json>::open_with(&db, "events").unwrap();
    let e = Envelope { id: 1, event: Event::Login { user: "ada".into() }, note: None };
    events.insert(&1, &e).unwrap();
    assert_eq!(events.get(&1).unwrap(), Some(e));
    let raw = events.get_raw(&1).unwrap().unwrap();
    assert_eq!(&raw[2..], br#"{"id":1,"kind":"Login","user":"ada"}"#);
    let _ = Event::Logout { user: String::new(), reason: None };
}

#[test]
fn a_record_names_its_codec_and_its_table_uses_it() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Note {
        id: u32,
        text: String,
    }
    impl Record for Note {
        type Key = u32;
        type Codec = Bincode;
        const TABLE: &'static str = "notes";
        fn key(&self) -> u32 {
            self.id
        }
    }
    let db = Emdb::open_in_memory();
    let notes = Note::table(&db).unwrap();
    notes.put(&Note { id: 1, text: "hi".into() }).unwrap();
    assert_eq!(notes.get_raw(&1).unwrap().unwrap()[0], Bincode::ID);
    // The table was created as bincode; a postcard opener is refused.
    assert!(Table::<u32, Note>::open(&db, "notes").is_err());
    assert!(Table::<u32, Note, Bincode>::open_with(&db, "notes").is_ok());
}

#[test]
fn the_three_codecs_differ_in_size_for_the_same_value() {
    let value = account(7);
    let sizes = [
        Postcard::encode(&value).unwrap().len(),
        Bincode::encode(&value).unwrap().len(),
        Json::encode(&value).unwrap().len(),
    ];
    assert!(sizes[0] <= sizes[1], "{sizes:?}");
    assert!(sizes[1] < sizes[2], "{sizes:?}");
}
