//! Compile-fail tests of the derives: each file in `tests/ui/` is one mistake, named after it,
//! and its `.stderr` is the error the user sees. Regenerate the snapshots after a deliberate
//! change of a message with `TRYBUILD=overwrite cargo test --test derive_ui`.
// The snapshots are the host compiler's messages; a test binary cross-built for Windows (run
// under Wine) would drive a cargo it cannot run.
#![cfg(not(windows))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[test]
fn every_mistake_is_a_spanned_error_that_names_the_fix() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
