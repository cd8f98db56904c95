//! The serde `Serializer` of the key format: writes the bytes described in the module docs.

use serde::Serialize;
use serde::ser::{self, Impossible};

use super::{KeyError, MAX_DEPTH};

type Result<T, E = KeyError> = std::result::Result<T, E>;

/// The sequence marker written before each element.
pub(super) const SEQ_ELEMENT: u8 = 0x01;
/// The sequence marker written after the last element.
pub(super) const SEQ_END: u8 = 0x00;
/// The tag of `None`.
pub(super) const NONE: u8 = 0x00;
/// The tag of `Some`.
pub(super) const SOME: u8 = 0x01;
/// The byte that starts an escape or the terminator of a string.
pub(super) const ESCAPE: u8 = 0x00;
/// The byte after [`ESCAPE`] that stands for a content byte `0x00`.
pub(super) const ESCAPED_ZERO: u8 = 0xFF;
/// The byte after [`ESCAPE`] that ends a string.
pub(super) const TERMINATOR: u8 = 0x00;

/// Writes keys into a byte buffer.
pub(super) struct KeySerializer<'a> {
    out: &'a mut Vec<u8>,
    depth: usize,
}

impl<'a> KeySerializer<'a> {
    pub(super) fn new(out: &'a mut Vec<u8>) -> Self {
        KeySerializer { out, depth: 0 }
    }

    fn enter(&mut self) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(KeyError::Unsupported(format!(
                "the key nests options, structs, tuples, sequences or enum variants deeper than \
                 {MAX_DEPTH} levels; flatten the key type"
            )));
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn write_escaped(&mut self, bytes: &[u8]) {
        self.out.reserve(bytes.len() + 2);
        for &byte in bytes {
            self.out.push(byte);
            if byte == ESCAPE {
                self.out.push(ESCAPED_ZERO);
            }
        }
        self.out.extend_from_slice(&[ESCAPE, TERMINATOR]);
    }

    /// Writes a big-endian two's-complement integer with its sign bit flipped.
    fn write_signed<const N: usize>(&mut self, mut bytes: [u8; N]) {
        if let Some(first) = bytes.first_mut() {
            *first ^= 0x80;
        }
        self.out.extend_from_slice(&bytes);
    }

    fn write_tag(&mut self, variant_index: u32) {
        self.out.extend_from_slice(&variant_index.to_be_bytes());
    }
}

fn unsupported<T>(reason: &str) -> Result<T> {
    Err(KeyError::Unsupported(reason.to_owned()))
}

const MAP_REASON: &str = "maps (and structs with #[serde(flatten)]) cannot be keys because their \
                          order is not visible through serde; use a sorted Vec of pairs or a struct";

