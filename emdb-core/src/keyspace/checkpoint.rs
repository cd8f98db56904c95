//! The checkpoint: folds the memtables (and, for a large commit, its sorted writes) into the
//! tree, makes it durable, and starts a new log generation.
//!
//! Under the writer lock: the newest version of every memtable key (and the catalog entries of
//! new namespaces) → [`Store::stage`](crate::tree::store::Store::stage) writes them as new pages, and returns where each value
//! went → [`Store::publish`](crate::tree::store::Store::publish) makes them durable and flips the meta page → under the snapshot
//! registry lock, new readers get the new root and empty memtables (older iterators keep their
//! pinned root and frozen memtable) → index entries of values that went to value pages or
//! overflow runs drop their resident bytes → the log starts a new generation.

use std::sync::Arc;
#[cfg(test)]
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use parking_lot::RwLock;

use super::persist::{Persist, TreeSnap};
use super::reclaim::{add_moves, move_budget};
use super::tree_key::{self, CATALOG};
use super::{Keyspace, NsState, Writer};
use crate::batch::{NsId, Writes};
use crate::error::{Error, Result};
use crate::page::meta::LogBinding;
use crate::page::value::ValueLoc;
use crate::tree::store::Placed;
use crate::tree::write::Change;
use crate::wal::fresh_salt;

impl Keyspace {
    /// Writes the memtables into the tree, makes it durable, and starts a new log generation.
    /// The caller holds the writer lock (`writer`).
    pub(crate) fn checkpoint_locked(&self, writer: &mut Writer) -> Result<()> {
        self.durability.checkpoint(self, writer)
    }

    /// [`checkpoint_locked`](Self::checkpoint_locked) on a database with files `p`.
    pub(super) fn checkpoint_files(&self, p: &Persist, writer: &mut Writer) -> Result<()> {
        if self.is_poisoned() {
            return Err(Error::Poisoned);
        }
        let r = self.checkpoint_inner(p, writer, None);
        if let Err(e) = &r
            && !p.survives(e)
        {
            self.poison();
        }
        r
    }

    /// Commits `batch` (sorted puts and removes of existing namespaces) without logging it: one checkpoint writes it to the page file together with every
    /// memtable, and the meta-page flip makes it durable. Only then is it published in memory:
    /// the index gets the values' disk locations (or the bytes of inline values) straight away,
    /// and the batch never enters a memtable. The caller holds the writer lock and has taken
    /// `lsn` with [`Wal::reserve_lsn`](crate::wal::Wal::reserve_lsn).
    ///
    /// # Errors
    /// As [`checkpoint_locked`](Self::checkpoint_locked); a failure poisons the handle (a
    /// failure after the meta flip still publishes the batch, which is durable).
    pub(super) fn checkpoint_with_writes(
        &self,
        p: &Persist,
        writer: &mut Writer,
        batch: &Writes,
        lsn: u64,
    ) -> Result<()> {
        if self.is_poisoned() {
            return Err(Error::Poisoned);
        }
        writer.last_lsn = lsn;
        let r = self.checkpoint_inner(p, writer, Some(batch));
        if let Err(e) = &r {
            if p.survives(e) {
                // Nothing of the batch was applied: its LSN goes back, so that the next commit
                // takes it and the log's frames stay consecutive.
                p.wal.unreserve_lsn(lsn);
                writer.last_lsn = lsn - 1;
            } else {
                self.poison();
            }
        }
        r
    }

