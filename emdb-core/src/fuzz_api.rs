//! Entry points for the fuzz targets in `fuzz/`: each takes arbitrary bytes, feeds them to one
//! of the engine's decoders (or opens them as a database), and must never panic, hang or
//! allocate beyond what its input bounds.
//!
//! # Why this module exists
//!
//! The decoders of the file formats (meta page, node and value pages, WAL frames and batches)
//! are crate-private, and reaching them through [`Emdb::open`](crate::Emdb::open) alone would
//! spend almost every fuzz input on a checksum failure. A fuzz target is a separate crate, so
//! it needs a public door to them; this module is that door and nothing more.
//!
//! # What it exposes, and to whom
//!
//! One function per engine fuzz target, each `fn(&[u8])` that returns nothing, so no engine type
//! leaks: [`wal_frame`], [`page_decode`], [`meta_decode`] and [`open_database`]. They write no
//! file a user can reach (everything lives in an in-memory storage).
//!
//! It is compiled only with the `fuzzing` cargo feature, which is not a default feature and
//! which only the `fuzz/` crate turns on; the module is `#[doc(hidden)]`. It is not an API:
//! nothing in it is stable, and no other crate should turn the feature on. This crate's own
//! tests compile it too (as a private module), to replay the committed corpus under
//! `fuzz/corpus/<target>/` through the same functions on every `cargo test`.

use std::path::Path;
use std::sync::Arc;

use crate::builder::EmdbBuilder;
use crate::db::Emdb;
use crate::error::Error;
use crate::io::{MemStorage, Storage};
use crate::keyspace::FlushPolicy;
use crate::page::branch::Branch;
use crate::page::leaf::{
    Leaf, LeafLayout, encode_leaf_entry, parse_leaf_entry, parse_leaf_entry_in,
};
use crate::page::value::ValueRef;
use crate::page::{PAGE_SIZE, PageId, PageType, freelist, meta, seal, value, verify};
use crate::wal::{Wal, decode_batch, encode_batch, log_bytes};

/// Where [`open_database`] puts its files (in memory).
const DB: &str = "/fuzz/db";

/// Flag bits of the first input byte of [`open_database`].
const RESEAL: u8 = 1;
const WITH_WAL: u8 = 2;

/// Decodes `data` as a WAL frame payload, and as a whole log in two ways: wrapped as the
/// payload of a valid frame (so the batch decoder and the replay see it) and raw (so the
/// header and frame readers see it).
///
/// Properties: no panic; a payload that decodes re-encodes to one that decodes to the same
/// batch.
///
/// # Panics
/// When a property does not hold: that is the finding.
pub fn wal_frame(data: &[u8]) {
    if let Ok(batch) = decode_batch(data) {
        let mut out = Vec::new();
        if encode_batch(&batch, &mut out).is_ok() {
            assert_eq!(decode_batch(&out).ok(), Some(batch), "decode(encode(b)) != b");
        }
    }
    let salt = 0x5eed;
    for log in [log_bytes(salt, 0, &[data, data]), data.to_vec()] {
        let storage = MemStorage::new();
        if write_file(&storage, &crate::io::sidecar(Path::new(DB), ".wal"), &log).is_err() {
            return;
        }
        let storage: Arc<dyn Storage> = Arc::new(storage);
        let mut frames = 0u64;
        let check = crate::wal::LogCheck {
            database_id: 1,
            binding: None,
            set_aside: false,
            meta_intact: true,
            read_only: false,
        };
        let _ = Wal::open(&storage, Path::new(DB), 0, check, |_, batch: crate::batch::Batch| {
            frames += batch.ops.len() as u64;
            Ok(())
        });
    }
}

