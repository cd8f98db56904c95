//! Iterators over a database file whose tree spans many leaves and whose memtable holds
//! overwrites, removals and new keys on top of it: every range, consumed by a random mix of
//! `next`, `next_back`, `next_ref` and `next_back_ref`, must yield exactly the live entries of a
//! `BTreeMap` model, each once, in order from each end, with values of every storage kind
//! (inline, packed, overflow) and expired entries left out. Iterators opened before later
//! writes (and a checkpoint) must keep their snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use emdb_core::{Emdb, FlushPolicy, Iter, ManualClock, Namespace, Ttl};
use proptest::prelude::*;

/// Keys of the first load; later writes use `0..KEYS + 40`.
const KEYS: u32 = 600;

/// key → (value, expiry in ms, 0 for none).
type Model = BTreeMap<Vec<u8>, (Vec<u8>, u64)>;

fn key(i: u32) -> Vec<u8> {
    // Long keys make leaves hold few entries, so ranges cross leaves.
    let mut k = format!("key{i:05}").into_bytes();
    k.resize(40, b'.');
    k
}

/// A value whose length picks the storage kind: inline, packed or overflow.
fn value(i: u32, version: u8) -> Vec<u8> {
    let len = [0usize, 20, 150, 700, 3_000][(i as usize + usize::from(version)) % 5];
    let seed = i.to_le_bytes()[0] ^ version;
    (0..len).map(|j| j.to_le_bytes()[0] ^ seed).collect()
}

/// A write of the second round: `None` removes the key.
#[derive(Debug, Clone)]
struct Write {
    key: u32,
    value: Option<u8>,
    ttl_ms: Option<u64>,
}

/// One step of consuming an iterator.
#[derive(Debug, Clone, Copy)]
enum Step {
    Next,
    NextBack,
    NextRef,
    NextBackRef,
}

fn write() -> impl Strategy<Value = Write> {
    (0..KEYS + 40, proptest::option::weighted(0.7, any::<u8>()), proptest::option::of(1..50u64))
        .prop_map(|(key, value, ttl_ms)| Write { key, value, ttl_ms })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Next),
        Just(Step::NextBack),
        Just(Step::NextRef),
        Just(Step::NextBackRef)
    ]
}

fn bound() -> impl Strategy<Value = Bound<u32>> {
    prop_oneof![
        1 => Just(Bound::Unbounded),
        3 => (0..KEYS + 40).prop_map(Bound::Included),
        3 => (0..KEYS + 40).prop_map(Bound::Excluded),
    ]
}

fn key_bound(b: Bound<u32>) -> Bound<Vec<u8>> {
    b.map(key)
}

fn apply(ns: &Namespace, model: &mut Model, now: u64, w: &Write) {
    let k = key(w.key);
    if let Some(version) = w.value {
        let v = value(w.key, version);
        let ttl = w.ttl_ms.map_or(Ttl::Never, |ms| Ttl::After(Duration::from_millis(ms)));
        ns.insert_with_ttl(&k, &v, ttl).unwrap();
        model.insert(k, (v, w.ttl_ms.map_or(0, |ms| now + ms)));
    } else {
        ns.remove(&k).unwrap();
        model.remove(&k);
    }
}

fn expected(model: &Model, now: u64, lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> Vec<Entry> {
    let empty = match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b)) => a >= b,
        _ => false,
    };
    if empty {
        return Vec::new();
    }
    model
        .range::<Vec<u8>, _>((lo.as_ref(), hi.as_ref()))
        .filter(|(_, (_, exp))| *exp == 0 || *exp > now)
        .map(|(k, (v, _))| (k.clone(), v.clone()))
        .collect()
}

type Entry = (Vec<u8>, Vec<u8>);

/// Consumes `iter` with `steps` (then alternately from both ends until it is done) and checks
/// it against `want`.
fn consume(mut iter: Iter, steps: &[Step], want: &[Entry]) {
    let (mut front, mut back) = (Vec::new(), Vec::new());
    let mut steps = steps
        .iter()
        .copied()
        .chain([Step::Next, Step::NextBackRef, Step::NextRef, Step::NextBack].into_iter().cycle());
    let (mut front_done, mut back_done) = (false, false);
    while !(front_done && back_done) {
        let step = steps.next().unwrap();
        let (got, is_front) = match step {
            Step::Next => (iter.next().map(Result::unwrap), true),
            Step::NextBack => (iter.next_back().map(Result::unwrap), false),
            Step::NextRef => {
                (iter.next_ref().map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()), true)
            }
            Step::NextBackRef => (
                iter.next_back_ref().map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()),
                false,
            ),
        };
        match (got, is_front) {
            (Some(e), true) => front.push(e),
            (Some(e), false) => back.push(e),
            (None, true) => front_done = true,
            (None, false) => back_done = true,
        }
    }
    // Once one end is done, the other is too (they met), and the iterator stays done.
    assert!(iter.next().is_none() && iter.next_back().is_none());
    back.reverse();
    front.extend(back);
    assert_eq!(front.len(), want.len(), "entry count");
    for (got, want) in front.iter().zip(want) {
        assert_eq!(got.0, want.0, "key");
        assert_eq!(got.1, want.1, "value of {:?}", String::from_utf8_lossy(&want.0));
    }
}

