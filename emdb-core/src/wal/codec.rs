//! The payload of a WAL frame: the byte encoding of a [`Batch`] and its bounded decoder.
//!
//! ```text
//! payload  := op_count:u32  op*                       (all integers little-endian)
//! op       := 1:u8 ns:u32 expires_at:u64 key_len:u32 key value_len:u32 value   Put
//!           | 2:u8 ns:u32 key_len:u32 key                                      Remove
//!           | 3:u8 ns:u32                                                      Clear
//!           | 4:u8 ns:u32 name_len:u32 name(UTF-8)                             CreateNamespace
//! ```
//!
//! Every count and length is checked against the bytes that remain before anything is
//! allocated, so a damaged payload can never ask for more memory than its own size.

use std::sync::Arc;

use crate::batch::{Batch, DEFAULT_NS, NO_EXPIRY, Op};

// The formats store namespace ids and expiries as these raw numbers; changing either constant
// would change the meaning of existing files.
const _: () = assert!(DEFAULT_NS == 0 && NO_EXPIRY == 0);

const TAG_PUT: u8 = 1;
const TAG_REMOVE: u8 = 2;
const TAG_CLEAR: u8 = 3;
const TAG_CREATE_NS: u8 = 4;

/// The smallest encoded op (a `Clear`: tag + ns), which bounds the op count of a payload.
const MIN_OP_LEN: usize = 1 + 4;

/// Why a payload could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodeError {
    /// Where in the payload decoding stopped.
    pub(crate) at: usize,
    /// What was wrong there.
    pub(crate) what: &'static str,
}

/// A length that does not fit the `u32` of the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLong {
    /// The length that does not fit.
    pub(crate) len: usize,
}

fn len32(len: usize) -> Result<u32, TooLong> {
    u32::try_from(len).map_err(|_| TooLong { len })
}

/// Appends the encoding of `batch` to `out` (which the caller reuses between frames).
pub(crate) fn encode_batch(batch: &Batch, out: &mut Vec<u8>) -> Result<(), TooLong> {
    out.extend_from_slice(&len32(batch.ops.len())?.to_le_bytes());
    for op in &batch.ops {
        match op {
            Op::Put { ns, key, value, expires_at } => {
                out.push(TAG_PUT);
                out.extend_from_slice(&ns.to_le_bytes());
                out.extend_from_slice(&expires_at.to_le_bytes());
                out.extend_from_slice(&len32(key.len())?.to_le_bytes());
                out.extend_from_slice(key);
                out.extend_from_slice(&len32(value.len())?.to_le_bytes());
                out.extend_from_slice(value);
            }
            Op::Remove { ns, key } => {
                out.push(TAG_REMOVE);
                out.extend_from_slice(&ns.to_le_bytes());
                out.extend_from_slice(&len32(key.len())?.to_le_bytes());
                out.extend_from_slice(key);
            }
            Op::Clear { ns } => {
                out.push(TAG_CLEAR);
                out.extend_from_slice(&ns.to_le_bytes());
            }
            Op::CreateNamespace { ns, name } => {
                out.push(TAG_CREATE_NS);
                out.extend_from_slice(&ns.to_le_bytes());
                out.extend_from_slice(&len32(name.len())?.to_le_bytes());
                out.extend_from_slice(name.as_bytes());
            }
        }
    }
    Ok(())
}

/// The length of the payload [`encode_batch`] writes for `batch`, without encoding it.
pub(crate) fn encoded_len(batch: &Batch) -> u64 {
    const NS: usize = std::mem::size_of::<crate::batch::NsId>();
    let ops: usize = batch
        .ops
        .iter()
        .map(|op| match op {
            Op::Put { key, value, .. } => 1 + NS + 8 + 4 + key.len() + 4 + value.len(),
            Op::Remove { key, .. } => 1 + NS + 4 + key.len(),
            Op::Clear { .. } => 1 + NS,
            Op::CreateNamespace { name, .. } => 1 + NS + 4 + name.len(),
        })
        .sum();
    (4 + ops) as u64
}

/// A cursor over a payload that never reads out of bounds.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &'static str) -> DecodeError {
        DecodeError { at: self.pos, what }
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.err(what))?;
        let s = self.buf.get(self.pos..end).ok_or_else(|| self.err(what))?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let s = self.bytes(N, what)?;
        <[u8; N]>::try_from(s).map_err(|_| self.err(what))
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A `u32` length followed by that many bytes, bounded by what remains.
    fn sized(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = usize::try_from(self.u32(what)?).map_err(|_| self.err(what))?;
        if len > self.remaining() {
            return Err(self.err(what));
        }
        self.bytes(len, what)
    }
}

