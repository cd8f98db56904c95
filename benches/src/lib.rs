//! Shared helpers for emdb's benchmarks: a fixed-seed generator, the benchmark dataset, and the
//! peer that in-memory emdb is measured against (a `HashMap` behind one `RwLock`); and, for the
//! comparative harness (`src/bin/lmdb_style.rs`), the [`engine::Engine`] interface, one adapter
//! per peer database in [`engines`], computed [`Records`], the [`report`] writers, the
//! [`machine`] description and the [`settle`] steps before each engine; and, for the same-run
//! comparisons of the typed layer (`src/bin/typed_compare.rs`, `src/bin/index_compare.rs`), the
//! helpers in [`compare`]. [`harness`] is the parent-and-children machinery the comparative
//! benchmarks (`lmdb_style`, `ycsb`) share, and [`zipf`] the skewed key choice of `scale` and
//! `ycsb`.
//!
//! Peers live only in this package, never in the engine crates.

pub mod compare;
pub mod engine;
pub mod engines;
pub mod harness;
pub mod machine;
mod records;
pub mod report;
pub mod settle;
pub mod zipf;

pub use records::Records;

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The item at `index` of a non-empty slice, wrapped around its length.
pub fn pick<T>(items: &[T], index: usize) -> &T {
    #[expect(clippy::indexing_slicing, reason = "the index is reduced modulo the length")]
    &items[index % items.len()]
}

/// A pseudo-random index below `n` (`n` must not be zero), as a `u64` like record indices.
pub fn random_index(rng: &mut SplitMix64, n: u64) -> u64 {
    // `below` takes a usize; the record count fits in one on every 64-bit target.
    rng.below(usize::try_from(n).unwrap_or(usize::MAX)) as u64
}

/// `SplitMix64`: a tiny, fast, fixed-seed pseudo-random generator, so that every run and every
/// engine sees the same keys, values and access order without a `rand` dependency.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A pseudo-random index below `len` (`len` must not be zero).
    pub fn below(&mut self, len: usize) -> usize {
        // Lemire's multiply-shift: the high half of a 64 × 64 bit product is below `len`.
        let wide = u128::from(self.next_u64()) * len as u128;
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the high 64 bits of next_u64 * len are below len, which fits in usize"
        )]
        let index = (wide >> 64) as usize;
        index
    }

    /// `len` pseudo-random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// The workload of a benchmark: how many entries, and how large their keys and values are.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    /// How many entries the database holds before the measurement.
    pub entries: usize,
    /// The length of every key in bytes.
    pub key_len: usize,
    /// The length of every value in bytes.
    pub value_len: usize,
}

impl Workload {
    /// A short label for benchmark names, such as `100k_entries_24B_keys_150B_values`.
    pub fn label(&self) -> String {
        let entries = if self.entries.is_multiple_of(1000) {
            format!("{}k", self.entries / 1000)
        } else {
            self.entries.to_string()
        };
        format!("{entries}_entries_{}B_keys_{}B_values", self.key_len, self.value_len)
    }
}

/// Random keys and values of the sizes a [`Workload`] gives, generated from a fixed seed.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The workload the data was generated for.
    pub workload: Workload,
    /// Distinct random keys (`workload.entries` of them), in generation order.
    pub keys: Vec<Vec<u8>>,
    /// One value per key.
    pub values: Vec<Vec<u8>>,
}

impl Dataset {
    /// Generates the data of `workload` from `seed`. Keys are distinct.
    pub fn generate(workload: Workload, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let mut distinct = std::collections::HashSet::with_capacity(workload.entries);
        let mut keys = Vec::with_capacity(workload.entries);
        while keys.len() < workload.entries {
            let key = rng.bytes(workload.key_len);
            if distinct.insert(key.clone()) {
                keys.push(key);
            }
        }
        let values = (0..workload.entries).map(|_| rng.bytes(workload.value_len)).collect();
        Dataset { workload, keys, values }
    }

    /// The key at `index`, wrapped around the number of keys (`keys` must not be empty).
    pub fn key(&self, index: usize) -> &[u8] {
        pick(&self.keys, index).as_slice()
    }

