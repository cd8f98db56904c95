//! The format-2 fixture (`tests/fixtures/format2.emdb`, written by emdb before format 3): it
//! opens as it is, reads every entry (inline, packed, overflow; expiring and permanent; two
//! namespaces), takes writes, reopens, and compacts, keeping every value.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use emdb_core::{AutoReclaim, Emdb, FlushPolicy, Ttl};

/// The fixture; `EMDB_WRITE_FORMAT2_FIXTURE=1` rewrites it, which only makes sense with a
/// program that writes format 2 (the test checks the file's version before anything else).
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format2.emdb")
}

/// Fifty years: far enough that the fixture's expiring entries stay alive.
const FIXTURE_TTL: Duration = Duration::from_secs(50 * 365 * 24 * 3600);

/// A handle whose checkpoints free emptied value pages but move no value, so that the dead
/// bytes the meta page records are exactly those of the values the test replaces.
fn manual(path: &Path) -> Emdb {
    Emdb::builder()
        .path(path)
        .flush_policy(FlushPolicy::Manual)
        .auto_reclaim(AutoReclaim::EmptyPages)
        .build()
        .unwrap()
}

/// The bytes of a value of `len` bytes for entry `i`, generation `g` (its bytes never equal a
/// page type, so a scan of the raw file can tell headers from overflow bytes).
fn bytes(i: u32, g: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| 0x40 + u8::try_from((i as usize * 7 + g as usize * 13 + j) % 64).unwrap())
        .collect()
}

/// One entry of the fixture: key, value, whether it expires.
type Entries = BTreeMap<(String, Vec<u8>), (Vec<u8>, bool)>;

/// The default namespace: inline (20 B), packed (150 B and 700 B) and overflow (5000 B)
/// values, every third key expiring; "side": inline, packed and overflow (9000 B), every
/// fourth expiring.
fn first_generation() -> Entries {
    let mut m = Entries::new();
    for i in 0..160u32 {
        let len = match i % 4 {
            0 => 20,
            1 => 150,
            2 => 700,
            _ if i % 40 == 3 => 5000,
            _ => 150,
        };
        m.insert((String::new(), format!("p{i:03}").into_bytes()), (bytes(i, 0, len), i % 3 == 0));
    }
    for i in 0..30u32 {
        let len = if i % 10 == 0 {
            9000
        } else if i % 2 == 1 {
            300
        } else {
            10
        };
        m.insert(("side".into(), format!("s{i:02}").into_bytes()), (bytes(i, 1, len), i % 4 == 0));
    }
    m
}

/// What the fixture holds: the first generation, then (after a checkpoint, so that the old
/// values become dead bytes) some removed and some overwritten.
fn fixture_contents() -> Entries {
    let mut m = first_generation();
    m.remove(&(String::new(), b"p007".to_vec()));
    m.remove(&("side".into(), b"s05".to_vec()));
    for i in [1u32, 2, 3, 13, 41] {
        m.insert((String::new(), format!("p{i:03}").into_bytes()), (bytes(i, 2, 150), false));
    }
    m
}

fn write_fixture(path: &Path) {
    let db = manual(path);
    let side = db.namespace("side").unwrap();
    for ((ns, k), (v, expires)) in first_generation() {
        let target = if ns.is_empty() { None } else { Some(&side) };
        match (target, expires) {
            (None, false) => db.insert(&k, &v).unwrap(),
            (None, true) => db.insert_with_ttl(&k, &v, Ttl::After(FIXTURE_TTL)).unwrap(),
            (Some(s), false) => s.insert(&k, &v).unwrap(),
            (Some(s), true) => s.insert_with_ttl(&k, &v, Ttl::After(FIXTURE_TTL)).unwrap(),
        }
    }
    db.checkpoint().unwrap();
    db.remove("p007").unwrap();
    side.remove("s05").unwrap();
    for i in [1u32, 2, 3, 13, 41] {
        db.insert(format!("p{i:03}"), bytes(i, 2, 150)).unwrap();
    }
    db.checkpoint().unwrap();
}