impl ser::Serializer for &mut KeySerializer<'_> {
    type Ok = ();
    type Error = KeyError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Impossible<(), KeyError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out.push(u8::from(v));
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<()> {
        self.write_signed(v.to_be_bytes());
        Ok(())
    }

    fn serialize_i16(self, v: i16) -> Result<()> {
        self.write_signed(v.to_be_bytes());
        Ok(())
    }

    fn serialize_i32(self, v: i32) -> Result<()> {
        self.write_signed(v.to_be_bytes());
        Ok(())
    }

    fn serialize_i64(self, v: i64) -> Result<()> {
        self.write_signed(v.to_be_bytes());
        Ok(())
    }

    fn serialize_i128(self, v: i128) -> Result<()> {
        self.write_signed(v.to_be_bytes());
        Ok(())
    }

    fn serialize_u8(self, v: u8) -> Result<()> {
        self.out.push(v);
        Ok(())
    }

    fn serialize_u16(self, v: u16) -> Result<()> {
        self.out.extend_from_slice(&v.to_be_bytes());
        Ok(())
    }

    fn serialize_u32(self, v: u32) -> Result<()> {
        self.out.extend_from_slice(&v.to_be_bytes());
        Ok(())
    }

    fn serialize_u64(self, v: u64) -> Result<()> {
        self.out.extend_from_slice(&v.to_be_bytes());
        Ok(())
    }

    fn serialize_u128(self, v: u128) -> Result<()> {
        self.out.extend_from_slice(&v.to_be_bytes());
        Ok(())
    }

    fn serialize_f32(self, v: f32) -> Result<()> {
        const SIGN: u32 = 1 << 31;
        let bits = v.to_bits();
        let ordered = if bits & SIGN == 0 { bits ^ SIGN } else { !bits };
        self.out.extend_from_slice(&ordered.to_be_bytes());
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result<()> {
        const SIGN: u64 = 1 << 63;
        let bits = v.to_bits();
        let ordered = if bits & SIGN == 0 { bits ^ SIGN } else { !bits };
        self.out.extend_from_slice(&ordered.to_be_bytes());
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<()> {
        self.out.extend_from_slice(&u32::from(v).to_be_bytes());
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<()> {
        self.write_escaped(v.as_bytes());
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        self.write_escaped(v);
        Ok(())
    }

    fn serialize_none(self) -> Result<()> {
        self.out.push(NONE);
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        self.enter()?;
        self.out.push(SOME);
        value.serialize(&mut *self)?;
        self.leave();
        Ok(())
    }

    fn serialize_unit(self) -> Result<()> {
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
    ) -> Result<()> {
        // Entered like the other variants so that encode and decode agree on the depth limit.
        self.enter()?;
        self.write_tag(variant_index);
        self.leave();
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        self.enter()?;
        value.serialize(&mut *self)?;
        self.leave();
        Ok(())
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<()> {
        self.enter()?;
        self.write_tag(variant_index);
        value.serialize(&mut *self)?;
        self.leave();
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self> {
        self.enter()?;
        Ok(self)
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self> {
        self.enter()?;
        Ok(self)
    }

    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self> {
        self.enter()?;
        Ok(self)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self> {
        self.enter()?;
        self.write_tag(variant_index);
        Ok(self)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        unsupported(MAP_REASON)
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self> {
        self.enter()?;
        Ok(self)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self> {
        self.enter()?;
        self.write_tag(variant_index);
        Ok(self)
    }
}

impl ser::SerializeSeq for &mut KeySerializer<'_> {
    type Ok = ();
    type Error = KeyError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.out.push(SEQ_ELEMENT);
        value.serialize(&mut **self)
    }

    fn end(self) -> Result<()> {
        self.out.push(SEQ_END);
        self.leave();
        Ok(())
    }
}

impl ser::SerializeTuple for &mut KeySerializer<'_> {
    type Ok = ();
    type Error = KeyError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut **self)
    }

    fn end(self) -> Result<()> {
        self.leave();
        Ok(())
    }
}

impl ser::SerializeTupleStruct for &mut KeySerializer<'_> {
    type Ok = ();
    type Error = KeyError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut **self)
    }

    fn end(self) -> Result<()> {
        self.leave();
        Ok(())
    }
}

impl ser::SerializeTupleVariant for &mut KeySerializer<'_> {
    type Ok = ();
    type Error = KeyError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut **self)
    }

    fn end(self) -> Result<()> {
        self.leave();
        Ok(())
    }
}

const SKIP_REASON: &str = "a key field was skipped (#[serde(skip_serializing_if)]); a field that is \
                           sometimes absent makes the key bytes ambiguous; remove the attribute \
                           or wrap the field in an Option";

impl ser::SerializeStruct for &mut KeySerializer<'_> {
    type Ok = ();
    type Error = KeyError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _key: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(&mut **self)
    }

    fn skip_field(&mut self, _key: &'static str) -> Result<()> {
        unsupported(SKIP_REASON)
    }

    fn end(self) -> Result<()> {
        self.leave();
        Ok(())
    }
}

impl ser::SerializeStructVariant for &mut KeySerializer<'_> {
    type Ok = ();
    type Error = KeyError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _key: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(&mut **self)
    }

    fn skip_field(&mut self, _key: &'static str) -> Result<()> {
        unsupported(SKIP_REASON)
    }

    fn end(self) -> Result<()> {
        self.leave();
        Ok(())
    }
}
