//! The checkpoint: folds the memtables (and, for a large commit, its sorted writes) into the
//! tree, makes it durable, and starts a new log generation.
//!
//! Under the writer lock: the newest version of every memtable key (and the catalog entries of
//! new namespaces, and values the mover empties pages of) →
//! [`Store::stage`](crate::tree::store::Store::stage) writes them as new pages, and returns the
//! leaves it replaced and wrote and what the tree held of each key →
//! [`Store::publish`](crate::tree::store::Store::publish) makes them durable and flips the meta
//! page → the keys of the replaced and written leaves are read → under the snapshot registry
//! lock, new readers get the new root and empty memtables (older iterators keep their pinned
//! root and frozen memtable), and with every index shard locked, a batch's writes are counted and
//! every index settles into the new leaves ([`IndexWriteGuard::settle`]) → the log starts a new
//! generation.

use std::sync::Arc;
#[cfg(test)]
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use parking_lot::RwLock;

use super::index::{IndexWriteGuard, Settlement};
use super::persist::{Persist, TreeSnap};
use super::reclaim::{add_moves, move_budget};
use super::tree_key;
use super::{ALL_SHARDS, Keyspace, NsState, ValueSource, Writer};
use crate::batch::{NsId, Writes};
use crate::error::{Error, Result};
use crate::page::PageId;
use crate::page::file::PageFile;
use crate::page::meta::LogBinding;
use crate::tree::write::{Change, LeafChanges};
use crate::tree::{self, read_node};
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
        if writer.compacting {
            // Every caller but the commit path (which skips it) waits for the compaction first
            // (`Persist::maintenance`): a checkpoint here would change the tree being copied.
            return Err(Error::Internal { detail: "a checkpoint during a compaction".into() });
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
        if writer.compacting {
            // The commit path logs every batch while a compaction copies the tree.
            return Err(Error::Internal { detail: "a direct write during a compaction".into() });
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
        // The tree may change only once the build of a lazy open has read all of it (and
        // counted its live values, which the checkpoint keeps up to date).
        self.wait_loaded()?;
        let owned = heads(&namespaces, &mems, &writer.new_namespaces);
        let empty = Writes::default();
        let (changes, from_batch) = merge(&owned, batch.unwrap_or(&empty));
        self.adopt_live_values(&mut store);
        let written: usize = changes.iter().filter_map(|c| c.value).map(|(v, _)| v.len()).sum();
        let budget = move_budget(written as u64);
        let entries = store.meta().entry_count;
        let to_move =
            p.mover.moves(store.live_values(), store.file(), store.root(), entries, budget)?;
        let (changes, from_batch) = add_moves(changes, from_batch, &to_move);
        let oldest = self.snapshots.lock().oldest_pinned(store.meta().sequence);
        // Every namespace but the default one has its catalog entry once this is durable.
        store.set_catalog_entries(namespaces.len().saturating_sub(1) as u64);
        let (mut staged, prior) = store.stage(&changes, lsn, oldest)?;
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
        let leaves = std::mem::take(&mut staged.leaves);
        let meta = store.publish(staged)?;
        drop(store);
        // Durable. The indexes follow their keys into the leaves just written; the leaves
        // replaced stay intact until a later checkpoint, which cannot start before this one
        // ends. An error from here on poisons the handle (the caller's `survives`).
        let settlements = settlements(&namespaces, &file, &leaves)?;
        let source = ValueSource { map: file.current_map()?, file: Arc::clone(&file) };
        let prior = prior.into_expiries();
        {
            let mut snapshots = self.snapshots.lock();
            snapshots.set_tree(Arc::new(TreeSnap { root, seq: meta.sequence, file }));
            for ns in &namespaces {
                ns.fresh_memtable();
            }
            // Every shard is locked and settled, and the batch's LSN published, before any is
            // released: a point reader sees all of the batch or none of it.
            let mut locked: Vec<_> =
                namespaces.iter().map(|ns| ns.index.lock(ALL_SHARDS)).collect();
            if batch.is_some() {
                count_batch(&namespaces, &mut locked, &changes, &from_batch, &prior);
            }
            for (index, settlement) in locked.iter_mut().zip(&settlements) {
                index.settle(settlement, Some(&source), root);
            }
            if batch.is_some() {
                self.committed.store(lsn, Ordering::Release);
            }
        }
        drop(changes);
        writer.garbage.clear();
        writer.collected_at = None;
        writer.new_namespaces.clear();
        writer.log_in_use = in_use;
        #[cfg(test)]
        p.mover.moved.fetch_add(to_move.len() as u64, AtomicOrdering::Relaxed);
        p.wal.reset(lsn, salt)?;
        *p.last_checkpoint.lock() = (lsn, Some(SystemTime::now()));
        Ok(())
    }
}

