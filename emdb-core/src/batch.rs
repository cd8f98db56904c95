//! The unit of commit: a batch of operations that becomes one WAL frame and is applied to the
//! in-memory state as a whole, so that no reader ever sees part of it.

use std::sync::Arc;

/// The id of a namespace. The default namespace is [`DEFAULT_NS`]; others are numbered from 1 in
/// creation order and recorded durably by a [`Op::CreateNamespace`].
pub(crate) type NsId = u32;

/// The id of the default namespace, the one `Emdb`'s own key-value methods use.
pub(crate) const DEFAULT_NS: NsId = 0;

/// An absolute expiry in milliseconds since the Unix epoch; [`NO_EXPIRY`] means none.
pub(crate) type ExpiresAt = u64;

/// The expiry of an entry that never expires.
pub(crate) const NO_EXPIRY: ExpiresAt = 0;

/// One change to the keyspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// Insert or overwrite `key` in namespace `ns`.
    Put { ns: NsId, key: Arc<[u8]>, value: Arc<[u8]>, expires_at: ExpiresAt },
    /// Remove `key` from namespace `ns` (a no-op when absent).
    Remove { ns: NsId, key: Arc<[u8]> },
    /// Remove every key of namespace `ns`.
    Clear { ns: NsId },
    /// Register namespace `name` under id `ns`.
    CreateNamespace { ns: NsId, name: String },
}

/// The operations of one commit, in the order they were issued.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Batch {
    pub(crate) ops: Vec<Op>,
}
