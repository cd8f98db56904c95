//! The copy-on-write B+tree over the page file: point lookups, ordered cursors and the full
//! leaf scan (this file), changes and bulk builds ([`write`](mod@write)), the checkpointed store
//! ([`store`]) and the integrity check ([`check`]).
//!
//! Every descent starts at a [`TreeRoot`] and goes down exactly `height` levels; each page
//! must carry the level its parent implies, so a cyclic or misdirected pointer in a damaged
//! file is an [`Error::Corruption`](crate::Error::Corruption), never a loop or a stack
//! overflow.

pub(crate) mod check;
mod cursor;
pub(crate) mod reclaim;
pub(crate) mod store;
pub(crate) mod write;

pub(crate) use cursor::{Cursor, Position};

use crate::error::Result;
use crate::io::SharedMap;
use crate::page::branch::Branch;
use crate::page::file::{Page, PageFile};
use crate::page::leaf::{Leaf, LeafEntry};
#[cfg(test)]
use crate::page::value::{ValueLoc, ValueRef};
use crate::page::{PageId, PageType, level};

/// Where a tree starts: its root page and its height (0 and 0 for the empty tree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TreeRoot {
    /// The root page, 0 when the tree is empty.
    pub(crate) root: PageId,
    /// The number of levels: 0 when empty, 1 when the root is a leaf.
    pub(crate) height: u32,
}

/// A value found by [`get`]: the bytes, or where to read them with
/// [`PageFile::read_value`].
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FoundValue {
    /// The value was inline in its leaf.
    Inline(Vec<u8>),
    /// The value lives in a value page or an overflow run.
    Stored(ValueLoc),
}

/// An entry found by [`get`].
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// Absolute expiry in ms since the Unix epoch, 0 for none.
    pub(crate) expires_at: u64,
    /// The value or its location.
    pub(crate) value: FoundValue,
}

#[cfg(test)]
impl From<ValueRef<'_>> for FoundValue {
    fn from(v: ValueRef<'_>) -> Self {
        match v {
            ValueRef::Inline(b) => FoundValue::Inline(b.to_vec()),
            ValueRef::Stored(loc) => FoundValue::Stored(loc),
        }
    }
}

/// The page types a leaf may have: the compact layout this program writes, and the fixed one of
/// files written by formats 1 and 2.
pub(crate) const LEAF_TYPES: [PageType; 2] = [PageType::CompactLeaf, PageType::Leaf];

/// Reads the node `id` that its parent places at `lvl` (0 = leaf, of either layout) and checks
/// its level.
#[inline]
pub(crate) fn read_node(file: &PageFile, id: PageId, lvl: u32) -> Result<Page> {
    let tys: &[PageType] = if lvl == 0 { &LEAF_TYPES } else { &[PageType::Branch] };
    let (page, _) = file.read_page_of(id, tys)?;
    let found = u32::from(level(page.bytes()));
    if found != lvl {
        return Err(file.bad_page(id, format!("node at level {found}, its parent implies {lvl}")));
    }
    Ok(page)
}

/// Parses a leaf page, attaching the page to any error.
#[inline]
pub(crate) fn leaf<'p>(file: &PageFile, id: PageId, page: &'p Page) -> Result<Leaf<'p>> {
    Leaf::new(page.bytes()).map_err(|d| file.bad_page(id, d))
}

/// Parses a branch page, attaching the page to any error.
#[inline]
pub(crate) fn branch<'p>(file: &PageFile, id: PageId, page: &'p Page) -> Result<Branch<'p>> {
    Branch::new(page.bytes()).map_err(|d| file.bad_page(id, d))
}