/// The format versions of the two meta pages of the file at `path`.
fn versions(path: &Path) -> [u32; 2] {
    let b = std::fs::read(path).unwrap();
    [0, 1].map(|m| u32::from_le_bytes(b[m * 4096 + 8..m * 4096 + 12].try_into().unwrap()))
}

/// How many pages of each type the file at `path` holds past its meta pages (the fixture's
/// values never put a page type's number at byte 4 of an overflow run's later pages).
fn page_types(path: &Path) -> BTreeMap<u8, usize> {
    let mut count = BTreeMap::new();
    for page in std::fs::read(path).unwrap().chunks(4096).skip(2) {
        *count.entry(page[4]).or_insert(0) += 1;
    }
    count
}

/// Asserts that `db` holds exactly `want`, by point reads, expiries and full iteration of both
/// namespaces.
fn assert_holds(db: &Emdb, want: &Entries) {
    let side = db.namespace("side").unwrap();
    let mut iterated = Entries::new();
    for (ns, handle) in [("", None), ("side", Some(&side))] {
        let iter = match handle {
            None => db.iter().unwrap(),
            Some(s) => s.iter().unwrap(),
        };
        for kv in iter {
            let (k, v) = kv.unwrap();
            let expires = match handle {
                None => db.ttl(&k).unwrap(),
                Some(s) => s.ttl(&k).unwrap(),
            };
            if let Some(left) = expires {
                assert!(left > FIXTURE_TTL / 2 && left <= FIXTURE_TTL, "{k:?}: {left:?}");
            }
            iterated.insert((ns.to_string(), k), (v, expires.is_some()));
        }
    }
    assert_eq!(&iterated, want, "iteration");
    for ((ns, k), (v, _)) in want {
        let got = if ns.is_empty() { db.get(k).unwrap() } else { side.get(k).unwrap() };
        assert_eq!(got.as_ref(), Some(v), "get {ns}/{}", String::from_utf8_lossy(k));
    }
    let backwards: Vec<Vec<u8>> = db.iter().unwrap().rev().map(|kv| kv.unwrap().0).collect();
    let forwards: Vec<Vec<u8>> =
        want.keys().filter(|(ns, _)| ns.is_empty()).map(|(_, k)| k.clone()).rev().collect();
    assert_eq!(backwards, forwards, "reverse iteration");
    assert_eq!(db.len().unwrap() + side.len().unwrap(), want.len());
}

