//! [`read_shaped`]: reads a stored value through the shape it was written with, with the
//! codec's own deserializer, into a [`Value`]. Binary codecs store a struct as its fields in
//! order without names; the recorded shape supplies them.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::{Value, VariantValue};
use crate::shape::{Content, Field, Shape, Variant};

/// The most fields of a struct, elements of a tuple and variants of an enum a shape may have:
/// the binary codecs read a struct as a tuple of `fields.len()` elements, and serde wants the
/// names as a `'static` slice, so the slice is cut from this one.
const MAX_ITEMS: usize = 1024;
static BLANK_NAMES: [&str; MAX_ITEMS] = [""; MAX_ITEMS];

fn blank_names<E: de::Error>(len: usize) -> Result<&'static [&'static str], E> {
    BLANK_NAMES.get(..len).ok_or_else(|| {
        E::custom(format!("a shape with {len} fields or variants; at most {MAX_ITEMS} are read"))
    })
}

/// Reads one value of `shape` from `deserializer`.
///
/// # Errors
/// The deserializer's error if the input is not a value of `shape`.
pub(crate) fn read_shaped<'de, D: Deserializer<'de>>(
    shape: &Shape,
    deserializer: D,
) -> Result<Value, D::Error> {
    Shaped(shape).deserialize(deserializer)
}

/// A seed that reads a value of the shape it holds.
#[derive(Clone, Copy)]
pub(crate) struct Shaped<'s>(pub(crate) &'s Shape);

impl<'de> DeserializeSeed<'de> for Shaped<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let visitor = ShapeVisitor(self.0);
        match self.0 {
            Shape::Unit => d.deserialize_unit(visitor),
            Shape::Bool => d.deserialize_bool(visitor),
            Shape::I8 => d.deserialize_i8(visitor),
            Shape::I16 => d.deserialize_i16(visitor),
            Shape::I32 => d.deserialize_i32(visitor),
            Shape::I64 => d.deserialize_i64(visitor),
            Shape::I128 => d.deserialize_i128(visitor),
            Shape::U8 => d.deserialize_u8(visitor),
            Shape::U16 => d.deserialize_u16(visitor),
            Shape::U32 => d.deserialize_u32(visitor),
            Shape::U64 => d.deserialize_u64(visitor),
            Shape::U128 => d.deserialize_u128(visitor),
            Shape::F32 => d.deserialize_f32(visitor),
            Shape::F64 => d.deserialize_f64(visitor),
            Shape::Char => d.deserialize_char(visitor),
            Shape::Str => d.deserialize_string(visitor),
            Shape::Bytes => d.deserialize_byte_buf(visitor),
            Shape::Option(_) => d.deserialize_option(visitor),
            Shape::Seq(_) => d.deserialize_seq(visitor),
            Shape::Map(..) => d.deserialize_map(visitor),
            Shape::Tuple(items) => d.deserialize_tuple(items.len(), visitor),
            Shape::Array(_, len) => {
                let len = usize::try_from(*len).map_err(de::Error::custom)?;
                d.deserialize_tuple(len, visitor)
            }
            Shape::UnitStruct => d.deserialize_unit_struct("", visitor),
            Shape::Newtype(_) => d.deserialize_newtype_struct("", visitor),
            Shape::TupleStruct(items) => d.deserialize_tuple_struct("", items.len(), visitor),
            Shape::Struct(fields) => d.deserialize_struct("", blank_names(fields.len())?, visitor),
            Shape::Enum(variants) => d.deserialize_enum("", blank_names(variants.len())?, visitor),
        }
    }
}

/// The visitor for one shape.
struct ShapeVisitor<'s>(&'s Shape);

/// Reads the elements of a sequence of `shapes` (a tuple or a struct's fields, in order).
fn elements<'de, 's, A: SeqAccess<'de>>(
    mut seq: A,
    shapes: impl Iterator<Item = &'s Shape>,
) -> Result<Vec<Value>, A::Error> {
    let mut out = Vec::new();
    for (index, shape) in shapes.enumerate() {
        let value = seq
            .next_element_seed(Shaped(shape))?
            .ok_or_else(|| de::Error::invalid_length(index, &"one element per recorded field"))?;
        out.push(value);
    }
    Ok(out)
}

/// Reads a struct's fields: by position from a binary codec, by name from a self-describing one.
struct FieldsVisitor<'s>(&'s [Field]);

