//! How far the long test sweeps go (crash states, power losses, corruption cases, random model
//! runs, kill -9 loops, the compile-fail snapshots), read once from `EMDB_TESTS`:
//!
//! | `EMDB_TESTS` | depth | who sets it |
//! | --- | --- | --- |
//! | unset, `short` | [`Depth::Short`]: a sample of every sweep (every Nth crash point, fewer cases) that still covers each kind of step and fails if the feature broke | plain `cargo test` |
//! | `full` | [`Depth::Full`]: every crash point, case and mode the sweeps are written for | `.ci/run` |
//! | `soak` | [`Depth::Soak`]: more random seeds, cases and time than `full` | by hand, before a release |
//!
//! One file, shared: the crate's unit tests have it as a module (`lib.rs`), its integration
//! tests and the facade's compile-fail test include it with `#[path]`.
#![allow(dead_code, reason = "each test crate that includes this file uses part of it")]

/// The environment variable that says how far the sweeps go.
pub(crate) const VAR: &str = "EMDB_TESTS";

/// How far the long sweeps go; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Depth {
    /// A sample that runs in seconds: plain `cargo test`.
    Short,
    /// Every state the sweeps are written for: `.ci/run`.
    Full,
    /// More seeds, cases and time than [`Depth::Full`].
    Soak,
}

/// The depth `EMDB_TESTS` asks for.
///
/// # Panics
/// On a value other than `short`, `full` or `soak`, so that a misspelt request for the full
/// sweeps does not pass as a short run.
pub(crate) fn depth() -> Depth {
    match std::env::var(VAR).as_deref() {
        Err(std::env::VarError::NotPresent) | Ok("" | "short") => Depth::Short,
        Ok("full") => Depth::Full,
        Ok("soak") => Depth::Soak,
        other => panic!("{VAR}={other:?}: expected `short`, `full` or `soak`"),
    }
}

/// Whether the sweeps run in full (or longer).
pub(crate) fn full() -> bool {
    depth() >= Depth::Full
}

/// The value for the current depth.
pub(crate) fn pick<T>(short: T, full: T, soak: T) -> T {
    match depth() {
        Depth::Short => short,
        Depth::Full => full,
        Depth::Soak => soak,
    }
}

/// The step of a sampled sweep: 1 (every point) at [`Depth::Full`] and beyond, `short_stride`
/// in a short run.
pub(crate) fn stride(short_stride: usize) -> usize {
    if full() { 1 } else { short_stride.max(1) }
}
