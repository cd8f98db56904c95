//! A bare value page (format 3) has no check per value: its page checksum is the check of every
//! value in it. Damage anywhere in the page, even in its unused tail, must make every read of
//! a value in it a `Corruption` error (through the mapping and through `pread`), never a wrong
//! value, and must leave the values of other pages readable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::Path;

use emdb_core::{Emdb, Error, FlushPolicy};

const KEYS: u32 = 200;

fn key(i: u32) -> String {
    format!("key{i:04}")
}

fn value(i: u32) -> Vec<u8> {
    (0..150u32).map(|j| u8::try_from((i * 31 + j) % 251).unwrap()).collect()
}

fn open(path: &Path, mmap: bool) -> Emdb {
    Emdb::builder().path(path).flush_policy(FlushPolicy::Manual).use_mmap(mmap).build().unwrap()
}

#[test]
fn damage_in_a_bare_value_page_fails_every_value_in_it_and_no_other() {
    for mmap in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let db = open(&path, mmap);
            for i in 0..KEYS {
                db.insert(key(i), value(i)).unwrap();
            }
        }
        // The second bare value page (type 7) of the file; 27 values of 150 bytes fill it up
        // to byte 16 + 27 * 150 = 4066, so its last byte belongs to no value.
        let mut bytes = std::fs::read(&path).unwrap();
        let pages: Vec<usize> =
            (2..bytes.len() / 4096).filter(|&p| bytes[p * 4096 + 4] == 7).collect();
        assert!(pages.len() >= 7, "200 values of 150 B fill 8 value pages: {pages:?}");
        let page = pages[1] * 4096;
        let count = u16::from_le_bytes([bytes[page + 6], bytes[page + 7]]);
        assert_eq!(count, 27);
        bytes[page + 4095] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();

        let db = open(&path, mmap);
        let mut failed = 0;
        for round in 0..2 {
            for i in 0..KEYS {
                match db.get(key(i)) {
                    Ok(got) => assert_eq!(got, Some(value(i)), "mmap {mmap}: a wrong value"),
                    Err(Error::Corruption { .. }) => failed += usize::from(round == 0),
                    Err(e) => panic!("mmap {mmap}: {e}"),
                }
            }
        }
        assert_eq!(failed, usize::from(count), "mmap {mmap}: every value of the page fails");
        let mut good = 0;
        let mut iter_err = None;
        for item in db.iter().unwrap() {
            match item {
                Ok((k, v)) => {
                    let i: u32 = std::str::from_utf8(&k[3..]).unwrap().parse().unwrap();
                    assert_eq!(v, value(i), "mmap {mmap}: a wrong value in the iteration");
                    good += 1;
                }
                Err(e) => {
                    iter_err = Some(e);
                    break;
                }
            }
        }
        assert!(matches!(iter_err, Some(Error::Corruption { .. })), "mmap {mmap}: {iter_err:?}");
        assert_eq!(good, 27, "mmap {mmap}: the first page's values are read before the damage");
        assert!(matches!(db.check_integrity(), Err(Error::Corruption { .. })));
    }
}
