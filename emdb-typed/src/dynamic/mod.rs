//! Dynamic values: any serde value held as data ([`Value`]). One is made from a Rust value
//! ([`to_value`]) or read from stored bytes through a recorded [`Shape`] ([`read_shaped`]), and
//! turned into a Rust type by field name ([`from_value`]), so that serde's own defaults,
//! `Option` → `None` and aliases apply to fields an old value does not have.

mod de;
#[cfg(test)]
mod evolution_tests;
#[cfg(feature = "json")]
mod json;
mod read;
mod ser;

use std::fmt;

pub(crate) use de::{ValueError, from_value};
#[cfg(feature = "json")]
pub(crate) use json::to_json;
#[cfg(any(feature = "bincode", feature = "json"))]
pub(crate) use read::Shaped;
pub(crate) use read::read_shaped;
pub(crate) use ser::to_value;

use crate::shape::{Content, Shape};

/// A serde value as data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Unit,
    Bool(bool),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    I128(i128),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    U128(u128),
    F32(f32),
    F64(f64),
    Char(char),
    Str(String),
    Bytes(Vec<u8>),
    Option(Option<Box<Value>>),
    /// A sequence.
    Seq(Vec<Value>),
    /// A tuple, a tuple struct or an array.
    Tuple(Vec<Value>),
    Map(Vec<(Value, Value)>),
    /// A struct: fields by name, in their stored order.
    Struct(Vec<(String, Value)>),
    UnitStruct,
    Newtype(Box<Value>),
    /// An enum value: the variant's name and content.
    Variant(String, Box<VariantValue>),
}

/// The content of an enum value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VariantValue {
    Unit,
    Newtype(Value),
    Tuple(Vec<Value>),
    Struct(Vec<(String, Value)>),
}

/// A value of `shape` for probing whether a type reads it: numbers 0, strings empty, options
/// `Some` and sequences of one element (so nested structs are probed too), and in each enum the
/// variant `pick` (or the last one if it has fewer).
pub(crate) fn sample(shape: &Shape, pick: usize) -> Value {
    let fields = |fields: &[crate::shape::Field]| {
        fields.iter().map(|f| (f.name.clone(), sample(&f.shape, pick))).collect()
    };
    match shape {
        Shape::Unit => Value::Unit,
        Shape::Bool => Value::Bool(false),
        Shape::I8 => Value::I8(0),
        Shape::I16 => Value::I16(0),
        Shape::I32 => Value::I32(0),
        Shape::I64 => Value::I64(0),
        Shape::I128 => Value::I128(0),
        Shape::U8 => Value::U8(0),
        Shape::U16 => Value::U16(0),
        Shape::U32 => Value::U32(0),
        Shape::U64 => Value::U64(0),
        Shape::U128 => Value::U128(0),
        Shape::F32 => Value::F32(0.0),
        Shape::F64 => Value::F64(0.0),
        Shape::Char => Value::Char('a'),
        Shape::Str => Value::Str(String::new()),
        Shape::Bytes => Value::Bytes(Vec::new()),
        Shape::Option(inner) => Value::Option(Some(Box::new(sample(inner, pick)))),
        Shape::Seq(inner) => Value::Seq(vec![sample(inner, pick)]),
        Shape::Map(key, value) => Value::Map(vec![(sample(key, pick), sample(value, pick))]),
        Shape::Tuple(items) | Shape::TupleStruct(items) => {
            Value::Tuple(items.iter().map(|item| sample(item, pick)).collect())
        }
        Shape::Array(item, len) => Value::Tuple(
            std::iter::repeat_with(|| sample(item, pick))
                .take(usize::try_from(*len).unwrap_or(0).min(64))
                .collect(),
        ),
        Shape::UnitStruct => Value::UnitStruct,
        Shape::Newtype(inner) => Value::Newtype(Box::new(sample(inner, pick))),
        Shape::Struct(list) => Value::Struct(fields(list)),
        Shape::Enum(variants) => {
            let Some(variant) = variants.get(pick).or_else(|| variants.last()) else {
                return Value::Unit;
            };
            let content = match &variant.content {
                Content::Unit => VariantValue::Unit,
                Content::Newtype(inner) => VariantValue::Newtype(sample(inner, pick)),
                Content::Tuple(items) => {
                    VariantValue::Tuple(items.iter().map(|item| sample(item, pick)).collect())
                }
                Content::Struct(list) => VariantValue::Struct(fields(list)),
            };
            Value::Variant(variant.name.clone(), Box::new(content))
        }
    }
}