/// What each namespace's index changes after a checkpoint that replaced the leaves
/// `leaves.replaced` (of the old tree) with `leaves.written`: the keys of each, read from the
/// leaves themselves, in the order of `namespaces`.
///
/// # Errors
/// [`Error::Corruption`] or an I/O error reading a leaf.
fn settlements(
    namespaces: &[Arc<NsState>],
    file: &PageFile,
    leaves: &LeafChanges,
) -> Result<Vec<Settlement>> {
    let mut out: Vec<Settlement> = namespaces.iter().map(|_| Settlement::new()).collect();
    let mut visit = |leaf: PageId, written: bool| -> Result<()> {
        let page = read_node(file, leaf, 0)?;
        let l = tree::leaf(file, leaf, &page)?;
        let mut at = 0;
        for i in 0..l.len() {
            let key = l.key(i).map_err(|d| file.bad_page(leaf, d))?;
            let Some((id, key)) = tree_key::split(key) else { continue };
            if namespaces.get(at).is_none_or(|ns| ns.id != id) {
                let Some(found) = namespaces.iter().position(|ns| ns.id == id) else { continue };
                at = found;
            }
            if let (Some(ns), Some(s)) = (namespaces.get(at), out.get_mut(at)) {
                let place = l.place(i).map_err(|d| file.bad_page(leaf, d))?;
                let hash = ns.index.hash(key);
                if written {
                    s.written(hash, leaf, place);
                } else {
                    s.replaced(hash, leaf, place);
                }
            }
        }
        Ok(())
    };
    for &leaf in &leaves.replaced {
        visit(leaf, false)?;
    }
    for &leaf in &leaves.written {
        visit(leaf, true)?;
    }
    Ok(out)
}

/// Counts the writes of a batch a checkpoint wrote (the `changes` flagged in `from_batch`) into
/// the live counts and expiry indexes: each key held before what the memtable last gave it (the
/// recent table, still in `locked`) or else what the tree held (`prior`, per change), unless its
/// namespace was cleared since the previous checkpoint.
fn count_batch(
    namespaces: &[Arc<NsState>],
    locked: &mut [IndexWriteGuard<'_>],
    changes: &[Change<'_>],
    from_batch: &[bool],
    prior: &[Option<u64>],
) {
    let mut at = 0;
    let mut stats = None;
    for ((c, &new), &before) in changes.iter().zip(from_batch).zip(prior) {
        if !new {
            continue;
        }
        let Some((id, key)) = tree_key::split(c.key) else { continue };
        if namespaces.get(at).is_none_or(|ns| ns.id != id) || stats.is_none() {
            let Some(found) = namespaces.iter().position(|ns| ns.id == id) else { continue };
            at = found;
            stats = namespaces.get(at).map(|ns| ns.stats.write());
        }
        let (Some(index), Some(stats)) = (locked.get_mut(at), stats.as_mut()) else { continue };
        let old = index.held_before(key, before);
        stats.change(key, old, c.value.map(|(_, expires_at)| expires_at));
    }
}

/// The newest version of a key as a checkpoint writes it: value and expiry, or a removal.
type Head = Option<(Arc<[u8]>, u64)>;

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
