//! The integrity check of a whole keyspace: the durable tree ([`tree::check`]) and the agreement
//! of every namespace's in-memory point index, expiry index and live count with the tree and the
//! memtable above it.
//!
//! It runs under the writer lock (writers wait, readers go on), so the durable root, the
//! memtables and the indexes hold still. It checks the durable root as it is and never writes:
//! no checkpoint first, so it can also inspect a handle that a failed sync has poisoned.
//! Expected state of one namespace: every tree entry under its prefix that the memtable does not
//! hold, plus every memtable key whose newest version is a value. Each of them must be in the
//! point index with the same expiry and the same value (the same bytes, or for a value stored
//! outside its leaf, the same location), and the index, the live count and the expiry index
//! must hold no more. The live values counted per value page (which decide what checkpoints
//! free) must equal a count of the tree's entries.

use crate::progress::Operation;
use std::collections::HashMap;
use std::sync::Arc;

use super::index::{KeyPlace, SHARDS};
use super::tree_key::{self, CATALOG};
use super::{Held, Keyspace, Memtable, NsState};
use crate::batch::{DEFAULT_NS, NO_EXPIRY, NsId};
use crate::error::{Error, Result};
use crate::integrity::IntegrityReport;
use crate::page::file::PageFile;
use crate::page::value::{ValueLoc, ValueRef};
use crate::tree::reclaim::LiveValues;
use crate::tree::{self, TreeRoot, check};

/// What the stored data says a key holds.
enum Want<'a> {
    /// These bytes (inline in a leaf, or in the memtable).
    Bytes(&'a [u8]),
    /// The value at this location of the page file.
    Stored(ValueLoc),
}

/// Per namespace: how many records the stored data holds, and how many have an expiry.
#[derive(Default, Clone, Copy)]
struct Counts {
    live: u64,
    expiring: u64,
}

/// The state of one run of the check.
struct Checker<'a> {
    namespaces: &'a [Arc<NsState>],
    /// The position of each namespace in `namespaces`, by id.
    at: HashMap<NsId, usize>,
    counts: Vec<Counts>,
    /// The page file index entries point into (none in memory).
    file: Option<Arc<PageFile>>,
    /// Per namespace, the (hash, leaf) of every key of the tree: what its settled entries may
    /// name (and, for an index that holds every key, must).
    settled: Vec<Vec<KeyPlace>>,
    report: IntegrityReport,
}

impl Keyspace {
    /// Checks the durable tree and every in-memory index against it; see the module
    /// documentation.
    ///
    /// # Errors
    /// [`Error::WriteInTransaction`]; [`Error::Corruption`] naming the file and offset of the
    /// first damaged structure; [`Error::IndexMismatch`]; an I/O error.
    pub(crate) fn check_integrity(&self) -> Result<IntegrityReport> {
        self.wait_loaded()?;
        let guard = self.hold_writer()?;
        let namespaces = self.namespaces();
        let mems: Vec<_> = namespaces.iter().map(|ns| ns.memtable()).collect();
        let mems: Vec<_> = mems.iter().map(|m| Memtable::read_folded(m)).collect();
        let mut c = Checker {
            namespaces: &namespaces,
            at: namespaces.iter().enumerate().map(|(i, ns)| (ns.id, i)).collect(),
            counts: vec![Counts::default(); namespaces.len()],
            file: None,
            settled: vec![Vec::new(); namespaces.len()],
            report: IntegrityReport {
                namespaces: namespaces.len() as u64,
                ..IntegrityReport::default()
            },
        };
        if let Some(p) = self.durability.files() {
            let (file, meta, live) = {
                let mut store = p.store.lock();
                self.adopt_live_values(&mut store);
                (Arc::clone(store.file()), store.meta(), store.live_values().cloned())
            };
            if !Arc::ptr_eq(&file, &p.file()) {
                return Err(mismatch(&self.default_ns, &[], "point reads use another page file"));
            }
            let mut progress =
                self.config.progress.start(Operation::IntegrityCheck, meta.page_count);
            let r = check::check_reporting(&file, &meta, &mut |n| progress.advance(n))?;
            progress.finish();
            c.report.tree_pages = r.tree_pages;
            c.report.entries = r.entries;
            c.report.value_pages = r.value_pages;
            c.report.dead_value_pages = r.dead_value_pages;
            c.report.overflow_pages = r.overflow_pages;
            c.report.free_list_pages = r.free_list_pages;
            c.report.free_pages = r.free_pages;
            let root = TreeRoot { root: meta.root, height: meta.height };
            c.tree(&file, root, &mems, &guard.writer.new_namespaces)?;
            // The live values per value page decide which pages checkpoints free.
            if let Some(live) = live
                && let Some(d) = live.differs_from(&LiveValues::count(&file, root)?)
            {
                return Err(mismatch(&self.default_ns, &[], &d));
            }
            c.file = Some(file);
        }
        for (i, mem) in mems.iter().enumerate() {
            c.memtable(i, mem)?;
        }
        drop(mems);
        drop(guard);
        Ok(c.report)
    }
}

