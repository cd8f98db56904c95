//! The unit of commit: a batch of operations that becomes one WAL frame and is applied to the
//! in-memory state as a whole, so that no reader ever sees part of it.

use std::sync::Arc;

/// The id of a namespace. The default namespace is [`DEFAULT_NS`]; others are numbered from 1 in
/// creation order and recorded durably by a [`Op::CreateNamespace`].
pub(crate) type NsId = u32;

/// The id of the default namespace, the one `Emdb`'s own key-value methods use.
pub(crate) const DEFAULT_NS: NsId = 0;

/// An absolute expiry in milliseconds since the Unix epoch; [`NO_EXPIRY`] means none.
pub(crate) type ExpiresAt = u64;

/// The expiry of an entry that never expires.
pub(crate) const NO_EXPIRY: ExpiresAt = 0;

/// Whether an entry that expires at `expires_at` is expired at `now` (Unix milliseconds): the
/// one expiry test of the engine. [`NO_EXPIRY`] never expires.
#[inline]
pub(crate) fn is_expired(expires_at: ExpiresAt, now: u64) -> bool {
    expires_at != NO_EXPIRY && expires_at <= now
}

/// One change to the keyspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// Insert or overwrite `key` in namespace `ns`.
    Put { ns: NsId, key: Arc<[u8]>, value: Arc<[u8]>, expires_at: ExpiresAt },
    /// Remove `key` from namespace `ns` (a no-op when absent).
    Remove { ns: NsId, key: Arc<[u8]> },
    /// Remove every key of namespace `ns`.
    Clear { ns: NsId },
    /// Register namespace `name` under id `ns`.
    CreateNamespace { ns: NsId, name: String },
}

/// The operations of one commit, in the order they were issued.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Batch {
    pub(crate) ops: Vec<Op>,
}

/// One write of [`Writes`]: where its tree key and value lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WriteAt {
    ns: NsId,
    /// The tree key (the namespace id, 4 bytes big-endian, then the key): offset in `keys`
    /// and length.
    key: (usize, u32),
    /// The value (offset in `values`, length) and expiry, or `None` for a removal.
    value: Option<(usize, u32, ExpiresAt)>,
}

/// Puts and removes in strictly increasing (namespace, key) order: what a transaction commits.
/// The tree keys lie in one buffer in that order, the values in another (in the order they were
/// written). A large one is written by a checkpoint straight from here (no allocation per key
/// or value, keys read front to back); a small one becomes a [`Batch`] and is logged.
#[derive(Debug, Default, Clone)]
pub(crate) struct Writes {
    keys: Vec<u8>,
    values: Vec<u8>,
    items: Vec<WriteAt>,
}

/// The length of a tree key's namespace prefix.
const NS_PREFIX: usize = std::mem::size_of::<NsId>();

impl Writes {
    /// The number of writes.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is no write.
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The namespace of write `at`.
    pub(crate) fn ns(&self, at: usize) -> Option<NsId> {
        self.items.get(at).map(|w| w.ns)
    }

    /// The tree key of write `at`: namespace id (big-endian) then key.
    pub(crate) fn tree_key(&self, at: usize) -> &[u8] {
        self.items.get(at).map_or(&[][..], |w| span(&self.keys, w.key.0, w.key.1 as usize))
    }

    /// The key of write `at`.
    pub(crate) fn key(&self, at: usize) -> &[u8] {
        self.tree_key(at).get(NS_PREFIX..).unwrap_or_default()
    }

    /// The value and expiry write `at` puts, or `None` when it removes its key.
    pub(crate) fn value(&self, at: usize) -> Option<(&[u8], ExpiresAt)> {
        let (v, len, exp) = self.items.get(at)?.value?;
        Some((span(&self.values, v, len as usize), exp))
    }

    /// The namespaces written, ascending.
    pub(crate) fn namespaces(&self) -> Vec<NsId> {
        let mut ids: Vec<NsId> = Vec::new();
        for w in &self.items {
            if ids.last() != Some(&w.ns) {
                ids.push(w.ns);
            }
        }
        ids
    }

