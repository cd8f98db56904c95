//! [`from_value`]: a serde `Deserializer` over a [`Value`] that hands structs to the visitor as
//! maps from field name to value, so a type reads an older value by name: a field the value
//! lacks takes the type's serde default (`Option` → `None`), a field the type lacks is ignored,
//! and `#[serde(alias)]` matches.

use serde::de::value::StringDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::{Value, VariantValue};

/// Why a value does not read as a type, or a type does not serialize as a value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ValueError {
    /// The type needs a field the value does not have and that has no serde default.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// The value has a field the type does not know, and the type denies unknown fields.
    #[error("unknown field `{0}`")]
    UnknownField(String),
    /// Anything else serde reports.
    #[error("{0}")]
    Custom(String),
}

impl de::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError::Custom(msg.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        ValueError::MissingField(field)
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        ValueError::UnknownField(field.to_owned())
    }
}

impl serde::ser::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError::Custom(msg.to_string())
    }
}

type Result<T, E = ValueError> = std::result::Result<T, E>;

/// Reads a `T` from `value` by field name. `human_readable` is what the codec that wrote the
/// value reports, so that types that serialize differently for humans read their own form.
///
/// # Errors
/// [`ValueError::MissingField`] for a field `T` needs and `value` lacks; otherwise whatever
/// `T`'s `Deserialize` reports.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value, human_readable: bool) -> Result<T> {
    T::deserialize(ValueDeserializer { value, human_readable })
}

/// Reads `value` through `seed`, by field name as [`from_value`] does.
///
/// # Errors
/// Whatever `seed` reports.
#[cfg(test)]
pub(crate) fn from_value_seed<'de, S: DeserializeSeed<'de>>(
    seed: S,
    value: Value,
    human_readable: bool,
) -> Result<S::Value> {
    seed.deserialize(ValueDeserializer { value, human_readable })
}

/// The deserializer over one value.
struct ValueDeserializer {
    value: Value,
    human_readable: bool,
}

/// The elements of a sequence, tuple or struct (read by position).
struct Items<I> {
    items: I,
    human_readable: bool,
}

impl<'de, I: Iterator<Item = Value>> SeqAccess<'de> for Items<I> {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        match self.items.next() {
            None => Ok(None),
            Some(value) => seed
                .deserialize(ValueDeserializer { value, human_readable: self.human_readable })
                .map(Some),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.items.size_hint().1
    }
}

/// The entries of a map, or the fields of a struct keyed by name.
struct Entries<I> {
    items: I,
    value: Option<Value>,
    human_readable: bool,
}

impl<'de, I: Iterator<Item = (Value, Value)>> MapAccess<'de> for Entries<I> {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        match self.items.next() {
            None => Ok(None),
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(ValueDeserializer {
                    value: key,
                    human_readable: self.human_readable,
                })
                .map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let value = self
            .value
            .take()
            .ok_or_else(|| ValueError::Custom("a map value was read before its key".to_owned()))?;
        seed.deserialize(ValueDeserializer { value, human_readable: self.human_readable })
    }
}

fn struct_entries(
    fields: Vec<(String, Value)>,
    human_readable: bool,
) -> Entries<impl Iterator<Item = (Value, Value)>> {
    Entries {
        items: fields.into_iter().map(|(name, value)| (Value::Str(name), value)),
        value: None,
        human_readable,
    }
}

/// An enum value for a visitor.
struct Enum {
    name: String,
    content: VariantValue,
    human_readable: bool,
}

impl<'de> EnumAccess<'de> for Enum {
    type Error = ValueError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let name: StringDeserializer<ValueError> = self.name.clone().into_deserializer();
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> VariantAccess<'de> for Enum {
    type Error = ValueError;

    fn unit_variant(self) -> Result<()> {
        match self.content {
            VariantValue::Unit => Ok(()),
            _ => Err(de::Error::custom(format!("variant {} holds content", self.name))),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        match self.content {
            VariantValue::Newtype(value) => {
                seed.deserialize(ValueDeserializer { value, human_readable: self.human_readable })
            }
            _ => Err(de::Error::custom(format!("variant {} is not a newtype variant", self.name))),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        match self.content {
            VariantValue::Tuple(items) => visitor
                .visit_seq(Items { items: items.into_iter(), human_readable: self.human_readable }),
            _ => Err(de::Error::custom(format!("variant {} is not a tuple variant", self.name))),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.content {
            VariantValue::Struct(fields) => {
                visitor.visit_map(struct_entries(fields, self.human_readable))
            }
            _ => Err(de::Error::custom(format!("variant {} is not a struct variant", self.name))),
        }
    }
}

impl<'de> de::Deserializer<'de> for ValueDeserializer {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let human_readable = self.human_readable;
        match self.value {
            Value::Unit | Value::UnitStruct => visitor.visit_unit(),
            Value::Bool(v) => visitor.visit_bool(v),
            Value::I8(v) => visitor.visit_i8(v),
            Value::I16(v) => visitor.visit_i16(v),
            Value::I32(v) => visitor.visit_i32(v),
            Value::I64(v) => visitor.visit_i64(v),
            Value::I128(v) => visitor.visit_i128(v),
            Value::U8(v) => visitor.visit_u8(v),
            Value::U16(v) => visitor.visit_u16(v),
            Value::U32(v) => visitor.visit_u32(v),
            Value::U64(v) => visitor.visit_u64(v),
            Value::U128(v) => visitor.visit_u128(v),
            Value::F32(v) => visitor.visit_f32(v),
            Value::F64(v) => visitor.visit_f64(v),
            Value::Char(v) => visitor.visit_char(v),
            Value::Str(v) => visitor.visit_string(v),
            Value::Bytes(v) => visitor.visit_byte_buf(v),
            Value::Option(None) => visitor.visit_none(),
            Value::Option(Some(inner)) => {
                visitor.visit_some(ValueDeserializer { value: *inner, human_readable })
            }
            Value::Seq(items) | Value::Tuple(items) => {
                visitor.visit_seq(Items { items: items.into_iter(), human_readable })
            }
            Value::Map(entries) => visitor.visit_map(Entries {
                items: entries.into_iter(),
                value: None,
                human_readable,
            }),
            Value::Struct(fields) => visitor.visit_map(struct_entries(fields, human_readable)),
            Value::Newtype(inner) => {
                visitor.visit_newtype_struct(ValueDeserializer { value: *inner, human_readable })
            }
            Value::Variant(name, content) => {
                visitor.visit_enum(Enum { name, content: *content, human_readable })
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            Value::Option(None) | Value::Unit => visitor.visit_none(),
            Value::Option(Some(inner)) => visitor.visit_some(ValueDeserializer {
                value: *inner,
                human_readable: self.human_readable,
            }),
            // A field that became optional: the old value is the `Some`.
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.value {
            Value::Str(name) => visitor.visit_enum(Enum {
                name,
                content: VariantValue::Unit,
                human_readable: self.human_readable,
            }),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        match self.value {
            Value::Newtype(inner) => visitor.visit_newtype_struct(ValueDeserializer {
                value: *inner,
                human_readable: self.human_readable,
            }),
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            Value::Struct(fields) => visitor.visit_seq(Items {
                items: fields.into_iter().map(|(_, value)| value),
                human_readable: self.human_readable,
            }),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn is_human_readable(&self) -> bool {
        self.human_readable
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct map struct identifier
    }
}
