//! The namespaces of a keyspace: each one's state ([`NsState`]), and the registry that finds
//! them by name and by id and creates them (as a commit of their own, so that a new namespace is
//! as durable as a write).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::tree_key;
use super::{Keyspace, Memtable, ShardedIndex, SharedStats};
use crate::batch::{Batch, DEFAULT_NS, NsId, Op, Writes};
use crate::error::{Error, Result};

/// The state of one namespace.
#[derive(Debug)]
pub(crate) struct NsState {
    pub(crate) id: NsId,
    pub(crate) name: String,
    pub(crate) index: ShardedIndex,
    /// The current memtable. A checkpoint replaces it with an empty one; iterators opened before
    /// keep the old one (frozen) through their own `Arc`.
    mem: Mutex<Arc<RwLock<Memtable>>>,
    pub(crate) stats: SharedStats,
    persistent: bool,
}

impl NsState {
    pub(super) fn new(id: NsId, name: String, persistent: bool, index: ShardedIndex) -> Self {
        NsState {
            id,
            name,
            index,
            mem: Mutex::new(Arc::new(RwLock::new(Memtable::new(persistent)))),
            stats: SharedStats::default(),
            persistent,
        }
    }

    /// The current memtable.
    pub(crate) fn memtable(&self) -> Arc<RwLock<Memtable>> {
        Arc::clone(&self.mem.lock())
    }

    /// Starts an empty memtable (after a checkpoint wrote the current one to the tree).
    pub(super) fn fresh_memtable(&self) {
        *self.mem.lock() = Arc::new(RwLock::new(Memtable::new(self.persistent)));
    }

    /// The bytes this namespace's keys start with in the tree.
    pub(crate) fn tree_prefix(&self) -> [u8; 4] {
        tree_key::prefix(self.id)
    }
}

#[derive(Debug, Default)]
pub(super) struct Registry {
    pub(super) by_name: HashMap<String, Arc<NsState>>,
    pub(super) by_id: HashMap<NsId, Arc<NsState>>,
    pub(super) next_id: NsId,
}

impl Keyspace {
    pub(crate) fn default_ns(&self) -> &Arc<NsState> {
        &self.default_ns
    }

    /// The namespace called `name`, if it exists.
    pub(crate) fn find_namespace(&self, name: &str) -> Option<Arc<NsState>> {
        self.registry.read().by_name.get(name).cloned()
    }

    /// The names of every namespace, sorted.
    pub(crate) fn namespace_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.registry.read().by_name.keys().cloned().collect();
        names.sort_unstable();
        names
    }

    /// The namespace called `name`, created (durably, as a commit of its own) if it is missing.
    pub(crate) fn namespace(&self, name: &str) -> Result<Arc<NsState>> {
        if let Some(ns) = self.find_namespace(name) {
            return Ok(ns);
        }
        let writer = self.lock_writer()?;
        if let Some(ns) = self.find_namespace(name) {
            return Ok(ns);
        }
        let id = self.registry.read().next_id;
        writer
            .commit(Batch { ops: vec![Op::CreateNamespace { ns: id, name: name.to_owned() }] })?;
        self.find_namespace(name).ok_or(Error::InvalidNamespace {
            name: name.to_owned(),
            reason: "the namespace vanished while it was created",
        })
    }

    /// Registers namespace `name` under `id` (a commit, the replay or the catalog at open).
    pub(super) fn add_namespace(&self, id: NsId, name: String) -> Arc<NsState> {
        let mut registry = self.registry.write();
        let state = Arc::new(NsState::new(id, name.clone(), self.persistent, self.new_index(id)));
        // A new namespace reads values where the others do.
        if let Some(ns) = registry.by_id.get(&DEFAULT_NS) {
            let (source, tree) = ns.index.source();
            state.index.publish(source.as_ref(), tree);
        }
        registry.by_name.insert(name, Arc::clone(&state));
        registry.by_id.insert(id, Arc::clone(&state));
        registry.next_id = registry.next_id.max(id.saturating_add(1));
        state
    }

    /// Every namespace, by ascending id.
    pub(super) fn namespaces(&self) -> Vec<Arc<NsState>> {
        let registry = self.registry.read();
        let mut all: Vec<Arc<NsState>> = registry.by_id.values().cloned().collect();
        all.sort_unstable_by_key(|s| s.id);
        all
    }

    /// Whether every namespace `writes` touches exists (and none is the catalog's).
    pub(super) fn namespaces_exist(&self, writes: &Writes) -> bool {
        let registry = self.registry.read();
        writes
            .namespaces()
            .iter()
            .all(|ns| *ns != tree_key::CATALOG && registry.by_id.contains_key(ns))
    }
}
