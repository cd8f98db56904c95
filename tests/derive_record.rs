//! `#[derive(Record)]`: the generated key, table name, codec and schema version.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::any::TypeId;

use emdb::{Bincode, Codec, Json, Postcard, Record};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Record)]
#[emdb(table = "users")]
struct User {
    #[emdb(key)]
    id: u64,
    name: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, Record)]
struct UserProfile {
    bio: String,
    #[emdb(key)]
    user: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, Record)]
#[emdb(codec = "json", version = 3)]
struct Membership {
    #[emdb(key)]
    team: String,
    since: u32,
    #[emdb(key)]
    member: u64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, Record)]
#[emdb(table = "points", codec = "bincode")]
struct Point(#[emdb(key)] i32, #[emdb(key)] i32, String);

#[derive(Debug, PartialEq, Serialize, Deserialize, Record)]
#[emdb(table = "wrapped")]
#[serde(bound(deserialize = "T: serde::de::DeserializeOwned"))]
struct Wrapped<T: Clone + Serialize + serde::de::DeserializeOwned + 'static> {
    #[emdb(key)]
    key: T,
}

/// A renamed dependency: the derive reaches emdb through `crate = "..."`.
mod deps {
    pub(crate) use emdb as database;
}

#[derive(Serialize, Deserialize, Record)]
#[emdb(crate = "crate::deps::database", table = "renamed")]
struct Renamed {
    #[emdb(key)]
    id: u8,
}

fn codec_of<R: Record>() -> TypeId {
    TypeId::of::<R::Codec>()
}

#[test]
fn key_clones_the_key_field_and_leaves_the_record_intact() {
    let user = User { id: 7, name: "ada".into() };
    let key: <User as Record>::Key = user.key();
    assert_eq!(key, 7u64);
    assert_eq!(user, User { id: 7, name: "ada".into() });
    assert_eq!(UserProfile { bio: "hi".into(), user: "ada".into() }.key(), "ada");
}

#[test]
fn several_key_fields_make_a_tuple_key_in_field_order() {
    let membership = Membership { team: "core".into(), since: 2024, member: 9 };
    let key: (String, u64) = membership.key();
    assert_eq!(key, ("core".to_owned(), 9));
    let point = Point(-1, 2, "home".into());
    assert_eq!(point.key(), (-1, 2));
}

#[test]
fn the_table_is_the_option_or_the_snake_case_type_name() {
    assert_eq!(User::TABLE, "users");
    assert_eq!(UserProfile::TABLE, "user_profile");
    assert_eq!(Membership::TABLE, "membership");
    assert_eq!(Point::TABLE, "points");
}

#[test]
fn the_version_is_the_option_or_one() {
    assert_eq!(User::VERSION, 1);
    assert_eq!(Membership::VERSION, 3);
}

#[test]
fn the_codec_is_the_option_or_postcard() {
    assert_eq!(codec_of::<User>(), TypeId::of::<Postcard>());
    assert_eq!(codec_of::<Membership>(), TypeId::of::<Json>());
    assert_eq!(codec_of::<Point>(), TypeId::of::<Bincode>());
    assert_eq!(<Membership as Record>::Codec::NAME, "json");
}

#[test]
fn a_record_round_trips_through_its_codec() {
    let membership = Membership { team: "core".into(), since: 2024, member: 9 };
    let bytes = <Membership as Record>::Codec::encode(&membership).unwrap();
    assert_eq!(bytes, br#"{"team":"core","since":2024,"member":9}"#);
    let back: Membership = <Membership as Record>::Codec::decode(&bytes).unwrap();
    assert_eq!(back, membership);
    let point = Point(3, 4, "x".into());
    let back: Point = <Point as Record>::Codec::decode(&Bincode::encode(&point).unwrap()).unwrap();
    assert_eq!(back, point);
}

#[test]
fn generic_records_and_renamed_crates_are_supported() {
    let wrapped = Wrapped { key: "k".to_owned() };
    assert_eq!(wrapped.key(), "k");
    assert_eq!(Wrapped::<u8>::TABLE, "wrapped");
    assert_eq!(Renamed { id: 4 }.key(), 4);
    assert_eq!(Renamed::TABLE, "renamed");
}
