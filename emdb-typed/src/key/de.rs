//! The serde `Deserializer` of the key format: reads back what `ser` wrote, rejecting anything
//! else without panicking.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::ser::{ESCAPE, ESCAPED_ZERO, NONE, SEQ_ELEMENT, SEQ_END, SOME, TERMINATOR};
use super::{KeyError, MAX_DEPTH};

type Result<T, E = KeyError> = std::result::Result<T, E>;

/// Decodes one complete key from `input`; trailing bytes are an error.
pub(super) fn from_bytes<T: de::DeserializeOwned>(input: &[u8]) -> Result<T> {
    from_bytes_seed(input, std::marker::PhantomData::<T>)
}

/// Decodes one complete key from `input` with `seed`; trailing bytes are an error.
pub(super) fn from_bytes_seed<'de, S: DeserializeSeed<'de>>(
    input: &'de [u8],
    seed: S,
) -> Result<S::Value> {
    let mut deserializer = KeyDeserializer { input, pos: 0, depth: 0 };
    let value = seed.deserialize(&mut deserializer)?;
    let count = input.len().saturating_sub(deserializer.pos);
    if count == 0 {
        Ok(value)
    } else {
        Err(KeyError::TrailingBytes { at: deserializer.pos, count })
    }
}

const ANY_REASON: &str = "the key format is not self-describing, but the key type's Deserialize \
                          asked for deserialize_any (as #[serde(untagged)], #[serde(tag = \"...\")], \
                          #[serde(flatten)] and serde_json::Value do); use a plain derived \
                          Deserialize on the key type";

/// Reads keys from a byte slice.
struct KeyDeserializer<'de> {
    input: &'de [u8],
    pos: usize,
    depth: usize,
}

impl<'de> KeyDeserializer<'de> {
    /// Takes the next `N` bytes.
    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        let end = self.pos.saturating_add(N);
        let bytes =
            self.input.get(self.pos..end).and_then(|slice| <[u8; N]>::try_from(slice).ok()).ok_or(
                KeyError::UnexpectedEnd {
                    at: self.input.len(),
                    needed: end.saturating_sub(self.input.len()),
                },
            )?;
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8> {
        let [byte] = self.take::<1>()?;
        Ok(byte)
    }

    /// Takes a big-endian integer whose sign bit was flipped, restoring the sign bit.
    fn take_signed<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut bytes = self.take::<N>()?;
        if let Some(first) = bytes.first_mut() {
            *first ^= 0x80;
        }
        Ok(bytes)
    }

    /// Reads a tag byte that must be one of two values; returns whether it was `yes`.
    fn flag(&mut self, what: &'static str, no: u8, yes: u8) -> Result<bool> {
        let at = self.pos;
        match self.byte()? {
            byte if byte == no => Ok(false),
            byte if byte == yes => Ok(true),
            byte => Err(KeyError::InvalidByte { what, byte, at }),
        }
    }

    /// Reads an escaped, terminated byte string.
    fn unescape(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let rest = self.input.get(self.pos..).unwrap_or_default();
            let Some(zero) = rest.iter().position(|&byte| byte == ESCAPE) else {
                return Err(KeyError::UnexpectedEnd { at: self.input.len(), needed: 2 });
            };
            out.extend_from_slice(rest.get(..zero).unwrap_or_default());
            self.pos += zero + 1;
            let at = self.pos;
            match self.byte()? {
                ESCAPED_ZERO => out.push(0),
                TERMINATOR => return Ok(out),
                byte => return Err(KeyError::InvalidByte { what: "string escape", byte, at }),
            }
        }
    }

    fn enter(&mut self) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(KeyError::TooDeep { at: self.pos });
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Runs `visitor` over `len` fields with no markers between them. The caller accounts for
    /// the nesting depth.
    fn fixed<V: Visitor<'de>>(&mut self, len: usize, visitor: V) -> Result<V::Value> {
        let mut access = Fixed { de: &mut *self, remaining: len };
        let value = visitor.visit_seq(&mut access)?;
        if access.remaining != 0 {
            return Err(KeyError::Unconsumed { what: "tuple", at: self.pos });
        }
        Ok(value)
    }

    /// [`fixed`](Self::fixed) one level deeper.
    fn nested_fixed<V: Visitor<'de>>(&mut self, len: usize, visitor: V) -> Result<V::Value> {
        self.enter()?;
        let value = self.fixed(len, visitor)?;
        self.leave();
        Ok(value)
    }
}