impl<'de> Visitor<'de> for FieldsVisitor<'_> {
    type Value = Vec<(String, Value)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a struct of {} fields", self.0.len())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let values = elements(seq, self.0.iter().map(|field| &field.shape))?;
        Ok(self.0.iter().map(|field| field.name.clone()).zip(values).collect())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(self.0.len());
        while let Some(name) = map.next_key::<String>()? {
            match self.0.iter().find(|field| field.name == name) {
                Some(field) => out.push((name, map.next_value_seed(Shaped(&field.shape))?)),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// Reads a variant identifier: an index from a binary codec, a name from a self-describing one.
struct VariantIndex<'s>(&'s [Variant]);

impl<'de> DeserializeSeed<'de> for VariantIndex<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for VariantIndex<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a variant index below {} or a variant name", self.0.len())
    }

    fn visit_u64<E: de::Error>(self, index: u64) -> Result<usize, E> {
        match usize::try_from(index) {
            Ok(index) if index < self.0.len() => Ok(index),
            _ => Err(E::custom(format!(
                "variant index {index}, but the recorded enum has {} variants",
                self.0.len()
            ))),
        }
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<usize, E> {
        self.0
            .iter()
            .position(|variant| variant.name == name)
            .ok_or_else(|| E::custom(format!("variant {name:?} is not in the recorded enum")))
    }
}

/// An integer as the recorded shape's type: a self-describing codec reads every integer as an
/// `i64` or `u64`. An integer of another shape stays as it was read (`raw`).
fn integer<E: de::Error>(
    shape: &Shape,
    v: i128,
    raw: impl FnOnce(u128) -> Value,
) -> Result<Value, E> {
    let fits = |value: Option<Value>| {
        value.ok_or_else(|| E::custom(format!("{v} does not fit the recorded {shape}")))
    };
    match shape {
        Shape::U8 => fits(u8::try_from(v).ok().map(Value::U8)),
        Shape::U16 => fits(u16::try_from(v).ok().map(Value::U16)),
        Shape::U32 => fits(u32::try_from(v).ok().map(Value::U32)),
        Shape::U64 => fits(u64::try_from(v).ok().map(Value::U64)),
        Shape::U128 => fits(u128::try_from(v).ok().map(Value::U128)),
        Shape::I8 => fits(i8::try_from(v).ok().map(Value::I8)),
        Shape::I16 => fits(i16::try_from(v).ok().map(Value::I16)),
        Shape::I32 => fits(i32::try_from(v).ok().map(Value::I32)),
        Shape::I64 => fits(i64::try_from(v).ok().map(Value::I64)),
        Shape::I128 => Ok(Value::I128(v)),
        _ => Ok(raw(v.cast_unsigned())),
    }
}

macro_rules! visit_integer {
    ($($method:ident($ty:ty) => $variant:ident,)*) => {
        $(fn $method<E: de::Error>(self, v: $ty) -> Result<Value, E> {
            integer(self.0, i128::from(v), |_| Value::$variant(v))
        })*
    };
}

macro_rules! visit_primitive {
    ($($method:ident($ty:ty) => $variant:ident,)*) => {
        $(fn $method<E: de::Error>(self, v: $ty) -> Result<Value, E> {
            Ok(Value::$variant(v))
        })*
    };
}

