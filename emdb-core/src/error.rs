//! The one error type of emdb, shared by the raw engine, the typed layer and the derive macros.
//!
//! Every variant carries what a caller needs to act on it, and its message says what happened and
//! what to do about it. The typed layer's failures (`Encode`, `Decode`, `TableTypeMismatch`, …)
//! live here too, so that a transaction closure can use `?` on raw and typed operations alike.

use std::path::PathBuf;
use std::time::Duration;

/// A specialized [`Result`](std::result::Result) for emdb operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed error from a codec or another library emdb calls into.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in emdb.
///
/// The enum is `#[non_exhaustive]`: match the variants you handle and keep a `_` arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key is longer than [`MAX_KEY_LEN`](crate::MAX_KEY_LEN).
    #[error(
        "key of {len} bytes exceeds the maximum of {max} bytes; store a hash or a shorter id as the key"
    )]
    KeyTooLarge {
        /// The length of the rejected key.
        len: usize,
        /// The configured maximum.
        max: usize,
    },

    /// A value is longer than [`MAX_VALUE_LEN`](crate::MAX_VALUE_LEN).
    #[error(
        "value of {len} bytes exceeds the maximum of {max} bytes; split it into several entries"
    )]
    ValueTooLarge {
        /// The length of the rejected value.
        len: usize,
        /// The configured maximum.
        max: usize,
    },

    /// A time-to-live puts the expiry beyond what emdb can represent (milliseconds since the Unix
    /// epoch in a `u64`).
    #[error(
        "time-to-live of {ttl:?} overflows the expiry clock; use Ttl::Never for entries that must not expire"
    )]
    TtlOverflow {
        /// The rejected time-to-live.
        ttl: Duration,
    },

    /// A group or focus prefix is empty, not valid UTF-8, or has an empty segment.
    #[error("invalid group prefix {prefix:?}: {reason}")]
    InvalidPrefix {
        /// The rejected prefix, lossily decoded for display.
        prefix: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A namespace name is empty or too long.
    #[error("invalid namespace name {name:?}: {reason}")]
    InvalidNamespace {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A transaction closure asked for a rollback. Nothing it wrote is kept.
    #[error("transaction aborted: {0}")]
    TransactionAborted(&'static str),

    /// A write was attempted through the database handle on a thread that is running a
    /// transaction closure on the same database; it would wait for itself forever.
    ///
    /// emdb has one writer at a time: a transaction closure holds the writer lock until it
    /// returns. This error catches the same thread writing around its own transaction; it
    /// cannot catch a closure that waits for *another* thread's write (a channel, a join, a
    /// lock that thread holds while writing): that other write waits for the closure, and both
    /// wait forever. Do such waiting before or after the transaction, not inside it.
    #[error(
        "write through the database handle inside a transaction on the same thread; use the Transaction handle passed to the closure"
    )]
    WriteInTransaction,

    /// [`Emdb::checkpoint`](crate::Emdb::checkpoint), [`compact`](crate::Emdb::compact),
    /// [`backup_to`](crate::Emdb::backup_to) or [`close`](crate::Emdb::close) was called from
    /// the [progress callback](crate::EmdbBuilder::on_progress) of a compaction, on the thread
    /// running it: each waits for the compaction to end, which waits for the callback. Reads
    /// and writes are fine there.
    #[error(
        "{operation} called from the progress callback of a compaction on the same thread, which would wait for that compaction forever; call it after `compact` returns"
    )]
    InsideCompaction {
        /// The operation refused: `"checkpoint"`, `"compact"`, `"backup"` or `"close"`.
        operation: &'static str,
    },

    /// A write would give two rows of a table the same value in a unique secondary index. The
    /// whole transaction (or single write) is refused: nothing it wrote is kept.
    #[error(
        "unique index {index:?} of table {table:?} already holds the value {value} (for the row with key {existing}); nothing was written: give this row another value, or change or remove that row first"
    )]
    UniqueViolation {
        /// The table.
        table: String,
        /// The unique index.
        index: String,
        /// The value, as JSON (the raw key bytes in hex when it does not decode).
        value: String,
        /// The key of the row that holds the value, as JSON (or hex bytes).
        existing: String,
    },

    /// A secondary index was named that the table was not opened with.
    #[error(
        "table {table:?} has no secondary index {index:?}; declare it when opening the table (TableOptions::index or #[emdb(index)]) and open the table again"
    )]
    UnknownIndex {
        /// The table.
        table: String,
        /// The index asked for.
        index: String,
    },

    /// `Table::verify_indexes` (in the typed layer) found a secondary index that disagrees with its
    /// table's rows: a missing entry, an extra entry, or an entry for a row that is gone.
    #[error(
        "secondary index {index:?} of table {table:?} disagrees with the table: {detail}; something wrote to the index namespace directly: rebuild the index by opening the table once without it and then with it again"
    )]
    IndexEntryMismatch {
        /// The table.
        table: String,
        /// The index.
        index: String,
        /// The first disagreement found, and how many there are.
        detail: String,
    },

    /// A watcher's queue had no room for `missed` commits (it was not received from fast
    /// enough); they are gone for this watcher, which goes on with the next commit.
    #[error(
        "the watcher fell behind and missed {missed} commits; receive faster, give it a larger capacity (watch_with_capacity), or resynchronize by reading the current state"
    )]
    Lagged {
        /// How many commits were dropped.
        missed: u64,
    },

    /// The database a watcher follows was closed (its last handle dropped), and the watcher has
    /// received every commit it was sent.
    #[error("the database this watcher follows was closed; open it again and watch anew")]
    WatchClosed,

    /// A [`Sequence`](crate::Sequence) reached `u64::MAX`.
    #[error("sequence {name:?} has handed out every id up to u64::MAX; start another sequence")]
    SequenceExhausted {
        /// The sequence's name.
        name: String,
    },

    /// The stored state of a [`Sequence`](crate::Sequence) is not the 8-byte number emdb writes:
    /// something else wrote to the `emdb.sequences` namespace.
    #[error(
        "sequence {name:?} has a stored state of {len} bytes, not 8: the emdb.sequences namespace is emdb's own; remove the entry {name:?} there only if no id of it may be handed out again"
    )]
    SequenceDamaged {
        /// The sequence's name.
        name: String,
        /// The length of the stored value.
        len: usize,
    },

    /// An operation needs a database file, but this database lives in memory only.
    #[error(
        "{operation} needs a database file, but this database is in memory; open it with Emdb::open(path)"
    )]
    InMemory {
        /// The operation that was refused.
        operation: &'static str,
    },

    /// An I/O operation on a database file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file the operation was on.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A key type cannot be encoded in emdb's order-preserving key format.
    #[error("unsupported key type {type_name}: {reason}")]
    UnsupportedKey {
        /// The Rust type of the key.
        type_name: &'static str,
        /// Which part of the type cannot be encoded, and what to use instead.
        reason: String,
    },

    /// A value could not be encoded by the table's codec.
    #[error("cannot encode a value for table {table:?}: {source}")]
    Encode {
        /// The table the value was written to.
        table: String,
        /// The codec's error.
        #[source]
        source: BoxError,
    },

    /// A stored value or key could not be decoded as the table's type.
    ///
    /// The message shows the key as `key_text` when there is one, else as its raw bytes; the
    /// `source` says why the value does not decode and what most likely caused it.
    #[error(
        "cannot decode the entry at key {} of table {table:?}: {source}",
        key_label(key, key_text.as_deref())
    )]
    Decode {
        /// The table the entry belongs to.
        table: String,
        /// The raw key of the entry.
        key: Vec<u8>,
        /// The key decoded as the table's key type and printed (`7`, `"alice"`, `(1, 2)`), when
        /// it decodes; `None` shows the raw bytes.
        key_text: Option<String>,
        /// The codec's error.
        #[source]
        source: BoxError,
    },

    /// A typed table was opened with other key, value or codec types than it was created with.
    #[error(
        "table {table:?} was created as {found} but opened as {expected}; open it with the original types or migrate it"
    )]
    TableTypeMismatch {
        /// The table name.
        table: String,
        /// The types the caller asked for.
        expected: String,
        /// The types recorded in the database.
        found: String,
    },

    /// A typed table was opened with a value type whose shape differs from the one the
    /// database records for the declared schema version, or from an older version in a way
    /// that does not map onto the new type by field name.
    ///
    /// Checked before anything is written: the database is unchanged.
    #[error("table {table:?}, schema version {version}: {}; {action}", changes.join(", "))]
    SchemaChanged {
        /// The table name.
        table: String,
        /// The schema version whose shape differs, or the newest version an unmappable change
        /// leads to.
        version: u32,
        /// Each difference, such as `field tier: u8 added`, `field age removed` or
        /// `field score: u32 → f64`.
        changes: Vec<String>,
        /// What to do about it, such as `declare version 3`.
        action: String,
    },

    /// A stored value carries a schema version this program does not know.
    #[error(
        "table {table:?} holds a value of schema version {found}, but this program knows versions up to {known}; upgrade the program"
    )]
    UnknownSchemaVersion {
        /// The table name.
        table: String,
        /// The version found in the stored value.
        found: u32,
        /// The newest version the program declares.
        known: u32,
    },

    /// Another handle, in this process or another one, has the database open. The lock is on
    /// the page file itself, so every name of the file (a symbolic or hard link, another
    /// spelling of the path) meets it.
    #[error(
        "database {path} is locked by {}; close that handle first, or open another path",
        holder(*pid)
    )]
    Locked {
        /// The page file that is locked.
        path: PathBuf,
        /// The process holding the write lock, when it recorded itself (a writer records its
        /// process id in `<path>.lock`; read-only handles record nothing).
        pid: Option<u32>,
    },

    /// The database was opened read-only ([`EmdbBuilder::read_only`](crate::EmdbBuilder::read_only)):
    /// writes, transactions, checkpoints, compaction and backups are refused, and nothing in its
    /// files changes.
    #[error(
        "the database was opened read-only; open it without EmdbBuilder::read_only(true) to write"
    )]
    ReadOnly,

    /// The page file says commits after its last checkpoint may be in its log, but the log
    /// (`<path>.wal`) is missing: opening without it would silently lose them.
    #[error(
        "the log {path} is missing, but the page file says commits after its last checkpoint (LSN {checkpoint_lsn}) may be in it; put the log back beside the page file, or open with EmdbBuilder::recover_without_log(true) to open at the last checkpoint and lose any later commits"
    )]
    LogMissing {
        /// Where the log should be.
        path: PathBuf,
        /// The LSN of the page file's last checkpoint.
        checkpoint_lsn: u64,
    },

    /// The log beside the page file belongs to another database (its header names another
    /// database id) and holds commits the page file does not have. It is never replayed.
    #[error(
        "the log {path} belongs to another database: its {frames} commits past this page file's checkpoint are not this database's; move the log aside (or put back this database's own), or open with EmdbBuilder::recover_without_log(true), which renames it to <log>.aside-<n> and opens at the last checkpoint"
    )]
    ForeignLog {
        /// The log.
        path: PathBuf,
        /// How many commits past the checkpoint it holds.
        frames: u64,
    },

    /// The log beside the page file is of another generation of this database than the one
    /// its meta page expects (a page file restored or copied over, with the log of a later
    /// life left beside it), and holds commits past the checkpoint. It is never replayed.
    #[error(
        "the log {path} is of another generation of this database than its page file: its {frames} commits past the checkpoint were made on another copy (was the page file restored from a backup?); move the log aside, or open with EmdbBuilder::recover_without_log(true), which renames it to <log>.aside-<n> and opens at the last checkpoint"
    )]
    StaleLog {
        /// The log.
        path: PathBuf,
        /// How many commits past the checkpoint it holds.
        frames: u64,
    },

    /// [`Emdb::backup_to`](crate::Emdb::backup_to) was given one of the database's own files
    /// (its page file, its log or the record of its writer, under any name) as the
    /// destination.
    #[error(
        "cannot back up the database into {dest}: it is this database's own {what}; choose a path outside the database's files"
    )]
    BackupOntoItself {
        /// The destination given.
        dest: PathBuf,
        /// Which of the database's files it is.
        what: &'static str,
    },

    /// The file is not an emdb database: neither meta page carries emdb's magic bytes.
    #[error(
        "{path} is not an emdb database file; check the path, or move the file away to create a new database there"
    )]
    NotAnEmdbFile {
        /// The file that was opened.
        path: PathBuf,
    },

    /// The file was written by a newer emdb whose format this program cannot read.
    #[error(
        "{path} has file format version {found}, but this program reads versions up to {supported}; open it with a newer emdb"
    )]
    UnsupportedFormatVersion {
        /// The file that was opened.
        path: PathBuf,
        /// The format version found in the file.
        found: u32,
        /// The newest format version this program reads.
        supported: u32,
    },

    /// Bytes read from a database file failed a check (a checksum, a bound, an ordering): the
    /// media or the file was damaged. No wrong value is ever returned in its place.
    #[error(
        "corruption in {path} at byte offset {offset}: {detail}; restore the database from a backup"
    )]
    Corruption {
        /// The damaged file.
        path: PathBuf,
        /// The byte offset in the file where the damaged structure starts.
        offset: u64,
        /// What check failed (for a checksum: the expected and found values).
        detail: String,
    },

    /// [`Emdb::check_integrity`](crate::Emdb::check_integrity) found the in-memory index (or the
    /// expiry index, or the live count) of a namespace disagreeing with what the file and the log
    /// hold. This is a bug in emdb, not damage to the file: the stored data is what counts.
    #[error(
        "the in-memory index of namespace {namespace:?} disagrees with the stored data at key {key:02x?}: {detail}; this is an emdb bug, not file damage: reopen the database (which rebuilds the index from the file and the log) and report it"
    )]
    IndexMismatch {
        /// The namespace (empty for the default namespace).
        namespace: String,
        /// The user key concerned (empty when a count disagrees).
        key: Vec<u8>,
        /// What disagrees.
        detail: String,
    },

    /// An invariant inside emdb was broken: a bug in emdb, not damage to the file. The
    /// operation stopped before it changed the durable state.
    #[error(
        "internal error: {detail}; this is an emdb bug, not file damage, and the durable state is unchanged: reopen the database and report it"
    )]
    Internal {
        /// Which invariant was broken.
        detail: String,
    },

    /// An earlier sync of a database file failed, so the durability of later writes cannot be
    /// promised (the kernel may have dropped the unwritten data, and a retried sync would lie).
    #[error(
        "the database handle is poisoned by an earlier failed sync; drop every handle and reopen the database, which recovers the durable state"
    )]
    Poisoned,
}

/// Who holds a lock, for [`Error::Locked`]'s message.
fn holder(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("process {pid}"),
        None => "another handle or process".to_owned(),
    }
}

impl Error {
    /// Wraps an I/O error with the path of the file it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// Whether this is an I/O error for want of space: a full file system, a quota, or a file
    /// size limit. A checkpoint that fails for it changes nothing and leaves the handle
    /// usable: once space is freed, the next checkpoint goes on.
    pub fn is_out_of_space(&self) -> bool {
        use std::io::ErrorKind::{FileTooLarge, QuotaExceeded, StorageFull};
        matches!(self, Error::Io { source, .. }
            if matches!(source.kind(), StorageFull | QuotaExceeded | FileTooLarge))
    }
}

/// How [`Error::Decode`] shows its key: the decoded text, else the raw bytes in hex.
fn key_label(raw: &[u8], text: Option<&str>) -> String {
    match text {
        Some(text) => text.to_owned(),
        None => format!("{raw:02x?}"),
    }
}
