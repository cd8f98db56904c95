//! [`PageError`]: what a page decoder found wrong with the bytes of a page, typed. The layers
//! above turn it into [`Error::Corruption`](crate::Error::Corruption) with the file and the
//! offset of the page; its message is the corruption's `detail`.

use std::fmt;

use super::{PageId, PageType};

/// What a checksum covers, for [`PageError::Checksum`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checksummed {
    /// A whole data page (bytes 4..4096).
    Page(PageId),
    /// A meta page.
    Meta,
    /// One value record of a value page of formats 1 and 2.
    Value,
    /// An overflow run: its header and its value.
    Overflow,
}

impl fmt::Display for Checksummed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Checksummed::Page(id) => write!(f, "page {id}"),
            Checksummed::Meta => f.write_str("meta"),
            Checksummed::Value => f.write_str("value"),
            Checksummed::Overflow => f.write_str("overflow"),
        }
    }
}

/// A check that the bytes of a page (or of a value, a free-list or a meta page) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PageError {
    /// The stored checksum is not the one of the bytes it covers.
    #[error("{of} checksum mismatch: stored {expected:#010x}, computed {found:#010x}")]
    Checksum {
        /// What the checksum covers.
        of: Checksummed,
        /// The checksum stored with the bytes.
        expected: u32,
        /// The checksum of the bytes as read.
        found: u32,
    },
    /// The page carries the id of another page: it was written to the wrong place.
    #[error("page {id} claims to be page {found} (misdirected write)")]
    Misdirected {
        /// The page read.
        id: PageId,
        /// The id it carries.
        found: PageId,
    },
    /// The page's type byte is none of the types the reader expects there.
    #[error("page {id} has type {found}, expected {expected:?}")]
    BadKind {
        /// The page read.
        id: PageId,
        /// Its type byte.
        found: u8,
        /// The types the reader accepts.
        expected: Vec<PageType>,
    },
    /// A page handed to the leaf reader is of another type.
    #[error("not a leaf page (type {found:?})")]
    NotALeaf {
        /// The page's type, if its type byte is a known one.
        found: Option<PageType>,
    },
    /// A field, an entry or a record lies (partly) past the end of the bytes that hold it.
    #[error("{what}")]
    Truncated {
        /// What does not fit, as the message says it ("short page", "key out of the page").
        what: &'static str,
    },
    /// A varint is cut short, longer than ten bytes or not in its shortest form.
    #[error("bad {what}")]
    BadVarint {
        /// The field it encodes.
        what: &'static str,
    },
    /// A length that locations hold in 32 bits is larger.
    #[error("{what} {value} exceeds 32 bits")]
    Over32Bits {
        /// The field.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// The length part of a compact value span is larger than 32 bits.
    #[error("value span {span} exceeds 32 bits of length")]
    SpanTooLong {
        /// The span (`len * 4096 + offset`).
        span: u64,
    },
    /// A key or a separator is longer than the longest key the tree stores.
    #[error("{what} of {len} bytes exceeds {max}")]
    KeyTooLong {
        /// "key" or "separator".
        what: &'static str,
        /// Its length.
        len: usize,
        /// The longest key the tree stores.
        max: usize,
    },
    /// A leaf entry's value kind is none this layout has.
    #[error("unknown value kind {kind}")]
    UnknownValueKind {
        /// The kind.
        kind: u8,
    },
    /// A compact entry stores an expiry of 0 (an entry that never expires stores none).
    #[error("stored expiry of 0")]
    ZeroExpiry,
    /// A node's slot table is larger than the page.
    #[error("{what} count {count} does not fit a page")]
    CountTooLarge {
        /// "leaf entry" or "branch key".
        what: &'static str,
        /// The count in the header.
        count: usize,
    },
    /// A raw leaf entry is followed by bytes that belong to no entry.
    #[error("entry of {len} bytes followed by {extra} more")]
    TrailingBytes {
        /// The length of the entry.
        len: usize,
        /// The bytes after it.
        extra: usize,
    },
    /// A slot index past the node's slot table.
    #[error("slot {i} out of {n}")]
    SlotOutOfRange {
        /// The index asked for.
        i: usize,
        /// The number of slots.
        n: usize,
    },
    /// A slot points outside the entry area of its page.
    #[error("slot {i} points at {offset}, outside the entry area")]
    BadSlot {
        /// The slot.
        i: usize,
        /// Where it points.
        offset: usize,
    },
    /// The separator left of child 0 was asked for; there is none.
    #[error("child 0 has no key")]
    NoKeyLeftOfChild0,
    /// A value location's offset lies past its page, so it has no compact encoding.
    #[error("value offset {offset} lies past its page")]
    OffsetPastPage {
        /// The offset.
        offset: u16,
    },
    /// An entry of an old leaf, encoded again in the compact layout, is too large for a leaf.
    #[error("entry {i} does not fit half a leaf in the compact layout")]
    EntryTooLarge {
        /// The entry's index in its leaf.
        i: usize,
    },
    /// A free-list page claims more extents than a page holds.
    #[error("free-list page claims {count} extents, at most {max} fit")]
    TooManyExtents {
        /// The count in the page.
        count: usize,
        /// How many fit.
        max: usize,
    },
    /// A free extent lies outside the data pages of the file.
    #[error("free extent {start}+{len} outside 2..{end}")]
    ExtentOutside {
        /// The extent's first page.
        start: PageId,
        /// Its length in pages.
        len: u64,
        /// The end of the file, in pages.
        end: PageId,
    },
    /// A page is freed while it is free: two references to one page.
    #[error("page {page} freed twice")]
    DoubleFree {
        /// The page.
        page: PageId,
    },
    /// A bare value's bytes lie outside its page's value area.
    #[error("value of {len} bytes at {offset} lies outside its page's value area")]
    ValueOutsidePage {
        /// The value's length.
        len: u32,
        /// Its offset in the page.
        offset: u16,
    },
    /// More values refer to a bare value page than it holds.
    #[error("{refs} values refer to a page that holds {count}")]
    TooManyRefs {
        /// The values that refer to the page.
        refs: u64,
        /// The values the page holds.
        count: u16,
    },
    /// The values that refer to a bare value page add up to more than a page.
    #[error("values of {bytes} bytes in all refer to one page")]
    TooManyBytes {
        /// Their total length.
        bytes: u64,
    },
    /// A record or an overflow run holds another length than the leaf says.
    #[error("{what} holds {stored} bytes, the leaf says {expected}")]
    LengthMismatch {
        /// "value record" or "overflow run".
        what: &'static str,
        /// The length stored with the value.
        stored: u64,
        /// The length in the leaf.
        expected: u32,
    },
    /// A record of a value page runs past the page's end.
    #[error("record at {at} of {len} bytes runs past the page end")]
    RecordPastEnd {
        /// The record's offset.
        at: usize,
        /// Its length.
        len: u32,
    },
    /// A location points at a page that is not the first page of an overflow run.
    #[error("page {id} is not the start of an overflow run")]
    NotRunStart {
        /// The page.
        id: PageId,
    },
    /// The first page of an overflow run carries the id of another page.
    #[error("overflow run at page {id} claims another page id")]
    RunMisdirected {
        /// The page.
        id: PageId,
    },
    /// A value dies in a value page whose live count is already 0.
    #[error("a value dies in page {page}, which holds no live value by count")]
    NoLiveValue {
        /// The value page.
        page: PageId,
    },
    /// A value dies in a value page whose live bytes are fewer than its length.
    #[error("a value of {bytes} bytes dies in page {page}, which holds fewer")]
    LiveBytesUnderflow {
        /// The value's length.
        bytes: u64,
        /// The value page.
        page: PageId,
    },
    /// A meta page of a format version older than any emdb wrote.
    #[error("unknown format version {version}")]
    UnknownVersion {
        /// The version.
        version: u32,
    },
    /// A meta page's log binding has unknown flags, or flags without a database id.
    #[error("unknown log flags {flags:#x} or binding without an id")]
    BadLogBinding {
        /// The flags.
        flags: u64,
    },
    /// A meta page records another page size.
    #[error("page size is not 4096")]
    PageSize,
    /// A meta page has bytes past its fields.
    #[error("non-zero bytes after the meta fields")]
    TrailingMetaBytes,
    /// A meta page's sequence says it belongs in the other slot.
    #[error("sequence does not match its slot")]
    SequenceSlot,
    /// A meta page records a tree higher than any emdb builds.
    #[error("tree height {height} exceeds {max}")]
    TooHigh {
        /// The recorded height.
        height: u32,
        /// The highest tree emdb builds.
        max: u32,
    },
    /// A meta page records fewer pages than the two meta pages.
    #[error("page count below 2")]
    TooFewPages,
    /// A meta page's root and height disagree about whether the tree is empty.
    #[error("root and height disagree about an empty tree")]
    EmptyTreeMismatch,
    /// A meta page's root or free-list root lies outside the file's data pages.
    #[error("{what} page {page} outside 2..{count}")]
    PageOutside {
        /// "root" or "free-list root".
        what: &'static str,
        /// The page.
        page: PageId,
        /// The file's page count.
        count: u64,
    },
}
