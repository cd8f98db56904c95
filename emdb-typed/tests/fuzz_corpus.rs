//! Replays the committed corpus of the typed-layer fuzz targets (`fuzz/corpus/typed_key`,
//! `fuzz/corpus/value_header`) through the targets' own code, which this file includes from
//! `fuzz/src/typed.rs`: a fuzz finding, once minimized into the corpus, stays a plain test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[expect(unreachable_pub, reason = "the fuzz crate exports these; here they are local")]
mod typed {
    include!("../../fuzz/src/typed.rs");
}

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(|| f(&bytes));
        assert!(r.is_ok(), "{target}: {} panics", path.display());
    }
}

#[test]
fn the_typed_key_corpus_replays_without_a_panic() {
    replay("typed_key", typed::typed_key);
}

#[test]
fn the_value_header_corpus_replays_without_a_panic() {
    replay("value_header", typed::value_header);
}