    /// The size of the log frame payload of these writes ([`crate::wal::encoded_len`] of the
    /// equivalent batch).
    pub(crate) fn encoded_len(&self) -> u64 {
        let ops: u64 = self
            .items
            .iter()
            .map(|w| {
                let key = u64::from(w.key.1).saturating_sub(NS_PREFIX as u64);
                match w.value {
                    Some((_, len, _)) => 1 + 4 + 8 + 4 + key + 4 + u64::from(len),
                    None => 1 + 4 + 4 + key,
                }
            })
            .sum();
        4 + ops
    }

    /// The same writes as a batch of operations (one allocation per key and value).
    pub(crate) fn to_batch(&self) -> Batch {
        let ops =
            (0..self.len()).filter_map(|at| Some(op(self.ns(at)?, self.key(at), self.value(at))));
        Batch { ops: ops.collect() }
    }

    /// The writes of `batch`, when it holds only puts and removes in strictly increasing
    /// (namespace, key) order.
    pub(crate) fn from_batch(batch: &Batch) -> Option<Writes> {
        let mut w = Writes::default();
        let mut last: Option<(NsId, &[u8])> = None;
        for op in &batch.ops {
            let (Op::Put { ns, key, .. } | Op::Remove { ns, key }) = op else { return None };
            if last.is_some_and(|l| l >= (*ns, &key[..])) {
                return None;
            }
            last = Some((*ns, key));
            let at = w.keys.len();
            w.keys.extend_from_slice(&ns.to_be_bytes());
            w.keys.extend_from_slice(key);
            let value = match op {
                Op::Put { value, expires_at, .. } => {
                    let v = w.values.len();
                    w.values.extend_from_slice(value);
                    Some((v, len32(value.len()), *expires_at))
                }
                _ => None,
            };
            w.items.push(WriteAt { ns: *ns, key: (at, len32(NS_PREFIX + key.len())), value });
        }
        Some(w)
    }
}

/// The operation that puts `value` under `key` in namespace `ns`, or removes it (`None`).
fn op(ns: NsId, key: &[u8], value: Option<(&[u8], ExpiresAt)>) -> Op {
    let key = Arc::from(key);
    match value {
        Some((value, expires_at)) => Op::Put { ns, key, value: Arc::from(value), expires_at },
        None => Op::Remove { ns, key },
    }
}

fn span(buf: &[u8], at: usize, len: usize) -> &[u8] {
    buf.get(at..at.saturating_add(len)).unwrap_or_default()
}

/// One write as [`WritesBuilder`] logs it.
#[derive(Debug, Clone, Copy)]
struct Logged {
    ns: NsId,
    /// The key's first eight bytes as a big-endian number (zero-padded): ordering by it agrees
    /// with ordering by the whole key wherever it differs, so most comparisons of the final
    /// sort decide without reading the buffer.
    prefix: u64,
    /// The key (without namespace prefix) in the key buffer: offset and length.
    key: (usize, u32),
    value: Option<(usize, u32, ExpiresAt)>,
}

/// Builds [`Writes`] from writes in any order, a key possibly written many times (the last
/// write wins): each write is appended to a log and its bytes to two buffers (keys, values),
/// so buffering costs no hash and no allocation per write. Keys have a buffer of their own so
/// that sorting and laying them out reads a dense buffer, not one interleaved with values. A
/// transaction indexes the log only when it reads.
#[derive(Debug, Default)]
pub(crate) struct WritesBuilder {
    keys: Vec<u8>,
    values: Vec<u8>,
    log: Vec<Logged>,
}

