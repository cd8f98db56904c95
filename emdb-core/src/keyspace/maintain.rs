//! Maintenance of a persistent keyspace: compaction, online backup and statistics.
//!
//! Compaction holds the writer lock throughout (writers wait; readers go on): checkpoint → build
//! `<path>.compact` from the tree with [`TreeBuilder`](crate::tree::write::TreeBuilder) (bulk
//! load), synced → rename it over `<path>` → sync the directory → reopen the store (keeping the
//! lock) → point every index entry at its value's new place and swap the page file under all
//! index shard locks at once. A crash before the rename leaves the old file (and a stray
//! `<path>.compact`, removed by the next compaction); after it, the new one; both whole, and the
//! log, empty after the checkpoint, fits either. The new file's live values per value page are
//! counted by the same scan that re-points the index, and any cycle of the value mover starts
//! over.

use std::sync::Arc;

use super::persist::TreeSnap;
use super::{ALL_SHARDS, Held, IndexSlot, Keyspace, NsState, ValueSource, Writer};
use crate::batch::NsId;
use crate::error::{Error, Result};
use crate::io::{parent_dir, sidecar};
use crate::page::node::{ValueLoc, ValueRef};
use crate::stats::Stats;
use crate::tree::reclaim::LiveValues;
use crate::tree::store::Store;
use crate::tree::{Cursor, scan};

/// The bytes copied per read and write by a backup.
const COPY_CHUNK: usize = 1 << 20;

impl Keyspace {
    /// Rewrites the page file without free space; see the module documentation.
    ///
    /// # Errors
    /// [`Error::InMemory`], [`Error::Poisoned`], [`Error::WriteInTransaction`], or the error that
    /// stopped it (after the rename, it poisons the handle).
    pub(crate) fn compact(&self) -> Result<()> {
        if self.persist.is_none() {
            return Err(Error::InMemory { operation: "compact" });
        }
        let mut guard = self.lock_writer()?;
        self.checkpoint_locked(&mut guard.writer)?;
        self.compact_locked(&mut guard.writer)
    }

    fn compact_locked(&self, writer: &mut Writer) -> Result<()> {
        let Some(p) = &self.persist else { return Ok(()) };
        let storage = Arc::clone(p.store.lock().storage());
        let path = p.path.clone();
        let tmp = sidecar(&path, ".compact");
        let io = |e| Error::io(&tmp, e);
        if storage.exists(&tmp).map_err(io)? {
            storage.remove(&tmp).map_err(io)?;
        }
        {
            let mut fresh = Store::open(Arc::clone(&storage), &tmp, p.store_opts)?;
            let store = p.store.lock();
            // Every entry is copied, the catalog's too.
            fresh.set_catalog_entries(store.catalog_entries());
            let file = Arc::clone(store.file());
            let lsn = store.meta().checkpoint_lsn;
            let mut cursor = Cursor::new(&file, store.root());
            cursor.seek_first()?;
            let entries = std::iter::from_fn(|| {
                let item = match cursor.entry() {
                    Ok(None) => return None,
                    Err(e) => return Some(Err(e)),
                    Ok(Some(e)) => {
                        let value = match e.value {
                            ValueRef::Inline(b) => Ok(b.to_vec()),
                            ValueRef::Stored(loc) => file.read_value(loc),
                        };
                        value.map(|v| (e.key.to_vec(), v, e.expires_at))
                    }
                };
                Some(item.and_then(|entry| cursor.next().map(|()| entry)))
            });
            fresh.bulk_load(entries, lsn)?;
        }
        // The compacted file's own lock file is no longer needed.
        let _ = storage.remove(&sidecar(&tmp, ".lock"));
        let r = self.install_compacted(&storage, &tmp, &path, writer);
        if r.is_err() {
            self.poison();
        }
        r
    }