    fn checkpoint_inner(
        &self,
        p: &Persist,
        writer: &mut Writer,
        batch: Option<&Writes>,
    ) -> Result<()> {
        let lsn = writer.last_lsn;
        let namespaces = self.namespaces();
        let mems: Vec<_> = namespaces.iter().map(|ns| ns.memtable()).collect();
        let mut store = p.store.lock();
        let nothing_new =
            mems.iter().all(|m| m.read().is_empty()) && writer.new_namespaces.is_empty();
        if batch.is_none() && nothing_new && store.meta().checkpoint_lsn >= lsn {
            return Ok(());
        }
        let owned = heads(&namespaces, &mems, &writer.new_namespaces);
        let empty = Writes::default();
        let (changes, from_batch) = merge(&owned, batch.unwrap_or(&empty));
        self.adopt_live_values(&mut store);
        let written: usize = changes.iter().filter_map(|c| c.value).map(|(v, _)| v.len()).sum();
        let budget = move_budget(written as u64);
        let to_move = p.mover.moves(&namespaces, store.live_values(), store.file(), budget)?;
        let (changes, from_batch) = add_moves(changes, from_batch, &to_move);
        let oldest = self.snapshots.lock().oldest_pinned(store.meta().sequence);
        // Every namespace but the default one has its catalog entry once this is durable.
        store.set_catalog_entries(namespaces.len().saturating_sub(1) as u64);
        // The batch's namespaces. A large batch into empty indexes (a first load) is applied to
        // them while its pages are made durable, on another thread, and published once they
        // are; any other is applied once they are.
        let written = batch.map(|b| (b, self.written(b)));
        let first_load =
            written.as_ref().filter(|(b, w)| b.len() >= OVERLAP_SYNC_ABOVE && w.indexes_empty());
        let (staged, placed) = store.stage(&changes, lsn, oldest)?;
        // The meta page names the log generation that follows it: a new one when the log is
        // reset below (it holds nothing past this checkpoint), else the current one.
        let reset = p.wal.last_lsn() == lsn;
        let salt = if reset { fresh_salt() } else { p.wal.salt() };
        // The closing checkpoint of a log it empties records the log clean in its own meta
        // page (a crash before the reset leaves only frames the tree holds).
        let in_use = !(writer.closing && reset);
        if let Some(log) = store.log_binding() {
            store.set_log_binding(LogBinding { salt, in_use, ..log });
        }
        let file = Arc::clone(store.file());
        let root = staged.root;
        let Placements { moved, relocated, batch_locs } =
            placements(&namespaces, &changes, &from_batch, placed, batch.map_or(0, Writes::len));
        drop(changes);
        // The file grew: readers get a mapping that covers the values about to move to it
        // (before any shard is locked below: publishing takes each shard's lock). A failure is
        // reported once the batch, durable by then, is published.
        let published = self.publish_value_source();
        let overlapped = match first_load {
            Some((batch, written)) => std::thread::scope(|scope| {
                let spare = staged.clone();
                let store = &mut *store;
                let sync = std::thread::Builder::new()
                    .name("emdb-sync".into())
                    .spawn_scoped(scope, move || store.publish(spare))
                    .ok()?;
                let applied = written.lock_and_apply(batch, &batch_locs);
                // The thread returns what `publish` does; a panic there (none is possible) is
                // a failed publish.
                let meta = sync.join().unwrap_or(Err(Error::Poisoned));
                Some((meta, applied))
            }),
            _ => None,
        };
        let (meta, applied) = match overlapped {
            Some((Ok(meta), applied)) => (meta, Some(applied)),
            Some((Err(e), applied)) => {
                // Not durable: the indexes go back to empty before anyone reads them.
                super::Written::undo(applied);
                return Err(e);
            }
            // No thread to overlap with (or no first load): durable first, then applied.
            None => (store.publish(staged)?, None),
        };
        drop(store);
        {
            let mut snapshots = self.snapshots.lock();
            snapshots.set_tree(Arc::new(TreeSnap { root, seq: meta.sequence, file }));
            for ns in &namespaces {
                ns.fresh_memtable();
            }
            // Every touched shard is locked and filled, and the LSN published before any is
            // released: a point reader sees all of the batch or none of it.
            match (applied, &written) {
                (Some(applied), _) => self.publish_applied(applied, lsn),
                (None, Some((batch, written))) => {
                    self.publish_applied(written.lock_and_apply(batch, &batch_locs), lsn);
                }
                (None, None) => {}
            }
        }
        writer.garbage.clear();
        writer.collected_at = None;
        writer.new_namespaces.clear();
        for (at, key, loc) in moved {
            if let Some(ns) = namespaces.get(at) {
                ns.index.move_to_disk(&key, loc);
            }
        }
        writer.log_in_use = in_use;
        #[cfg(test)]
        p.mover.moved.fetch_add(relocated.len() as u64, Ordering::Relaxed);
        for (at, key, from, to) in relocated {
            if let Some(ns) = namespaces.get(at) {
                ns.index.repoint(&key, from, to);
            }
        }
        published?;
        p.wal.reset(lsn, salt)?;
        *p.last_checkpoint.lock() = (lsn, Some(SystemTime::now()));
        Ok(())
    }
}