/// Decodes a 4096-byte page (the input, cut or padded with zeros) as every page type: meta,
/// leaf (as it is, and as a leaf of each layout), branch, value pages of both kinds, overflow
/// header and free-list, and checks it as each type.
///
/// Properties: no panic; every leaf entry that decodes re-encodes (in the compact layout) to
/// the same entry, and an entry of a compact leaf re-encodes to the very bytes it was decoded
/// from; a value sliced from a bare value page lies within the page's value area.
///
/// # Panics
/// When a property does not hold.
pub fn page_decode(data: &[u8]) {
    let mut page = vec![0u8; PAGE_SIZE];
    let n = data.len().min(PAGE_SIZE);
    if let (Some(dst), Some(src)) = (page.get_mut(..n), data.get(..n)) {
        dst.copy_from_slice(src);
    }
    let _ = meta::decode(data);
    let _ = meta::decode(&page);
    let id: PageId = crate::page::get_u64(&page, 8).unwrap_or(0);
    for ty in [
        PageType::Leaf,
        PageType::CompactLeaf,
        PageType::Branch,
        PageType::FreeList,
        PageType::Value,
        PageType::BareValue,
    ] {
        let _ = verify(&page, id, ty);
    }
    let probe = data.get(..data.len().min(16)).unwrap_or_default();
    let original = page.get(crate::page::TYPE_OFFSET).copied().unwrap_or(0);
    for ty in [original, PageType::Leaf as u8, PageType::CompactLeaf as u8] {
        let mut as_leaf = page.clone();
        if let Some(b) = as_leaf.get_mut(crate::page::TYPE_OFFSET) {
            *b = ty;
        }
        leaf_decode(&as_leaf, probe);
    }
    if let Ok(branch) = Branch::new(&page) {
        for c in 0..branch.children() {
            let _ = branch.child(c);
            let _ = branch.key(c);
            let _ = branch.raw(c);
        }
        let _ = branch.route(probe);
        let _ = branch.used();
    }
    if let Ok(records) = value::records(&page) {
        for (at, len) in records {
            let end = at.saturating_add(8).saturating_add(len as usize);
            if let Some(rec) = page.get(at..end) {
                let _ = value::check_record(rec, len);
            }
        }
    }
    let offset = crate::page::get_u16(&page, 16).unwrap_or(0);
    let len = crate::page::get_u32(&page, 18).unwrap_or(0);
    for (offset, len) in [(offset, len), (offset, len % 4096), (offset % 4096, len % 2048)] {
        if let Ok(v) = value::bare_value(&page, offset, len) {
            assert_eq!(v.len() as u64, u64::from(len), "a bare value of the wrong length");
            assert!(usize::from(offset) >= 16 && usize::from(offset) + v.len() <= PAGE_SIZE);
        }
    }
    let len = crate::page::get_u64(&page, 16).unwrap_or(0);
    let _ = value::check_overflow_header(&page, id, u32::try_from(len).unwrap_or(u32::MAX));
    let _ = value::check_overflow(&page, page.get(24..).unwrap_or_default());
    let _ = freelist::parse(&page);
}

/// The leaf part of [`page_decode`]: decodes every entry of `page` if it is a leaf.
fn leaf_decode(page: &[u8], probe: &[u8]) {
    let Ok(leaf) = Leaf::new(page) else { return };
    for i in 0..leaf.len() {
        let _ = leaf.key(i);
        let _ = leaf.raw(i);
        if let Ok(e) = leaf.entry(i) {
            let mut raw = Vec::new();
            // Only a fixed entry may hold a location the compact layout cannot (an offset past
            // its page, which reading refuses anyway).
            let encoded = encode_leaf_entry(&mut raw, e.key, e.expires_at, e.value);
            assert!(encoded.is_ok() || leaf.layout() == LeafLayout::Fixed, "{encoded:?}");
            if encoded.is_ok() {
                assert_eq!(parse_leaf_entry(&raw).ok(), Some(e), "leaf entry {i} round trip");
            }
            let stored = leaf.raw(i).ok();
            let again = stored.map(|r| parse_leaf_entry_in(leaf.layout(), r).ok());
            assert_eq!(again, Some(Some(e)), "leaf entry {i} and its raw bytes disagree");
            if leaf.layout() == LeafLayout::Compact {
                assert_eq!(stored, Some(&raw[..]), "compact entry {i} has two encodings");
            }
            if let ValueRef::Inline(v) = e.value {
                assert!(v.len() <= PAGE_SIZE);
            }
        }
    }
    let _ = leaf.search(probe);
    let _ = leaf.used();
}

