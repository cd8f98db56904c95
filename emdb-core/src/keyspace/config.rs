//! The settings a keyspace is opened with: [`Config`] and the [`FlushPolicy`] it commits under.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::progress::Reporter;

/// When committed writes reach stable storage.
///
/// Whatever the policy, a commit that returned `Ok` survives a crash of the *process*: it is in
/// the write-ahead log, and the operating system writes it out. The policy decides what survives a
/// crash of the *machine* (power loss, kernel panic). No policy ever leaves a transaction half
/// applied: after any crash the database holds some prefix of the commits made.
///
/// An in-memory database keeps nothing across its own drop, whatever the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FlushPolicy {
    /// Every commit is durable when it returns. Concurrent committers share one `fdatasync`
    /// (group commit), so N threads committing at once cost about one sync.
    #[default]
    OnEachWrite,
    /// The log is synced after every `n`th commit: on power loss at most the last `n − 1`
    /// commits can be lost. `EveryN(1)` is `OnEachWrite`; `EveryN(0)` is treated as 1.
    EveryN(u32),
    /// Commits are durable only after [`Emdb::flush`](crate::Emdb::flush) (or a checkpoint)
    /// returns.
    Manual,
    /// A background thread syncs the log at this interval: on power loss at most the commits of
    /// the last interval can be lost.
    Interval(Duration),
}

/// Settings fixed when the database is opened.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) default_ttl: Option<Duration>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) flush_policy: FlushPolicy,
    /// Where long operations report their progress.
    pub(crate) progress: Reporter,
    /// The bytes the point index may keep on the heap (`None`: every key of the tree).
    pub(crate) memory_budget: Option<u64>,
    /// Every index hashes keys to two values (tests of keys with equal hashes).
    #[cfg(test)]
    pub(crate) degenerate_hash: bool,
}
