//! Helpers for the same-run comparisons of emdb's typed layer with peer engines
//! (`src/bin/typed_compare.rs`, `src/bin/index_compare.rs`): timing a phase, adding up the rows
//! a read phase returned, the put order, the row count from the environment, and the report's
//! number formats, and the machine and the table head of the report.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::SplitMix64;
use crate::engine::BenchResult;

/// Runs `f` and returns its result with the time it took.
///
/// # Errors
/// Whatever `f` returns.
pub fn timed<T>(f: impl FnOnce() -> BenchResult<T>) -> BenchResult<(T, Duration)> {
    let start = Instant::now();
    let out = f()?;
    Ok((out, start.elapsed()))
}

/// What a read phase adds up from the rows it got (one `u64` digest per row, which the caller
/// makes from the row's fields), so that every engine's answers can be checked against the rows
/// it should have returned. The sum does not depend on the order the rows came in.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// How many rows were added.
    pub rows: u64,
    /// The wrapping sum of their digests.
    pub sum: u64,
}

impl Tally {
    /// Adds one row, given as its digest.
    pub fn add(&mut self, digest: u64) {
        self.rows += 1;
        self.sum = self.sum.wrapping_add(digest);
    }
}

/// The ids `0..rows` in a fixed-seed random order (a Fisher–Yates shuffle driven by `seed`).
pub fn shuffled(rows: u64, seed: u64) -> Vec<u64> {
    let mut order: Vec<u64> = (0..rows).collect();
    let mut rng = SplitMix64::new(seed);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order
}

/// The whole number in the environment variable `name` (`_` separators allowed), or `default`
/// when it is not set.
///
/// # Errors
/// A message naming the variable if it is set but not a whole number of at least `min`.
pub fn env_count(name: &str, default: u64, min: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(text) => match text.trim().replace('_', "").parse::<u64>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(format!("{name} must be a whole number of at least {min}, not {text:?}")),
        },
    }
}

/// A duration in milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

/// A size in MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "file sizes are far below 2^52")]
    let mib = bytes as f64 / f64::from(1 << 20);
    format!("{mib:.1} MiB")
}

/// Appends to `out` the machine (`machine::describe` of the data directory `base`) and the CPU
/// stall of the run, if known, as list items, then the head of the results table: a column per
/// engine of `names` (emdb first) and a `<peer> ÷ emdb` column per peer.
pub fn machine_and_table_head<'a>(
    out: &mut String,
    base: &Path,
    stall: Option<Duration>,
    names: impl Iterator<Item = &'a str> + Clone,
) {
    for (what, value) in crate::machine::describe(base) {
        let _ = writeln!(out, "- {what}: {value}");
    }
    if let Some(stall) = stall {
        let _ = writeln!(
            out,
            "- CPU stall during the run (`/proc/pressure/cpu`): {:.1} s",
            stall.as_secs_f64()
        );
    }
    let _ = writeln!(out);
    let _ = write!(out, "| phase |");
    for name in names.clone() {
        let _ = write!(out, " {name} |");
    }
    for name in names.clone().skip(1) {
        let _ = write!(out, " {name} ÷ emdb |");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "|---|{}", "---:|".repeat(names.count() * 2 - 1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shuffle_is_a_permutation_and_a_tally_ignores_order() {
        let order = shuffled(1_000, 7);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1_000).collect::<Vec<_>>());
        assert_ne!(order, sorted);
        let (mut a, mut b) = (Tally::default(), Tally::default());
        for (&x, &y) in order.iter().zip(&sorted) {
            a.add(x * 3);
            b.add(y * 3);
        }
        assert_eq!(a, b);
        assert_eq!(a.rows, 1_000);
    }

    #[test]
    fn the_formats_round_as_the_reports_show_them() {
        assert_eq!(ms(Duration::from_micros(12_345)), "12.3");
        assert_eq!(mib(3 << 20), "3.0 MiB");
    }
}