/// Decodes meta pages: the whole input as one slot as it is (any length), then as the two
/// slots of a page file, and picks the slot a database would open.
///
/// Input: one flag byte (bit 0 / bit 1: rewrite the checksum of slot 0 / slot 1 so that the
/// checks behind it are reached), then slot 0 and slot 1, each cut or padded with zeros to 4096
/// bytes.
///
/// Properties: no panic; a slot that decodes as valid is exactly the encoding of the meta it
/// decodes to (`encode(decode(p)) == p`, with an older format version in `p` read as the
/// current one: no byte of a valid meta page goes unchecked); the
/// slot chosen is a valid one in its own place with the highest sequence, and a refusal is a
/// clear error (`Corruption`, `NotAnEmdbFile` or `UnsupportedFormatVersion`).
///
/// # Panics
/// When a property does not hold.
pub fn meta_decode(data: &[u8]) {
    let _ = meta::decode(data);
    let Some((&flags, rest)) = data.split_first() else { return };
    let mut pages = [vec![0u8; PAGE_SIZE], vec![0u8; PAGE_SIZE]];
    for (i, page) in pages.iter_mut().enumerate() {
        let src = rest.get(i * PAGE_SIZE..).unwrap_or_default();
        let n = src.len().min(PAGE_SIZE);
        if let (Some(dst), Some(src)) = (page.get_mut(..n), src.get(..n)) {
            dst.copy_from_slice(src);
        }
        if flags & (1 << i) != 0 {
            meta::reseal(page);
        }
    }
    let slots = pages.each_ref().map(|p| meta::decode(p));
    for (page, slot) in pages.iter().zip(&slots) {
        if let meta::Slot::Valid(m) = slot {
            let current = meta::as_current_version(page);
            assert!(
                m.encode()[..] == current[..],
                "a valid meta page is not the encoding of {m:?}"
            );
        }
    }
    // The valid slots in their own place, as `choose` must see them.
    let fitting: Vec<meta::Meta> = slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            meta::Slot::Valid(m) if m.slot() == i as u64 => Some(*m),
            _ => None,
        })
        .collect();
    match meta::choose(Path::new(DB), slots.clone()) {
        Ok(m) => {
            assert!(fitting.contains(&m), "chose {m:?}, which no slot holds in its place");
            assert!(fitting.iter().all(|o| o.sequence <= m.sequence), "chose an older meta");
        }
        Err(e) => assert!(
            matches!(
                e,
                Error::Corruption { .. }
                    | Error::NotAnEmdbFile { .. }
                    | Error::UnsupportedFormatVersion { .. }
            ),
            "an unclear error: {e}"
        ),
    }
}

/// Opens arbitrary bytes as a database, then reads and writes it.
///
/// Input: one flag byte (bit 0: rewrite every page's checksum so that the checks behind it
/// are reached; bit 1: the input ends with a write-ahead log whose length is the next two bytes,
/// little-endian), then the page file (none when empty: the database is created).
///
/// Properties: no panic; when the file passes [`Emdb::check_integrity`], it keeps passing it
/// after writes, a checkpoint, a compaction and a reopen, and every write is read back.
///
/// # Panics
/// When a property does not hold.
#[expect(clippy::panic, reason = "a property that does not hold is the fuzzer's finding")]
pub fn open_database(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let (file, wal) = if flags & WITH_WAL != 0 && rest.len() >= 2 {
        let (len, rest) = rest.split_at(2);
        let len = len.try_into().map_or(0, |b| usize::from(u16::from_le_bytes(b))).min(rest.len());
        rest.split_at(rest.len() - len)
    } else {
        (rest, &[][..])
    };
    let mut file = file.to_vec();
    if flags & RESEAL != 0 {
        for (id, page) in file.chunks_exact_mut(PAGE_SIZE).enumerate() {
            if id < 2 {
                meta::reseal(page);
            } else if let Ok(page) = <&mut [u8; PAGE_SIZE]>::try_from(page) {
                seal(page, id as PageId);
            }
        }
    }
    let storage = MemStorage::new();
    if !file.is_empty() && write_file(&storage, Path::new(DB), &file).is_err() {
        return;
    }
    if !wal.is_empty()
        && write_file(&storage, &crate::io::sidecar(Path::new(DB), ".wal"), wal).is_err()
    {
        return;
    }
    let storage: Arc<dyn Storage> = Arc::new(storage);
    let open = || {
        EmdbBuilder::default()
            .path(DB)
            .flush_policy(FlushPolicy::Manual)
            .checkpoint_wal_bytes(u64::MAX)
            .build_on(Arc::clone(&storage))
    };
    let Ok(db) = open() else { return };
    let healthy = db.check_integrity().is_ok();
    read_everything(&db);
    let big = vec![0xA5u8; 5000];
    let wrote = db.insert("fuzz:small", "v").is_ok()
        && db.insert("fuzz:big", &big).is_ok()
        && db.checkpoint().is_ok();
    if !healthy {
        return;
    }
    assert!(wrote, "writes to a database that passed the check failed");
    if let Err(e) = db.check_integrity() {
        panic!("a healthy database fails the check after a checkpoint: {e}");
    }
    if let Err(e) = db.compact() {
        panic!("compacting a healthy database failed: {e}");
    }
    if let Err(e) = db.check_integrity() {
        panic!("a healthy database fails the check after compaction: {e}");
    }
    drop(db);
    let db = open().unwrap_or_else(|e| panic!("a healthy database does not reopen: {e}"));
    if let Err(e) = db.check_integrity() {
        panic!("a healthy database fails the check after a reopen: {e}");
    }
    assert_eq!(db.get("fuzz:big").ok().flatten(), Some(big), "a write was lost");
    read_everything(&db);
}

