//! A property test of automatic evolution: random struct shapes, evolved by random additive steps
//! (new fields at random positions, nested structs gaining fields), written by every codec in
//! the shape of their version and read back by field name in the newest shape.

use proptest::prelude::*;
use serde::ser::{SerializeMap, SerializeSeq, SerializeTuple, Serializer};

use super::Value;
use super::de::from_value_seed;
use super::read::Shaped;
use crate::codec::{Bincode, Codec, Json, Postcard, decode_shaped, human_readable};
use crate::shape::{Field, Shape};

/// Serializes a value the way a Rust type of its shape would: a struct as its fields in order
/// (a tuple) for the binary codecs, as a map from name to value for JSON.
struct Write<'v> {
    value: &'v Value,
    named: bool,
}

impl serde::Serialize for Write<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let child = |value| Write { value, named: self.named };
        match self.value {
            Value::Bool(v) => s.serialize_bool(*v),
            Value::U8(v) => s.serialize_u8(*v),
            Value::U16(v) => s.serialize_u16(*v),
            Value::U32(v) => s.serialize_u32(*v),
            Value::I64(v) => s.serialize_i64(*v),
            Value::F64(v) => s.serialize_f64(*v),
            Value::Str(v) => s.serialize_str(v),
            Value::Option(None) => s.serialize_none(),
            Value::Option(Some(v)) => s.serialize_some(&child(v)),
            Value::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&child(item))?;
                }
                seq.end()
            }
            Value::Struct(fields) if self.named => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (name, value) in fields {
                    map.serialize_entry(name, &child(value))?;
                }
                map.end()
            }
            Value::Struct(fields) => {
                let mut tuple = s.serialize_tuple(fields.len())?;
                for (_, value) in fields {
                    tuple.serialize_element(&child(value))?;
                }
                tuple.end()
            }
            other => Err(serde::ser::Error::custom(format!("not generated: {other}"))),
        }
    }
}

/// A leaf shape and a value of it, from a seed.
fn leaf(kind: u8, seed: u64) -> (Shape, Value) {
    let small = u8::try_from(seed % 200).unwrap_or(0);
    match kind % 8 {
        0 => (Shape::U8, Value::U8(small)),
        1 => (Shape::U32, Value::U32(u32::try_from(seed % 1_000_000).unwrap_or(0))),
        2 => (Shape::I64, Value::I64(i64::try_from(seed % 1000).unwrap_or(0) - 500)),
        3 => (Shape::Str, Value::Str(format!("s{seed}"))),
        4 => (Shape::Bool, Value::Bool(seed.is_multiple_of(2))),
        5 => (Shape::F64, Value::F64(f64::from(small) / 4.0)),
        6 => (
            Shape::Option(Box::new(Shape::U16)),
            if seed.is_multiple_of(3) {
                Value::Option(None)
            } else {
                Value::Option(Some(Box::new(Value::U16(7))))
            },
        ),
        _ => (
            Shape::Seq(Box::new(Shape::U8)),
            Value::Seq(vec![Value::U8(small); usize::from(small % 4)]),
        ),
    }
}

/// A value of `shape` (built of the leaves above and structs), varied by `seed`.
fn value_of(shape: &Shape, seed: u64) -> Value {
    match shape {
        Shape::Struct(fields) => Value::Struct(
            fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    (
                        f.name.clone(),
                        value_of(&f.shape, seed.wrapping_mul(31).wrapping_add(i as u64)),
                    )
                })
                .collect(),
        ),
        Shape::U8 => leaf(0, seed).1,
        Shape::U32 => leaf(1, seed).1,
        Shape::I64 => leaf(2, seed).1,
        Shape::Str => leaf(3, seed).1,
        Shape::Bool => leaf(4, seed).1,
        Shape::F64 => leaf(5, seed).1,
        Shape::Option(_) => leaf(6, seed).1,
        _ => leaf(7, seed).1,
    }
}

/// One additive step: a new field of `kind` at `at` (modulo the field count + 1), at the top
/// level or, when `nested` and the struct has a nested struct, inside the first one.
#[derive(Debug, Clone)]
struct Step {
    kind: u8,
    at: usize,
    nested: bool,
}

fn add_field(shape: &mut Shape, step: &Step, name: String) {
    let Shape::Struct(fields) = shape else { return };
    if step.nested
        && let Some(inner) = fields.iter_mut().find(|f| matches!(f.shape, Shape::Struct(_)))
    {
        return add_field(&mut inner.shape, &Step { nested: false, ..step.clone() }, name);
    }
    let at = step.at % (fields.len() + 1);
    fields.insert(at, Field { name, shape: leaf(step.kind, 0).0 });
}

/// The fields of `old` read by name in `new`: `new`'s fields that `old` has, in `new`'s order.
fn expected(old: &Value, new: &Shape) -> Value {
    match (old, new) {
        (Value::Struct(values), Shape::Struct(fields)) => Value::Struct(
            fields
                .iter()
                .filter_map(|f| {
                    let value = values.iter().find(|(name, _)| *name == f.name)?;
                    Some((f.name.clone(), expected(&value.1, &f.shape)))
                })
                .collect(),
        ),
        (other, _) => other.clone(),
    }
}

fn base_shape(kinds: &[u8], nested: bool) -> Shape {
    let mut fields: Vec<Field> = kinds
        .iter()
        .enumerate()
        .map(|(i, &kind)| Field { name: format!("f{i}"), shape: leaf(kind, 0).0 })
        .collect();
    if nested {
        fields.push(Field {
            name: "inner".into(),
            shape: Shape::Struct(vec![Field { name: "a".into(), shape: Shape::U32 }]),
        });
    }
    Shape::Struct(fields)
}

fn evolve_and_read<C: Codec>(base: &Shape, steps: &[Step], rows: u64) {
    let mut versions = vec![base.clone()];
    for (i, step) in steps.iter().enumerate() {
        let mut next = versions[versions.len() - 1].clone();
        add_field(&mut next, step, format!("added{i}"));
        versions.push(next);
    }
    let newest = &versions[versions.len() - 1];
    let named = human_readable::<C>();
    for (version, shape) in versions.iter().enumerate() {
        for row in 0..rows {
            let value = value_of(shape, row * 7 + version as u64);
            let bytes = C::encode(&Write { value: &value, named }).unwrap();
            let read = decode_shaped::<C>(&bytes, shape).unwrap();
            assert_eq!(read, value, "{} v{version}", C::NAME);
            let evolved = from_value_seed(Shaped(newest), read, named).unwrap();
            assert_eq!(evolved, expected(&value, newest), "{} v{version} row {row}", C::NAME);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_shapes_evolved_by_additive_steps_read_back_every_row(
        kinds in prop::collection::vec(0u8..8, 1..6),
        nested in any::<bool>(),
        steps in prop::collection::vec((0u8..8, 0usize..8, any::<bool>()), 1..5),
        rows in 1u64..4,
    ) {
        let base = base_shape(&kinds, nested);
        let steps: Vec<Step> =
            steps.into_iter().map(|(kind, at, nested)| Step { kind, at, nested }).collect();
        evolve_and_read::<Postcard>(&base, &steps, rows);
        evolve_and_read::<Bincode>(&base, &steps, rows);
        evolve_and_read::<Json>(&base, &steps, rows);
    }
}
