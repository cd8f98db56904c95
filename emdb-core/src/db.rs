//! [`Emdb`]: the database handle and its key-value API on the default namespace.

use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::conditional::CompareAndSwapError;
use crate::error::{Error, Result};
use crate::focus::Focus;
use crate::integrity::{Checks, IntegrityReport};
use crate::iter::{Iter, Keys};
use crate::keyspace::Keyspace;
use crate::keyspace::RawEvent;
use crate::limits::check_namespace;
use crate::namespace::Namespace;
use crate::progress::{Operation, Tracker};
use crate::sequence::{SEQUENCE_NAMESPACE, Sequence};
use crate::snapshot::Snapshot;
use crate::stats::Stats;
use crate::ttl::Ttl;
use crate::txn::Transaction;
use crate::watch::Watcher;

/// An embedded database.
///
/// `Emdb` is an `Arc` inside: it is `Send + Sync` and [`Clone`] is cheap, so share it between
/// threads by cloning. Its key-value methods act on the *default namespace*; see
/// [`namespace`](Self::namespace) for isolated keyspaces, [`focus`](Self::focus) and
/// [`group`](Self::group) for dotted-prefix groups, and [`transaction`](Self::transaction) for
/// atomic multi-key writes.
///
/// Keys and values are bytes: anything that is `AsRef<[u8]>` (`&str`, `String`, `&[u8]`,
/// `Vec<u8>`, `&[u8; N]`) can be passed; reads return `Vec<u8>`.
///
/// # Examples
///
/// ```
/// use emdb::Emdb;
///
/// let db = Emdb::open_in_memory();
/// db.insert("name", "emdb")?;
/// assert_eq!(db.get("name")?, Some(b"emdb".to_vec()));
/// assert_eq!(db.remove("name")?, Some(b"emdb".to_vec()));
/// assert!(db.is_empty()?);
/// # Ok::<(), emdb::Error>(())
/// ```
#[derive(Clone)]
pub struct Emdb {
    root: Namespace,
    /// The integrity checks registered on this database, shared by every clone of the handle
    /// (and dropped with the last one).
    checks: Arc<Checks<Emdb>>,
}

impl std::fmt::Debug for Emdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emdb").finish_non_exhaustive()
    }
}

impl Emdb {
    pub(crate) fn from_keyspace(ks: Arc<Keyspace>) -> Self {
        let default = Arc::clone(ks.default_ns());
        Emdb { root: Namespace::new(ks, default), checks: Arc::default() }
    }

    /// The shared core, for crate-internal tests that tamper with it.
    #[cfg(test)]
    pub(crate) fn keyspace(&self) -> &Arc<Keyspace> {
        &self.root.ks
    }

    /// Opens an empty database that lives in memory only and is gone when the last handle drops.
    pub fn open_in_memory() -> Self {
        let config = crate::keyspace::Config {
            default_ttl: None,
            clock: Arc::new(crate::clock::SystemClock),
            flush_policy: crate::FlushPolicy::Manual,
            progress: crate::progress::Reporter::default(),
            memory_budget: None,
            #[cfg(test)]
            degenerate_hash: false,
        };
        Emdb::from_keyspace(Arc::new(Keyspace::new(config, false)))
    }