/// Reads every namespace whole (up to a bound), and each key read back by a point read.
fn read_everything(db: &Emdb) {
    let names = db.namespace_names();
    let _ = db.len();
    for item in db.iter().into_iter().flatten().take(10_000) {
        let Ok((k, _)) = item else { break };
        let _ = db.get(&k);
    }
    for name in names.iter().take(64) {
        let Ok(ns) = db.namespace(name) else { continue };
        for item in ns.iter().into_iter().flatten().take(10_000) {
            let Ok((k, _)) = item else { break };
            let _ = ns.get(&k);
        }
        let _ = ns.len();
    }
}

fn write_file(storage: &MemStorage, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let file = storage.open_file(path, true)?;
    file.write_at(bytes, 0)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}: empty corpus", dir.display());
        files.into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect()
    }

    fn replay(target: &str, f: fn(&[u8])) {
        for (path, bytes) in corpus(target) {
            let r = std::panic::catch_unwind(|| f(&bytes));
            assert!(r.is_ok(), "{target}: {} panics", path.display());
        }
    }

    #[test]
    fn the_fuzzing_feature_is_off_by_default_and_only_the_fuzz_crate_turns_it_on() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        let core = read("emdb-core/Cargo.toml");
        let features = core.split("[features]").nth(1).unwrap().split("\n[").next().unwrap();
        assert!(features.contains("fuzzing = []"), "{features}");
        assert!(
            !features.lines().any(|l| l.trim_start().starts_with("default")),
            "emdb-core has default features: {features}"
        );
        for manifest in
            ["Cargo.toml", "emdb-typed/Cargo.toml", "emdb-derive/Cargo.toml", "benches/Cargo.toml"]
        {
            assert!(!read(manifest).contains("\"fuzzing\""), "{manifest} turns on `fuzzing`");
        }
        assert!(read("fuzz/Cargo.toml").contains("features = [\"fuzzing\"]"));
    }

    /// WAL payloads of every op, one by one and all together.
    fn seed_wal_payloads(put: &dyn Fn(&str, &[u8])) {
        use crate::batch::{Batch, Op};
        let key: Arc<[u8]> = Arc::from(&b"key"[..]);
        let ops = [
            Op::Put {
                ns: 0,
                key: Arc::clone(&key),
                value: Arc::from(&b"value"[..]),
                expires_at: 0,
            },
            Op::Put {
                ns: 3,
                key: Arc::clone(&key),
                value: Arc::from(&[0u8; 300][..]),
                expires_at: 9,
            },
            Op::Remove { ns: 0, key },
            Op::Clear { ns: 2 },
            Op::CreateNamespace { ns: 1, name: "users".into() },
        ];
        for (i, op) in ops.iter().enumerate() {
            let mut out = Vec::new();
            encode_batch(&Batch { ops: vec![op.clone()] }, &mut out).unwrap();
            put(&format!("wal_frame/op{i}"), &out);
        }
        let mut all = Vec::new();
        encode_batch(&Batch { ops: ops.to_vec() }, &mut all).unwrap();
        put("wal_frame/all-ops", &all);
    }

    /// Writes the seed inputs of the four engine targets under `fuzz/corpus/` (from real
    /// files of small databases). Run by hand:
    /// `cargo test -p emdb-core --lib write_seed_corpus -- --ignored`.
    #[test]
    #[ignore = "writes the seed corpus; run by hand"]
    fn write_seed_corpus() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        let put = |name: &str, bytes: &[u8]| {
            let (target, file) = name.split_once('/').unwrap();
            std::fs::create_dir_all(root.join(target)).unwrap();
            std::fs::write(root.join(target).join(format!("seed-{file}")), bytes).unwrap();
        };

        seed_wal_payloads(&put);

        // A small database: inline, packed and overflow values, a namespace, an expiry, a
        // branch level, a free-list (overwrites after a checkpoint), and a log tail.
        let storage = MemStorage::new();
        let shared: Arc<dyn Storage> = Arc::new(storage.clone());
        let open = || {
            EmdbBuilder::default()
                .path(DB)
                .flush_policy(FlushPolicy::Manual)
                .checkpoint_wal_bytes(u64::MAX)
                .build_on(Arc::clone(&shared))
                .unwrap()
        };
        let read = |path: &Path| {
            let f = storage.open_file(path, false).unwrap();
            let mut buf = vec![0u8; usize::try_from(f.len().unwrap()).unwrap()];
            f.read_at(&mut buf, 0).unwrap();
            buf
        };
        let wal_path = crate::io::sidecar(Path::new(DB), ".wal");
        let db = open();
        db.checkpoint().unwrap();
        drop(db);
        let empty = read(Path::new(DB));
        let db = open();
        let users = db.namespace("users").unwrap();
        users.insert("alice", "admin").unwrap();
        db.insert("tiny", "1").unwrap();
        db.insert_with_ttl(
            "mid",
            [7u8; 500],
            crate::Ttl::After(std::time::Duration::from_secs(99)),
        )
        .unwrap();
        db.insert("big", [9u8; 5000]).unwrap();
        db.flush().unwrap();
        let log = read(&wal_path);
        db.checkpoint().unwrap();
        let small = read(Path::new(DB));
        db.insert("tail", "in the log only").unwrap();
        let tail_log = read(&wal_path);
        for i in 0..300u32 {
            db.insert(format!("row{i:04}"), [u8::try_from(i % 256).unwrap(); 24]).unwrap();
        }
        db.checkpoint().unwrap();
        db.insert("row0001", "rewritten").unwrap();
        db.checkpoint().unwrap();
        let wide = read(Path::new(DB));
        drop(db);
        put("wal_frame/log", &log);
        put("wal_frame/log-tail", &tail_log);

        for (i, page) in wide.chunks(PAGE_SIZE).enumerate() {
            let ty = page.get(4).copied().unwrap_or(0);
            if i < 2 || ty != 2 || i % 3 == 0 {
                put(&format!("page_decode/wide-{i:03}-type{ty}"), page);
            }
        }

        let with_flags = |flags: u8, file: &[u8], wal: &[u8]| {
            let mut out = vec![flags];
            if flags & WITH_WAL != 0 {
                out.extend_from_slice(&u16::try_from(wal.len()).unwrap().to_le_bytes());
            }
            out.extend_from_slice(file);
            out.extend_from_slice(wal);
            out
        };
        // Meta pages: both slots of each file as they are, resealed, and one slot alone.
        for (name, file) in [("empty", &empty), ("small", &small), ("wide", &wide)] {
            let pair = file.get(..2 * PAGE_SIZE).unwrap();
            put(&format!("meta_decode/{name}"), &[&[0u8][..], pair].concat());
            put(&format!("meta_decode/{name}-resealed"), &[&[3u8][..], pair].concat());
            put(&format!("meta_decode/{name}-slot0"), &[&[0u8][..], &pair[..PAGE_SIZE]].concat());
        }
        let mut newer = wide.get(..PAGE_SIZE).unwrap().to_vec();
        newer[8] = 2;
        put("meta_decode/newer-version-resealed", &[&[1u8][..], &newer[..]].concat());

        put("open_database/empty", &with_flags(0, &empty, &[]));
        put("open_database/small", &with_flags(0, &small, &[]));
        put("open_database/small-resealed", &with_flags(RESEAL, &small, &[]));
        put("open_database/small-log-tail", &with_flags(WITH_WAL, &small, &tail_log[..]));
        put("open_database/log-only", &with_flags(WITH_WAL, &[], &log));
    }

    #[test]
    fn the_wal_frame_corpus_replays_without_a_panic() {
        replay("wal_frame", wal_frame);
    }

    #[test]
    fn the_page_decode_corpus_replays_without_a_panic() {
        replay("page_decode", page_decode);
    }

    #[test]
    fn the_meta_decode_corpus_replays_without_a_panic() {
        replay("meta_decode", meta_decode);
    }

    #[test]
    fn the_meta_decode_corpus_holds_pairs_that_open_and_pairs_that_are_refused() {
        // So that the replay goes through both branches of the `choose` property.
        let (mut chosen, mut refused) = (0, 0);
        for (_, bytes) in corpus("meta_decode") {
            let rest = bytes.get(1..).unwrap_or_default();
            let slot = |i: usize| {
                let mut page = vec![0u8; PAGE_SIZE];
                let src = rest.get(i * PAGE_SIZE..).unwrap_or_default();
                let n = src.len().min(PAGE_SIZE);
                page[..n].copy_from_slice(&src[..n]);
                meta::decode(&page)
            };
            match meta::choose(Path::new(DB), [slot(0), slot(1)]) {
                Ok(_) => chosen += 1,
                Err(_) => refused += 1,
            }
        }
        assert!(chosen > 0 && refused > 0, "{chosen} pairs open, {refused} are refused");
    }

    #[test]
    fn the_open_database_corpus_replays_without_a_panic() {
        replay("open_database", open_database);
    }
}