/// Writes `items` separated by commas.
fn list<'a>(f: &mut fmt::Formatter<'_>, items: impl IntoIterator<Item = &'a Value>) -> fmt::Result {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

fn fields(f: &mut fmt::Formatter<'_>, fields: &[(String, Value)]) -> fmt::Result {
    f.write_str("{ ")?;
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{name}: {value}")?;
    }
    f.write_str(" }")
}

impl fmt::Display for Value {
    /// Like Rust's `Debug`: `7`, `"alice"`, `(1, 2)`, `Some(3)`, `[1, 2]`, `{ id: 7 }`, `Gold`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unit | Value::UnitStruct => f.write_str("()"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::I8(v) => write!(f, "{v}"),
            Value::I16(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::I128(v) => write!(f, "{v}"),
            Value::U8(v) => write!(f, "{v}"),
            Value::U16(v) => write!(f, "{v}"),
            Value::U32(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::U128(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v:?}"),
            Value::F64(v) => write!(f, "{v:?}"),
            Value::Char(v) => write!(f, "{v:?}"),
            Value::Str(v) => write!(f, "{v:?}"),
            Value::Bytes(v) => write!(f, "{v:02x?}"),
            Value::Option(None) => f.write_str("None"),
            Value::Option(Some(v)) => write!(f, "Some({v})"),
            Value::Seq(items) => {
                f.write_str("[")?;
                list(f, items)?;
                f.write_str("]")
            }
            Value::Tuple(items) => {
                f.write_str("(")?;
                list(f, items)?;
                f.write_str(if items.len() == 1 { ",)" } else { ")" })
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key}: {value}")?;
                }
                f.write_str("}")
            }
            Value::Struct(list) => fields(f, list),
            Value::Newtype(inner) => write!(f, "{inner}"),
            Value::Variant(name, content) => {
                f.write_str(name)?;
                match &**content {
                    VariantValue::Unit => Ok(()),
                    VariantValue::Newtype(inner) => write!(f, "({inner})"),
                    VariantValue::Tuple(items) => {
                        f.write_str("(")?;
                        list(f, items)?;
                        f.write_str(")")
                    }
                    VariantValue::Struct(list) => {
                        f.write_str(" ")?;
                        fields(f, list)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Plan {
        Free,
        Paid(u32),
        Team { seats: u16 },
    }

    #[test]
    fn values_print_like_rust_debug() {
        let show = |v: Value| v.to_string();
        assert_eq!(show(to_value(&7u64).unwrap()), "7");
        assert_eq!(show(to_value("alice").unwrap()), "\"alice\"");
        assert_eq!(show(to_value(&(1u8, 2i32)).unwrap()), "(1, 2)");
        assert_eq!(show(to_value(&Some(vec![1u8, 2])).unwrap()), "Some([1, 2])");
        assert_eq!(show(to_value(&Plan::Team { seats: 3 }).unwrap()), "Team { seats: 3 }");
        assert_eq!(show(to_value(&Plan::Paid(9)).unwrap()), "Paid(9)");
    }

    #[test]
    fn a_value_made_from_a_type_reads_back_as_it() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct All {
            a: (u8, i128, f32),
            b: Vec<Plan>,
            c: std::collections::BTreeMap<String, Option<char>>,
            d: [u16; 3],
            e: (),
        }
        let all = All {
            a: (1, -2, 0.5),
            b: vec![Plan::Free, Plan::Paid(3), Plan::Team { seats: 4 }],
            c: [("x".to_owned(), Some('y')), ("z".to_owned(), None)].into(),
            d: [5, 6, 7],
            e: (),
        };
        let value = to_value(&all).unwrap();
        assert_eq!(from_value::<All>(value, false).unwrap(), all);
    }
}
