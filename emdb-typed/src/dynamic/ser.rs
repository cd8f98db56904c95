//! [`to_value`]: a serde `Serializer` whose output is a [`Value`].

use serde::Serialize;
use serde::ser;

use super::{Value, ValueError, VariantValue};

/// The value `value` serializes as.
///
/// # Errors
/// [`ValueError::Custom`] if `value`'s `Serialize` fails.
pub(crate) fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
    value.serialize(ToValue)
}

/// The serializer.
struct ToValue;

type Result<T, E = ValueError> = std::result::Result<T, E>;

/// Collects the elements of a sequence, tuple or tuple struct.
pub(crate) struct Items {
    items: Vec<Value>,
    tuple: bool,
}

/// Collects the elements of a tuple variant.
pub(crate) struct VariantItems {
    name: &'static str,
    items: Vec<Value>,
}

/// Collects the entries of a map.
pub(crate) struct Entries {
    entries: Vec<(Value, Value)>,
    key: Option<Value>,
}

/// Collects the fields of a struct or struct variant.
pub(crate) struct Fields {
    variant: Option<&'static str>,
    fields: Vec<(String, Value)>,
}

macro_rules! primitive {
    ($($method:ident($ty:ty) => $variant:ident,)*) => {
        $(fn $method(self, v: $ty) -> Result<Value> {
            Ok(Value::$variant(v))
        })*
    };
}

impl ser::Serializer for ToValue {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = Items;
    type SerializeTuple = Items;
    type SerializeTupleStruct = Items;
    type SerializeTupleVariant = VariantItems;
    type SerializeMap = Entries;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Fields;

    primitive! {
        serialize_bool(bool) => Bool,
        serialize_i8(i8) => I8,
        serialize_i16(i16) => I16,
        serialize_i32(i32) => I32,
        serialize_i64(i64) => I64,
        serialize_i128(i128) => I128,
        serialize_u8(u8) => U8,
        serialize_u16(u16) => U16,
        serialize_u32(u32) => U32,
        serialize_u64(u64) => U64,
        serialize_u128(u128) => U128,
        serialize_f32(f32) => F32,
        serialize_f64(f64) => F64,
        serialize_char(char) => Char,
    }

    fn serialize_str(self, v: &str) -> Result<Value> {
        Ok(Value::Str(v.to_owned()))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Value> {
        Ok(Value::Bytes(v.to_vec()))
    }

    fn serialize_none(self) -> Result<Value> {
        Ok(Value::Option(None))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value> {
        Ok(Value::Option(Some(Box::new(value.serialize(ToValue)?))))
    }

    fn serialize_unit(self) -> Result<Value> {
        Ok(Value::Unit)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value> {
        Ok(Value::UnitStruct)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value> {
        Ok(Value::Variant(variant.to_owned(), Box::new(VariantValue::Unit)))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value> {
        Ok(Value::Newtype(Box::new(value.serialize(ToValue)?)))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value> {
        let content = VariantValue::Newtype(value.serialize(ToValue)?);
        Ok(Value::Variant(variant.to_owned(), Box::new(content)))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Items> {
        Ok(Items { items: Vec::with_capacity(len.unwrap_or(0).min(4096)), tuple: false })
    }

    fn serialize_tuple(self, len: usize) -> Result<Items> {
        Ok(Items { items: Vec::with_capacity(len.min(4096)), tuple: true })
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Items> {
        self.serialize_tuple(len)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantItems> {
        Ok(VariantItems { name: variant, items: Vec::with_capacity(len.min(4096)) })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Entries> {
        Ok(Entries { entries: Vec::with_capacity(len.unwrap_or(0).min(4096)), key: None })
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Fields> {
        Ok(Fields { variant: None, fields: Vec::with_capacity(len.min(4096)) })
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Fields> {
        Ok(Fields { variant: Some(variant), fields: Vec::with_capacity(len.min(4096)) })
    }
}

impl ser::SerializeSeq for Items {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.items.push(value.serialize(ToValue)?);
        Ok(())
    }

    fn end(self) -> Result<Value> {
        Ok(if self.tuple { Value::Tuple(self.items) } else { Value::Seq(self.items) })
    }
}

impl ser::SerializeTuple for Items {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<Value> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Items {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<Value> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for VariantItems {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.items.push(value.serialize(ToValue)?);
        Ok(())
    }

    fn end(self) -> Result<Value> {
        Ok(Value::Variant(self.name.to_owned(), Box::new(VariantValue::Tuple(self.items))))
    }
}

impl ser::SerializeMap for Entries {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.key = Some(key.serialize(ToValue)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self.key.take().ok_or_else(|| {
            ValueError::Custom("a map value was serialized before its key".to_owned())
        })?;
        self.entries.push((key, value.serialize(ToValue)?));
        Ok(())
    }

    fn end(self) -> Result<Value> {
        Ok(Value::Map(self.entries))
    }
}

impl ser::SerializeStruct for Fields {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.fields.push((key.to_owned(), value.serialize(ToValue)?));
        Ok(())
    }

    fn end(self) -> Result<Value> {
        Ok(match self.variant {
            None => Value::Struct(self.fields),
            Some(name) => {
                Value::Variant(name.to_owned(), Box::new(VariantValue::Struct(self.fields)))
            }
        })
    }
}

impl ser::SerializeStructVariant for Fields {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }

    fn end(self) -> Result<Value> {
        ser::SerializeStruct::end(self)
    }
}
