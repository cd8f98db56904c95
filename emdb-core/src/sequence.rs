//! Durable monotonic sequences: [`Sequence`], ids that are unique and increasing across
//! restarts and crashes.
//!
//! A sequence stores, in the namespace [`SEQUENCE_NAMESPACE`] under its name, the end of the
//! last block of ids it reserved (a `u64`, big-endian, never expiring). Ids are handed out from
//! the block in memory; reserving the next block is one commit, made durable before any of its
//! ids is handed out. Every id handed out is below the stored end, so after a crash or a reopen
//! the sequence starts at that end: ids stay unique and increasing, and the ids of a block not
//! used up are skipped.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::batch::{Batch, NO_EXPIRY, Op};
use crate::error::{Error, Result};
use crate::keyspace::SequenceBlock as Block;
use crate::limits::check_key;
use crate::namespace::Namespace;

/// The namespace where sequences keep their state (`emdb.` names are emdb's own).
pub const SEQUENCE_NAMESPACE: &str = "emdb.sequences";

/// How many ids one commit reserves.
const BLOCK: u64 = 1024;

/// A named, durable counter: [`next`](Self::next) returns ids that are unique and increasing,
/// starting at 1, across handles, restarts and crashes (ids may be skipped: a crash or a reopen
/// skips what is left of the block reserved last). Made by
/// [`Emdb::sequence`](crate::Emdb::sequence); every handle on one database shares the
/// sequences of that database.
///
/// Ids are reserved in blocks of 1,024, so most calls take no lock but the sequence's own and
/// write nothing; one in 1,024 commits the end of the next block and syncs it.
///
/// # Examples
///
/// ```
/// let db = emdb::Emdb::open_in_memory();
/// let orders = db.sequence("orders")?;
/// let first = orders.next()?;
/// assert_eq!(orders.next()?, first + 1);
/// assert!(db.sequence("orders")?.next()? > first + 1, "shared by every handle");
/// # Ok::<(), emdb::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Sequence {
    store: Namespace,
    name: Arc<[u8]>,
    block: Arc<Mutex<Block>>,
}

impl Sequence {
    pub(crate) fn new(store: Namespace, name: &str) -> Result<Self> {
        check_key(name.as_bytes())?;
        let block = store.ks.sequence_block(name);
        Ok(Sequence { store, name: Arc::from(name.as_bytes()), block })
    }

    /// The next id.
    ///
    /// # Errors
    /// [`Error::SequenceExhausted`] after `u64::MAX`; when a block is reserved,
    /// [`Error::WriteInTransaction`] inside a transaction closure on this database, and the
    /// errors of a durable commit ([`Error::Poisoned`], I/O errors).
    pub fn next(&self) -> Result<u64> {
        let mut block = self.block.lock();
        if block.next == block.end {
            self.reserve(&mut block)?;
        }
        let id = block.next;
        block.next += 1;
        Ok(id)
    }

    /// Commits and syncs the end of the block after the stored one (or after `block`, if that
    /// is further) and makes it the current block.
    fn reserve(&self, block: &mut Block) -> Result<()> {
        let ks = &self.store.ks;
        let writer = ks.lock_writer()?;
        let stored = self.stored_end()?;
        let start = stored.max(block.next).max(1);
        let end = start.checked_add(BLOCK).ok_or_else(|| Error::SequenceExhausted {
            name: String::from_utf8_lossy(&self.name).into_owned(),
        })?;
        let op = Op::Put {
            ns: self.store.ns.id,
            key: Arc::clone(&self.name),
            value: Arc::from(end.to_be_bytes().as_slice()),
            expires_at: NO_EXPIRY,
        };
        writer.commit(Batch { ops: vec![op] })?;
        // Whatever the flush policy: no id of the block may be handed out before its end is
        // durable.
        ks.flush()?;
        *block = Block { next: start, end };
        Ok(())
    }

    /// The end of the last block reserved, as stored (0 for a new sequence).
    fn stored_end(&self) -> Result<u64> {
        let Some(bytes) = self.store.get(&self.name)? else { return Ok(0) };
        let bytes: [u8; 8] = bytes.as_slice().try_into().map_err(|_| Error::SequenceDamaged {
            name: String::from_utf8_lossy(&self.name).into_owned(),
            len: bytes.len(),
        })?;
        Ok(u64::from_be_bytes(bytes))
    }
}