/// Looks `key` up in the tree at `root`.
///
/// # Errors
/// [`Error::Corruption`](crate::Error::Corruption) when a page on the path fails a check, or
/// an I/O error.
#[cfg(test)]
pub(crate) fn get(file: &PageFile, root: TreeRoot, key: &[u8]) -> Result<Option<Found>> {
    if root.height == 0 {
        return Ok(None);
    }
    let mut id = root.root;
    for lvl in (1..root.height).rev() {
        let page = read_node(file, id, lvl)?;
        let b = branch(file, id, &page)?;
        let c = b.route(key).map_err(|d| file.bad_page(id, d))?;
        id = b.child(c).map_err(|d| file.bad_page(id, d))?;
    }
    let page = read_node(file, id, 0)?;
    let l = leaf(file, id, &page)?;
    match l.search(key).map_err(|d| file.bad_page(id, d))? {
        Ok(i) => {
            let e = l.entry(i).map_err(|d| file.bad_page(id, d))?;
            Ok(Some(Found { expires_at: e.expires_at, value: e.value.into() }))
        }
        Err(_) => Ok(None),
    }
}

/// The leaf of the tree at `root` whose key range holds `key` (whether or not it holds the key
/// itself); `None` for the empty tree.
///
/// # Errors
/// [`Error::Corruption`](crate::Error::Corruption) when a branch on the path fails a check, or
/// an I/O error.
///
/// Branch pages are read through `map` (a mapping of `file` the caller holds, perhaps shorter
/// than the file) where it covers them: a point read's descent touches no lock or reference
/// count that other readers share.
pub(crate) fn leaf_of(
    file: &PageFile,
    map: Option<&SharedMap>,
    root: TreeRoot,
    key: &[u8],
) -> Result<Option<PageId>> {
    if root.height == 0 {
        return Ok(None);
    }
    let mut id = root.root;
    for lvl in (1..root.height).rev() {
        let page = file.read_page_in(map, id, &[PageType::Branch])?;
        let found = u32::from(level(page.bytes()));
        if found != lvl {
            return Err(
                file.bad_page(id, format!("node at level {found}, its parent implies {lvl}"))
            );
        }
        let b = Branch::new(page.bytes()).map_err(|d| file.bad_page(id, d))?;
        let c = b.route(key).map_err(|d| file.bad_page(id, d))?;
        id = b.child(c).map_err(|d| file.bad_page(id, d))?;
    }
    Ok(Some(id))
}

