//! Compile-fail tests of the typed tables' type rules: each file in `tests/ui_table/` is one
//! mistake, and its `.stderr` is the error the user sees. Pins issue 20's trap: a `Table<&str, V>`
//! is refused at compile time. rustc reports it as "implementation of `Deserialize` is not
//! general enough", a lifetime error that no `#[diagnostic::on_unimplemented]` note can reach, so
//! the fix (`String`) is written in the `Table` docs instead. Regenerate the snapshots with
//! `TRYBUILD=overwrite cargo test --test table_types_ui`.
// The snapshots are the host compiler's messages; a test binary cross-built for Windows (run
// under Wine) would drive a cargo it cannot run.
#![cfg(not(windows))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[test]
fn table_type_mistakes_do_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/ui_table/*.rs");
}