fn run(
    mmap: bool,
    writes: &[Write],
    later: &[Write],
    ranges: &[(Bound<u32>, Bound<u32>, Vec<Step>)],
    advance_ms: u64,
) {
    let clock = ManualClock::new(1_000);
    let dir = tempfile::tempdir().unwrap();
    let db = Emdb::builder()
        .clock(Arc::new(clock.clone()))
        .path(dir.path().join("db"))
        .flush_policy(FlushPolicy::Manual)
        .use_mmap(mmap)
        .build()
        .unwrap();
    let ns = db.namespace("n").unwrap();
    // A neighbour namespace on both sides in the tree: its keys must never leak in.
    let (before, after) = (db.namespace("a").unwrap(), db.namespace("z").unwrap());
    for other in [&before, &after] {
        for i in (0..KEYS).step_by(7) {
            other.insert(key(i), b"other").unwrap();
        }
    }
    let mut model = Model::new();
    let mut now = 1_000;
    for i in 0..KEYS {
        apply(&ns, &mut model, now, &Write { key: i, value: Some(0), ttl_ms: None });
    }
    db.checkpoint().unwrap();
    for w in writes {
        apply(&ns, &mut model, now, w);
    }
    now += advance_ms;
    clock.advance(Duration::from_millis(advance_ms));

    // Iterators opened now must not see what follows.
    let snapshots: Vec<_> = ranges
        .iter()
        .take(2)
        .map(|(lo, hi, steps)| {
            let (lo, hi) = (key_bound(*lo), key_bound(*hi));
            let want = expected(&model, now, &lo, &hi);
            (ns.range::<Vec<u8>, _>((lo, hi)).unwrap(), steps.clone(), want)
        })
        .collect();
    for w in later {
        apply(&ns, &mut model, now, w);
    }
    db.checkpoint().unwrap();
    for w in later.iter().rev() {
        apply(&ns, &mut model, now, &Write { value: None, ..w.clone() });
    }
    for (lo, hi, steps) in ranges {
        let (lo, hi) = (key_bound(*lo), key_bound(*hi));
        let want = expected(&model, now, &lo, &hi);
        consume(ns.range::<Vec<u8>, _>((lo, hi)).unwrap(), steps, &want);
    }
    for (iter, steps, want) in snapshots {
        consume(iter, &steps, &want);
    }
    let all: Vec<_> = ns.iter().unwrap().map(Result::unwrap).collect();
    assert_eq!(all, expected(&model, now, &Bound::Unbounded, &Bound::Unbounded));
    let keys: Vec<_> = ns.keys().unwrap().rev().map(Result::unwrap).collect();
    let mut want: Vec<_> = all.into_iter().map(|(k, _)| k).collect();
    want.reverse();
    assert_eq!(keys, want);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn ranges_from_both_ends_over_tree_and_memtable_agree_with_a_model(
        writes in proptest::collection::vec(write(), 0..300),
        later in proptest::collection::vec(write(), 0..40),
        ranges in proptest::collection::vec(
            (bound(), bound(), proptest::collection::vec(step(), 0..60)),
            1..12,
        ),
        advance_ms in 0..60u64,
    ) {
        run(true, &writes, &later, &ranges, advance_ms);
    }
}

#[test]
fn a_short_range_from_a_key_reads_only_what_it_yields_and_stays_in_its_namespace() {
    let writes: Vec<_> = (0..KEYS)
        .step_by(3)
        .map(|key| Write { key, value: if key % 2 == 0 { None } else { Some(1) }, ttl_ms: None })
        .collect();
    let ranges: Vec<_> = (0..KEYS + 40)
        .step_by(37)
        .map(|k| (Bound::Included(k), Bound::Unbounded, vec![Step::Next; 10]))
        .chain([(Bound::Unbounded, Bound::Excluded(5), vec![Step::NextBackRef; 3])])
        .collect();
    run(true, &writes, &[], &ranges, 0);
    // Without the mapping, pages and values are read with `pread` into the iterator's buffers.
    run(false, &writes, &[], &ranges, 0);
}
