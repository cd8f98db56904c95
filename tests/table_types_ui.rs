//! Compile-fail tests of the typed tables' type rules: each file in `tests/ui_table/` is one
//! mistake, and its `.stderr` is the error the user sees. Pins issue 20's trap: a `Table<&str, V>`
//! (or `&[u8]`, or a `&str` value) is refused at compile time, and the error names the fix:
//! "`&str` must implement `OwnedKey<'0, UseStringOrVecInstead>`" (see `emdb::owned`).
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test --test table_types_ui`.
// The snapshots are the host compiler's messages; a test binary cross-built for Windows (run
// under Wine) would drive a cargo it cannot run.
#![cfg(not(windows))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[test]
fn table_type_mistakes_do_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/ui_table/*.rs");
}