/// Calls `f` with every entry of the tree at `root`, in key order, one leaf in memory at a
/// time.
///
/// # Errors
/// The first error of a page read or check, or of `f`.
pub(crate) fn scan(
    file: &PageFile,
    root: TreeRoot,
    mut f: impl FnMut(LeafEntry<'_>) -> Result<()>,
) -> Result<()> {
    scan_leaves(file, root, |_, _, e| f(e))
}

/// As [`scan`], also handing `f` the leaf each entry lies in and its place there
/// ([`Leaf::place`]: the open-time build of the point index, which points keys at their places).
///
/// # Errors
/// As [`scan`].
pub(crate) fn scan_leaves(
    file: &PageFile,
    root: TreeRoot,
    mut f: impl FnMut(PageId, u16, LeafEntry<'_>) -> Result<()>,
) -> Result<()> {
    let mut p = Position::new(root);
    p.seek_first(file)?;
    while let Some((id, page, i)) = p.leaf_at() {
        let place = leaf(file, id, page)?.place(i).map_err(|d| file.bad_page(id, d))?;
        let Some(e) = p.entry(file)? else { break };
        f(id, place, e)?;
        p.next(file)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;
    use std::ops::Bound;
    use std::path::Path;
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::check::check;
    use super::store::{Store, StoreOptions};
    use super::write::Change;
    use super::*;
    use crate::io::{MemStorage, Storage};

    /// The model: key → (value, expiry).
    pub(crate) type Model = BTreeMap<Vec<u8>, (Vec<u8>, u64)>;

    /// A key of varying length (long keys force splits with few entries).
    pub(crate) fn key(i: u16) -> Vec<u8> {
        let mut k = format!("k{i:05}").into_bytes();
        k.resize(8 + usize::from(i % 5) * 150, b'.');
        k
    }

    /// A value whose size picks the storage kind: inline, packed or overflow.
    pub(crate) fn value(i: u16, version: u32, size_class: u8) -> Vec<u8> {
        let len = [0usize, 17, 120, 700, 2500, 9000][usize::from(size_class % 6)];
        let seed = (usize::from(i) << 8) ^ version as usize;
        (0..len).map(|j| (seed.wrapping_mul(31).wrapping_add(j) % 251).to_le_bytes()[0]).collect()
    }

    pub(crate) fn read_entry(file: &PageFile, e: &LeafEntry<'_>) -> Vec<u8> {
        match e.value {
            ValueRef::Inline(b) => b.to_vec(),
            ValueRef::Stored(loc) => file.read_value(loc).unwrap(),
        }
    }

    /// Asserts the tree equals the model by scan, gets, and ranges both ways.
    pub(crate) fn assert_matches(store: &Store, model: &Model) {
        let file = store.file();
        let root = store.root();
        let mut seen = Vec::new();
        scan(file, root, |e| {
            seen.push((e.key.to_vec(), (read_entry(file, &e), e.expires_at)));
            Ok(())
        })
        .unwrap();
        let expected: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(seen, expected);
        assert_eq!(store.meta().entry_count, model.len() as u64);
        for i in (0..400).step_by(7) {
            let k = key(i);
            let got = get(file, root, &k).unwrap().map(|f| {
                let v = match f.value {
                    FoundValue::Inline(b) => b,
                    FoundValue::Stored(loc) => file.read_value(loc).unwrap(),
                };
                (v, f.expires_at)
            });
            assert_eq!(got.as_ref(), model.get(&k), "get {i}");
        }
        for (a, b) in [(0u16, 50u16), (37, 38), (100, 399), (390, 400)] {
            let (lo, hi) = (key(a), key(b));
            let want: Vec<&Vec<u8>> = model
                .range::<[u8], _>((Bound::Included(&lo[..]), Bound::Excluded(&hi[..])))
                .map(|(k, _)| k)
                .collect();
            let mut c = Cursor::new(file, root);
            c.seek_at_or_after(&lo).unwrap();
            let mut fwd = Vec::new();
            while let Some(e) = c.entry().unwrap() {
                if e.key >= &hi[..] {
                    break;
                }
                fwd.push(e.key.to_vec());
                c.next().unwrap();
            }
            assert_eq!(fwd.iter().collect::<Vec<_>>(), want, "forward {a}..{b}");
            let mut c = Cursor::new(file, root);
            c.seek_at_or_before(&hi).unwrap();
            let mut back = Vec::new();
            while let Some(e) = c.entry().unwrap() {
                if e.key < &lo[..] {
                    break;
                }
                if e.key < &hi[..] {
                    back.push(e.key.to_vec());
                }
                c.prev().unwrap();
            }
            back.reverse();
            assert_eq!(back.iter().collect::<Vec<_>>(), want, "backward {a}..{b}");
        }
        let report = check(file, &store.meta()).unwrap();
        assert_eq!(report.entries, model.len() as u64);
    }

    /// Applies one batch to the store and the model.
    pub(crate) fn apply_batch(
        store: &mut Store,
        model: &mut Model,
        batch: &[(u16, Option<u8>)],
        version: u32,
    ) {
        let mut changes: BTreeMap<Vec<u8>, Option<(Vec<u8>, u64)>> = BTreeMap::new();
        for &(i, v) in batch {
            let val = v.map(|s| (value(i, version, s), u64::from(s) * 1000));
            changes.insert(key(i), val);
        }
        for (k, v) in &changes {
            match v {
                Some(v) => model.insert(k.clone(), v.clone()),
                None => model.remove(k),
            };
        }
        let list: Vec<Change<'_>> = changes
            .iter()
            .map(|(k, v)| Change::new(k, v.as_ref().map(|(v, e)| (&v[..], *e))))
            .collect();
        let seq = store.meta().sequence;
        store.checkpoint(&list, u64::from(version), seq).unwrap();
    }

    pub(crate) fn open(storage: &Arc<dyn Storage>) -> Store {
        Store::open(Arc::clone(storage), Path::new("/db/data"), StoreOptions::default()).unwrap()
    }

    #[test]
    fn an_empty_store_opens_and_reopens() {
        let storage: Arc<dyn Storage> = Arc::new(MemStorage::new());
        let store = open(&storage);
        assert_eq!(store.root(), TreeRoot::default());
        assert_matches(&store, &Model::new());
        drop(store);
        let store = open(&storage);
        assert_eq!(store.meta().sequence, 1);
    }

    #[test]
    fn a_second_open_is_refused_while_the_first_holds_the_lock() {
        let storage: Arc<dyn Storage> = Arc::new(MemStorage::new());
        let _first = open(&storage);
        let err = Store::open(Arc::clone(&storage), Path::new("/db/data"), StoreOptions::default())
            .unwrap_err();
        assert!(matches!(err, crate::Error::Locked { .. }), "{err}");
    }

    #[test]
    fn many_checkpoints_of_inserts_and_removes_match_the_model() {
        let storage: Arc<dyn Storage> = Arc::new(MemStorage::new());
        let mut store = open(&storage);
        let mut model = Model::new();
        let mut seed = 99u64;
        for version in 1..=60u32 {
            let mut batch = Vec::new();
            for _ in 0..(seed % 90) {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let i = ((seed >> 33) % 400) as u16;
                let remove = (seed >> 20).is_multiple_of(3) && version > 10;
                let class = ((seed >> 40) % 6) as u8;
                batch.push((i, (!remove).then_some(class)));
            }
            apply_batch(&mut store, &mut model, &batch, version);
            assert_matches(&store, &model);
            if version % 10 == 0 {
                drop(store);
                store = open(&storage);
                assert_matches(&store, &model);
            }
        }
        assert!(store.meta().height >= 2, "the test should build a multi-level tree");
        // Remove everything: the tree becomes empty again.
        let all: Vec<(u16, Option<u8>)> = (0..400).map(|i| (i, None)).collect();
        apply_batch(&mut store, &mut model, &all, 99);
        assert_matches(&store, &model);
        assert_eq!(store.root(), TreeRoot::default());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn random_batches_over_checkpoints_match_a_btreemap(
            batches in proptest::collection::vec(
                proptest::collection::vec((0u16..120, proptest::option::weighted(0.7, 0u8..6)), 0..40),
                1..12,
            )
        ) {
            let storage: Arc<dyn Storage> = Arc::new(MemStorage::new());
            let mut store = open(&storage);
            let mut model = Model::new();
            for (v, batch) in (1u32..).zip(batches.iter()) {
                apply_batch(&mut store, &mut model, batch, v);
                assert_matches(&store, &model);
            }
        }
    }
}

#[cfg(test)]
mod mmap_tests {
    use std::sync::Arc;

    use super::store::{Store, StoreOptions};
    use super::tests::{Model, apply_batch, assert_matches};
    use crate::io::{FileStorage, Storage};

    #[test]
    fn a_real_file_read_through_the_mapping_matches_the_model_across_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let storage: Arc<dyn Storage> = Arc::new(FileStorage);
        let opts = StoreOptions { mmap: true, ..StoreOptions::default() };
        let mut store = Store::open(Arc::clone(&storage), &path, opts).unwrap();
        let mut model = Model::new();
        for v in 1..=8u32 {
            let batch: Vec<(u16, Option<u8>)> = (0..120u16)
                .map(|i| {
                    (
                        i * 3 % 400,
                        (i % 7 != 0 || v < 3)
                            .then_some(u8::try_from((i + u16::try_from(v).unwrap()) % 6).unwrap()),
                    )
                })
                .collect();
            apply_batch(&mut store, &mut model, &batch, v);
            assert_matches(&store, &model);
        }
        drop(store);
        let store = Store::open(storage, &path, opts).unwrap();
        assert_matches(&store, &model);
    }
}
