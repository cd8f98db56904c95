//! [`EmdbBuilder`] and [`AutoReclaim`]: how a database is opened and how the space of dead
//! values comes back.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::db::Emdb;
use crate::error::{Error, Result};
use crate::io::{FileStorage, Storage};
use crate::keyspace::{Config, FlushPolicy, Keyspace, PersistOptions, ReclaimOptions};
use crate::progress::Reporter;

/// How the space of dead values comes back without a call to [`Emdb::compact`].
///
/// Values of 129 bytes to about 2 KiB are packed many to a 4 KiB value page. Overwriting or
/// removing them leaves dead bytes in those pages; at each checkpoint (the log passing
/// [`checkpoint_wal_bytes`](EmdbBuilder::checkpoint_wal_bytes), [`Emdb::checkpoint`], closing)
/// a page whose last live value died is freed for reuse, and with
/// [`DeadPercent`](Self::DeadPercent) the live values of mostly dead pages are moved to new
/// pages so that those pages are freed too. A checkpoint moves values of up to a quarter of the
/// bytes it writes anyway, within 256 KiB to 1 MiB, so a writer waits for it about as long as
/// for writing that much. Small values (in the B+tree's leaves) and large ones (in runs of
/// their own) come back at checkpoints whatever the setting. [`Emdb::compact`] still rewrites
/// the whole file and returns free space to the file system.
///
/// # Examples
///
/// ```
/// use emdb_core::{AutoReclaim, Emdb};
///
/// let dir = tempfile::tempdir().unwrap();
/// let db = Emdb::builder()
///     .path(dir.path().join("app.emdb"))
///     .auto_reclaim(AutoReclaim::DeadPercent(75))
///     .build()?;
/// db.insert("k", vec![1u8; 500])?;
/// db.insert("k", vec![2u8; 500])?;
/// db.checkpoint()?;
/// assert!(db.stats()?.reclaimable_bytes > 0, "the rest of the value page");
/// # Ok::<(), emdb_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AutoReclaim {
    /// Value pages come back only through [`Emdb::compact`].
    Off,
    /// A value page is freed at the checkpoint that drops its last live value; live values
    /// are never moved.
    EmptyPages,
    /// As [`EmptyPages`](Self::EmptyPages), and the live values of pages at least this many
    /// percent dead (unused tails included) are moved to new pages at checkpoints. Lower
    /// values keep the file smaller and move more bytes. 0 is treated as 1, and values above
    /// 100 as 100 (which is [`EmptyPages`](Self::EmptyPages)).
    DeadPercent(u8),
}

impl Default for AutoReclaim {
    /// [`AutoReclaim::DeadPercent`]`(50)`.
    fn default() -> Self {
        AutoReclaim::DeadPercent(50)
    }
}

impl Emdb {
    /// Opens (or creates) the database file at `path` with default settings.
    ///
    /// # Errors
    /// See [`EmdbBuilder::build`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder().path(path).build()
    }

    /// A builder for a database with non-default settings.
    pub fn builder() -> EmdbBuilder {
        EmdbBuilder::default()
    }
}

/// Configures and opens an [`Emdb`]. Made by [`Emdb::builder`].
///
/// Without a [`path`](Self::path) the database lives in memory only.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use emdb::{Emdb, FlushPolicy};
///
/// let cache = Emdb::builder()
///     .default_ttl(Duration::from_secs(30))
///     .flush_policy(FlushPolicy::Manual)
///     .build()?;
/// cache.insert("k", "v")?;
/// assert!(cache.ttl("k")?.is_some());
/// # Ok::<(), emdb::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build() is called"]
#[cfg_attr(
    test,
    expect(clippy::struct_excessive_bools, reason = "a test hook adds a fourth setting")
)]
pub struct EmdbBuilder {
    path: Option<PathBuf>,
    flush_policy: FlushPolicy,
    default_ttl: Option<Duration>,
    clock: Arc<dyn Clock>,
    use_mmap: bool,
    checkpoint_wal_bytes: u64,
    recover_without_log: bool,
    read_only: bool,
    progress: Reporter,
    auto_reclaim: AutoReclaim,
    memory_budget: Option<u64>,
    #[cfg(test)]
    degenerate_hash: bool,
    #[cfg(test)]
    hold_index_build: Option<Arc<crate::keyspace::IndexBuildGate>>,
}

