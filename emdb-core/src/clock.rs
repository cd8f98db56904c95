//! Where emdb's notion of "now" comes from: the system clock, or a manual clock that tests advance.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time in milliseconds since the Unix epoch.
///
/// Expiry of TTL entries is judged against this clock. The default is [`SystemClock`]; tests
/// pass a [`ManualClock`] to [`EmdbBuilder::clock`](crate::EmdbBuilder::clock) and move time by
/// hand.
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current time in milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        // A clock set before 1970 reads as the epoch: nothing expires early because of it.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that only moves when told to. Clones share the same time.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use emdb::{Emdb, ManualClock, Ttl};
///
/// let clock = ManualClock::new(1_000);
/// let db = Emdb::builder().clock(Arc::new(clock.clone())).build()?;
/// db.insert_with_ttl("k", "v", Ttl::After(Duration::from_secs(1)))?;
/// assert!(db.contains_key("k")?);
/// clock.advance(Duration::from_secs(1));
/// assert!(!db.contains_key("k")?);
/// # Ok::<(), emdb::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock that reads `start_ms` milliseconds since the Unix epoch.
    pub fn new(start_ms: u64) -> Self {
        ManualClock { now: Arc::new(AtomicU64::new(start_ms)) }
    }

    /// Moves the clock forward by `by` (saturating at `u64::MAX` milliseconds).
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .now
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| Some(t.saturating_add(ms)));
    }

    /// Sets the clock to `ms` milliseconds since the Unix epoch.
    pub fn set(&self, ms: u64) {
        self.now.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_clones_share_time_and_advance_saturates() {
        let a = ManualClock::new(10);
        let b = a.clone();
        a.advance(Duration::from_millis(5));
        assert_eq!(b.now_ms(), 15);
        b.advance(Duration::MAX);
        assert_eq!(a.now_ms(), u64::MAX);
        a.set(7);
        assert_eq!(b.now_ms(), 7);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }
}
