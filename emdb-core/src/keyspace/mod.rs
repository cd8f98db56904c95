//! The engine: the committed state of a database — its namespaces, each with a sharded point
//! index, a memtable and an expiry index; the single writer; the snapshot registry; and
//! (persistent) the durable tree beneath the memtables.
//!
//! One file per protocol, each implementing part of [`Keyspace`]:
//!
//! | file | what |
//! |---|---|
//! | `config.rs` | the settings a keyspace opens with, [`FlushPolicy`] |
//! | `registry.rs` | namespaces: find, create, the catalog |
//! | `tree_key.rs` | the `[namespace][key]` layout of tree keys |
//! | `commit.rs` | the writer lock and the one commit path, both applies |
//! | `read.rs` | point reads: the value reader, expiry, the tree fallback |
//! | `merge_iter.rs` | ordered reads: tree cursor ⊕ memtable at a snapshot |
//! | `snapshot.rs` | the snapshot registry, snapshot guards and views |
//! | `checkpoint.rs` | checkpoints, and the commits they carry |
//! | `recovery.rs` | open and log replay |
//! | `loading.rs` | the background index build after a lazy open |
//! | `persist.rs` | the page file, the log, the syncer, the close |
//! | `maintain.rs` | compaction, backup, stats |
//! | `integrity.rs` | the integrity check of index, counts and tree |
//! | `reclaim.rs` | the mover of live values out of mostly dead pages |
//! | `ordered.rs`, `index.rs`, `alloc.rs` | the memtable, the point index and its allocator |
//!
//! The commit, read, checkpoint and recovery protocols are written out in docs/design.md
//! (*The keyspace over the files*).

mod alloc;
mod checkpoint;
mod commit;
mod config;
mod durability;
mod feed;
mod index;
mod integrity;
mod loading;
mod maintain;
mod merge_iter;
mod ordered;
mod persist;
mod read;
mod reclaim;
mod recovery;
mod registry;
mod sequences;
mod snapshot;
mod tree_key;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

use self::commit::{Pending, Writer};
pub(crate) use self::config::Config;
pub use self::config::FlushPolicy;
use self::durability::{Durability, InMemory, Logged};
use self::feed::Feed;
pub(crate) use self::feed::Subscriber;
pub use self::feed::{Commit, RawEvent};
use self::index::Budget;
pub(crate) use self::index::{
    ALL_SHARDS, Held, HeldRef, IndexFigures, KeyHash, ShardedIndex, Slot, SlotRef, ValueSource,
};
#[cfg(test)]
pub(crate) use self::loading::IndexBuildGate;
use self::loading::Loading;
pub(crate) use self::merge_iter::{KeyBounds, Pinned, RawIter, prefix_end};
pub(crate) use self::ordered::{Memtable, SharedStats, Visible};
pub(crate) use self::persist::{Persist, PersistOptions, ReclaimOptions, TreeSnap};
pub(crate) use self::registry::NsState;
use self::registry::Registry;
pub(crate) use self::sequences::Block as SequenceBlock;
use self::snapshot::Snapshots;
pub(crate) use self::snapshot::{SnapshotGuard, View};
use crate::batch::{DEFAULT_NS, NsId};
use crate::error::{Error, Result};

/// The shared core of a database handle.
#[derive(Debug)]
pub(crate) struct Keyspace {
    pub(crate) config: Config,
    writer: Mutex<Writer>,
    /// The token of the thread that holds `writer`, or 0.
    writer_thread: AtomicUsize,
    committed: AtomicU64,
    snapshots: Mutex<Snapshots>,
    registry: RwLock<Registry>,
    default_ns: Arc<NsState>,
    /// What commits become beyond memory: nothing, or the log and the page file.
    durability: Box<dyn Durability>,
    /// A failed sync or checkpoint: every later write is refused until the database is reopened.
    poisoned: AtomicBool,
    persistent: bool,
    /// The background build of the indexes after a lazy open (`None`: they are complete).
    loading: Option<Arc<Loading>>,
    /// The watchers and the commits staged for them.
    feed: Feed,
    /// The blocks of ids each sequence reserved, by name.
    sequences: Mutex<HashMap<String, Arc<Mutex<SequenceBlock>>>>,
    /// The memory budget of every namespace's settled index entries (`None`: every key).
    budget: Option<Arc<Budget>>,
    /// Indexes hash keys to two values (tests).
    #[cfg(test)]
    degenerate_hash: bool,
}