/// Whether reads use a memory mapping unless the builder says otherwise.
const MMAP_BY_DEFAULT: bool = cfg!(all(unix, target_pointer_width = "64"));

/// The default log size past which a commit triggers a checkpoint (64 MiB).
pub(crate) const DEFAULT_CHECKPOINT_WAL_BYTES: u64 = 64 * 1024 * 1024;

impl Default for EmdbBuilder {
    fn default() -> Self {
        EmdbBuilder {
            path: None,
            flush_policy: FlushPolicy::default(),
            default_ttl: None,
            clock: Arc::new(SystemClock),
            use_mmap: MMAP_BY_DEFAULT,
            checkpoint_wal_bytes: DEFAULT_CHECKPOINT_WAL_BYTES,
            recover_without_log: false,
            read_only: false,
            progress: Reporter::default(),
            auto_reclaim: AutoReclaim::default(),
            memory_budget: None,
            #[cfg(test)]
            degenerate_hash: false,
            #[cfg(test)]
            hold_index_build: None,
        }
    }
}

impl EmdbBuilder {
    /// Stores the database in the file at `path`, with its write-ahead log beside it in
    /// `<path>.wal`.
    ///
    /// The path is resolved once, when the database opens: symbolic links are followed, so the
    /// log sits beside the file they lead to and compaction replaces that file, never the
    /// link. The database is locked by the file itself, not by its name: a second handle
    /// through a link or another spelling of the path gets [`Error::Locked`].
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

    /// Reads pages and values through a read-only memory mapping instead of `pread`. Either way
    /// every page and value is checksummed before use; the mapping saves a system call and a
    /// copy per read. The default is the mapping on 64-bit Unix, where a mapping of a file that
    /// only grows is safe and address space is plentiful, and `pread` elsewhere (on Windows a
    /// mapped file cannot be replaced by compaction's rename). Ignored for an in-memory
    /// database.
    pub fn use_mmap(mut self, yes: bool) -> Self {
        self.use_mmap = yes;
        self
    }