impl WritesBuilder {
    /// Logs a put (`Some`) or a removal (`None`) of `key` in namespace `ns`; returns its
    /// position in the log.
    pub(crate) fn push(
        &mut self,
        ns: NsId,
        key: &[u8],
        value: Option<(&[u8], ExpiresAt)>,
    ) -> usize {
        let mut head = [0u8; 8];
        for (to, from) in head.iter_mut().zip(key) {
            *to = *from;
        }
        let at = self.keys.len();
        self.keys.extend_from_slice(key);
        let value = value.map(|(v, exp)| {
            let v_at = self.values.len();
            self.values.extend_from_slice(v);
            (v_at, len32(v.len()), exp)
        });
        self.log.push(Logged {
            ns,
            prefix: u64::from_be_bytes(head),
            key: (at, len32(key.len())),
            value,
        });
        self.log.len() - 1
    }

    /// The number of writes logged.
    pub(crate) fn len(&self) -> usize {
        self.log.len()
    }

    /// The namespace and key of logged write `pos`.
    pub(crate) fn key(&self, pos: usize) -> (NsId, &[u8]) {
        self.log
            .get(pos)
            .map_or((0, &[][..]), |l| (l.ns, span(&self.keys, l.key.0, l.key.1 as usize)))
    }

    /// What logged write `pos` does.
    pub(crate) fn write(&self, pos: usize) -> Option<(&[u8], ExpiresAt)> {
        let (at, len, exp) = self.log.get(pos)?.value?;
        Some((span(&self.values, at, len as usize), exp))
    }

    /// Whether logged write `pos` is a put.
    pub(crate) fn is_put(&self, pos: usize) -> bool {
        self.log.get(pos).is_some_and(|l| l.value.is_some())
    }

    /// The logged writes as a batch of operations in the order they were made (a key written
    /// twice is applied twice, the last write winning): what a small transaction logs, without
    /// the sort that [`finish`](Self::finish) does for large ones.
    pub(crate) fn to_batch(&self) -> Batch {
        let ops = (0..self.len()).map(|pos| {
            let (ns, key) = self.key(pos);
            op(ns, key, self.write(pos))
        });
        Batch { ops: ops.collect() }
    }

    /// Sorts the log by (namespace, key), keeps the last write of each key, and lays the tree
    /// keys out in that order.
    pub(crate) fn finish(self) -> Writes {
        /// How many sorted writes ahead of the one being laid out have their key prefetched
        /// (and twice as many, their log entry).
        const AHEAD: usize = 16;
        let WritesBuilder { keys: buf, values, log } = self;
        let key_of = |l: &Logged| span(&buf, l.key.0, l.key.1 as usize);
        // (namespace, key prefix, key length, position): most comparisons, and telling
        // neighbours apart afterwards, need no read of the key itself.
        let mut order: Vec<(NsId, u64, u32, usize)> =
            log.iter().enumerate().map(|(pos, l)| (l.ns, l.prefix, l.key.1, pos)).collect();
        let logged = |pos: usize| log.get(pos);
        // Same key: the later write (higher position) sorts last.
        order.sort_unstable_by(|a, b| {
            (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| {
                let (ka, kb) = (logged(a.3).map(key_of), logged(b.3).map(key_of));
                ka.cmp(&kb).then(a.3.cmp(&b.3))
            })
        });
        let mut keys: Vec<u8> =
            Vec::with_capacity(log.iter().map(|l| NS_PREFIX + l.key.1 as usize).sum());
        let mut items: Vec<WriteAt> = Vec::with_capacity(order.len());
        for (i, &(ns, prefix, len, pos)) in order.iter().enumerate() {
            // In sorted order every log entry, and every key in the buffer, is a cache miss
            // (they lie in the order they were written): keep the next ones in flight, the log
            // entries first, then the keys they point at, by then in the cache.
            if let Some(&(.., far)) = order.get(i + 2 * AHEAD)
                && let Some(l) = logged(far)
            {
                crate::os::prefetch(l);
            }
            if let Some(&(.., near)) = order.get(i + AHEAD)
                && let Some(byte) = logged(near).and_then(|l| buf.get(l.key.0))
            {
                crate::os::prefetch(byte);
            }
            let Some(l) = logged(pos) else { continue };
            let key = key_of(l);
            let same_as_next = order.get(i + 1).is_some_and(|&(n_ns, n_prefix, n_len, n_pos)| {
                (n_ns, n_prefix, n_len) == (ns, prefix, len)
                    && logged(n_pos).map(key_of) == Some(key)
            });
            if same_as_next {
                continue;
            }
            let at = keys.len();
            keys.extend_from_slice(&l.ns.to_be_bytes());
            keys.extend_from_slice(key);
            items.push(WriteAt {
                ns: l.ns,
                key: (at, len32(NS_PREFIX + key.len())),
                value: l.value,
            });
        }
        Writes { keys, values, items }
    }
}

