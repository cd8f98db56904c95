//! Opening a persistent keyspace (recovery).
//!
//! Take the lock and read the newest valid meta page ([`Store::open`]) → read the namespace
//! catalog → read the log's frames newer than the checkpoint → with frames: rebuild every
//! namespace's index, expiry index and count with one sequential leaf scan, then replay the
//! frames through the same `apply` a commit uses; without: start that scan on a background
//! thread and return ([`loading`](super::loading)).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

use super::loading::{Loading, fill_indexes};
use super::persist::{Persist, PersistOptions, Syncer, TreeSnap};
use super::reclaim::Mover;
use super::tree_key::{self, CATALOG};
use super::{Config, Keyspace, Writer};
use crate::error::{Error, Result};
use crate::io::{Storage, replaced_path};
use crate::keyspace::FlushPolicy;
use crate::page::file::PageFile;
use crate::page::meta::{LogBinding, random_id};
use crate::page::value::ValueRef;
use crate::tree::store::{Access, Store, StoreOptions, pid_path, record_locker};
use crate::tree::{Cursor, TreeRoot};
use crate::wal::{LogCheck, Recovery, Wal};

impl Keyspace {
    /// Opens (or creates) the database at `opts.path`: lock, newest meta page, index rebuild from
    /// the tree, replay of the log.
    ///
    /// # Errors
    /// [`Error::Locked`], [`Error::NotAnEmdbFile`], [`Error::UnsupportedFormatVersion`],
    /// [`Error::Corruption`], or an I/O error.
    pub(crate) fn open(config: Config, opts: &PersistOptions) -> Result<Keyspace> {
        let store_opts = StoreOptions {
            mmap: opts.mmap,
            access: if opts.read_only { Access::ReadOnly } else { Access::Create },
            free_emptied: opts.reclaim.free_emptied,
            ..StoreOptions::default()
        };
        let mut store = Store::open(Arc::clone(&opts.storage), &opts.path, store_opts)?;
        // An open that fails from here on leaves no `<path>.lock` behind.
        let mut record = (!opts.read_only).then(|| LockRecord(opts.storage.as_ref(), &opts.path));
        if !opts.read_only {
            settle_in(opts.storage.as_ref(), &opts.path)?;
        }
        let policy = config.flush_policy;
        let ks = Keyspace::new(config, true);
        let meta = store.meta();
        let file = Arc::clone(store.file());
        let root = store.root();
        // A meta page that records no catalog entries saves looking for them (three pages
        // read at open); one of an older format says nothing either way.
        if meta.catalog_entries != Some(0) {
            let found = ks.load_catalog(&file, root)?;
            if let Some(recorded) = meta.catalog_entries
                && recorded != found
            {
                return Err(file.corruption(
                    0,
                    format!(
                        "the meta page records {recorded} namespace catalog entries, the tree \
                         holds {found}"
                    ),
                ));
            }
            store.set_catalog_entries(found);
        }
        ks.snapshots.lock().set_tree(Arc::new(TreeSnap {
            root,
            seq: meta.sequence,
            file: Arc::clone(&file),
        }));
        let checkpoint_lsn = meta.checkpoint_lsn;
        let (wal, recovery, frames) = open_log(&mut store, opts)?;
        let in_use = meta.log.is_some_and(|b| b.in_use);
        let mut writer =
            Writer { last_lsn: checkpoint_lsn, log_in_use: in_use, ..Writer::default() };
        let mut ks = ks;
        // Point reads, and the replay's writes, look keys up in this tree until the indexes are
        // complete; a background thread builds them (`loading.rs`) while the frames of the log
        // past the checkpoint (a crash, or a handle still open elsewhere before) are replayed,
        // so that recovery costs what the log holds. The build counts the tree's keys apart
        // from the replay's changes, as it does those of commits made while it runs.
        ks.publish_tree(&file, root)?;
        let start = Loading::start(
            ks.namespaces(),
            Arc::clone(&file),
            root,
            meta.entry_count,
            #[cfg(test)]
            opts.hold_index_build.clone(),
        );
        if let Ok(loading) = start {
            ks.loading = Some(loading);
        } else {
            // No thread to spare: build them here.
            let namespaces = ks.namespaces();
            let cancel = AtomicBool::new(false);
            store.set_live_values(fill_indexes(
                &namespaces,
                &file,
                root,
                meta.entry_count,
                &cancel,
            )?);
        }
        for (lsn, batch) in frames {
            ks.apply(&batch, lsn, &mut writer)?;
            writer.last_lsn = lsn;
        }
        writer.last_lsn = recovery.last_lsn;
        ks.committed.store(recovery.last_lsn, Ordering::Release);
        *ks.writer.get_mut() = writer;
        let wal = Arc::new(wal);
        let syncer = match policy {
            FlushPolicy::Interval(every) if !opts.read_only => {
                Some(Syncer::start(Arc::clone(&wal), every))
            }
            _ => None,
        };
        ks.durability = Box::new(Persist {
            path: opts.path.clone(),
            store: Mutex::new(store),
            file: RwLock::new(Arc::clone(&file)),
            store_opts,
            wal,
            checkpoint_wal_bytes: opts.checkpoint_wal_bytes,
            last_checkpoint: Mutex::new((checkpoint_lsn, None)),
            mover: Mover::new(opts.reclaim.move_dead_percent),
            syncer,
            read_only: opts.read_only,
            maintenance: Mutex::new(()),
            maintainer: AtomicUsize::new(0),
        });
        // Opened: the record stays until the handle closes.
        std::mem::forget(record.take());
        Ok(ks)
    }

