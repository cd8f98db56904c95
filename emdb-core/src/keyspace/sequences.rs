//! The blocks of ids the sequences of a keyspace have reserved, shared by every handle (see
//! [`Sequence`](crate::Sequence)).

use std::sync::Arc;

use parking_lot::Mutex;

use super::Keyspace;

/// The ids of a sequence's current block not yet handed out: `next..end`.
#[derive(Debug, Default)]
pub(crate) struct Block {
    pub(crate) next: u64,
    pub(crate) end: u64,
}

impl Keyspace {
    /// The block of the sequence `name`, shared by every handle on this keyspace.
    pub(crate) fn sequence_block(&self, name: &str) -> Arc<Mutex<Block>> {
        Arc::clone(self.sequences.lock().entry(name.to_owned()).or_default())
    }
}