impl<'de> de::Deserializer<'de> for &mut KeyDeserializer<'de> {
    type Error = KeyError;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(KeyError::Unsupported(ANY_REASON.to_owned()))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(KeyError::Unsupported(ANY_REASON.to_owned()))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_bool(self.flag("bool", 0, 1)?)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i8(i8::from_be_bytes(self.take_signed()?))
    }

    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i16(i16::from_be_bytes(self.take_signed()?))
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i32(i32::from_be_bytes(self.take_signed()?))
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i64(i64::from_be_bytes(self.take_signed()?))
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i128(i128::from_be_bytes(self.take_signed()?))
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u8(self.byte()?)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u16(u16::from_be_bytes(self.take()?))
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u32(u32::from_be_bytes(self.take()?))
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u64(u64::from_be_bytes(self.take()?))
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u128(u128::from_be_bytes(self.take()?))
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        const SIGN: u32 = 1 << 31;
        let ordered = u32::from_be_bytes(self.take()?);
        let bits = if ordered & SIGN == 0 { !ordered } else { ordered ^ SIGN };
        visitor.visit_f32(f32::from_bits(bits))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        const SIGN: u64 = 1 << 63;
        let ordered = u64::from_be_bytes(self.take()?);
        let bits = if ordered & SIGN == 0 { !ordered } else { ordered ^ SIGN };
        visitor.visit_f64(f64::from_bits(bits))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let at = self.pos;
        let value = u32::from_be_bytes(self.take()?);
        let c = char::from_u32(value).ok_or(KeyError::InvalidChar { value, at })?;
        visitor.visit_char(c)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let bytes = self.unescape()?;
        let string =
            String::from_utf8(bytes).map_err(|_| KeyError::InvalidUtf8 { at: self.pos })?;
        visitor.visit_string(string)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_byte_buf(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_byte_buf(self.unescape()?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.flag("option tag", NONE, SOME)? {
            self.enter()?;
            let value = visitor.visit_some(&mut *self)?;
            self.leave();
            Ok(value)
        } else {
            visitor.visit_none()
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.enter()?;
        let value = visitor.visit_newtype_struct(&mut *self)?;
        self.leave();
        Ok(value)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.enter()?;
        let mut access = Sequence { de: &mut *self, finished: false };
        let value = visitor.visit_seq(&mut access)?;
        if !access.finished {
            return Err(KeyError::Unconsumed { what: "sequence", at: self.pos });
        }
        self.leave();
        Ok(value)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        self.nested_fixed(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.nested_fixed(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(KeyError::Unsupported(
            "maps cannot be keys because their order is not visible through serde; use a sorted \
             Vec of pairs or a struct"
                .to_owned(),
        ))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.nested_fixed(fields.len(), visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.enter()?;
        let value = visitor.visit_enum(&mut *self)?;
        self.leave();
        Ok(value)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u32(u32::from_be_bytes(self.take()?))
    }
}

/// The fields of a tuple, tuple struct or struct: a known count, no markers.
struct Fixed<'a, 'de> {
    de: &'a mut KeyDeserializer<'de>,
    remaining: usize,
}

impl<'de> de::SeqAccess<'de> for Fixed<'_, 'de> {
    type Error = KeyError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining)
    }
}

/// The elements of a sequence: each after [`SEQ_ELEMENT`], then [`SEQ_END`].
struct Sequence<'a, 'de> {
    de: &'a mut KeyDeserializer<'de>,
    finished: bool,
}

impl<'de> de::SeqAccess<'de> for Sequence<'_, 'de> {
    type Error = KeyError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.finished || !self.de.flag("sequence marker", SEQ_END, SEQ_ELEMENT)? {
            self.finished = true;
            return Ok(None);
        }
        seed.deserialize(&mut *self.de).map(Some)
    }
}

impl<'de> de::EnumAccess<'de> for &mut KeyDeserializer<'de> {
    type Error = KeyError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let index = u32::from_be_bytes(self.take()?);
        let value = seed.deserialize(IntoDeserializer::<KeyError>::into_deserializer(index))?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for &mut KeyDeserializer<'de> {
    type Error = KeyError;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        self.fixed(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.fixed(fields.len(), visitor)
    }
}