impl Checker<'_> {
    /// Checks every tree entry the memtables do not override against the index, and the
    /// catalog against the open namespaces (`created`: those not yet in the tree).
    fn tree(
        &mut self,
        file: &PageFile,
        root: TreeRoot,
        mems: &[impl std::ops::Deref<Target = Memtable>],
        created: &[(NsId, String)],
    ) -> Result<()> {
        let mut catalogued = vec![false; self.namespaces.len()];
        tree::scan_leaves(file, root, |leaf, place, e| {
            let Some((id, key)) = tree_key::split(e.key) else {
                return Err(file.corruption(0, "a tree key is shorter than its namespace prefix"));
            };
            if id == CATALOG {
                let name = match e.value {
                    ValueRef::Inline(b) => b.to_vec(),
                    ValueRef::Stored(loc) => file.read_value(loc)?,
                };
                let named = tree_key::catalog_entry(e.key);
                let i = named.and_then(|n| self.at.get(&n).copied());
                let found = i.and_then(|i| self.namespaces.get(i));
                if found.is_none_or(|ns| ns.name.as_bytes() != name) {
                    let what = format!("catalog entry {name:02x?} names no open namespace");
                    return Err(self.mismatch(DEFAULT_NS, key, &what));
                }
                if let Some(seen) = i.and_then(|i| catalogued.get_mut(i)) {
                    *seen = true;
                }
                return Ok(());
            }
            let Some(&i) = self.at.get(&id) else {
                let what = format!("tree keys of namespace {id}, which is not open");
                return Err(self.mismatch(DEFAULT_NS, key, &what));
            };
            if let (Some(settled), Some(ns)) = (self.settled.get_mut(i), self.namespaces.get(i)) {
                settled.push((ns.index.hash(key).raw(), leaf, place));
            }
            if mems.get(i).is_none_or(|m| m.head(key).is_some()) {
                // The memtable holds a newer version: checked with the memtable.
                return Ok(());
            }
            let want = match e.value {
                ValueRef::Inline(b) => Want::Bytes(b),
                ValueRef::Stored(loc) => Want::Stored(loc),
            };
            self.compare(i, key, e.expires_at, &want, Some(file))
        })?;
        for (ns, seen) in self.namespaces.iter().zip(catalogued) {
            if !seen && ns.id != DEFAULT_NS && !created.iter().any(|(id, _)| *id == ns.id) {
                let what = "an open namespace is neither in the catalog nor created since";
                return Err(self.mismatch(ns.id, &[], what));
            }
        }
        Ok(())
    }

    /// Checks the memtable of namespace `i` against its index, then the counts.
    fn memtable(&mut self, i: usize, mem: &Memtable) -> Result<()> {
        let Some(ns) = self.namespaces.get(i) else { return Ok(()) };
        let file = self.file.clone();
        for (key, head) in mem.heads() {
            match head {
                Some(slot) => {
                    let want = Want::Bytes(&slot.value);
                    self.compare(i, key, slot.expires_at, &want, file.as_deref())?;
                    self.report.uncheckpointed_records += 1;
                }
                None if ns.index.slot(key)?.is_some() => {
                    return Err(self.mismatch(ns.id, key, "a removed key is in the index"));
                }
                None => {}
            }
        }
        let mut unheaded = None;
        for shard in 0..SHARDS {
            ns.index.for_each_recent(shard, |key, _| {
                if unheaded.is_none() && mem.head(key).is_none() {
                    unheaded = Some(key.to_vec());
                }
            });
        }
        if let Some(key) = unheaded {
            let what = "the index holds a write since the checkpoint that the memtable does not";
            return Err(self.mismatch(ns.id, &key, what));
        }
        self.settled_entries(i)?;
        let c = self.counts.get(i).copied().unwrap_or_default();
        let stats = ns.stats.read();
        let (live, expiring) = (stats.live() as u64, stats.expiring() as u64);
        if live != c.live || expiring != c.expiring {
            let what = format!(
                "the stored data holds {} records ({} with an expiry); the live count says \
                 {live}, the expiry index holds {expiring}",
                c.live, c.expiring
            );
            return Err(self.mismatch(ns.id, &[], &what));
        }
        self.report.records += c.live;
        Ok(())
    }

    /// Checks the settled entries of namespace `i` against the keys of the tree: each must name
    /// a leaf that holds a key of its hash, and an index that holds every key must have an
    /// entry for each.
    fn settled_entries(&mut self, i: usize) -> Result<()> {
        let Some(ns) = self.namespaces.get(i) else { return Ok(()) };
        let mut want = std::mem::take(self.settled.get_mut(i).unwrap_or(&mut Vec::new()));
        want.sort_unstable();
        want.dedup();
        let mut have = Vec::new();
        for shard in 0..SHARDS {
            ns.index.for_each_settled(shard, |entry| have.push(entry));
        }
        have.sort_unstable();
        if let Some(w) = have.windows(2).find(|w| w.first() == w.get(1)) {
            let what = format!("the index names the place of a key twice: {:?}", w.first());
            return Err(self.mismatch(ns.id, &[], &what));
        }
        if let Some(extra) = have.iter().find(|e| want.binary_search(e).is_err()) {
            let (hash, leaf, place) = extra;
            let what = format!(
                "the index names place {place:#x} of leaf {leaf} for hash {hash:#x}, which does \
                 not hold a key of that hash"
            );
            return Err(self.mismatch(ns.id, &[], &what));
        }
        let every_key = ns.index.holds_every_key() && ns.index.is_complete();
        if every_key && !ns.index.is_cleared() && have.len() != want.len() {
            let what = format!(
                "the tree's keys need {} index entries, the index has {}",
                want.len(),
                have.len()
            );
            return Err(self.mismatch(ns.id, &[], &what));
        }
        Ok(())
    }

    /// Checks the index entry of `key` in namespace `i` against what the stored data says it
    /// holds, and counts it.
    fn compare(
        &mut self,
        i: usize,
        key: &[u8],
        expires_at: u64,
        want: &Want<'_>,
        file: Option<&PageFile>,
    ) -> Result<()> {
        let Some(ns) = self.namespaces.get(i) else { return Ok(()) };
        let Some(slot) = ns.index.slot(key)? else {
            return Err(self.mismatch(ns.id, key, "a stored key is missing from the index"));
        };
        if slot.expires_at != expires_at {
            let what = format!("index expiry {} but stored {expires_at}", slot.expires_at);
            return Err(self.mismatch(ns.id, key, &what));
        }
        let read = |loc: ValueLoc| match file {
            Some(f) => f.read_value(loc),
            None => Err(self.mismatch(ns.id, key, "a value location in an in-memory database")),
        };
        let same = match (&slot.held, want) {
            (Held::Disk(have), Want::Stored(loc)) => have == loc,
            (Held::Mem(have), Want::Bytes(bytes)) => **have == **bytes,
            (Held::Mem(have), Want::Stored(loc)) => **have == *read(*loc)?,
            (Held::Disk(have), Want::Bytes(bytes)) => read(*have)? == *bytes,
        };
        if !same {
            return Err(self.mismatch(
                ns.id,
                key,
                "the index holds another value than the stored data",
            ));
        }
        if let Some(c) = self.counts.get_mut(i) {
            c.live += 1;
            c.expiring += u64::from(expires_at != NO_EXPIRY);
        }
        Ok(())
    }

    /// An [`Error::IndexMismatch`] in namespace `id`.
    fn mismatch(&self, id: NsId, key: &[u8], detail: &str) -> Error {
        let ns = self.at.get(&id).and_then(|&i| self.namespaces.get(i));
        let namespace = ns.map_or_else(|| format!("#{id}"), |ns| ns.name.clone());
        Error::IndexMismatch { namespace, key: key.to_vec(), detail: detail.into() }
    }
}

fn mismatch(ns: &NsState, key: &[u8], detail: &str) -> Error {
    Error::IndexMismatch { namespace: ns.name.clone(), key: key.to_vec(), detail: detail.into() }
}