/// The newest version of a key as a checkpoint writes it: value and expiry, or a removal.
type Head = Option<(Arc<[u8]>, u64)>;

/// Where a checkpoint placed the values of its changes, sorted by what the index does with them.
struct Placements {
    /// Values of memtable changes that left the leaves: (namespace, key, location).
    moved: Vec<(usize, Vec<u8>, ValueLoc)>,
    /// Values moved out of value pages being emptied: (namespace, key, from, to).
    relocated: Vec<(usize, Vec<u8>, ValueLoc, ValueLoc)>,
    /// Per write of the batch, where its value went (`None`: in its leaf, or a removal).
    batch_locs: Vec<Option<ValueLoc>>,
}

/// Sorts where a checkpoint put each change's value by what the index does with it.
fn placements(
    namespaces: &[Arc<NsState>],
    changes: &[Change<'_>],
    from_batch: &[bool],
    placed: Placed,
    batch_len: usize,
) -> Placements {
    let mut out = Placements {
        moved: Vec::new(),
        relocated: Vec::new(),
        batch_locs: Vec::with_capacity(batch_len),
    };
    for ((c, &new), loc) in changes.iter().zip(from_batch).zip(placed.into_locations()) {
        let (id, key) = tree_key::split(c.key).unwrap_or_default();
        let ns_at = || namespaces.iter().position(|ns| ns.id == id).unwrap_or(usize::MAX);
        let key = || key.to_vec();
        if let Some(from) = c.from {
            if let Some(to) = loc {
                out.relocated.push((ns_at(), key(), from, to));
            }
        } else if new {
            out.batch_locs.push(loc);
        } else if let Some(loc) = loc
            && id != CATALOG
        {
            out.moved.push((ns_at(), key(), loc));
        }
    }
    out
}

/// From how many writes a batch into empty indexes is applied to them while its pages are
/// synced (smaller ones are not worth a thread).
const OVERLAP_SYNC_ABOVE: usize = 1 << 16;

/// The newest version of every key changed in the memtables, and the catalog entries of the
/// namespaces created since the last checkpoint, in tree-key order (namespaces ascending).
fn heads(
    namespaces: &[Arc<NsState>],
    mems: &[Arc<RwLock<super::Memtable>>],
    new_namespaces: &[(NsId, String)],
) -> Vec<(Vec<u8>, Head)> {
    let mut owned: Vec<(Vec<u8>, Head)> = Vec::new();
    for (ns, mem) in namespaces.iter().zip(mems) {
        for (key, head) in super::Memtable::read_folded(mem).heads() {
            let k = tree_key::encode(ns.id, key);
            owned.push((k, head.map(|s| (Arc::clone(&s.value), s.expires_at))));
        }
    }
    let mut new_ns = new_namespaces.to_vec();
    new_ns.sort_unstable_by_key(|(id, _)| *id);
    for (id, name) in &new_ns {
        owned.push((tree_key::catalog_key(*id), Some((Arc::from(name.as_bytes()), 0))));
    }
    owned
}

/// Merges the memtables' heads with a batch's writes (both sorted by tree key) into one
/// sorted change list; on the same key the batch, which is newer, wins. Also returns, per
/// change, whether it came from the batch.
fn merge<'a>(owned: &'a [(Vec<u8>, Head)], batch: &'a Writes) -> (Vec<Change<'a>>, Vec<bool>) {
    let mut changes: Vec<Change<'a>> = Vec::with_capacity(owned.len() + batch.len());
    let mut from_batch: Vec<bool> = Vec::with_capacity(owned.len() + batch.len());
    let (mut mem_at, mut op_at) = (0, 0);
    loop {
        let head =
            owned.get(mem_at).map(|(k, v)| Change::new(k, v.as_ref().map(|(v, e)| (&v[..], *e))));
        let new =
            (op_at < batch.len()).then(|| Change::new(batch.tree_key(op_at), batch.value(op_at)));
        let take_new = match (&head, &new) {
            (Some(old), Some(new)) => {
                if old.key == new.key {
                    mem_at += 1;
                }
                old.key >= new.key
            }
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (None, None) => break,
        };
        let next = if take_new {
            op_at += 1;
            new
        } else {
            mem_at += 1;
            head
        };
        if let Some(change) = next {
            changes.push(change);
            from_batch.push(take_new);
        }
    }
    (changes, from_batch)
}
