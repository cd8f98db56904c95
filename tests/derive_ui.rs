//! Compile-fail tests of the derives: each file in `tests/ui/` is one mistake, named after it,
//! and its `.stderr` is the error the user sees. Regenerate the snapshots after a deliberate
//! change of a message with `TRYBUILD=overwrite cargo test --test derive_ui`.
// The snapshots are the host compiler's messages; a test binary cross-built for Windows (run
// under Wine) would drive a cargo it cannot run.
#![cfg(not(windows))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[path = "../emdb-core/src/test_depth.rs"]
mod test_depth;

/// Every file with `EMDB_TESTS=full`; in a short run, the file that makes every mistake at once
/// (one spanned error each, all reported together) and a few single mistakes.
const SHORT_RUN: [&str; 4] = [
    "tests/ui/every_mistake_at_once.rs",
    "tests/ui/group_without_key.rs",
    "tests/ui/record_invalid_codec.rs",
    "tests/ui/key_with_a_value.rs",
];

#[test]
fn every_mistake_is_a_spanned_error_that_names_the_fix() {
    let cases = trybuild::TestCases::new();
    if test_depth::full() {
        cases.compile_fail("tests/ui/*.rs");
    } else {
        for file in SHORT_RUN {
            cases.compile_fail(file);
        }
    }
}