/// Decodes a payload produced by [`encode_batch`]; trailing bytes are an error.
pub(crate) fn decode_batch(payload: &[u8]) -> Result<Batch, DecodeError> {
    let mut r = Reader { buf: payload, pos: 0 };
    let count = usize::try_from(r.u32("op count")?).map_err(|_| r.err("op count"))?;
    if count > r.remaining() / MIN_OP_LEN {
        return Err(r.err("op count larger than the payload can hold"));
    }
    let mut ops = Vec::with_capacity(count);
    for _ in 0..count {
        let op = match r.u8("op tag")? {
            TAG_PUT => {
                let ns = r.u32("put namespace")?;
                let expires_at = r.u64("put expiry")?;
                let key: Arc<[u8]> = Arc::from(r.sized("put key")?);
                let value: Arc<[u8]> = Arc::from(r.sized("put value")?);
                Op::Put { ns, key, value, expires_at }
            }
            TAG_REMOVE => {
                let ns = r.u32("remove namespace")?;
                Op::Remove { ns, key: Arc::from(r.sized("remove key")?) }
            }
            TAG_CLEAR => Op::Clear { ns: r.u32("clear namespace")? },
            TAG_CREATE_NS => {
                let ns = r.u32("namespace id")?;
                let at = r.pos;
                let name = std::str::from_utf8(r.sized("namespace name")?)
                    .map_err(|_| DecodeError { at, what: "namespace name is not UTF-8" })?;
                Op::CreateNamespace { ns, name: name.to_owned() }
            }
            _ => return Err(DecodeError { at: r.pos.saturating_sub(1), what: "unknown op tag" }),
        };
        ops.push(op);
    }
    if r.remaining() != 0 {
        return Err(r.err("trailing bytes after the last op"));
    }
    Ok(Batch { ops })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Batch {
        Batch {
            ops: vec![
                Op::Put {
                    ns: DEFAULT_NS,
                    key: Arc::from(&b"k"[..]),
                    value: Arc::from(&b"v"[..]),
                    expires_at: NO_EXPIRY,
                },
                Op::Remove { ns: 3, key: Arc::from(&b"gone"[..]) },
                Op::Clear { ns: 7 },
                Op::CreateNamespace { ns: 9, name: "users".into() },
            ],
        }
    }

    #[test]
    fn every_op_kind_round_trips() {
        let mut buf = Vec::new();
        encode_batch(&sample(), &mut buf).unwrap();
        assert_eq!(decode_batch(&buf).unwrap(), sample());
    }

    #[test]
    fn the_encoded_length_is_known_without_encoding() {
        let mut buf = Vec::new();
        encode_batch(&sample(), &mut buf).unwrap();
        assert_eq!(encoded_len(&sample()), buf.len() as u64);
        assert_eq!(encoded_len(&Batch::default()), 4);
    }

    #[test]
    fn every_truncation_of_a_payload_is_an_error() {
        let mut buf = Vec::new();
        encode_batch(&sample(), &mut buf).unwrap();
        for cut in 0..buf.len() {
            assert!(decode_batch(&buf[..cut]).is_err(), "cut at {cut}");
        }
        buf.push(0);
        assert!(decode_batch(&buf).is_err());
    }

    #[test]
    fn a_huge_op_count_is_refused_before_allocating() {
        let err = decode_batch(&u32::MAX.to_le_bytes()).unwrap_err();
        assert_eq!(err.at, 4);
    }

    fn arb_op() -> impl Strategy<Value = Op> {
        let bytes = || proptest::collection::vec(any::<u8>(), 0..40);
        prop_oneof![
            (any::<u32>(), bytes(), bytes(), any::<u64>()).prop_map(|(ns, k, v, e)| Op::Put {
                ns,
                key: k.into(),
                value: v.into(),
                expires_at: e
            }),
            (any::<u32>(), bytes()).prop_map(|(ns, k)| Op::Remove { ns, key: k.into() }),
            any::<u32>().prop_map(|ns| Op::Clear { ns }),
            (any::<u32>(), "[a-z]{0,12}").prop_map(|(ns, name)| Op::CreateNamespace { ns, name }),
        ]
    }

    proptest! {
        #[test]
        fn any_batch_round_trips(ops in proptest::collection::vec(arb_op(), 0..20)) {
            let batch = Batch { ops };
            let mut buf = Vec::new();
            encode_batch(&batch, &mut buf).unwrap();
            prop_assert_eq!(decode_batch(&buf).unwrap(), batch);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_batch(&bytes);
        }
    }
}