    /// Bounds the heap memory the database keeps for its keys to about `bytes`, however many
    /// keys it holds.
    ///
    /// Without a budget (the default) the point index holds an entry of about 20 bytes for every
    /// key in the file (its hash and the leaf page that holds it, neither key nor value), built
    /// in the background after an open, so that a point read goes straight to the key's page of
    /// the file. With one, it holds entries only for the keys read lately, as many as half the
    /// budget fits (30 bytes each at most): a key without one is found through the B+tree, as a
    /// range read finds it, and earns an entry, which keys not read for a while give up. Reads
    /// of keys outside the working set cost a descent of the tree; nothing else changes.
    ///
    /// The budget also lowers the [checkpoint threshold](Self::checkpoint_wal_bytes) to an
    /// eighth of it, since writes not yet checkpointed stay on the heap. Outside it: keys with a
    /// time-to-live (the expiry index holds each of them), and the pages the operating system
    /// caches for the mapping (not the process's own memory). An in-memory database ignores it.
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let db = Emdb::builder()
    ///     .path(dir.path().join("big.emdb"))
    ///     .memory_budget(64 * 1024 * 1024)
    ///     .build()?;
    /// db.insert("k", "v")?;
    /// assert_eq!(db.get("k")?, Some(b"v".to_vec()));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = Some(bytes);
        self
    }

    /// Checkpoints automatically once the write-ahead log grows past `bytes` (default 64 MiB):
    /// the commit that crosses the threshold folds the log into the page file. Smaller values
    /// bound recovery time and log size; larger ones batch more changes per checkpoint.
    pub fn checkpoint_wal_bytes(mut self, bytes: u64) -> Self {
        self.checkpoint_wal_bytes = bytes;
        self
    }

    /// Opens the database even when its log cannot be used: when the log is missing although
    /// the page file says commits may follow its last checkpoint ([`Error::LogMissing`]), or
    /// when the log beside it belongs to another database ([`Error::ForeignLog`]) or to
    /// another generation of this one ([`Error::StaleLog`]). Such a log is renamed to
    /// `<path>.wal.aside-<n>` (never deleted) and the database opens at its last checkpoint:
    /// commits made after it are not there. The default (`false`) refuses to open with those
    /// errors, which is what to do first: put the right log back.
    pub fn recover_without_log(mut self, yes: bool) -> Self {
        self.recover_without_log = yes;
        self
    }

    /// Opens the database read-only: no write access to its files is needed (a read-only file
    /// or mount, a file of another owner), nothing in them is ever written, and any number of
    /// read-only handles, in any processes, may have it open at once. The log is replayed into
    /// memory (a torn tail is left as it is). Every write, transaction, checkpoint, compaction
    /// and backup returns [`Error::ReadOnly`]; reads, snapshots, `stats` and `check_integrity`
    /// work. While a writer has the database open, a read-only open is refused with
    /// [`Error::Locked`] (naming the writer's process), and a writer is refused while read-only
    /// handles are open. The file must exist.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Error};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.emdb");
    /// Emdb::open(&path)?.insert("k", "v")?;
    /// let reader = Emdb::builder().path(&path).read_only(true).build()?;
    /// let another = Emdb::builder().path(&path).read_only(true).build()?;
    /// assert_eq!(reader.get("k")?, Some(b"v".to_vec()));
    /// assert!(matches!(another.insert("k", "w"), Err(Error::ReadOnly)));
    /// assert!(matches!(Emdb::open(&path), Err(Error::Locked { .. })));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn read_only(mut self, yes: bool) -> Self {
        self.read_only = yes;
        self
    }

    /// Calls `f` with the [`Progress`](crate::Progress) of long operations: compaction, backups,
    /// the integrity check and the build of a typed table's new secondary index (see
    /// [`Operation`](crate::Operation)). It is called on the thread that runs the operation, at
    /// its start, at its end and at most about a thousand times in between; keep it short (draw
    /// a progress bar, not the whole screen). A backup, the integrity check and an index build
    /// hold the writer lock meanwhile (other threads' writes wait; a write from the callback
    /// fails with [`Error::WriteInTransaction`](crate::Error::WriteInTransaction)). A compaction
    /// does not: writes go on, from other threads and from the callback, and only what would
    /// wait for the compaction (`checkpoint`, `compact`, `backup_to`, `close`) fails there, with
    /// [`Error::InsideCompaction`](crate::Error::InsideCompaction). [`Stats::running`](crate::Stats::running)
    /// holds the last report of the operation running now, with or without a callback.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use emdb::{Emdb, Operation};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let copied = Arc::new(AtomicU64::new(0));
    /// let seen = Arc::clone(&copied);
    /// let db = Emdb::builder()
    ///     .path(dir.path().join("app.emdb"))
    ///     .on_progress(move |p| {
    ///         if p.operation == Operation::Backup {
    ///             seen.store(p.done, Ordering::Relaxed);
    ///         }
    ///     })
    ///     .build()?;
    /// db.insert("k", "v")?;
    /// db.backup_to(dir.path().join("copy.emdb"))?;
    /// assert!(copied.load(Ordering::Relaxed) > 0);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn on_progress(mut self, f: impl Fn(&crate::Progress) + Send + Sync + 'static) -> Self {
        self.progress = Reporter::new(Arc::new(f));
        self
    }

    /// How the space of dead values in value pages comes back without a call to
    /// [`Emdb::compact`]; see [`AutoReclaim`]. The default is
    /// [`AutoReclaim::DeadPercent`]`(50)`. Ignored for an in-memory database.
    pub fn auto_reclaim(mut self, setting: AutoReclaim) -> Self {
        self.auto_reclaim = setting;
        self
    }

    /// Opens the database: in memory without a [`path`](Self::path); otherwise the file at the
    /// path, created when missing, recovered from its write-ahead log when it was not closed
    /// cleanly.
    ///
    /// A file that was closed cleanly opens without reading its data: the in-memory point index
    /// is built by a background thread while point reads look keys up in the file's B+tree,
    /// and the first write, transaction, `len`, `stats` or `check_integrity` waits for the
    /// build (a few hundred milliseconds per million keys). After a crash, the index is built
    /// and the log replayed before `build` returns.
    ///
    /// # Errors
    /// [`Error::Locked`] when another handle or process has the database open;
    /// [`Error::NotAnEmdbFile`] when the path holds something else;
    /// [`Error::UnsupportedFormatVersion`] for a file of a newer emdb; [`Error::Corruption`]
    /// for a damaged file (damage to a data page of a cleanly closed file is reported instead by
    /// the first operation that waits for the index, and by reads that reach the page);
    /// [`Error::LogMissing`], [`Error::ForeignLog`] or [`Error::StaleLog`] when the log beside
    /// the file is not its own (see [`recover_without_log`](Self::recover_without_log));
    /// [`Error::Io`] for an I/O failure. Without a path this cannot fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, FlushPolicy};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.emdb");
    /// let db = Emdb::builder().path(&path).flush_policy(FlushPolicy::Manual).build()?;
    /// db.insert("k", "v")?;
    /// db.flush()?;
    /// drop(db);
    /// assert_eq!(Emdb::open(&path)?.get("k")?, Some(b"v".to_vec()));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn build(self) -> Result<Emdb> {
        let storage: Arc<dyn Storage> = Arc::new(FileStorage);
        self.build_on(storage)
    }

    /// Holds the background index build of a lazy open at its start until `gate` is released
    /// (tests of reads and writes during the build).
    #[cfg(test)]
    pub(crate) fn hold_index_build(mut self, gate: Arc<crate::keyspace::IndexBuildGate>) -> Self {
        self.hold_index_build = Some(gate);
        self
    }

    /// Makes every index hash keys to two values only, so that nearly every lookup meets keys
    /// whose hashes equal its own (tests).
    #[cfg(test)]
    pub(crate) fn degenerate_index_hash(mut self) -> Self {
        self.degenerate_hash = true;
        self
    }

    /// Opens the database through the given storage (tests open it over a fault-injecting one).
    pub(crate) fn build_on(self, storage: Arc<dyn Storage>) -> Result<Emdb> {
        let config = Config {
            default_ttl: self.default_ttl,
            clock: self.clock,
            flush_policy: self.flush_policy,
            progress: self.progress,
            memory_budget: self.memory_budget,
            #[cfg(test)]
            degenerate_hash: self.degenerate_hash,
        };
        let Some(path) = self.path else {
            return Ok(Emdb::from_keyspace(Arc::new(Keyspace::new(config, false))));
        };
        let path = storage.resolve(&path).map_err(|e| Error::io(&path, e))?;
        let opts = PersistOptions {
            storage,
            path,
            mmap: self.use_mmap,
            checkpoint_wal_bytes: match self.memory_budget {
                Some(bytes) => self.checkpoint_wal_bytes.min(crate::keyspace::log_share(bytes)),
                None => self.checkpoint_wal_bytes,
            },
            recover_without_log: self.recover_without_log,
            read_only: self.read_only,
            reclaim: ReclaimOptions {
                free_emptied: self.auto_reclaim != AutoReclaim::Off,
                move_dead_percent: match self.auto_reclaim {
                    AutoReclaim::DeadPercent(p) if p < 100 => Some(p.max(1)),
                    _ => None,
                },
            },
            #[cfg(test)]
            hold_index_build: self.hold_index_build.clone(),
        };
        Ok(Emdb::from_keyspace(Arc::new(Keyspace::open(config, &opts)?)))
    }
}
