//! The two meta pages (pages 0 and 1): where the durable state of the page file starts.
//!
//! A checkpoint writes the meta page it did not write last (slot `sequence % 2`); at open the
//! valid meta page with the higher sequence wins, so a torn meta write leaves the other one.
//!
//! ```text
//! 0                 8        12       16       20       24
//! +-----------------+--------+--------+--------+--------+
//! |      magic      |version | crc32c |pagesize| height |
//! |     [u8; 8]     |  u32   |  u32   |  u32   |  u32   |
//! +-----------------+--------+--------+--------+--------+
//! 24                32                40                48
//! +-----------------+-----------------+-----------------+
//! |    sequence     |    root page    |  free-list root |
//! |       u64       |       u64       |       u64       |
//! +-----------------+-----------------+-----------------+
//! 48                56                64                72                80
//! +-----------------+-----------------+-----------------+-----------------+
//! | checkpoint LSN  |   page count    |   entry count   | dead value bytes|
//! |       u64       |       u64       |       u64       |       u64       |
//! +-----------------+-----------------+-----------------+-----------------+
//! 80                88                96                104               112
//! +-----------------+-----------------+-----------------+-----------------+
//! | catalog entries |   database id   |    log salt     |    log flags    |
//! |       u64       |       u64       |       u64       |       u64       |
//! +-----------------+-----------------+-----------------+-----------------+
//!   (version 4+)      (version 5; zero in older versions)
//! 112 .. 4096: zero
//! ```
//!
//! Version 5 ties the log to the page file: the `database id` is random, chosen when the file
//! is created, and kept by compaction and backups; the `log salt` is the salt of the log
//! generation whose frames follow this checkpoint; `log flags` bit 0 (*log in use*) says frames
//! may follow it (clear: the database was closed with an empty log, so a missing log loses
//! nothing). A database id of 0 records no binding (a meta page upgraded from an older version
//! before its first checkpoint); the salt and flags are then zero too.
//!
//! `crc32c` covers the whole page with its own four bytes read as zero. Its position, the magic
//! and the version stay where they are in every format version, so a newer file is recognised
//! as newer (a clear error) rather than as damaged.

use std::path::Path;

use super::{Checksummed, PAGE_SIZE, PageError, PageId, get_u32, get_u64, put};
use crate::error::{Error, Result};

/// The first eight bytes of every emdb page file.
pub(crate) const MAGIC: [u8; 8] = *b"emdb\x0d\x0a\x1a\x0a";
/// The file format version this program writes. It reads every version from
/// [`OLDEST_FORMAT_VERSION`] up to this one: an older file opens as it is (its fixed leaves,
/// type 2, and record value pages, type 5, still read), every page a checkpoint writes is of
/// this version and the meta page says so from that checkpoint on; compaction rewrites the
/// whole file. What each version changed: docs/design.md ("Version history").
pub(crate) const FORMAT_VERSION: u32 = 5;
/// The oldest file format version this program reads.
pub(crate) const OLDEST_FORMAT_VERSION: u32 = 1;
/// The deepest tree a file may hold; descent is bounded by it.
pub(crate) const MAX_HEIGHT: u32 = 32;

const MAGIC_OFFSET: usize = 0;
const VERSION_OFFSET: usize = MAGIC_OFFSET + 8;
const CRC_OFFSET: usize = VERSION_OFFSET + 4;
const PAGE_SIZE_OFFSET: usize = CRC_OFFSET + 4;
const HEIGHT_OFFSET: usize = PAGE_SIZE_OFFSET + 4;
const SEQ_OFFSET: usize = HEIGHT_OFFSET + 4;
const ROOT_OFFSET: usize = SEQ_OFFSET + 8;
const FREE_ROOT_OFFSET: usize = ROOT_OFFSET + 8;
const LSN_OFFSET: usize = FREE_ROOT_OFFSET + 8;
const PAGE_COUNT_OFFSET: usize = LSN_OFFSET + 8;
const ENTRY_COUNT_OFFSET: usize = PAGE_COUNT_OFFSET + 8;
const DEAD_BYTES_OFFSET: usize = ENTRY_COUNT_OFFSET + 8;
const CATALOG_OFFSET: usize = DEAD_BYTES_OFFSET + 8;
const DATABASE_ID_OFFSET: usize = CATALOG_OFFSET + 8;
const LOG_SALT_OFFSET: usize = DATABASE_ID_OFFSET + 8;
const LOG_FLAGS_OFFSET: usize = LOG_SALT_OFFSET + 8;
const META_END: usize = LOG_FLAGS_OFFSET + 8;
/// The first format version whose meta page records the catalog entries.
const CATALOG_VERSION: u32 = 4;
/// The first format version whose meta page records the [`LogBinding`].
const BINDING_VERSION: u32 = 5;
/// `log flags` bit 0: frames may follow the checkpoint in the log.
const LOG_IN_USE: u64 = 1;