/// A length that the limits keep far below `u32::MAX` (keys ≤ 1028 bytes, values ≤ 256 MiB).
fn len32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    type Content = (NsId, Vec<u8>, Option<(Vec<u8>, ExpiresAt)>);

    fn contents(w: &Writes) -> Vec<Content> {
        (0..w.len())
            .map(|at| {
                (w.ns(at).unwrap(), w.key(at).to_vec(), w.value(at).map(|(v, e)| (v.to_vec(), e)))
            })
            .collect()
    }

    #[test]
    fn the_last_write_of_a_key_wins_and_writes_come_out_sorted_by_namespace_then_key() {
        let mut b = WritesBuilder::default();
        b.push(1, b"b", Some((b"1", 0)));
        b.push(0, b"zz", Some((b"2", 5)));
        b.push(1, b"a", None);
        // Keys sharing their first eight bytes are ordered by the rest.
        b.push(0, b"12345678b", Some((b"3", 0)));
        b.push(0, b"12345678a", Some((b"4", 0)));
        b.push(0, b"12345678", Some((b"5", 0)));
        b.push(1, b"b", None);
        b.push(1, b"a", Some((b"6", 7)));
        b.push(0, b"zz", Some((b"", 0)));
        assert_eq!(b.len(), 9);
        let w = b.finish();
        let want = vec![
            (0, b"12345678".to_vec(), Some((b"5".to_vec(), 0))),
            (0, b"12345678a".to_vec(), Some((b"4".to_vec(), 0))),
            (0, b"12345678b".to_vec(), Some((b"3".to_vec(), 0))),
            (0, b"zz".to_vec(), Some((Vec::new(), 0))),
            (1, b"a".to_vec(), Some((b"6".to_vec(), 7))),
            (1, b"b".to_vec(), None),
        ];
        assert_eq!(contents(&w), want);
        assert_eq!(w.tree_key(4), [0, 0, 0, 1, b'a']);
        assert_eq!(w.namespaces(), vec![0, 1]);
        assert_eq!(w.encoded_len(), crate::wal::encoded_len(&w.to_batch()));
        let again = Writes::from_batch(&w.to_batch()).unwrap();
        assert_eq!(contents(&again), want);
    }

    #[test]
    fn only_sorted_puts_and_removes_convert_from_a_batch() {
        let put =
            |ns, k: &[u8]| Op::Put { ns, key: Arc::from(k), value: Arc::from(k), expires_at: 0 };
        let sorted = Batch {
            ops: vec![put(0, b"a"), Op::Remove { ns: 0, key: Arc::from(&b"b"[..]) }, put(1, b"a")],
        };
        assert_eq!(Writes::from_batch(&sorted).unwrap().len(), 3);
        for ops in [
            vec![put(0, b"b"), put(0, b"a")],
            vec![put(0, b"a"), put(0, b"a")],
            vec![put(1, b"a"), put(0, b"b")],
            vec![put(0, b"a"), Op::Clear { ns: 0 }],
            vec![Op::CreateNamespace { ns: 1, name: "n".into() }, put(1, b"a")],
        ] {
            assert!(Writes::from_batch(&Batch { ops }).is_none());
        }
    }
}
