//! Time-to-live: how long an entry lives, and its conversion to an absolute expiry.

use std::time::Duration;

use crate::batch::{ExpiresAt, NO_EXPIRY};
use crate::error::{Error, Result};

/// How long an entry lives.
///
/// Expiry is stored as an absolute time in milliseconds since the Unix epoch, judged against the
/// database's [`Clock`](crate::Clock). An expired entry is invisible on every read path at once;
/// [`Emdb::purge_expired`](crate::Emdb::purge_expired) reclaims its space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Ttl {
    /// The database's default TTL ([`EmdbBuilder::default_ttl`](crate::EmdbBuilder::default_ttl)),
    /// or no expiry if none is configured.
    #[default]
    Default,
    /// The entry never expires.
    Never,
    /// The entry expires this long after it is written (rounded up to whole milliseconds).
    After(Duration),
}

impl Ttl {
    /// The absolute expiry of an entry written now with this TTL; `now_ms` reads the clock, only
    /// when the entry gets an expiry (most writes have none, and skip the clock).
    pub(crate) fn expires_at(
        self,
        default: Option<Duration>,
        now_ms: impl FnOnce() -> u64,
    ) -> Result<ExpiresAt> {
        let after = match self {
            Ttl::Never => return Ok(NO_EXPIRY),
            Ttl::Default => match default {
                None => return Ok(NO_EXPIRY),
                Some(d) => d,
            },
            Ttl::After(d) => d,
        };
        let overflow = || Error::TtlOverflow { ttl: after };
        // Round up so that a TTL of 1 ns still lives for the current millisecond.
        let ms = after.as_nanos().div_ceil(1_000_000);
        let ms = u64::try_from(ms).map_err(|_| overflow())?;
        // `u64::MAX` is reserved so that "expires at" always stays distinct from "now + forever",
        // and 0 means "never": an expiry due at 0 is due at 1 ms, when expiry is judged at
        // the clock's time but never before 1 ms.
        let at = now_ms().checked_add(ms).filter(|&t| t < u64::MAX).ok_or_else(overflow)?;
        Ok(at.max(1))
    }
}

/// The time left until `expires_at`, seen at `now_ms`; `None` if the entry never expires.
pub(crate) fn remaining(expires_at: ExpiresAt, now_ms: u64) -> Option<Duration> {
    (expires_at != NO_EXPIRY).then(|| Duration::from_millis(expires_at.saturating_sub(now_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_and_an_unset_default_mean_no_expiry() {
        assert_eq!(Ttl::Never.expires_at(Some(Duration::from_secs(1)), || 5).unwrap(), NO_EXPIRY);
        assert_eq!(Ttl::Default.expires_at(None, || 5).unwrap(), NO_EXPIRY);
    }

    #[test]
    fn the_clock_is_read_only_for_an_entry_that_expires() {
        let reads = std::cell::Cell::new(0);
        let now = || {
            reads.set(reads.get() + 1);
            5
        };
        Ttl::Never.expires_at(Some(Duration::from_secs(1)), now).unwrap();
        Ttl::Default.expires_at(None, now).unwrap();
        assert_eq!(reads.get(), 0);
        Ttl::Default.expires_at(Some(Duration::from_secs(1)), now).unwrap();
        Ttl::After(Duration::from_secs(1)).expires_at(None, now).unwrap();
        assert_eq!(reads.get(), 2);
    }

    #[test]
    fn default_uses_the_configured_ttl_and_after_rounds_up_to_milliseconds() {
        assert_eq!(Ttl::Default.expires_at(Some(Duration::from_secs(2)), || 5).unwrap(), 2005);
        assert_eq!(Ttl::After(Duration::from_nanos(1)).expires_at(None, || 5).unwrap(), 6);
        assert_eq!(Ttl::After(Duration::ZERO).expires_at(None, || 5).unwrap(), 5);
        assert_eq!(Ttl::After(Duration::ZERO).expires_at(None, || 0).unwrap(), 1, "0 is never");
    }

    #[test]
    fn a_ttl_past_the_clock_range_is_an_overflow_error() {
        let err = Ttl::After(Duration::MAX).expires_at(None, || 5).unwrap_err();
        assert!(matches!(err, Error::TtlOverflow { ttl } if ttl == Duration::MAX));
        let err =
            Ttl::After(Duration::from_millis(10)).expires_at(None, || u64::MAX - 10).unwrap_err();
        assert!(matches!(err, Error::TtlOverflow { .. }));
    }

    #[test]
    fn remaining_saturates_at_zero() {
        assert_eq!(remaining(NO_EXPIRY, 5), None);
        assert_eq!(remaining(10, 4), Some(Duration::from_millis(6)));
        assert_eq!(remaining(10, 40), Some(Duration::ZERO));
    }
}