    fn install_compacted(
        &self,
        storage: &Arc<dyn crate::io::Storage>,
        tmp: &std::path::Path,
        path: &std::path::Path,
        writer: &mut Writer,
    ) -> Result<()> {
        let Some(p) = &self.persist else { return Ok(()) };
        storage.rename(tmp, path).map_err(|e| Error::io(path, e))?;
        storage.sync_dir(parent_dir(path)).map_err(|e| Error::io(path, e))?;
        let mut store = p.store.lock();
        store.reopen(p.store_opts)?;
        let file = Arc::clone(store.file());
        let (root, seq) = (store.root(), store.meta().sequence);
        drop(store);
        // Where every value that is not inline lives now.
        let namespaces = self.namespaces();
        let mut moved: Vec<(usize, Arc<[u8]>, ValueLoc)> = Vec::new();
        let mut live = LiveValues::default();
        let mut at = 0;
        scan(&file, root, |e| {
            if let ValueRef::Stored(loc) = e.value {
                live.add(loc);
            }
            if let ValueRef::Stored(loc) = e.value
                && let Some((prefix, key)) = e.key.split_first_chunk::<4>()
            {
                let id = NsId::from_be_bytes(*prefix);
                if namespaces.get(at).is_none_or(|ns: &Arc<NsState>| ns.id != id) {
                    at = namespaces.iter().position(|ns| ns.id == id).unwrap_or(usize::MAX);
                }
                moved.push((at, Arc::from(key), loc));
            }
            Ok(())
        })?;
        // Readers read a location and the file under a shard lock: swap both while every shard
        // of every namespace is locked, so no reader pairs an old location with the new file.
        let source = ValueSource { file: Arc::clone(&file), map: file.current_map()? };
        let mut guards: Vec<_> = namespaces.iter().map(|ns| ns.index.lock(ALL_SHARDS)).collect();
        *p.file.write() = Arc::clone(&file);
        for g in &mut guards {
            g.publish(Some(&source));
        }
        for (at, key, loc) in moved {
            if let Some(g) = guards.get_mut(at) {
                let expires_at = g.get(&key).map_or(0, |s| s.expires_at);
                g.put(&key, IndexSlot { held: Held::Disk(loc), expires_at });
            }
        }
        drop(guards);
        p.store.lock().set_live_values(live);
        p.mover.reset();
        self.snapshots.lock().set_tree(Arc::new(TreeSnap { root, seq, file }));
        writer.garbage.clear();
        Ok(())
    }

    /// Writes a consistent, openable copy of the database to `dest` while it stays in use:
    /// checkpoint, then copy the page file (writers wait; readers go on) to `<dest>.tmp`, sync it
    /// and rename it to `dest`.
    ///
    /// # Errors
    /// [`Error::InMemory`], [`Error::Poisoned`], [`Error::WriteInTransaction`], or an I/O error.
    pub(crate) fn backup_to(&self, dest: &std::path::Path) -> Result<()> {
        let Some(p) = &self.persist else { return Err(Error::InMemory { operation: "backup" }) };
        let mut guard = self.lock_writer()?;
        self.checkpoint_locked(&mut guard.writer)?;
        let store = p.store.lock();
        let storage = Arc::clone(store.storage());
        let file = Arc::clone(store.file());
        let tmp = sidecar(dest, ".tmp");
        let io = |e| Error::io(&tmp, e);
        let out = storage.open_file(&tmp, true).map_err(io)?;
        out.set_len(0).map_err(io)?;
        let len = file.len()?;
        let mut buf = vec![0u8; COPY_CHUNK];
        let mut at = 0u64;
        while at < len {
            let n = usize::try_from(len - at).map_or(COPY_CHUNK, |r| r.min(COPY_CHUNK));
            let chunk = buf.get_mut(..n).unwrap_or_default();
            file.read_at(chunk, at)?;
            out.write_at(chunk, at).map_err(io)?;
            at += n as u64;
        }
        out.sync_all().map_err(io)?;
        drop(out);
        drop(store);
        drop(guard);
        storage.rename(&tmp, dest).map_err(|e| Error::io(dest, e))?;
        storage.sync_dir(parent_dir(dest)).map_err(|e| Error::io(dest, e))
    }

    /// Sizes and state of the database.
    ///
    /// # Errors
    /// An I/O error reading a file length.
    pub(crate) fn stats(&self) -> Result<Stats> {
        self.wait_loaded()?;
        let now = self.now();
        let live_records = self.namespaces().iter().map(|ns| ns.stats.read().len(now) as u64).sum();
        let last_lsn = self.committed.load(std::sync::atomic::Ordering::Acquire);
        let Some(p) = &self.persist else {
            return Ok(Stats {
                live_records,
                file_bytes: 0,
                wal_bytes: 0,
                free_pages: 0,
                dead_value_bytes: 0,
                reclaimable_bytes: 0,
                last_checkpoint_lsn: 0,
                last_checkpoint_time: None,
                last_lsn,
            });
        };
        let mut store = p.store.lock();
        self.adopt_live_values(&mut store);
        let meta = store.meta();
        let (_, time) = *p.last_checkpoint.lock();
        Ok(Stats {
            live_records,
            file_bytes: store.file().len()?,
            wal_bytes: p.wal.size(),
            free_pages: store.free_pages(),
            dead_value_bytes: meta.dead_value_bytes,
            reclaimable_bytes: store.live_values().map_or(0, LiveValues::reclaimable_bytes),
            last_checkpoint_lsn: meta.checkpoint_lsn,
            last_checkpoint_time: time,
            last_lsn,
        })
    }
}
