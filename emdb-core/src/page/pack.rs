//! Packing: splitting a sorted run of entries into as few, evenly filled pages as fit.

/// Splits items of the given sizes (slot included) into consecutive runs that each fit in
/// `space` bytes, as evenly filled as possible; returns the end index of each run.
///
/// Every size must be at most `space / 2`; then every run but a lone one is at least a quarter
/// full.
pub(crate) fn pack(sizes: &[usize], space: usize) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    let pages = total.div_ceil(space).max(1);
    let target = total.div_ceil(pages);
    let mut ends = Vec::with_capacity(pages + 1);
    let mut cur = 0;
    for (i, &s) in sizes.iter().enumerate() {
        if cur > 0 && (cur + s > space || cur >= target) {
            ends.push(i);
            cur = 0;
        }
        cur += s;
    }
    ends.push(sizes.len());
    // A small last run shares evenly with the one before it.
    let runs = ends.len();
    if runs >= 2 && cur < space / 4 {
        let start = if runs >= 3 { ends.get(runs - 3).copied().unwrap_or(0) } else { 0 };
        let pair = sizes.get(start..).unwrap_or_default();
        let total2: usize = pair.iter().sum();
        let mut left = 0;
        let mut split = start;
        for &s in pair {
            if left + s > total2 / 2 {
                // Taking one more keeps the right run within a page when it would not be.
                if total2 - left > space {
                    split += 1;
                }
                break;
            }
            left += s;
            split += 1;
        }
        if let Some(slot) = ends.get_mut(runs - 2) {
            *slot = split.clamp(start + 1, sizes.len() - 1);
        }
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::super::leaf::LEAF_SPACE;
    use super::*;

    #[test]
    fn packing_fills_pages_evenly_and_never_overfills() {
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            usize::try_from(seed >> 33).unwrap()
        };
        for _ in 0..2000 {
            let n = next() % 60 + 1;
            let sizes: Vec<usize> = (0..n).map(|_| next() % (LEAF_SPACE / 2) + 1).collect();
            let ends = pack(&sizes, LEAF_SPACE);
            let mut start = 0;
            for (j, &end) in ends.iter().enumerate() {
                assert!(end > start, "empty run in {ends:?}");
                let used: usize = sizes[start..end].iter().sum();
                assert!(used <= LEAF_SPACE, "overfull run");
                if ends.len() > 1 {
                    assert!(used >= LEAF_SPACE / 4 || j + 1 < ends.len() && used > 0);
                }
                start = end;
            }
            assert_eq!(start, n);
        }
    }
}