    /// The value at `index`, wrapped around the number of values (`values` must not be empty).
    pub fn value(&self, index: usize) -> &[u8] {
        pick(&self.values, index).as_slice()
    }

    /// The key and value pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.keys.iter().map(Vec::as_slice).zip(self.values.iter().map(Vec::as_slice))
    }

    /// The keys in ascending byte order.
    pub fn sorted_keys(&self) -> Vec<Vec<u8>> {
        let mut sorted = self.keys.clone();
        sorted.sort_unstable();
        sorted
    }
}

/// The peer: a `std::collections::HashMap` behind one `std::sync::RwLock`. A `get` takes the read
/// lock, looks the key up and clones the value, as emdb's `get` copies the value out.
#[derive(Debug, Default)]
pub struct LockedHashMap {
    map: RwLock<HashMap<Vec<u8>, Vec<u8>>>,
}

impl LockedHashMap {
    /// A map holding the dataset.
    pub fn from_dataset(data: &Dataset) -> Self {
        let map = data.pairs().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        LockedHashMap { map: RwLock::new(map) }
    }

    /// Inserts or replaces `key`.
    pub fn insert(&self, key: &[u8], value: &[u8]) {
        self.write().insert(key.to_vec(), value.to_vec());
    }

    /// A copy of the value of `key`.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.read().get(key).cloned()
    }

    /// Removes `key` and returns its value.
    pub fn remove(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.write().remove(key)
    }

    /// Copies out every entry (in the map's arbitrary order) and returns how many there were.
    pub fn for_each_entry(&self, mut f: impl FnMut(Vec<u8>, Vec<u8>)) -> usize {
        let map = self.read();
        for (k, v) in map.iter() {
            f(k.clone(), v.clone());
        }
        map.len()
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<Vec<u8>, Vec<u8>>> {
        // A poisoned lock only means another benchmark thread panicked; the map is still whole.
        self.map.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<Vec<u8>, Vec<u8>>> {
        self.map.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The ordered peer for range and full scans, which a `HashMap` cannot do in key order: a
/// `std::collections::BTreeMap` behind one `std::sync::RwLock`.
#[derive(Debug, Default)]
pub struct LockedBTreeMap {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl LockedBTreeMap {
    /// A map holding the dataset.
    pub fn from_dataset(data: &Dataset) -> Self {
        let map = data.pairs().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        LockedBTreeMap { map: RwLock::new(map) }
    }

    /// Copies out every entry with `lower <= key < upper`, in key order, and returns how many.
    pub fn for_each_in_range(
        &self,
        lower: &[u8],
        upper: &[u8],
        mut f: impl FnMut(Vec<u8>, Vec<u8>),
    ) -> usize {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        let mut n = 0;
        for (k, v) in map.range::<[u8], _>((Bound::Included(lower), Bound::Excluded(upper))) {
            f(k.clone(), v.clone());
            n += 1;
        }
        n
    }

    /// Copies out every entry in key order and returns how many there were.
    pub fn for_each_entry(&self, mut f: impl FnMut(Vec<u8>, Vec<u8>)) -> usize {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        for (k, v) in map.iter() {
            f(k.clone(), v.clone());
        }
        map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_indices_stay_below_the_length() {
        let (mut a, mut b) = (SplitMix64::new(7), SplitMix64::new(7));
        assert_eq!(a.bytes(150), b.bytes(150));
        for len in [1, 2, 3, 100_000] {
            assert!((0..1000).all(|_| a.below(len) < len));
        }
    }

    #[test]
    fn a_dataset_has_distinct_keys_of_the_requested_sizes() {
        let workload = Workload { entries: 1000, key_len: 24, value_len: 150 };
        let data = Dataset::generate(workload, 1);
        assert_eq!(data.keys.len(), 1000);
        assert!(data.keys.iter().all(|k| k.len() == 24));
        assert!(data.values.iter().all(|v| v.len() == 150));
        let distinct: std::collections::HashSet<_> = data.keys.iter().collect();
        assert_eq!(distinct.len(), 1000);
        assert_eq!(workload.label(), "1k_entries_24B_keys_150B_values");
    }
}