    /// Reads the namespace catalog and registers every namespace it names; returns the number
    /// of its entries.
    fn load_catalog(&self, file: &PageFile, root: TreeRoot) -> Result<u64> {
        let catalog = tree_key::prefix(CATALOG);
        let mut cursor = Cursor::new(file, root);
        cursor.seek_at_or_after(&catalog)?;
        let mut entries = 0;
        while let Some(e) = cursor.entry()? {
            entries += 1;
            let id = tree_key::catalog_entry(e.key);
            let value = match e.value {
                ValueRef::Inline(b) => b.to_vec(),
                ValueRef::Stored(loc) => file.read_value(loc)?,
            };
            let (Some(id), Ok(name)) = (id, String::from_utf8(value)) else {
                return Err(file.corruption(0, "a namespace catalog entry is malformed"));
            };
            if id != super::DEFAULT_NS && id != CATALOG {
                self.add_namespace(id, name);
            }
            cursor.next()?;
        }
        Ok(entries)
    }
}

/// A log frame to replay: its LSN and its batch.
type Frame = (u64, crate::batch::Batch);

/// Opens the log of the page file `store` opened (see [`Wal::open`]) and collects its frames
/// past the checkpoint; records in the store what its next meta page says of the log.
///
/// # Errors
/// As [`Wal::open`].
fn open_log(store: &mut Store, opts: &PersistOptions) -> Result<(Wal, Recovery, Vec<Frame>)> {
    let meta = store.meta();
    // A file of a format before 5 gets its database id now; its meta pages record it from the
    // first commit or checkpoint on.
    let database_id = meta.log.map_or_else(random_id, |b| b.database_id);
    let check = LogCheck {
        database_id,
        binding: meta.log,
        set_aside: opts.recover_without_log,
        meta_intact: store.meta_intact(),
        read_only: opts.read_only,
    };
    let mut frames = Vec::new();
    let (wal, recovery) =
        Wal::open(&opts.storage, &opts.path, meta.checkpoint_lsn, check, |lsn, batch| {
            frames.push((lsn, batch));
            Ok(())
        })?;
    let in_use = meta.log.is_some_and(|b| b.in_use);
    store.set_log_binding(LogBinding { database_id, salt: wal.salt(), in_use });
    Ok((wal, recovery, frames))
}

/// The writer's lock record (`<path>.lock`) of an open under way, removed if the open fails
/// (dropped before the store, whose lock it names, lets go).
struct LockRecord<'a>(&'a dyn Storage, &'a std::path::Path);

impl Drop for LockRecord<'_> {
    fn drop(&mut self) {
        let _ = self.0.remove(&pid_path(self.1));
    }
}

/// What the writer does once it holds the lock of the database at `path`: records its process
/// id, and removes the old file of a replacement that was done but not cleaned up (the lock it
/// holds is that of the file that replaced it, so no replacement is under way).
fn settle_in(storage: &dyn Storage, path: &std::path::Path) -> Result<()> {
    record_locker(storage, path);
    let old = replaced_path(path);
    if storage.exists(&old).map_err(|e| Error::io(&old, e))? {
        storage.remove(&old).map_err(|e| Error::io(&old, e))?;
    }
    Ok(())
}
