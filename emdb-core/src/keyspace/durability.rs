//! What a keyspace's commits become beyond memory, behind one trait with two implementations:
//! [`InMemory`] (nothing: the database ends with its last handle) and
//! [`Persist`] (the write-ahead log and the page file).
//!
//! The engine is one: the commit path, point reads, flushes, checkpoints and the close ask the
//! keyspace's [`Durability`] at each step where the two differ. What only a database on disk
//! has (compaction, backups, the file's statistics, the tree's integrity, value-page
//! reclamation) asks for its [`files`](Durability::files) once, where it starts.

use std::fmt::Debug;

use super::{Keyspace, Pending, Persist, Writer};
use crate::batch::{Batch, Writes};
use crate::error::Result;
use crate::page::value::ValueLoc;

/// Where a commit's batch went before it was applied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Logged {
    /// The commit's LSN.
    pub(crate) lsn: u64,
    /// The batch was not logged (its frame would pass the checkpoint threshold): the checkpoint
    /// after its apply is what makes it durable.
    pub(crate) unlogged: bool,
    /// The LSN to wait for, as the flush policy says (`None`: do not wait).
    pub(crate) wait: Option<u64>,
}

/// The durable side of a keyspace; see the module documentation.
pub(crate) trait Durability: Send + Sync + Debug {
    /// The page file and the log, for what only a database on disk does.
    fn files(&self) -> Option<&Persist>;

    /// Whether the database was opened read-only (every write is refused).
    fn read_only(&self) -> bool;

    /// Whether a failed sync has poisoned the log.
    fn is_poisoned(&self) -> bool;

    /// Makes every commit so far durable.
    ///
    /// # Errors
    /// The I/O error of the sync.
    fn flush(&self) -> Result<()>;

    /// Whether `pending` is written by a checkpoint straight from its sorted writes instead of
    /// being logged and applied (see [`commit_sorted`](Self::commit_sorted)).
    fn checkpoints(&self, pending: &Pending) -> bool;

    /// Commits `writes` (sorted, of existing namespaces) through a checkpoint and returns its
    /// LSN; the caller holds the writer lock.
    ///
    /// # Errors
    /// The error of the checkpoint.
    fn commit_sorted(&self, ks: &Keyspace, writer: &mut Writer, writes: &Writes) -> Result<u64>;

    /// Takes the LSN of the commit of `batch` and writes the batch where it must be before it
    /// is applied (one log frame); the caller holds the writer lock.
    ///
    /// # Errors
    /// An I/O error appending the frame (nothing is applied then).
    fn log(&self, ks: &Keyspace, writer: &mut Writer, batch: &Batch) -> Result<Logged>;

    /// Once the batch is applied: what else it needs to become durable (a checkpoint when the
    /// log has passed its threshold). Returns the LSN to wait for.
    ///
    /// # Errors
    /// The error of a checkpoint that leaves the commit applied but not durable.
    fn settle(&self, ks: &Keyspace, writer: &mut Writer, logged: Logged) -> Result<Option<u64>>;

    /// Waits until the commit `lsn` is durable.
    ///
    /// # Errors
    /// The I/O error of the sync.
    fn wait_durable(&self, lsn: u64) -> Result<()>;

    /// Writes everything committed since the last checkpoint where the next open finds it
    /// without the log; the caller holds the writer lock.
    ///
    /// # Errors
    /// The error that stopped the checkpoint.
    fn checkpoint(&self, ks: &Keyspace, writer: &mut Writer) -> Result<()>;

    /// What the last handle's drop does: the closing checkpoint, given the writer's state when
    /// one may run (the indexes are built and nothing poisoned the handle).
    fn close(&self, ks: &Keyspace, writer: Option<Writer>);

    /// Appends the value stored at `loc` to `out`.
    ///
    /// # Errors
    /// An I/O error or [`Error::Corruption`](crate::Error::Corruption) reading it.
    fn read_value_into(&self, loc: ValueLoc, out: &mut Vec<u8>) -> Result<()>;
}

/// A database in memory only: commits are applied and that is all.
#[derive(Debug)]
pub(crate) struct InMemory;

impl Durability for InMemory {
    fn files(&self) -> Option<&Persist> {
        None
    }

    fn read_only(&self) -> bool {
        false
    }

    fn is_poisoned(&self) -> bool {
        false
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn checkpoints(&self, _: &Pending) -> bool {
        false
    }

    fn commit_sorted(&self, _: &Keyspace, writer: &mut Writer, _: &Writes) -> Result<u64> {
        // Never asked: `checkpoints` is false. Committing nothing keeps the LSNs consecutive.
        Ok(writer.last_lsn)
    }

    fn log(&self, _: &Keyspace, writer: &mut Writer, _: &Batch) -> Result<Logged> {
        Ok(Logged { lsn: writer.last_lsn + 1, unlogged: false, wait: None })
    }

    fn settle(&self, _: &Keyspace, _: &mut Writer, _: Logged) -> Result<Option<u64>> {
        Ok(None)
    }

    fn wait_durable(&self, _: u64) -> Result<()> {
        Ok(())
    }

    fn checkpoint(&self, _: &Keyspace, _: &mut Writer) -> Result<()> {
        Ok(())
    }

    fn close(&self, _: &Keyspace, _: Option<Writer>) {}

    fn read_value_into(&self, _: ValueLoc, _: &mut Vec<u8>) -> Result<()> {
        // In memory every value is held in the index.
        Ok(())
    }
}
