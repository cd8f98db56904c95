//! Key choice for skewed workloads: [`Zipf`]-distributed ranks (the generator YCSB's
//! `ZipfianGenerator` uses) and a [`Scramble`] that spreads the ranks over the records, so that
//! the hot keys are neither the first loaded nor neighbours in key order — YCSB's "scrambled
//! zipfian", with a bijection in place of its hash, so that no two ranks land on one record.

use crate::SplitMix64;

/// The Zipf exponent of YCSB's default request distribution (`ZipfianGenerator.ZIPFIAN_CONSTANT`).
pub const YCSB_THETA: f64 = 0.99;

/// A bijection of `0..n`, `i ↦ (i · step + offset) mod n` with `step` coprime to `n`: visits
/// every record once in a scrambled order, and spreads Zipf ranks over the records so that the
/// hot keys are neither the first loaded nor neighbours in key order.
#[derive(Debug, Clone, Copy)]
pub struct Scramble {
    n: u64,
    step: u64,
    offset: u64,
}

impl Scramble {
    /// A bijection of `0..n` (`n ≥ 1`) drawn from `rng`.
    pub fn new(n: u64, rng: &mut SplitMix64) -> Self {
        let step = loop {
            let step = rng.next_u64() % n.max(2);
            // With n ≤ 2 no step above 1 is coprime to n; the identity step 1 is the only one.
            if n <= 2 || (step > 1 && gcd(step, n) == 1) {
                break step.max(1);
            }
        };
        Scramble { n, step, offset: rng.next_u64() % n.max(1) }
    }

    /// The image of `i < n`.
    pub fn apply(&self, i: u64) -> u64 {
        let mixed =
            (u128::from(i) * u128::from(self.step) + u128::from(self.offset)) % u128::from(self.n);
        // Below `n`, which is a u64.
        u64::try_from(mixed).unwrap_or(0)
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Zipf-distributed ranks in `0..n` (rank 0 the most frequent, rank `r` drawn with probability
/// proportional to `1 / (r + 1)^θ`), by the method of Gray et al., "Quickly Generating
/// Billion-Record Synthetic Databases" (SIGMOD 1994), as YCSB's `ZipfianGenerator` draws them.
#[derive(Debug, Clone, Copy)]
pub struct Zipf {
    n: f64,
    theta: f64,
    alpha: f64,
    zeta_n: f64,
    eta: f64,
}

impl Zipf {
    /// The distribution over `n ≥ 3` ranks with exponent `0 < theta < 1`; costs one `powf` per
    /// rank (about 20 ms for a million).
    pub fn new(n: u64, theta: f64) -> Self {
        let zeta_n = zeta(n, theta);
        let zeta_2 = zeta(2, theta);
        let n = to_f64(n);
        let eta = (1.0 - (2.0 / n).powf(1.0 - theta)) / (1.0 - zeta_2 / zeta_n);
        Zipf { n, theta, alpha: 1.0 / (1.0 - theta), zeta_n, eta }
    }

    /// `ζ(n, θ) = ∑ 1 / i^θ` for `i` in `1..=n`: rank `r` has probability `1 / ((r + 1)^θ ζ)`.
    pub fn zeta_n(&self) -> f64 {
        self.zeta_n
    }

    /// One rank in `0..n`.
    pub fn sample(&self, rng: &mut SplitMix64) -> u64 {
        // 53 random bits as a uniform number in [0, 1).
        let u = to_f64(rng.next_u64() >> 11) / to_f64(1 << 53);
        let uz = u * self.zeta_n;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + 0.5f64.powf(self.theta) {
            return 1;
        }
        let rank = self.n * (self.eta * u - self.eta + 1.0).powf(self.alpha);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "the rank is in [0, n), and clamped below n"
        )]
        let rank = rank as u64;
        #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "n is a u64")]
        let last = self.n as u64 - 1;
        rank.min(last)
    }
}

/// `∑ 1 / i^θ` for `i` in `1..=n`.
fn zeta(n: u64, theta: f64) -> f64 {
    (1..=n).map(|i| 1.0 / to_f64(i).powf(theta)).sum()
}

#[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
fn to_f64(n: u64) -> f64 {
    n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scramble_visits_every_index_once() {
        for n in [1u64, 2, 3, 1_000, 1_024, 99_991] {
            let scramble = Scramble::new(n, &mut SplitMix64::new(n));
            let mut seen = vec![false; usize::try_from(n).unwrap()];
            for i in 0..n {
                let j = usize::try_from(scramble.apply(i)).unwrap();
                assert!(!seen[j], "n = {n}: {j} visited twice");
                seen[j] = true;
            }
        }
    }

    #[test]
    fn zipf_ranks_stay_below_n_and_follow_the_zipf_law() {
        let n = 10_000;
        let zipf = Zipf::new(n, YCSB_THETA);
        let mut rng = SplitMix64::new(3);
        let mut counts = vec![0u64; usize::try_from(n).unwrap()];
        let draws = 2_000_000;
        for _ in 0..draws {
            let rank = zipf.sample(&mut rng);
            assert!(rank < n);
            counts[usize::try_from(rank).unwrap()] += 1;
        }
        // Rank 0 is the most frequent, and the counts fall with the rank.
        assert_eq!(counts.iter().max(), Some(&counts[0]));
        assert!(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[99]);
        // Rank r is drawn with probability 1 / ((r + 1)^θ ζ(n)); the method is exact for ranks 0
        // and 1 and approximates the others.
        for (rank, tolerance) in [(0u64, 0.02), (1, 0.02), (9, 0.1), (99, 0.1), (999, 0.15)] {
            let expected = to_f64(draws) / to_f64(rank + 1).powf(YCSB_THETA) / zipf.zeta_n();
            let got = to_f64(counts[usize::try_from(rank).unwrap()]);
            assert!(
                (got - expected).abs() <= tolerance * expected,
                "rank {rank}: drawn {got} times, expected {expected:.0}"
            );
        }
        // Bands of ranks, which average out the method's approximation of single ranks.
        for (lo, hi) in [(10u64, 100), (100, 1_000), (1_000, 10_000)] {
            let expected: f64 = (lo..hi)
                .map(|r| to_f64(draws) / to_f64(r + 1).powf(YCSB_THETA) / zipf.zeta_n())
                .sum();
            let got: u64 =
                counts[usize::try_from(lo).unwrap()..usize::try_from(hi).unwrap()].iter().sum();
            let got = to_f64(got);
            assert!(
                (got - expected).abs() <= 0.1 * expected,
                "ranks {lo}..{hi}: drawn {got} times, expected {expected:.0}"
            );
        }
    }
}
