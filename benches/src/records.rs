//! [`Records`]: the records of the comparative harness, computed from their index instead of
//! stored, so that a million of them cost no memory in the measured process.

use crate::SplitMix64;

/// The odd constant `SplitMix64` adds to its state for every output.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Random keys and values addressed by index: record `i`'s key is the `i`th block of
/// `key_len.div_ceil(8)` outputs of a `SplitMix64` stream started at a fixed seed, and its value
/// the `i`th block of `value_len.div_ceil(8)` outputs of a second stream. Nothing is stored, every
/// engine sees the same bytes, and any record can be recomputed in a few nanoseconds — which is
/// what lets reads check the values they get back.
///
/// Keys are 64 random bits per 8 bytes, so with 24-byte keys two records collide with a
/// probability of about `n² / 2¹⁹³`: never, in practice. The harness still checks `len()`.
#[derive(Debug, Clone, Copy)]
pub struct Records {
    key_len: usize,
    value_len: usize,
    key_seed: u64,
    value_seed: u64,
}

impl Records {
    /// Records with keys of `key_len` and values of `value_len` bytes, from `seed`.
    pub fn new(key_len: usize, value_len: usize, seed: u64) -> Self {
        let mut seeds = SplitMix64::new(seed);
        Records { key_len, value_len, key_seed: seeds.next_u64(), value_seed: seeds.next_u64() }
    }

    /// The length of every key in bytes.
    pub fn key_len(&self) -> usize {
        self.key_len
    }

    /// The length of every value in bytes.
    pub fn value_len(&self) -> usize {
        self.value_len
    }

    /// Writes the key of record `index` into `out`, which is resized to the key length.
    pub fn fill_key(&self, index: u64, out: &mut Vec<u8>) {
        fill(self.key_seed, self.key_len, index, out);
    }

    /// Writes the value of record `index` into `out`, which is resized to the value length.
    pub fn fill_value(&self, index: u64, out: &mut Vec<u8>) {
        fill(self.value_seed, self.value_len, index, out);
    }

    /// The key of record `index`.
    pub fn key(&self, index: u64) -> Vec<u8> {
        let mut out = Vec::new();
        self.fill_key(index, &mut out);
        out
    }

    /// The value of record `index`.
    pub fn value(&self, index: u64) -> Vec<u8> {
        let mut out = Vec::new();
        self.fill_value(index, &mut out);
        out
    }

    /// The first byte of the value of record `index` (0 for empty values), computed without
    /// the rest: reads check it against what the engine returned.
    pub fn value_first_byte(&self, index: u64) -> u8 {
        if self.value_len == 0 {
            return 0;
        }
        let first = SplitMix64::new(block_start(self.value_seed, self.value_len, index)).next_u64();
        first.to_le_bytes()[0]
    }

    /// Calls `f` with the key and value of every record in `indices`, in order, and stops at the
    /// first error.
    ///
    /// # Errors
    /// The first error `f` returns.
    pub fn try_for_each<E>(
        &self,
        indices: std::ops::Range<u64>,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let (mut key, mut value) = (Vec::new(), Vec::new());
        for index in indices {
            self.fill_key(index, &mut key);
            self.fill_value(index, &mut value);
            f(&key, &value)?;
        }
        Ok(())
    }

    /// Calls `f` with the key of every record in `indices`, in order, and stops at the first
    /// error.
    ///
    /// # Errors
    /// The first error `f` returns.
    pub fn try_for_each_key<E>(
        &self,
        indices: std::ops::Range<u64>,
        mut f: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut key = Vec::new();
        for index in indices {
            self.fill_key(index, &mut key);
            f(&key)?;
        }
        Ok(())
    }
}

/// The generator state whose next output is the first word of block `index`.
fn block_start(seed: u64, len: usize, index: u64) -> u64 {
    let words = len.div_ceil(8) as u64;
    seed.wrapping_add(index.wrapping_mul(words).wrapping_mul(GAMMA))
}

fn fill(seed: u64, len: usize, index: u64, out: &mut Vec<u8>) {
    let mut rng = SplitMix64::new(block_start(seed, len, index));
    out.clear();
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_deterministic_distinct_and_of_the_requested_sizes() {
        let records = Records::new(24, 150, 3);
        let again = Records::new(24, 150, 3);
        assert_eq!(records.key(7), again.key(7));
        assert_eq!(records.value(7), again.value(7));
        let keys: std::collections::HashSet<_> = (0..10_000).map(|i| records.key(i)).collect();
        assert_eq!(keys.len(), 10_000);
        assert!(keys.iter().all(|k| k.len() == 24));
        assert_eq!(records.value(9).len(), 150);
        assert_ne!(records.key(1), records.value(1)[..24]);
    }

    #[test]
    fn consecutive_keys_are_consecutive_blocks_of_one_stream() {
        let records = Records::new(24, 150, 3);
        let mut stream = SplitMix64::new(records.key_seed);
        let mut first_two = records.key(0);
        first_two.extend(records.key(1));
        assert_eq!(first_two, stream.bytes(48));
    }

    #[test]
    fn the_first_value_byte_matches_the_value() {
        let records = Records::new(24, 150, 3);
        for i in [0, 1, 999, 123_456] {
            assert_eq!(records.value_first_byte(i), records.value(i)[0]);
        }
    }
}