impl<'de> Visitor<'de> for ShapeVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of shape {}", self.0)
    }

    visit_primitive! {
        visit_bool(bool) => Bool,
        visit_f32(f32) => F32,
        visit_char(char) => Char,
        visit_string(String) => Str,
        visit_byte_buf(Vec<u8>) => Bytes,
    }

    visit_integer! {
        visit_i8(i8) => I8,
        visit_i16(i16) => I16,
        visit_i32(i32) => I32,
        visit_i64(i64) => I64,
        visit_i128(i128) => I128,
        visit_u8(u8) => U8,
        visit_u16(u16) => U16,
        visit_u32(u32) => U32,
        visit_u64(u64) => U64,
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        match i128::try_from(v) {
            Ok(small) => integer(self.0, small, |_| Value::U128(v)),
            Err(_) => Ok(Value::U128(v)),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(match self.0 {
            // A self-describing codec reads every float as an f64.
            #[expect(clippy::cast_possible_truncation, reason = "the value was written as an f32")]
            Shape::F32 => Value::F32(v as f32),
            _ => Value::F64(v),
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(match self.0 {
            Shape::UnitStruct => Value::UnitStruct,
            Shape::Option(_) => Value::Option(None),
            _ => Value::Unit,
        })
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Option(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self.0 {
            Shape::Option(inner) => {
                Ok(Value::Option(Some(Box::new(Shaped(inner).deserialize(d)?))))
            }
            other => Err(de::Error::custom(format!("an option where {other} was recorded"))),
        }
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self.0 {
            Shape::Newtype(inner) => Ok(Value::Newtype(Box::new(Shaped(inner).deserialize(d)?))),
            other => Err(de::Error::custom(format!("a newtype where {other} was recorded"))),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        match self.0 {
            Shape::Seq(inner) => {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(item) = seq.next_element_seed(Shaped(inner))? {
                    items.push(item);
                }
                Ok(Value::Seq(items))
            }
            Shape::Bytes => {
                let mut bytes = Vec::new();
                while let Some(byte) = seq.next_element::<u8>()? {
                    bytes.push(byte);
                }
                Ok(Value::Bytes(bytes))
            }
            Shape::Tuple(items) | Shape::TupleStruct(items) => {
                Ok(Value::Tuple(elements(seq, items.iter())?))
            }
            Shape::Array(item, len) => {
                let len = usize::try_from(*len).map_err(de::Error::custom)?;
                Ok(Value::Tuple(elements(seq, std::iter::repeat_n(&**item, len))?))
            }
            Shape::Struct(fields) => Ok(Value::Struct(FieldsVisitor(fields).visit_seq(seq)?)),
            other => Err(de::Error::custom(format!("a sequence where {other} was recorded"))),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        match self.0 {
            Shape::Map(key, value) => {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some(k) = map.next_key_seed(Shaped(key))? {
                    entries.push((k, map.next_value_seed(Shaped(value))?));
                }
                Ok(Value::Map(entries))
            }
            Shape::Struct(fields) => Ok(Value::Struct(FieldsVisitor(fields).visit_map(map)?)),
            other => Err(de::Error::custom(format!("a map where {other} was recorded"))),
        }
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let Shape::Enum(variants) = self.0 else {
            return Err(de::Error::custom(format!("an enum where {} was recorded", self.0)));
        };
        let (index, access) = data.variant_seed(VariantIndex(variants))?;
        let variant = variants
            .get(index)
            .ok_or_else(|| de::Error::custom(format!("variant index {index} out of range")))?;
        let content = match &variant.content {
            Content::Unit => {
                access.unit_variant()?;
                VariantValue::Unit
            }
            Content::Newtype(inner) => {
                VariantValue::Newtype(access.newtype_variant_seed(Shaped(inner))?)
            }
            Content::Tuple(items) => {
                let shape = Shape::Tuple(items.clone());
                match access.tuple_variant(items.len(), ShapeVisitor(&shape))? {
                    Value::Tuple(items) => VariantValue::Tuple(items),
                    _ => return Err(de::Error::custom("a tuple variant read as something else")),
                }
            }
            Content::Struct(fields) => VariantValue::Struct(
                access.struct_variant(blank_names(fields.len())?, FieldsVisitor(fields))?,
            ),
        };
        Ok(Value::Variant(variant.name.clone(), Box::new(content)))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use crate::codec::{Bincode, Codec, Json, Postcard, decode_shaped, human_readable};
    use crate::dynamic::{from_value, to_value};
    use crate::shape::{Shape, enum_hint, trace};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Plan {
        Free,
        Paid(u32),
        Pair(u8, String),
        Team { seats: u16, owner: Option<String> },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        id: u64,
        name: String,
        plans: Vec<Plan>,
        pair: (i8, [u8; 2]),
        blob: serde_bytes_like::Bytes,
        map: std::collections::BTreeMap<u16, f32>,
    }

    /// A `Vec<u8>` serialized as bytes, as `serde_bytes` would.
    mod serde_bytes_like {
        #[derive(Debug, PartialEq)]
        pub(super) struct Bytes(pub(super) Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
        impl<'de> serde::Deserialize<'de> for Bytes {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Vec<u8>;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                        Ok(v.to_vec())
                    }
                    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                        Ok(v)
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<Vec<u8>, A::Error> {
                        let mut out = Vec::new();
                        while let Some(b) = seq.next_element()? {
                            out.push(b);
                        }
                        Ok(out)
                    }
                }
                d.deserialize_byte_buf(V).map(Bytes)
            }
        }
    }

    fn row() -> Row {
        Row {
            id: 7,
            name: "ada".into(),
            plans: vec![
                Plan::Free,
                Plan::Paid(3),
                Plan::Pair(1, "x".into()),
                Plan::Team { seats: 2, owner: Some("bob".into()) },
            ],
            pair: (-1, [2, 3]),
            blob: serde_bytes_like::Bytes(vec![0, 255]),
            map: [(1, 0.5), (2, 1.5)].into(),
        }
    }

    fn row_shape(human: bool) -> Shape {
        trace::<Row>(human, &[enum_hint::<Plan>]).unwrap()
    }

    fn round_trip<C: Codec>() {
        let shape = row_shape(human_readable::<C>());
        let bytes = C::encode(&row()).unwrap();
        let value = decode_shaped::<C>(&bytes, &shape).unwrap();
        assert_eq!(value, to_value(&row()).unwrap(), "{}", C::NAME);
        assert_eq!(from_value::<Row>(value, human_readable::<C>()).unwrap(), row());
    }

    #[test]
    fn every_codec_reads_a_value_through_its_shape_as_the_value_the_type_makes() {
        round_trip::<Postcard>();
        round_trip::<Bincode>();
        round_trip::<Json>();
    }

    #[test]
    fn bytes_of_another_shape_are_an_error_not_a_panic() {
        let shape = row_shape(false);
        let bytes = Postcard::encode(&row()).unwrap();
        for len in 0..bytes.len() {
            assert!(decode_shaped::<Postcard>(&bytes[..len], &shape).is_err());
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode_shaped::<Postcard>(&long, &shape).is_err());
    }
}
