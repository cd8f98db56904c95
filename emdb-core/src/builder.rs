//! [`EmdbBuilder`] and [`FlushPolicy`]: how a database is opened and when its commits become
//! durable.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::db::Emdb;
use crate::error::{Error, Result};
use crate::keyspace::{Config, Keyspace};

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
    /// Commits are durable only after [`Emdb::flush`] (or a checkpoint) returns.
    Manual,
    /// A background thread syncs the log at this interval: on power loss at most the commits of
    /// the last interval can be lost.
    Interval(Duration),
}

/// Configures and opens an [`Emdb`]. Made by [`Emdb::builder`].
///
/// Without a [`path`](Self::path) the database lives in memory only.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use emdb_core::{Emdb, FlushPolicy};
///
/// let cache = Emdb::builder()
///     .default_ttl(Duration::from_secs(30))
///     .flush_policy(FlushPolicy::Manual)
///     .build()?;
/// cache.insert("k", "v")?;
/// assert!(cache.ttl("k")?.is_some());
/// # Ok::<(), emdb_core::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct EmdbBuilder {
    path: Option<PathBuf>,
    flush_policy: FlushPolicy,
    default_ttl: Option<Duration>,
    clock: Arc<dyn Clock>,
}

impl Default for EmdbBuilder {
    fn default() -> Self {
        EmdbBuilder {
            path: None,
            flush_policy: FlushPolicy::default(),
            default_ttl: None,
            clock: Arc::new(SystemClock),
        }
    }
}

impl EmdbBuilder {
    /// Stores the database in the file at `path` (with sidecars `<path>.wal` and `<path>.lock`).
    pub fn path(mut self, path: impl AsRef<Path>) -> Self {
        self.path = Some(path.as_ref().to_path_buf());
        self
    }

    /// When commits become durable; see [`FlushPolicy`]. The default is
    /// [`FlushPolicy::OnEachWrite`].
    pub fn flush_policy(mut self, policy: FlushPolicy) -> Self {
        self.flush_policy = policy;
        self
    }

    /// The time-to-live of entries written with [`Ttl::Default`](crate::Ttl::Default) (which
    /// plain `insert` uses). Without it, such entries never expire.
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// The clock expiry is judged against; the default is the system clock. Tests pass a
    /// [`ManualClock`](crate::ManualClock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Opens the database.
    ///
    /// # Errors
    /// With a path: [`Error::Io`] while the persistent engine is not yet part of this build —
    /// emdb never pretends to persist. Without a path this cannot fail today; the `Result` is
    /// part of the stable signature.
    pub fn build(self) -> Result<Emdb> {
        if let Some(path) = self.path {
            return Err(Error::io(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "this build of emdb has no persistent storage engine yet; use Emdb::open_in_memory()",
                ),
            ));
        }
        let _ = self.flush_policy;
        let config = Config { default_ttl: self.default_ttl, clock: self.clock };
        Ok(Emdb::from_keyspace(Arc::new(Keyspace::new(config))))
    }
}