/// What a meta page says of the log that belongs to its file (format 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogBinding {
    /// The database's random id (never 0), the same in its log's header.
    pub(crate) database_id: u64,
    /// The salt of the log generation that follows this checkpoint.
    pub(crate) salt: u64,
    /// Whether frames may follow the checkpoint (clear after a close that left the log empty).
    pub(crate) in_use: bool,
}

/// A fresh random number, never 0: database ids and log salts.
pub(crate) fn random_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish().max(1)
}

/// The durable state a meta page records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Meta {
    /// Incremented by every checkpoint; selects the slot and the newest meta page.
    pub(crate) sequence: u64,
    /// The root page of the B+tree, 0 when the tree is empty.
    pub(crate) root: PageId,
    /// The number of levels of the tree: 0 when empty, 1 when the root is a leaf.
    pub(crate) height: u32,
    /// The first page of the free-list chain, 0 when there is none.
    pub(crate) free_root: PageId,
    /// The LSN of the last WAL frame whose effect the tree includes.
    pub(crate) checkpoint_lsn: u64,
    /// The number of pages in use (meta pages included); pages at or past it are unused.
    pub(crate) page_count: u64,
    /// The number of entries in the tree.
    pub(crate) entry_count: u64,
    /// Bytes of values in value pages that no entry refers to any more (compaction hint).
    pub(crate) dead_value_bytes: u64,
    /// The number of entries of the namespace catalog in the tree (one per named namespace;
    /// the store keeps what its owner last set). `None` when read from a file of a version
    /// that did not record it: look in the tree.
    pub(crate) catalog_entries: Option<u64>,
    /// The log this file belongs with; `None` when read from a file of a version that did not
    /// record it.
    pub(crate) log: Option<LogBinding>,
}

impl Meta {
    /// The meta page slot this meta is written to.
    pub(crate) fn slot(&self) -> PageId {
        self.sequence % 2
    }

    /// Encodes the meta page.
    pub(crate) fn encode(&self) -> Box<[u8; PAGE_SIZE]> {
        let mut p = super::new_page();
        let log = self.log.unwrap_or(LogBinding { database_id: 0, salt: 0, in_use: false });
        let flags = if log.in_use { LOG_IN_USE } else { 0 };
        let fields: [(usize, &[u8]); 15] = [
            (MAGIC_OFFSET, &MAGIC),
            (VERSION_OFFSET, &FORMAT_VERSION.to_le_bytes()),
            (PAGE_SIZE_OFFSET, &super::PAGE_SIZE_U32.to_le_bytes()),
            (HEIGHT_OFFSET, &self.height.to_le_bytes()),
            (SEQ_OFFSET, &self.sequence.to_le_bytes()),
            (ROOT_OFFSET, &self.root.to_le_bytes()),
            (FREE_ROOT_OFFSET, &self.free_root.to_le_bytes()),
            (LSN_OFFSET, &self.checkpoint_lsn.to_le_bytes()),
            (PAGE_COUNT_OFFSET, &self.page_count.to_le_bytes()),
            (ENTRY_COUNT_OFFSET, &self.entry_count.to_le_bytes()),
            (DEAD_BYTES_OFFSET, &self.dead_value_bytes.to_le_bytes()),
            (CATALOG_OFFSET, &self.catalog_entries.unwrap_or(0).to_le_bytes()),
            (DATABASE_ID_OFFSET, &log.database_id.to_le_bytes()),
            (LOG_SALT_OFFSET, &log.salt.to_le_bytes()),
            (LOG_FLAGS_OFFSET, &flags.to_le_bytes()),
        ];
        for (at, bytes) in fields {
            put(&mut p[..], at, bytes);
        }
        let crc = checksum(&p[..]);
        put(&mut p[..], CRC_OFFSET, &crc.to_le_bytes());
        p
    }
}