    /// Closes this handle and reports what dropping it could not: the closing checkpoint (every
    /// commit since the last one written into the page file, the log recorded clean) runs now,
    /// and its error is returned. Dropping a handle runs the same checkpoint and swallows its
    /// error; the log still holds every commit either way, so nothing committed is lost.
    ///
    /// Other handles of the same database (clones, namespaces, focus handles, typed tables,
    /// snapshots and iterators hold one) keep it open: `close` then checkpoints and lets go of
    /// this handle only, and the lock and the file stay theirs until the last one is dropped or
    /// closed. An in-memory or read-only database has nothing to write: `Ok(())`.
    ///
    /// # Errors
    /// [`Error::Poisoned`] after an earlier failed write or sync (the log holds every commit;
    /// reopen to recover); [`Error::WriteInTransaction`] inside a transaction closure;
    /// [`Error::InsideCompaction`] from the progress callback of a compaction; the I/O error of
    /// the checkpoint, which poisons the handle.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("app.emdb");
    /// let db = Emdb::open(&path)?;
    /// db.insert("k", "v")?;
    /// db.close()?; // the commit is in the page file, the lock is free
    /// assert_eq!(Emdb::open(&path)?.get("k")?, Some(b"v".to_vec()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self) -> Result<()> {
        self.root.ks.close()
    }

    /// Makes every committed write durable: one `fdatasync` of the write-ahead log (shared with
    /// concurrent committers). An in-memory database has nothing to flush.
    ///
    /// # Errors
    /// [`Error::Poisoned`] after an earlier failed sync; the I/O error of a failed sync, which
    /// poisons the handle.
    pub fn flush(&self) -> Result<()> {
        self.root.ks.flush()
    }

    /// Writes everything changed since the last checkpoint into the page file (as new pages:
    /// the cost follows the size of the change, not of the database), makes it durable, and
    /// starts a fresh write-ahead log. Checkpoints also run when the log passes
    /// [`EmdbBuilder::checkpoint_wal_bytes`](crate::EmdbBuilder::checkpoint_wal_bytes) and when
    /// the last handle is dropped. An in-memory database has nothing to checkpoint.
    ///
    /// A checkpoint asked for while a [`compact`](Self::compact) runs waits for its end.
    ///
    /// # Errors
    /// [`Error::Poisoned`] after an earlier failure; [`Error::WriteInTransaction`] inside a
    /// transaction closure; [`Error::InsideCompaction`] from the progress callback of a
    /// compaction; an I/O error, which poisons the handle (reopen to recover: the file keeps
    /// the previous checkpoint and the log every commit since).
    pub fn checkpoint(&self) -> Result<()> {
        self.root.ks.checkpoint()
    }

    /// Rewrites the database file without free space or dead values: after a checkpoint, a
    /// compacted copy of the tree is written beside the file, made durable, and renamed over it.
    /// Readers, open iterators and writers go on while the copy is written: commits are logged
    /// meanwhile (the log may grow past
    /// [`checkpoint_wal_bytes`](crate::EmdbBuilder::checkpoint_wal_bytes)) and the first one
    /// after the compaction checkpoints them into the new file. Writers wait only for the
    /// checkpoint at the start and the swap at the end; `checkpoint`, `backup_to`, `close` and
    /// another `compact` wait for the whole compaction. A crash at any point leaves the old
    /// file or the new one, whole, with every durable commit.
    ///
    /// # Errors
    /// [`Error::InMemory`] for an in-memory database, which has no file to compact;
    /// [`Error::Poisoned`] (also when a commit failed while it ran);
    /// [`Error::WriteInTransaction`] inside a transaction closure;
    /// [`Error::InsideCompaction`] from the progress callback of a compaction; an I/O error
    /// (once the new file is in place, a failure poisons the handle: reopen it).
    pub fn compact(&self) -> Result<()> {
        self.root.ks.compact()
    }

    /// Writes a consistent copy of the database to the file `dest` while it stays in use (a
    /// checkpoint, then a copy of the page file; writers wait meanwhile). The copy opens with
    /// [`Emdb::open`].
    ///
    /// # Errors
    /// [`Error::InMemory`] for an in-memory database; [`Error::Poisoned`];
    /// [`Error::WriteInTransaction`]; [`Error::InsideCompaction`] from the progress callback of
    /// a compaction; an I/O error.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let db = Emdb::open(dir.path().join("live"))?;
    /// db.insert("k", "v")?;
    /// db.backup_to(dir.path().join("copy"))?;
    /// assert_eq!(Emdb::open(dir.path().join("copy"))?.get("k")?, Some(b"v".to_vec()));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn backup_to(&self, dest: impl AsRef<Path>) -> Result<()> {
        self.root.ks.backup_to(dest.as_ref())
    }

    /// Sizes and state of the database: live records, file and log sizes, free pages, the last
    /// checkpoint.
    ///
    /// # Errors
    /// An I/O error reading a file's length.
    pub fn stats(&self) -> Result<Stats> {
        self.root.ks.stats()
    }

    /// Checks the whole database and returns what it found: a full read of the durable tree
    /// (every page checksum, key order, the height bound, every page of the file used exactly
    /// once or free, every value record and overflow run), then the in-memory index of every
    /// namespace against the tree and the commits since the last checkpoint (every stored key
    /// present with the same expiry and value; the index, the live count and the expiry index
    /// holding no more). An in-memory database checks its index against its ordered map. Then it
    /// runs every check registered with
    /// [`register_integrity_check`](Self::register_integrity_check): the secondary indexes of
    /// every typed table opened on this database with indexes are proved against the table's
    /// rows ([`IntegrityReport::index_entries`]).
    ///
    /// It checks the durable tree as it is (the newest checkpoint) and writes nothing, so it can
    /// also inspect a poisoned handle; commits since the checkpoint are checked as they sit in
    /// memory. Writers wait while it runs (it reads every page); readers go on.
    ///
    /// # Errors
    /// [`Error::Corruption`] naming the file and byte offset of the
    /// first damaged structure; [`Error::IndexMismatch`] when the
    /// in-memory index disagrees with the stored data (a bug: reopen to rebuild it);
    /// [`Error::WriteInTransaction`] inside a transaction
    /// closure; an I/O error; the first error of a registered check, unchanged
    /// ([`Error::IndexEntryMismatch`] for a secondary index that disagrees with its table).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let db = Emdb::open(dir.path().join("db"))?;
    /// db.insert("a", "1")?;
    /// db.insert("big", vec![7u8; 10_000])?;
    /// db.checkpoint()?;
    /// db.insert("b", "2")?;
    /// let report = db.check_integrity()?;
    /// assert_eq!((report.records, report.uncheckpointed_records), (3, 1));
    /// assert!(report.tree_pages >= 1 && report.overflow_pages >= 3);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn check_integrity(&self) -> Result<IntegrityReport> {
        let mut report = self.root.ks.check_integrity()?;
        for (_, check) in self.checks.all() {
            report.index_entries += check(self)?;
            report.registered_checks += 1;
        }
        Ok(report)
    }

    /// Registers an integrity check that [`check_integrity`](Self::check_integrity) runs after
    /// its own checks of the engine, for data kept above the engine that must agree with other
    /// data: the typed layer registers one per table with secondary indexes when the table is
    /// opened (named after the table's index namespace, `emdb.index.<table>`), which proves every
    /// index entry against the table's rows.
    ///
    /// `check` is given the database and returns how many entries it proved (added up in
    /// [`IntegrityReport::index_entries`]), or the error that describes what disagrees (which
    /// `check_integrity` returns unchanged). Checks run in name order, one at a time, outside
    /// the writer lock: a check that needs a consistent view takes one
    /// ([`Snapshot::together`]), and should write nothing (the database may be read-only).
    ///
    /// There is one check per `name` for every clone of this handle: registering a name again
    /// replaces its check. Names that start with `emdb.` are reserved for emdb's own layers.
    /// Every clone of the handle (and every typed table, which holds one) holds the registered
    /// checks, so a check must not hold an `Emdb` or a table: the handles would keep each other
    /// alive and the database would never close. It gets the database as its argument instead.
    /// Checks live in memory only: a program registers its checks each time it opens the
    /// database.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::{Emdb, Error};
    ///
    /// let db = Emdb::open_in_memory();
    /// // The application keeps an index of its own: `emails` maps an email to a key of `users`.
    /// let users = db.namespace("users")?;
    /// let emails = db.namespace("emails")?;
    /// users.insert("u1", "ada@example.com")?;
    /// emails.insert("ada@example.com", "u1")?;
    /// db.register_integrity_check("app.emails", |db: &Emdb| {
    ///     let (users, mut proved) = (db.namespace("users")?, 0);
    ///     for entry in db.namespace("emails")?.iter()? {
    ///         let (email, user) = entry?;
    ///         if users.get(&user)?.as_deref() != Some(&email[..]) {
    ///             return Err(Error::IndexEntryMismatch {
    ///                 table: "users".into(),
    ///                 index: "emails".into(),
    ///                 detail: format!("{:?} points at {:?}", email, user),
    ///             });
    ///         }
    ///         proved += 1;
    ///     }
    ///     Ok(proved)
    /// });
    /// assert_eq!(db.check_integrity()?.index_entries, 1);
    /// users.remove("u1")?;
    /// assert!(matches!(db.check_integrity(), Err(Error::IndexEntryMismatch { .. })));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn register_integrity_check(
        &self,
        name: impl Into<String>,
        check: impl Fn(&Emdb) -> Result<u64> + Send + Sync + 'static,
    ) {
        self.checks.register(name.into(), Arc::new(check));
    }

    /// Removes the integrity check registered under `name`; returns whether there was one. The
    /// typed layer removes a table's check when the table is opened without secondary indexes.
    pub fn unregister_integrity_check(&self, name: &str) -> bool {
        self.checks.unregister(name)
    }

    /// Starts reporting the progress of `operation` on `table` over `total` units through the
    /// database's progress callback ([`EmdbBuilder::on_progress`](crate::EmdbBuilder::on_progress))
    /// and [`Stats::running`]: the way the typed layer reports the build of a secondary index
    /// ([`Operation::IndexBuild`]). Not an API for applications: the operations are emdb's own.
    #[doc(hidden)]
    pub fn track_progress(&self, operation: Operation, table: &str, total: u64) -> Tracker {
        self.root.ks.config.progress.start_on(operation, Some(table.into()), total)
    }

    /// The namespace called `name`, created if it does not exist yet. Namespaces are isolated
    /// keyspaces with the same key-value API; a [`Transaction`] can write to several at once.
    ///
    /// Create namespaces before a transaction that uses them: creating one is a commit of its own,
    /// which a transaction closure cannot make.
    ///
    /// # Errors
    /// [`Error::InvalidNamespace`] if `name` is empty or longer than 255 bytes;
    /// [`Error::WriteInTransaction`] if it must be created inside a transaction closure.
    pub fn namespace(&self, name: &str) -> Result<Namespace> {
        check_namespace(name)?;
        let ks = &self.root.ks;
        Ok(Namespace::new(Arc::clone(ks), ks.namespace(name)?))
    }

    /// The names of every namespace created so far, sorted (the default namespace has no name and
    /// is not listed).
    pub fn namespace_names(&self) -> Vec<String> {
        self.root.ks.namespace_names()
    }

    /// Runs `f` as one serializable, atomic transaction and returns its result.
    ///
    /// The closure reads and writes through the [`Transaction`] it is given (across namespaces,
    /// with [`Transaction::namespace`]). When it returns `Ok`, all its writes are committed as one
    /// batch that no reader ever sees half of; when it returns `Err` (for example
    /// [`Error::TransactionAborted`]) or panics, none of them happened.
    ///
    /// Only one transaction or write runs at a time; readers are never blocked. Writing through
    /// the database handle inside the closure is an error ([`Error::WriteInTransaction`]), not a
    /// deadlock.
    ///
    /// # Errors
    /// The closure's error, unchanged; or an error committing the batch.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// let db = Emdb::open_in_memory();
    /// let total = db.transaction(|tx| {
    ///     tx.insert("a", "1")?;
    ///     tx.insert("b", "2")?;
    ///     Ok(2)
    /// })?;
    /// assert_eq!(total, db.len()?);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn transaction<F, T>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Transaction<'_>) -> Result<T>,
    {
        self.try_transaction(f)
    }

    /// As [`transaction`](Self::transaction), for a closure that returns the application's own
    /// error type `E`: `?` on emdb calls inside converts their [`Error`] into `E` (through
    /// `E: From<Error>`), and an `Err(E)` the closure returns rolls the transaction back and
    /// comes out unchanged, so the caller matches on its own variants.
    ///
    /// Two methods rather than one generic in the error: a closure that ends in `Ok(())` says
    /// nothing about its error type, so with one generic method every existing
    /// `db.transaction(|tx| { …; Ok(()) })` would need a type annotation.
    ///
    /// # Errors
    /// The closure's error, unchanged; an error taking the writer lock or committing the batch,
    /// converted into `E`.
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// #[derive(Debug)]
    /// enum ShopError {
    ///     Insufficient { have: u64, need: u64 },
    ///     Db(emdb::Error),
    /// }
    /// impl From<emdb::Error> for ShopError {
    ///     fn from(e: emdb::Error) -> Self {
    ///         ShopError::Db(e)
    ///     }
    /// }
    ///
    /// let db = Emdb::open_in_memory();
    /// db.insert("balance", 1003u64.to_be_bytes())?;
    /// let paid = db.try_transaction(|tx| {
    ///     let have = u64::from_be_bytes(tx.get("balance")?.unwrap().try_into().unwrap());
    ///     if have < 2000 {
    ///         return Err(ShopError::Insufficient { have, need: 2000 });
    ///     }
    ///     tx.insert("balance", (have - 2000).to_be_bytes())?;
    ///     Ok(())
    /// });
    /// assert!(matches!(paid, Err(ShopError::Insufficient { have: 1003, need: 2000 })));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn try_transaction<F, T, E>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut Transaction<'_>) -> std::result::Result<T, E>,
        E: From<Error>,
    {
        let ks = &self.root.ks;
        let writer = ks.lock_writer()?;
        let mut tx = Transaction::new(ks, Arc::clone(&self.root.ns));
        let out = f(&mut tx)?;
        writer.commit(tx.into_writes())?;
        Ok(out)
    }

    /// Inserts `value` under `key`, replacing any previous value. The entry gets the default TTL
    /// (none unless [`EmdbBuilder::default_ttl`](crate::EmdbBuilder::default_ttl) set one).
    ///
    /// # Errors
    /// [`Error::KeyTooLarge`], [`Error::ValueTooLarge`], [`Error::TtlOverflow`],
    /// [`Error::WriteInTransaction`].
    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.root.insert(key, value)
    }

    /// Inserts `value` under `key` with a time-to-live.
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use emdb::{Emdb, Ttl};
    ///
    /// let db = Emdb::open_in_memory();
    /// db.insert_with_ttl("session", "token", Ttl::After(Duration::from_secs(30)))?;
    /// assert!(db.ttl("session")?.unwrap() <= Duration::from_secs(30));
    /// assert!(db.persist("session")?);
    /// assert_eq!(db.ttl("session")?, None);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn insert_with_ttl(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Ttl,
    ) -> Result<()> {
        self.root.insert_with_ttl(key, value, ttl)
    }

    /// The value of `key`, or `None` if it is absent or expired.
    ///
    /// # Errors
    /// None in memory; a persistent database reports I/O and corruption errors.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.root.get(key)
    }

    /// Copies the value of `key` into `buf`, replacing its contents, and returns whether the
    /// key is present and unexpired (`buf` is left empty when it is not): [`get`](Self::get)
    /// without a new allocation per read.
    ///
    /// ```
    /// # fn main() -> emdb::Result<()> {
    /// let db = emdb::Emdb::open_in_memory();
    /// db.insert("config", "v2")?;
    /// let mut buf = Vec::with_capacity(64);
    /// if db.get_into("config", &mut buf)? {
    ///     assert_eq!(buf, b"v2");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`get`](Self::get); `buf` is left empty on error.
    pub fn get_into(&self, key: impl AsRef<[u8]>, buf: &mut Vec<u8>) -> Result<bool> {
        self.root.get_into(key, buf)
    }

    /// Whether `key` is present and unexpired.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        self.root.contains_key(key)
    }

    /// Removes `key` and returns its value (`None` if it was absent or expired).
    ///
    /// # Errors
    /// [`Error::WriteInTransaction`].
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.root.remove(key)
    }

    /// The number of live entries in the default namespace.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    #[inline]
    pub fn len(&self) -> Result<usize> {
        self.root.len()
    }

    /// Whether the default namespace has no live entries.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn is_empty(&self) -> Result<bool> {
        self.root.is_empty()
    }

    /// Removes every entry of the default namespace (other namespaces are untouched), atomically.
    ///
    /// # Errors
    /// [`Error::WriteInTransaction`].
    pub fn clear(&self) -> Result<()> {
        self.root.clear()
    }

    /// Every live entry in ascending key order, from a snapshot taken now.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// let db = Emdb::open_in_memory();
    /// db.insert("b", "2")?;
    /// db.insert("a", "1")?;
    /// let keys: Vec<Vec<u8>> = db.iter()?.map(|item| item.map(|(k, _)| k)).collect::<Result<_, _>>()?;
    /// assert_eq!(keys, [b"a".to_vec(), b"b".to_vec()]);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn iter(&self) -> Result<Iter> {
        self.root.iter()
    }

    /// A consistent, read-only view of the default namespace as it is now: every read through
    /// it sees the same commits, whatever is written meanwhile (see [`Snapshot`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// let db = Emdb::open_in_memory();
    /// db.insert("balance:alice", "70")?;
    /// db.insert("balance:bob", "30")?;
    /// let snapshot = db.snapshot();
    /// db.transaction(|tx| {
    ///     tx.insert("balance:alice", "50")?;
    ///     tx.insert("balance:bob", "50")
    /// })?;
    /// // The snapshot's reads agree with each other: before the transfer, both of them.
    /// assert_eq!(snapshot.get("balance:alice")?, Some(b"70".to_vec()));
    /// assert_eq!(snapshot.get("balance:bob")?, Some(b"30".to_vec()));
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        self.root.snapshot()
    }

    /// Every live key in ascending order.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn keys(&self) -> Result<Keys> {
        self.root.keys()
    }

    /// The live entries whose keys fall in `range`, in key order.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    ///
    /// # Examples
    ///
    /// ```
    /// use emdb::Emdb;
    ///
    /// let db = Emdb::open_in_memory();
    /// for k in ["a", "f", "m", "z"] {
    ///     db.insert(k, "")?;
    /// }
    /// assert_eq!(db.range(b"a".to_vec()..b"m".to_vec())?.count(), 2);
    /// assert_eq!(db.range("f"..="m")?.count(), 2);
    /// # Ok::<(), emdb::Error>(())
    /// ```
    pub fn range<K, R>(&self, range: R) -> Result<Iter>
    where
        K: AsRef<[u8]> + ?Sized,
        R: RangeBounds<K>,
    {
        self.root.range(range)
    }

    /// The live entries whose keys start with `prefix`, in key order.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Iter> {
        self.root.prefix(prefix)
    }

    /// The time `key` has left to live; `None` if it is absent, expired, or never expires.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn ttl(&self, key: impl AsRef<[u8]>) -> Result<Option<Duration>> {
        self.root.ttl(key)
    }

    /// When `key` expires; `None` if it is absent, expired, or never expires.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn expires_at(&self, key: impl AsRef<[u8]>) -> Result<Option<SystemTime>> {
        self.root.expires_at(key)
    }

    /// Removes the expiry of `key`. Returns whether it was live and had one.
    ///
    /// # Errors
    /// [`Error::WriteInTransaction`].
    pub fn persist(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        self.root.persist(key)
    }

    /// Removes every expired entry of every namespace for good; returns how many. Expired entries
    /// are already invisible to every read; this reclaims their space.
    ///
    /// # Errors
    /// [`Error::WriteInTransaction`].
    pub fn purge_expired(&self) -> Result<usize> {
        let mut removed = self.root.purge_expired()?;
        for name in self.namespace_names() {
            removed += self.namespace(&name)?.purge_expired()?;
        }
        Ok(removed)
    }

    /// A cheap owned handle on the keys under `prefix.` in the default namespace; see [`Focus`].
    pub fn focus(&self, prefix: &str) -> Focus {
        self.root.focus(prefix)
    }

    /// Every live entry under `prefix.` at any depth, with full keys, in key order. Its cost grows
    /// with the group, not the database.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`] if `prefix` is empty, not UTF-8, or has an empty segment.
    pub fn group(&self, prefix: impl AsRef<[u8]>) -> Result<Iter> {
        self.root.group(prefix)
    }

    /// Removes every entry under `prefix.` at any depth, atomically; returns how many.
    ///
    /// # Errors
    /// As [`group`](Self::group); [`Error::WriteInTransaction`].
    pub fn delete_group(&self, prefix: impl AsRef<[u8]>) -> Result<usize> {
        self.root.delete_group(prefix)
    }

    /// A [`Watcher`] of the changes to the keys of the default namespace that start with
    /// `prefix`; see [`Namespace::watch_prefix`].
    ///
    /// # Errors
    /// As [`Namespace::watch_prefix`].
    pub fn watch_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Watcher<RawEvent>> {
        self.root.watch_prefix(prefix)
    }

    /// As [`watch_prefix`](Self::watch_prefix), with room for `capacity` commits not yet
    /// received.
    ///
    /// # Errors
    /// As [`Namespace::watch_prefix`].
    pub fn watch_prefix_with_capacity(
        &self,
        prefix: impl AsRef<[u8]>,
        capacity: usize,
    ) -> Result<Watcher<RawEvent>> {
        self.root.watch_prefix_with_capacity(prefix, capacity)
    }

    /// Inserts `value` under `key` only if the key is absent or expired; see
    /// [`Namespace::insert_if_absent`].
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub fn insert_if_absent(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<bool> {
        self.root.insert_if_absent(key, value)
    }

    /// Replaces (or removes) the value of `key` only if it is `expected`; see
    /// [`Namespace::compare_and_swap`].
    ///
    /// # Errors
    /// As [`Namespace::compare_and_swap`].
    pub fn compare_and_swap(
        &self,
        key: impl AsRef<[u8]>,
        expected: Option<impl AsRef<[u8]>>,
        new: Option<impl AsRef<[u8]>>,
    ) -> Result<std::result::Result<(), CompareAndSwapError>> {
        self.root.compare_and_swap(key, expected, new)
    }

    /// The live value of `key`, or the value `f` makes, inserted; see
    /// [`Namespace::get_or_insert_with`].
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub fn get_or_insert_with<V: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        f: impl FnOnce() -> V,
    ) -> Result<Vec<u8>> {
        self.root.get_or_insert_with(key, f)
    }

    /// Gives the live entry `key` a new time-to-live; see [`Namespace::expire`].
    ///
    /// # Errors
    /// As [`Namespace::expire`].
    pub fn expire(&self, key: impl AsRef<[u8]>, ttl: Ttl) -> Result<bool> {
        self.root.expire(key, ttl)
    }

    /// The durable sequence called `name` (created on first use); see [`Sequence`].
    ///
    /// # Errors
    /// [`Error::KeyTooLarge`] for a name past the key limit; as [`namespace`](Self::namespace)
    /// for the namespace where sequences are kept.
    pub fn sequence(&self, name: &str) -> Result<Sequence> {
        Sequence::new(self.namespace(SEQUENCE_NAMESPACE)?, name)
    }
}
