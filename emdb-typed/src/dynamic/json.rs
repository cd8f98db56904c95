//! [`to_json`]: a dynamic [`Value`] as the JSON that `serde_json` writes for the Rust value it
//! was read as, so that a value stored by any codec shows the same.

use serde_json::{Map, Number, Value as Json};

use super::{Value, VariantValue};

/// `value` as JSON, the way `serde_json::to_value` shows the Rust value: structs and maps are
/// objects, sequences, tuples and byte strings arrays, `None` and `()` null, an enum value its
/// variant's name (unit variants) or `{"Variant": content}`. Integers beyond the 64-bit range
/// are strings, non-finite floats null, and a map whose keys are not strings, integers, chars
/// or bools an array of `[key, value]` pairs.
pub(crate) fn to_json(value: Value) -> Json {
    match value {
        Value::Unit | Value::UnitStruct | Value::Option(None) => Json::Null,
        Value::Bool(v) => Json::Bool(v),
        Value::I8(v) => v.into(),
        Value::I16(v) => v.into(),
        Value::I32(v) => v.into(),
        Value::I64(v) => v.into(),
        Value::U8(v) => v.into(),
        Value::U16(v) => v.into(),
        Value::U32(v) => v.into(),
        Value::U64(v) => v.into(),
        Value::I128(v) => i64::try_from(v).map_or_else(|_| Json::String(v.to_string()), Json::from),
        Value::U128(v) => u64::try_from(v).map_or_else(|_| Json::String(v.to_string()), Json::from),
        Value::F32(v) => Number::from_f64(f64::from(v)).map_or(Json::Null, Json::Number),
        Value::F64(v) => Number::from_f64(v).map_or(Json::Null, Json::Number),
        Value::Char(v) => Json::String(v.to_string()),
        Value::Str(v) => Json::String(v),
        Value::Bytes(v) => Json::Array(v.into_iter().map(Json::from).collect()),
        Value::Option(Some(inner)) | Value::Newtype(inner) => to_json(*inner),
        Value::Seq(items) | Value::Tuple(items) => array(items),
        Value::Map(entries) => map(entries),
        Value::Struct(fields) => object(fields),
        Value::Variant(name, content) => match *content {
            VariantValue::Unit => Json::String(name),
            VariantValue::Newtype(inner) => tagged(name, to_json(inner)),
            VariantValue::Tuple(items) => tagged(name, array(items)),
            VariantValue::Struct(fields) => tagged(name, object(fields)),
        },
    }
}

fn array(items: Vec<Value>) -> Json {
    Json::Array(items.into_iter().map(to_json).collect())
}

fn object(fields: Vec<(String, Value)>) -> Json {
    Json::Object(fields.into_iter().map(|(name, value)| (name, to_json(value))).collect())
}

fn tagged(name: String, content: Json) -> Json {
    Json::Object(Map::from_iter([(name, content)]))
}

/// A map key as the JSON object key `serde_json` writes for it, if it has one.
fn key_text(key: &Value) -> Option<String> {
    Some(match key {
        Value::Str(v) => v.clone(),
        Value::Char(v) => v.to_string(),
        Value::Bool(v) => v.to_string(),
        Value::I8(v) => v.to_string(),
        Value::I16(v) => v.to_string(),
        Value::I32(v) => v.to_string(),
        Value::I64(v) => v.to_string(),
        Value::I128(v) => v.to_string(),
        Value::U8(v) => v.to_string(),
        Value::U16(v) => v.to_string(),
        Value::U32(v) => v.to_string(),
        Value::U64(v) => v.to_string(),
        Value::U128(v) => v.to_string(),
        Value::Newtype(inner) => return key_text(inner),
        Value::Variant(name, content) if matches!(**content, VariantValue::Unit) => name.clone(),
        _ => return None,
    })
}

fn map(entries: Vec<(Value, Value)>) -> Json {
    if entries.iter().all(|(key, _)| key_text(key).is_some()) {
        let object = entries
            .into_iter()
            .filter_map(|(key, value)| Some((key_text(&key)?, to_json(value))))
            .collect();
        return Json::Object(object);
    }
    Json::Array(
        entries
            .into_iter()
            .map(|(key, value)| Json::Array(vec![to_json(key), to_json(value)]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::*;
    use crate::dynamic::to_value;

    #[derive(Serialize)]
    enum Plan {
        Free,
        Paid(u32),
        Pair(u8, String),
        Team { seats: u16 },
    }

    #[derive(Serialize)]
    struct Row {
        id: u64,
        big: u128,
        ratio: f32,
        letter: char,
        plans: Vec<Plan>,
        owner: Option<String>,
        none: Option<u8>,
        scores: BTreeMap<u16, i8>,
        pair: (i8, [u8; 2]),
        unit: (),
    }

    #[test]
    fn a_value_shows_as_the_json_serde_json_writes_for_it() {
        let row = Row {
            id: 7,
            big: 9,
            ratio: 0.5,
            letter: 'x',
            plans: vec![
                Plan::Free,
                Plan::Paid(3),
                Plan::Pair(1, "a".into()),
                Plan::Team { seats: 2 },
            ],
            owner: Some("ada".into()),
            none: None,
            scores: [(1, -1), (2, 5)].into(),
            pair: (-1, [2, 3]),
            unit: (),
        };
        assert_eq!(to_json(to_value(&row).unwrap()), serde_json::to_value(&row).unwrap());
    }

    #[test]
    fn wide_integers_are_strings_and_compound_map_keys_are_pairs() {
        assert_eq!(to_json(Value::U128(u128::MAX)), Json::String(u128::MAX.to_string()));
        let map = Value::Map(vec![(Value::Tuple(vec![Value::U8(1)]), Value::Bool(true))]);
        assert_eq!(to_json(map), serde_json::json!([[[1], true]]));
    }
}