/// The CRC32C of a meta page with its checksum field read as zero.
fn checksum(page: &[u8]) -> u32 {
    let head = page.get(..CRC_OFFSET).unwrap_or_default();
    let tail = page.get(CRC_OFFSET + 4..).unwrap_or_default();
    let crc = crc32c::crc32c(head);
    let crc = crc32c::crc32c_append(crc, &[0; 4]);
    crc32c::crc32c_append(crc, tail)
}

/// Rewrites the checksum of a meta page in place (the fuzz targets use it so that mutated
/// fields get past the checksum to the checks behind it).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn reseal(page: &mut [u8]) {
    let crc = checksum(page);
    if let Some(dst) = page.get_mut(CRC_OFFSET..CRC_OFFSET + 4) {
        dst.copy_from_slice(&crc.to_le_bytes());
    }
}

/// A copy of a meta page with its format version set to [`FORMAT_VERSION`] and resealed: what
/// the next checkpoint writes for a meta page of an older version.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn as_current_version(page: &[u8]) -> Vec<u8> {
    let mut out = page.to_vec();
    if let Some(dst) = out.get_mut(VERSION_OFFSET..VERSION_OFFSET + 4) {
        dst.copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    }
    reseal(&mut out);
    out
}

/// The format version a meta page says it is of (0 when the page is too short to say).
pub(crate) fn version_of(page: &[u8]) -> u32 {
    get_u32(page, VERSION_OFFSET).unwrap_or(0)
}

/// What one meta slot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A valid meta page of this format version.
    Valid(Meta),
    /// A valid meta page of a newer format version.
    Newer(u32),
    /// emdb's magic, but a failed check: what failed.
    Damaged(PageError),
    /// No emdb magic at all.
    Foreign,
}

/// The damage of a meta page shorter than a page.
const SHORT_META: PageError = PageError::Truncated { what: "short meta page" };

/// Decodes one meta slot; never fails, never panics.
pub(crate) fn decode(page: &[u8]) -> Slot {
    if page.get(MAGIC_OFFSET..MAGIC_OFFSET + 8) != Some(&MAGIC[..]) {
        return Slot::Foreign;
    }
    let (Some(version), Some(stored)) = (get_u32(page, VERSION_OFFSET), get_u32(page, CRC_OFFSET))
    else {
        return Slot::Damaged(SHORT_META);
    };
    if page.len() != PAGE_SIZE {
        return Slot::Damaged(SHORT_META);
    }
    let actual = checksum(page);
    if stored != actual {
        return Slot::Damaged(PageError::Checksum {
            of: Checksummed::Meta,
            expected: stored,
            found: actual,
        });
    }
    if version > FORMAT_VERSION {
        return Slot::Newer(version);
    }
    if version < OLDEST_FORMAT_VERSION {
        return Slot::Damaged(PageError::UnknownVersion { version });
    }
    let field = |at| get_u64(page, at).unwrap_or(0);
    let meta = Meta {
        sequence: field(SEQ_OFFSET),
        root: field(ROOT_OFFSET),
        height: get_u32(page, HEIGHT_OFFSET).unwrap_or(u32::MAX),
        free_root: field(FREE_ROOT_OFFSET),
        checkpoint_lsn: field(LSN_OFFSET),
        page_count: field(PAGE_COUNT_OFFSET),
        entry_count: field(ENTRY_COUNT_OFFSET),
        dead_value_bytes: field(DEAD_BYTES_OFFSET),
        catalog_entries: (version >= CATALOG_VERSION).then(|| field(CATALOG_OFFSET)),
        log: None,
    };
    let meta = if version >= BINDING_VERSION {
        let (id, salt, flags) =
            (field(DATABASE_ID_OFFSET), field(LOG_SALT_OFFSET), field(LOG_FLAGS_OFFSET));
        if flags & !LOG_IN_USE != 0 || (id == 0 && (salt != 0 || flags != 0)) {
            return Slot::Damaged(PageError::BadLogBinding { flags });
        }
        let log = (id != 0).then_some(LogBinding {
            database_id: id,
            salt,
            in_use: flags & LOG_IN_USE != 0,
        });
        Meta { log, ..meta }
    } else {
        meta
    };
    if get_u32(page, PAGE_SIZE_OFFSET) != Some(super::PAGE_SIZE_U32) {
        return Slot::Damaged(PageError::PageSize);
    }
    if let Err(e) = check_bounds(&meta) {
        return Slot::Damaged(e);
    }
    let end = if version >= BINDING_VERSION {
        META_END
    } else if version >= CATALOG_VERSION {
        DATABASE_ID_OFFSET
    } else {
        CATALOG_OFFSET
    };
    if page.get(end..).is_some_and(|rest| rest.iter().any(|&b| b != 0)) {
        return Slot::Damaged(PageError::TrailingMetaBytes);
    }
    Slot::Valid(meta)
}