#[test]
fn the_format_2_fixture_opens_reads_takes_writes_reopens_and_compacts() {
    if std::env::var_os("EMDB_WRITE_FORMAT2_FIXTURE").is_some() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        write_fixture(&p);
        std::fs::copy(&p, fixture()).unwrap();
    }
    assert_eq!(versions(&fixture()), [2, 2], "the fixture must be a format-2 file");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.emdb");
    std::fs::copy(fixture(), &path).unwrap();
    let mut want = fixture_contents();
    {
        let db = manual(&path);
        assert_holds(&db, &want);
        let report = db.check_integrity().unwrap();
        assert!(report.value_pages > 0 && report.overflow_pages > 0, "{report:?}");
        assert!(report.dead_value_pages == 0, "{report:?}");
        let side = db.namespace("side").unwrap();
        let dead_before = db.stats().unwrap().dead_value_bytes;
        assert!(dead_before > 0, "the fixture holds dead values");
        // Writes of every kind next to the old entries. A value replaced in a format-2 value
        // page is dead with its 8-byte record header.
        let mut dead = 0;
        for i in (0..160u32).step_by(9) {
            let v = bytes(i, 3, [12, 150, 900, 6000][(i % 4) as usize]);
            let k = (String::new(), format!("p{i:03}").into_bytes());
            let old = want.insert(k, (v.clone(), false)).unwrap().0.len() as u64;
            if (129..=2032).contains(&old) {
                dead += old + 8;
            }
            db.insert(format!("p{i:03}"), &v).unwrap();
        }
        db.remove("p100").unwrap();
        want.remove(&(String::new(), b"p100".to_vec()));
        side.insert_with_ttl("s99", bytes(99, 3, 150), Ttl::After(FIXTURE_TTL)).unwrap();
        want.insert(("side".into(), b"s99".to_vec()), (bytes(99, 3, 150), true));
        db.checkpoint().unwrap();
        assert_eq!(db.stats().unwrap().dead_value_bytes, dead_before + dead);
        assert_holds(&db, &want);
        db.check_integrity().unwrap();
        // Replaced again, the values written above (now in bare value pages) are dead without
        // any header.
        let mut bare_dead = 0;
        for i in (0..160u32).step_by(18) {
            let v = bytes(i, 4, 150);
            let k = (String::new(), format!("p{i:03}").into_bytes());
            let old = want.insert(k, (v.clone(), false)).unwrap().0.len() as u64;
            if (129..=2040).contains(&old) {
                bare_dead += old;
            }
            db.insert(format!("p{i:03}"), &v).unwrap();
        }
        assert!(bare_dead > 0);
        db.checkpoint().unwrap();
        assert_eq!(db.stats().unwrap().dead_value_bytes, dead_before + dead + bare_dead);
        assert_holds(&db, &want);
    }
    // The checkpoints wrote the current format (compact leaves, bare value pages of format 3,
    // the catalog count of format 4, the log binding of format 5); the old value pages
    // stay until compaction (that old and new leaves share a tree is `tree::store`'s test).
    assert!(versions(&path).contains(&5), "{:?}", versions(&path));
    let types = page_types(&path);
    for ty in [5, 7, 8] {
        assert!(types.contains_key(&ty), "no page of type {ty}: {types:?}");
    }
    let db = manual(&path);
    assert_holds(&db, &want);
    db.check_integrity().unwrap();
    db.compact().unwrap();
    assert_holds(&db, &want);
    let report = db.check_integrity().unwrap();
    assert_eq!(report.dead_value_pages, 0, "{report:?}");
    assert_eq!(db.stats().unwrap().dead_value_bytes, 0);
    drop(db);
    assert_eq!(versions(&path), [5, 5]);
    let types = page_types(&path);
    assert!(!types.contains_key(&2) && !types.contains_key(&5), "old pages left: {types:?}");
    let db = manual(&path);
    assert_holds(&db, &want);
    db.check_integrity().unwrap();
}

/// The end of the last record of a format-2 value page (type 5): its records follow the header
/// back to back, each a `u32` length, a checksum and the value.
fn records_end(page: &[u8]) -> usize {
    let count = u16::from_le_bytes([page[6], page[7]]);
    let mut at = 16;
    for _ in 0..count {
        let len = u32::from_le_bytes(page[at..at + 4].try_into().unwrap()) as usize;
        at += 8 + len;
    }
    at
}

#[test]
fn damage_in_the_unused_tail_of_a_format_2_value_page_leaves_every_record_readable() {
    // Each record of a type-5 page has its own checksum: a page whose checksum fails falls back
    // to them, so damage outside the records changes no value (a bare value page of format 3
    // fails every value instead, `persist_damaged_value_page.rs`).
    let want = fixture_contents();
    for mmap in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copy.emdb");
        let mut bytes = std::fs::read(fixture()).unwrap();
        let pages: Vec<usize> = (2..bytes.len() / 4096)
            .filter(|&p| bytes[p * 4096 + 4] == 5 && records_end(&bytes[p * 4096..]) < 4096)
            .collect();
        assert!(pages.len() > 3, "{pages:?}");
        for &p in &pages {
            bytes[p * 4096 + 4095] ^= 0x10;
        }
        std::fs::write(&path, &bytes).unwrap();
        let db =
            Emdb::builder().path(&path).flush_policy(FlushPolicy::Manual).use_mmap(mmap).build();
        let db = db.unwrap();
        assert_holds(&db, &want);
        assert!(matches!(db.check_integrity(), Err(emdb_core::Error::Corruption { .. })));
    }
}