/// The empty point index of namespace `id`, under `budget`.
fn new_index(
    id: NsId,
    budget: Option<Arc<Budget>>,
    #[cfg(test)] degenerate_hash: bool,
) -> ShardedIndex {
    #[cfg(test)]
    if degenerate_hash {
        return ShardedIndex::degenerate(tree_key::prefix(id), budget);
    }
    ShardedIndex::new(tree_key::prefix(id), budget)
}

impl Keyspace {
    pub(crate) fn new(config: Config, persistent: bool) -> Self {
        // In memory every key is in the recent tables: there is no tree to budget.
        let budget = config
            .memory_budget
            .filter(|_| persistent)
            .map(|bytes| Arc::new(Budget::new(settled_share(bytes))));
        #[cfg(test)]
        let degenerate_hash = config.degenerate_hash;
        let index = new_index(
            DEFAULT_NS,
            budget.clone(),
            #[cfg(test)]
            degenerate_hash,
        );
        let default_ns = Arc::new(NsState::new(DEFAULT_NS, String::new(), persistent, index));
        let mut registry = Registry { next_id: DEFAULT_NS + 1, ..Registry::default() };
        registry.by_id.insert(DEFAULT_NS, Arc::clone(&default_ns));
        Keyspace {
            config,
            writer: Mutex::new(Writer::default()),
            writer_thread: AtomicUsize::new(0),
            committed: AtomicU64::new(0),
            snapshots: Mutex::new(Snapshots::default()),
            registry: RwLock::new(registry),
            default_ns,
            durability: Box::new(InMemory),
            poisoned: AtomicBool::new(false),
            persistent,
            loading: None,
            feed: Feed::default(),
            sequences: Mutex::default(),
            budget,
            #[cfg(test)]
            degenerate_hash,
        }
    }

    /// The empty point index of a new namespace `id`.
    pub(super) fn new_index(&self, id: NsId) -> ShardedIndex {
        new_index(
            id,
            self.budget.clone(),
            #[cfg(test)]
            self.degenerate_hash,
        )
    }

    /// Waits until the indexes are complete (at once unless a lazy open is still building
    /// them).
    ///
    /// # Errors
    /// The error that stopped the build: a damaged page, or an I/O error.
    #[inline]
    pub(crate) fn wait_loaded(&self) -> Result<()> {
        match &self.loading {
            Some(l) if !l.is_ready() => l.wait(),
            _ => Ok(()),
        }
    }

    /// Whether point reads must look in the tree because the indexes are still being built.
    pub(crate) fn is_loading(&self) -> bool {
        self.loading.as_ref().is_some_and(|l| !l.is_ready())
    }

    /// The page file and the log (`None` in memory), for whole-engine tests that tamper with
    /// them.
    #[cfg(test)]
    pub(crate) fn persist(&self) -> Option<&Persist> {
        self.durability.files()
    }

    /// Whether a failed sync or checkpoint has poisoned the handle.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire) || self.durability.is_poisoned()
    }

    pub(crate) fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
    }

    /// Makes every commit so far durable (a no-op in memory).
    ///
    /// # Errors
    /// [`Error::Poisoned`], or the I/O error of the sync (which poisons the handle).
    pub(crate) fn flush(&self) -> Result<()> {
        if self.durability.read_only() {
            // Nothing was written.
            return Ok(());
        }
        if self.is_poisoned() {
            return Err(Error::Poisoned);
        }
        self.durability.flush()
    }

    /// The LSN of the newest published commit.
    #[inline]
    pub(crate) fn committed_lsn(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// Writes everything committed since the last checkpoint into the page file and starts a
    /// fresh log (a no-op in memory).
    ///
    /// # Errors
    /// [`Error::Poisoned`], [`Error::WriteInTransaction`], or the error that stopped the
    /// checkpoint (which poisons the handle; the file still holds the previous checkpoint and the
    /// log every commit since).
    pub(crate) fn checkpoint(&self) -> Result<()> {
        let Some(p) = self.durability.files() else {
            // In memory: nothing to write, and no writer lock to take (not even inside a
            // transaction).
            return Ok(());
        };
        let _maintenance = self.lock_maintenance(p, "checkpoint")?;
        let mut guard = self.lock_writer()?;
        self.checkpoint_locked(&mut guard.writer)
    }
}

/// The part of a memory budget of `bytes` that settled index entries may take: half. A quarter
/// bounds what the log holds before a checkpoint (the memtables and the recent tables hold about
/// twice that), and the rest is left to the expiry index, the live-value counts and the tables'
/// growth.
pub(crate) fn settled_share(bytes: u64) -> u64 {
    bytes / 2
}

/// The checkpoint threshold under a memory budget of `bytes` (see [`settled_share`]).
pub(crate) fn log_share(bytes: u64) -> u64 {
    bytes / 8
}