/// The checks a checksummed meta must still pass (a bug in a writer, not a flipped bit).
fn check_bounds(m: &Meta) -> Result<(), PageError> {
    if m.height > MAX_HEIGHT {
        return Err(PageError::TooHigh { height: m.height, max: MAX_HEIGHT });
    }
    if m.page_count < 2 {
        return Err(PageError::TooFewPages);
    }
    if (m.root == 0) != (m.height == 0) {
        return Err(PageError::EmptyTreeMismatch);
    }
    for (what, p) in [("root", m.root), ("free-list root", m.free_root)] {
        if p != 0 && (p < 2 || p >= m.page_count) {
            return Err(PageError::PageOutside { what, page: p, count: m.page_count });
        }
    }
    Ok(())
}

/// Picks the meta page to open from the two slots (pages 0 and 1) of the file at `path`.
///
/// # Errors
/// [`Error::NotAnEmdbFile`] when neither slot has the magic, [`Error::UnsupportedFormatVersion`]
/// when the newest checksummed slot is of a newer version, [`Error::Corruption`] when no slot is
/// valid.
pub(crate) fn choose(path: &Path, slots: [Slot; 2]) -> Result<Meta> {
    let mut best: Option<Meta> = None;
    let mut newer = None;
    let mut damage = None;
    for (i, slot) in slots.into_iter().enumerate() {
        match slot {
            Slot::Valid(m) => {
                if m.slot() != i as u64 {
                    damage = Some((i, PageError::SequenceSlot));
                } else if best.is_none_or(|b| m.sequence > b.sequence) {
                    best = Some(m);
                }
            }
            Slot::Newer(v) => newer = Some(v),
            Slot::Damaged(why) => damage = Some((i, why)),
            Slot::Foreign => {}
        }
    }
    if let Some(found) = newer {
        return Err(Error::UnsupportedFormatVersion {
            path: path.to_path_buf(),
            found,
            supported: FORMAT_VERSION,
        });
    }
    if let Some(m) = best {
        return Ok(m);
    }
    match damage {
        Some((i, detail)) => Err(Error::Corruption {
            path: path.to_path_buf(),
            offset: i as u64 * PAGE_SIZE as u64,
            detail: format!("no valid meta page: {detail}"),
        }),
        None => Err(Error::NotAnEmdbFile { path: path.to_path_buf() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(sequence: u64) -> Meta {
        Meta {
            sequence,
            root: 7,
            height: 2,
            free_root: 9,
            checkpoint_lsn: 1234,
            page_count: 10,
            entry_count: 77,
            dead_value_bytes: 5,
            catalog_entries: Some(3),
            log: Some(LogBinding { database_id: 0xdb, salt: 0x5a17, in_use: true }),
        }
    }

    #[test]
    fn a_meta_page_round_trips() {
        let m = sample(5);
        assert_eq!(decode(&m.encode()[..]), Slot::Valid(m));
        let clean = Meta { log: Some(LogBinding { in_use: false, ..m.log.unwrap() }), ..m };
        assert_eq!(decode(&clean.encode()[..]), Slot::Valid(clean));
        let unbound = Meta { log: None, ..m };
        assert_eq!(decode(&unbound.encode()[..]), Slot::Valid(unbound));
    }

    #[test]
    fn unknown_log_flags_or_a_salt_without_a_database_id_are_damage() {
        let mut p = sample(5).encode();
        p[LOG_FLAGS_OFFSET] = 2;
        reseal(&mut p[..]);
        assert!(matches!(decode(&p[..]), Slot::Damaged(_)));
        let mut p = Meta { log: None, ..sample(5) }.encode();
        p[LOG_SALT_OFFSET] = 1;
        reseal(&mut p[..]);
        assert!(matches!(decode(&p[..]), Slot::Damaged(_)));
    }

    #[test]
    fn the_newest_valid_meta_wins() {
        let p = Path::new("db");
        let a = sample(4);
        let b = sample(5);
        let m = choose(p, [decode(&a.encode()[..]), decode(&b.encode()[..])]).unwrap();
        assert_eq!(m, b);
        let m = choose(p, [decode(&a.encode()[..]), Slot::Damaged(SHORT_META)]).unwrap();
        assert_eq!(m, a);
    }

    #[test]
    fn flipping_any_bit_of_the_newest_meta_falls_back_to_the_older_one() {
        let p = Path::new("db");
        let old = sample(4);
        let new = sample(5).encode();
        for bit in 0..PAGE_SIZE * 8 {
            let mut q = new.clone();
            q[bit / 8] ^= 1 << (bit % 8);
            let chosen = choose(p, [decode(&old.encode()[..]), decode(&q[..])]);
            assert_eq!(chosen.unwrap(), old, "bit {bit}");
        }
    }

    #[test]
    fn flipping_any_bit_of_a_lone_meta_is_a_clear_error() {
        let p = Path::new("db");
        let only = sample(5).encode();
        for bit in 0..PAGE_SIZE * 8 {
            let mut q = only.clone();
            q[bit / 8] ^= 1 << (bit % 8);
            let err = choose(p, [Slot::Foreign, decode(&q[..])]).unwrap_err();
            assert!(
                matches!(err, Error::Corruption { .. } | Error::NotAnEmdbFile { .. }),
                "bit {bit}: {err}"
            );
        }
    }

    #[test]
    fn a_file_without_magic_is_not_an_emdb_file() {
        let zeros = [0u8; PAGE_SIZE];
        let err = choose(Path::new("x"), [decode(&zeros), decode(&zeros)]).unwrap_err();
        assert!(matches!(err, Error::NotAnEmdbFile { .. }));
    }

    #[test]
    fn a_newer_format_version_is_a_clear_error() {
        let mut p = sample(5).encode();
        p[VERSION_OFFSET..VERSION_OFFSET + 4].copy_from_slice(&6u32.to_le_bytes());
        reseal(&mut p[..]);
        let err = choose(Path::new("x"), [Slot::Foreign, decode(&p[..])]).unwrap_err();
        assert!(matches!(err, Error::UnsupportedFormatVersion { found: 6, supported: 5, .. }));
    }

    #[test]
    fn older_meta_pages_decode_without_a_catalog_count_and_version_0_is_damage() {
        assert_eq!(get_u32(&sample(5).encode()[..], VERSION_OFFSET), Some(5));
        // Versions before 4 record no catalog count: their bytes there are zero, as after
        // every field, and the count reads as unknown.
        let unknown = Meta { catalog_entries: None, log: None, ..sample(5) };
        for old in [1u32, 2, 3] {
            let mut p = unknown.encode();
            p[VERSION_OFFSET..VERSION_OFFSET + 4].copy_from_slice(&old.to_le_bytes());
            reseal(&mut p[..]);
            assert_eq!(decode(&p[..]), Slot::Valid(unknown), "version {old}");
            assert_eq!(as_current_version(&p[..]), unknown.encode().to_vec());
            p[CATALOG_OFFSET] = 1;
            reseal(&mut p[..]);
            assert!(matches!(decode(&p[..]), Slot::Damaged(_)), "version {old}");
        }
        let none = Meta { catalog_entries: Some(0), ..sample(5) };
        assert_eq!(decode(&none.encode()[..]), Slot::Valid(none));
        // Version 4 records the catalog count but no log binding; bytes past its fields are
        // damage.
        let v4 = Meta { log: None, ..sample(5) };
        let mut p = v4.encode();
        p[VERSION_OFFSET..VERSION_OFFSET + 4].copy_from_slice(&4u32.to_le_bytes());
        reseal(&mut p[..]);
        assert_eq!(decode(&p[..]), Slot::Valid(v4));
        assert_eq!(as_current_version(&p[..]), v4.encode().to_vec());
        p[DATABASE_ID_OFFSET] = 1;
        reseal(&mut p[..]);
        assert!(matches!(decode(&p[..]), Slot::Damaged(_)));
        let mut p = sample(5).encode();
        p[VERSION_OFFSET..VERSION_OFFSET + 4].copy_from_slice(&0u32.to_le_bytes());
        reseal(&mut p[..]);
        assert!(matches!(decode(&p[..]), Slot::Damaged(_)));
    }
}
