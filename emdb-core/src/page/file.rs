//! [`PageFile`]: checked page and value reads and page writes on the page file, through the
//! I/O seam with `pread`, or through a read-only memory mapping.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use super::value::{
    MAX_VALUE_LEN, O_VALUE, R_VALUE, ValueLoc, bare_value, check_overflow, check_overflow_header,
    check_record, record_in_checked_page,
};
use super::verified::VerifiedPages;
use super::{
    PAGE_SIZE, PAGE_SIZE_U64, PageBuf, PageId, PageType, new_page, seal, verify, verify_header,
    verify_header_of,
};
use crate::error::{Error, Result};
use crate::io::{SharedMap, StorageFile};

/// A page as [`PageFile::read_page_in`] reads it: borrowed from a mapping the caller holds, or
/// a private copy.
#[derive(Debug)]
pub(crate) enum PageBytes<'m> {
    /// A window of the caller's mapping.
    Mapped(&'m [u8]),
    /// Read with `pread` into a buffer of its own.
    Owned(PageBuf),
}

impl PageBytes<'_> {
    /// The page's bytes (always [`PAGE_SIZE`] of them).
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            PageBytes::Mapped(bytes) => bytes,
            PageBytes::Owned(buf) => &buf[..],
        }
    }
}

/// A page as read: a private copy, or a window of the shared read-only mapping.
#[derive(Debug)]
pub(crate) enum Page {
    /// Read with `pread` into a buffer of its own.
    Owned(PageBuf),
    /// Borrowed from the mapping (which it keeps alive) at this byte offset.
    Mapped(SharedMap, usize),
}

impl Page {
    /// The page's bytes (always [`PAGE_SIZE`] of them).
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Page::Owned(b) => &b[..],
            Page::Mapped(map, at) => map.get(*at..*at + PAGE_SIZE).unwrap_or_default(),
        }
    }

    /// The mapping the page was read from, if it was: it maps (at least) the file up to the page,
    /// so values near it can be read from it without the file's lock.
    #[inline]
    pub(crate) fn map(&self) -> Option<&SharedMap> {
        match self {
            Page::Owned(_) => None,
            Page::Mapped(map, _) => Some(map),
        }
    }
}

/// The page file: every read is bounded and checked, every write goes through the seam.
#[derive(Debug)]
pub(crate) struct PageFile {
    path: PathBuf,
    file: Box<dyn StorageFile>,
    /// `None`: reads use `pread`. `Some`: reads use the mapping, remapped as the file grows.
    map: Option<RwLock<Option<SharedMap>>>,
    /// Pages whose checksum was verified since this file last wrote them.
    verified: VerifiedPages,
    /// Of those, the value pages of formats 1 and 2 (type 5) whose id and type were checked as
    /// well (by [`value_in_map`](Self::value_in_map)), so that a scan does not read their
    /// headers again.
    value_pages: VerifiedPages,
    /// Likewise the bare value pages (type 7, format 3): a value in one of them is read with
    /// bounds checks only.
    bare_pages: VerifiedPages,
    /// The file's length as this handle last learned or made it ([`UNKNOWN_LEN`] until first
    /// asked): only this handle changes the file while it holds the database lock, so the
    /// length is asked of the system once, not before every remap (a system call each, and a
    /// reopen makes several).
    len: AtomicU64,
}

/// [`PageFile::len`] has not asked the file yet.
const UNKNOWN_LEN: u64 = u64::MAX;

impl PageFile {
    /// Wraps an open page file; `mmap` asks for reads through a read-only mapping (ignored
    /// where the storage offers none).
    pub(crate) fn new(path: PathBuf, file: Box<dyn StorageFile>, mmap: bool) -> Self {
        PageFile {
            path,
            file,
            map: mmap.then(|| RwLock::new(None)),
            verified: VerifiedPages::new(),
            value_pages: VerifiedPages::new(),
            bare_pages: VerifiedPages::new(),
            len: AtomicU64::new(UNKNOWN_LEN),
        }
    }

    /// The path of the file, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A corruption error at byte `offset` of this file.
    pub(crate) fn corruption(&self, offset: u64, detail: impl std::fmt::Display) -> Error {
        Error::Corruption { path: self.path.clone(), offset, detail: detail.to_string() }
    }

    /// A corruption error about page `id`.
    pub(crate) fn bad_page(&self, id: PageId, detail: impl std::fmt::Display) -> Error {
        self.corruption(id.saturating_mul(PAGE_SIZE_U64), detail)
    }

    /// Converts an I/O error at `offset`; reading past the end means the file was truncated.
    pub(crate) fn io_err(&self, offset: u64, e: io::Error) -> Error {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            self.corruption(offset, "read past the end of the file (truncated file?)")
        } else {
            Error::io(&self.path, e)
        }
    }

    /// Reads `buf.len()` bytes at `offset`.
    pub(crate) fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.file.read_at(buf, offset).map_err(|e| self.io_err(offset, e))
    }

    /// Reads page `id` without checking it (meta pages have their own checks).
    #[inline]
    pub(crate) fn read_raw(&self, id: PageId) -> Result<Page> {
        let offset = id.checked_mul(PAGE_SIZE_U64).ok_or_else(|| self.bad_page(id, "page id"))?;
        if let Some(map) = &self.map
            && let Some(page) = self.mapped(map, offset)?
        {
            return Ok(page);
        }
        let mut buf = new_page();
        self.read_at(&mut buf[..], offset)?;
        Ok(Page::Owned(buf))
    }

    /// The page at `offset` from the mapping, remapping once if the file grew past it.
    #[inline]
    fn mapped(&self, map: &RwLock<Option<SharedMap>>, offset: u64) -> Result<Option<Page>> {
        let Ok(at) = usize::try_from(offset) else { return Ok(None) };
        let Some(end) = at.checked_add(PAGE_SIZE) else { return Ok(None) };
        let current = self.map_covering(map, end)?;
        Ok(current.filter(|m| end <= m.len()).map(|m| Page::Mapped(m, at)))
    }

    /// The mapping, remapped first if it ends before byte `end` (the file may have grown). It
    /// can still end before `end` when the file does.
    fn map_covering(
        &self,
        map: &RwLock<Option<SharedMap>>,
        end: usize,
    ) -> Result<Option<SharedMap>> {
        if let Some(m) = map.read().as_ref()
            && end <= m.len()
        {
            return Ok(Some(m.clone()));
        }
        let len = self.len()?;
        if u64::try_from(end).is_ok_and(|end| end > len) {
            // Past the end of the file: a new mapping would not cover it either.
            return Ok(map.read().clone());
        }
        let fresh = self.file.map_readonly(len).map_err(|e| Error::io(&self.path, e))?;
        let mut slot = map.write();
        *slot = fresh;
        Ok(slot.clone())
    }

    /// Runs `f` on the `len` bytes at `offset` straight from the mapping, without a system call
    /// or a copy; `None` when reads do not use a mapping or the bytes lie past the end of the
    /// file (the caller then reads them with `pread`, which reports a truncated file).
    ///
    /// While the mapping covers the bytes it is only read under its lock, never cloned, so that
    /// concurrent readers share nothing but the lock word.
    fn with_mapped<R>(
        &self,
        offset: u64,
        len: usize,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>> {
        let Some(map) = &self.map else { return Ok(None) };
        let Some(end) = usize::try_from(offset).ok().and_then(|at| at.checked_add(len)) else {
            return Ok(None);
        };
        if let Some(bytes) = map.read().as_ref().and_then(|m| span_of(m, offset, len)) {
            return Ok(Some(f(bytes)));
        }
        let current = self.map_covering(map, end)?;
        Ok(current.as_ref().and_then(|m| span_of(m, offset, len)).map(f))
    }

    /// Reads page `id` and checks its checksum, id and type.
    ///
    /// # Errors
    /// [`Error::Corruption`] when a check fails or the page lies past the end of the file.
    #[inline]
    pub(crate) fn read_page(&self, id: PageId, ty: PageType) -> Result<Page> {
        self.read_page_of(id, &[ty]).map(|(page, _)| page)
    }

    /// Reads page `id`, which may be of any of the types `tys` (a leaf of either layout), and
    /// checks its checksum, id and type; returns it with the type it has.
    ///
    /// # Errors
    /// As [`read_page`](Self::read_page).
    #[inline]
    pub(crate) fn read_page_of(&self, id: PageId, tys: &[PageType]) -> Result<(Page, PageType)> {
        if id < 2 {
            return Err(self
                .bad_page(id, format!("pointer to meta page {id} where a {tys:?} page belongs")));
        }
        let page = self.read_raw(id)?;
        // The checksum holds when it held at the last read and the page has not been written
        // since: only what the caller expects of it (the id and type) is left to check.
        let ty = verify_header_of(page.bytes(), id, tys).map_err(|d| self.bad_page(id, d))?;
        if !self.verified.contains(id) {
            verify(page.bytes(), id, ty).map_err(|d| self.bad_page(id, d))?;
            self.verified.insert(id);
        }
        Ok((page, ty))
    }

    /// Whether page `id` was checked since this file last wrote it (its bytes are what they
    /// were when its checksum held).
    #[inline]
    pub(crate) fn is_verified(&self, id: PageId) -> bool {
        self.verified.contains(id)
    }

    /// The bytes of page `id` in `map`, if the mapping covers it, unchecked: the caller knows
    /// the page (see [`is_verified`](Self::is_verified)).
    #[inline]
    pub(crate) fn mapped_page(map: &SharedMap, id: PageId) -> Option<&[u8]> {
        span_of(map, id.checked_mul(PAGE_SIZE_U64)?, PAGE_SIZE)
    }

    /// Reads page `id`, checked as [`read_page_of`](Self::read_page_of) checks it, borrowed
    /// from `map` (a mapping of this file, perhaps older and shorter than the file) when that
    /// covers it and read into a buffer of its own otherwise: a point read through the index,
    /// which holds its shard's copy of the mapping and touches no lock or reference count that
    /// readers of other shards share.
    ///
    /// # Errors
    /// As [`read_page_of`](Self::read_page_of).
    #[inline]
    pub(crate) fn read_page_in<'m>(
        &self,
        map: Option<&'m SharedMap>,
        id: PageId,
        tys: &[PageType],
    ) -> Result<PageBytes<'m>> {
        if id < 2 {
            return Err(self
                .bad_page(id, format!("pointer to meta page {id} where a {tys:?} page belongs")));
        }
        let offset = id.checked_mul(PAGE_SIZE_U64).ok_or_else(|| self.bad_page(id, "page id"))?;
        let page = if let Some(bytes) = map.and_then(|m| span_of(m, offset, PAGE_SIZE)) {
            PageBytes::Mapped(bytes)
        } else {
            let mut buf = new_page();
            self.read_at(&mut buf[..], offset)?;
            PageBytes::Owned(buf)
        };
        let ty = verify_header_of(page.bytes(), id, tys).map_err(|d| self.bad_page(id, d))?;
        if !self.verified.contains(id) {
            verify(page.bytes(), id, ty).map_err(|d| self.bad_page(id, d))?;
            self.verified.insert(id);
        }
        Ok(page)
    }

    /// Where the value at `loc` lies: the byte offset of its bytes (bare value page), of its
    /// record (value page of formats 1 and 2) or of its overflow run, and the length of those
    /// bytes with their header, checked against the format's bounds.
    #[inline]
    fn value_span(&self, loc: ValueLoc) -> Result<(u64, usize)> {
        let len = usize::try_from(loc.len()).unwrap_or(usize::MAX);
        let in_page = |page: PageId, offset: u16, header: usize| {
            let off = usize::from(offset);
            (page >= 2 && off >= super::HEADER_LEN && off + header + len <= PAGE_SIZE)
                .then(|| (page_at(page) + u64::from(offset), header + len))
        };
        let span = match loc {
            ValueLoc::Packed { page, offset, .. } => in_page(page, offset, 0),
            ValueLoc::Record { page, offset, .. } => in_page(page, offset, R_VALUE),
            ValueLoc::Overflow { page, .. } => (page >= 2 && len <= MAX_VALUE_LEN)
                .then(|| (page.saturating_mul(PAGE_SIZE_U64), O_VALUE + len)),
        };
        span.ok_or_else(|| self.bad_page(loc.page(), format!("bad value location {loc:?}")))
    }

    /// Checks the record (or overflow run) of `loc`, read whole into `bytes` from byte `at`,
    /// and returns the value in it.
    fn check_value<'a>(&self, loc: ValueLoc, at: u64, bytes: &'a [u8]) -> Result<&'a [u8]> {
        let checked = match loc {
            ValueLoc::Record { .. } => check_record(bytes, loc.len()),
            ValueLoc::Packed { .. } => {
                return Err(Error::Internal {
                    detail: "a bare value is checked with its page, not alone".into(),
                });
            }
            ValueLoc::Overflow { page, .. } => {
                let (h, value) = bytes.split_at_checked(O_VALUE).unwrap_or_default();
                check_overflow_header(h, page, loc.len())
                    .and_then(|()| check_overflow(h, value))
                    .map(|()| value)
            }
        };
        checked.map_err(|d| self.corruption(at, d))
    }

    /// Reads and checks a value stored out of its leaf, appending it to `out`.
    ///
    /// # Errors
    /// [`Error::Corruption`] when the location, the length or the checksum is wrong; `out` is
    /// unchanged on any error.
    pub(crate) fn read_value_into(&self, loc: ValueLoc, out: &mut Vec<u8>) -> Result<()> {
        let (at, span) = self.value_span(loc)?;
        let mapped = match loc {
            ValueLoc::Packed { page, offset, len } => {
                let copy = |whole: &[u8]| {
                    out.extend_from_slice(self.bare_in_page(whole, page, offset, len, at)?);
                    Ok(())
                };
                self.with_mapped(page_at(page), PAGE_SIZE, copy)?
            }
            ValueLoc::Record { page, len, .. } => {
                let copy = |bytes: &[u8]| {
                    let value = self.check_packed_in_page(bytes, page, len, at, span)?;
                    out.extend_from_slice(value);
                    Ok(())
                };
                self.with_mapped(page_at(page), PAGE_SIZE, copy)?
            }
            ValueLoc::Overflow { .. } => {
                let copy = |bytes: &[u8]| self.check_value(loc, at, bytes).map(|v| out.extend(v));
                self.with_mapped(at, span, copy)?
            }
        };
        if let Some(done) = mapped {
            return done;
        }
        match loc {
            ValueLoc::Packed { page, offset, len } => {
                // The whole page: its checksum is the value's only check.
                let mut whole = [0u8; PAGE_SIZE];
                self.read_at(&mut whole, page_at(page))?;
                out.extend_from_slice(self.bare_in_page(&whole, page, offset, len, at)?);
            }
            ValueLoc::Record { .. } => {
                let mut rec = [0u8; PAGE_SIZE];
                let rec = rec.get_mut(..span).unwrap_or_default();
                self.read_at(rec, at)?;
                out.extend_from_slice(self.check_value(loc, at, rec)?);
            }
            ValueLoc::Overflow { page, .. } => {
                // Read the value straight into `out`: no second buffer for a large value.
                let mut h = [0u8; O_VALUE];
                self.read_at(&mut h, at)?;
                check_overflow_header(&h, page, loc.len()).map_err(|d| self.corruption(at, d))?;
                let start = out.len();
                out.resize(start + span - O_VALUE, 0);
                let dst = out.get_mut(start..).unwrap_or_default();
                if let Err(e) = self.read_at(dst, at + O_VALUE as u64) {
                    out.truncate(start);
                    return Err(e);
                }
                let value = out.get(start..).unwrap_or_default();
                if let Err(d) = check_overflow(&h, value) {
                    out.truncate(start);
                    return Err(self.corruption(at, d));
                }
            }
        }
        Ok(())
    }

    /// Reads and checks a value stored out of its leaf, appending it to `out`: from `map` (a
    /// mapping of this file, perhaps older and shorter than the file) when it covers the value,
    /// else as [`read_value_into`](Self::read_value_into) does.
    ///
    /// # Errors
    /// As [`read_value_into`](Self::read_value_into); `out` is unchanged on error.
    pub(crate) fn read_value_in(
        &self,
        map: Option<&SharedMap>,
        loc: ValueLoc,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(map) = map
            && let Some(value) = self.value_in_map(map, loc, &AtomicU64::new(0))?
        {
            out.extend_from_slice(value);
            return Ok(());
        }
        self.read_value_into(loc, out)
    }

    /// The value at `loc`, checked in place in `map` (a mapping of this file, perhaps older and
    /// shorter than the file); `None` when the mapping does not cover it.
    ///
    /// A packed value's page is checked whole (checksum, id, type) the first time, then
    /// remembered as a verified bare value page (like the tree's pages, until this file writes
    /// it again), so later reads of any value in it check only its bounds: a read does not hash
    /// the value it copies, nor touch the page's header. `checked` is the bare value page the
    /// caller last read through this method (0 for none), which it need not even look up. A
    /// record in a value page of formats 1 and 2 is read the same way, its length checked
    /// against the leaf's.
    ///
    /// # Errors
    /// As [`read_value_into`](Self::read_value_into).
    #[expect(
        clippy::inline_always,
        reason = "per value of every scan; out of line, the location is handed over through \
                  memory right after the caller stored it field by field, and the callee's wider \
                  load stalls store forwarding"
    )]
    #[inline(always)]
    pub(crate) fn value_in_map<'m>(
        &self,
        map: &'m SharedMap,
        loc: ValueLoc,
        checked: &AtomicU64,
    ) -> Result<Option<&'m [u8]>> {
        let (at, span) = self.value_span(loc)?;
        let Some(bytes) = span_of(map, at, span) else { return Ok(None) };
        match loc {
            ValueLoc::Packed { page, offset, len } => {
                if checked.load(Ordering::Relaxed) == page || self.bare_pages.contains(page) {
                    return Ok(Some(bytes));
                }
                let Some(whole) = span_of(map, page_at(page), PAGE_SIZE) else { return Ok(None) };
                let value = self.bare_in_page(whole, page, offset, len, at)?;
                checked.store(page, Ordering::Relaxed);
                Ok(Some(value))
            }
            ValueLoc::Record { page, len, .. } => {
                if self.value_pages.contains(page) {
                    return self.record_in_page(bytes, len, at, true).map(Some);
                }
                let Some(whole) = span_of(map, page_at(page), PAGE_SIZE) else { return Ok(None) };
                let verified = self.check_value_page(whole, page)?;
                self.record_in_page(bytes, len, at, verified).map(Some)
            }
            ValueLoc::Overflow { .. } => self.check_value(loc, at, bytes).map(Some),
        }
    }

    /// The value `offset..offset + len` (at byte `at` of the file) of bare value page `page`,
    /// whose bytes are `whole`: the page is checked whole (checksum, id, type) unless it was
    /// since this file last wrote it, then remembered; the value is bounds-checked.
    ///
    /// # Errors
    /// [`Error::Corruption`] when the page is not a bare value page, its checksum fails (every
    /// value in it is then an error: nothing else checks them), or the value lies outside it.
    #[inline]
    fn bare_in_page<'a>(
        &self,
        whole: &'a [u8],
        page: PageId,
        offset: u16,
        len: u32,
        at: u64,
    ) -> Result<&'a [u8]> {
        if !self.bare_pages.contains(page) {
            verify_header(whole, page, PageType::BareValue).map_err(|d| self.bad_page(page, d))?;
            if !self.verified.contains(page) {
                verify(whole, page, PageType::BareValue).map_err(|d| self.bad_page(page, d))?;
                self.verified.insert(page);
            }
            self.bare_pages.insert(page);
        }
        bare_value(whole, offset, len).map_err(|d| self.corruption(at, d))
    }

    /// Checks value page `page` of formats 1 and 2 (its bytes `whole`) the first time, and
    /// remembers it when it passes: `true` when it is a verified value page, `false` when its
    /// id and type are right but its checksum fails (damage elsewhere in the page must not hide
    /// an intact record: the caller checks the record's own checksum).
    ///
    /// # Errors
    /// [`Error::Corruption`] when the page is not a value page (a bad location).
    fn check_value_page(&self, whole: &[u8], page: PageId) -> Result<bool> {
        if self.value_pages.contains(page) {
            return Ok(true);
        }
        verify_header(whole, page, PageType::Value).map_err(|d| self.bad_page(page, d))?;
        if !self.verified.contains(page) {
            if verify(whole, page, PageType::Value).is_err() {
                return Ok(false);
            }
            self.verified.insert(page);
        }
        self.value_pages.insert(page);
        Ok(true)
    }

    /// The value of the record `rec` (at byte `at`) of a value page: only its length checked
    /// when the page is `verified`, its own checksum too when it is not.
    #[inline]
    fn record_in_page<'a>(
        &self,
        rec: &'a [u8],
        len: u32,
        at: u64,
        verified: bool,
    ) -> Result<&'a [u8]> {
        let value =
            if verified { record_in_checked_page(rec, len) } else { check_record(rec, len) };
        value.map_err(|d| self.corruption(at, d))
    }

    /// Checks the record of `span` bytes at byte `at` of the file in value page `page`, whose
    /// bytes are `whole` (as [`value_in_map`](Self::value_in_map) does), and returns its value.
    fn check_packed_in_page<'a>(
        &self,
        whole: &'a [u8],
        page: PageId,
        len: u32,
        at: u64,
        span: usize,
    ) -> Result<&'a [u8]> {
        let start = usize::try_from(at.saturating_sub(page_at(page))).unwrap_or(usize::MAX);
        let rec = start
            .checked_add(span)
            .and_then(|end| whole.get(start..end))
            .ok_or_else(|| self.corruption(at, "value record outside its page"))?;
        let verified = self.check_value_page(whole, page)?;
        self.record_in_page(rec, len, at, verified)
    }

    /// The current mapping of the whole file (remapped first if the file grew past it), or
    /// `None` when reads use `pread`.
    ///
    /// # Errors
    /// An I/O error from the remap.
    pub(crate) fn current_map(&self) -> Result<Option<SharedMap>> {
        let Some(map) = &self.map else { return Ok(None) };
        let len = usize::try_from(self.len()?).unwrap_or(usize::MAX);
        self.map_covering(map, len)
    }

    /// Reads and checks a value stored out of its leaf.
    ///
    /// # Errors
    /// As [`read_value_into`](Self::read_value_into).
    pub(crate) fn read_value(&self, loc: ValueLoc) -> Result<Vec<u8>> {
        let mut out =
            Vec::with_capacity(usize::try_from(loc.len()).unwrap_or(0).min(MAX_VALUE_LEN));
        self.read_value_into(loc, &mut out)?;
        Ok(out)
    }

    /// Seals (id and checksum) and writes a data page at `id`.
    pub(crate) fn write_page(&self, id: PageId, page: &mut PageBuf) -> Result<()> {
        seal(page, id);
        self.write_at(&page[..], id.saturating_mul(PAGE_SIZE_U64))
    }

    /// Writes bytes at `offset`.
    pub(crate) fn write_at(&self, bytes: &[u8], offset: u64) -> Result<()> {
        let first = offset / PAGE_SIZE_U64;
        let end = offset.saturating_add(bytes.len() as u64).div_ceil(PAGE_SIZE_U64);
        self.verified.remove_range(first, end.saturating_sub(first));
        self.value_pages.remove_range(first, end.saturating_sub(first));
        self.bare_pages.remove_range(first, end.saturating_sub(first));
        self.file.write_at(bytes, offset).map_err(|e| Error::io(&self.path, e))?;
        // A write past the end extends the file (an unknown length stays unknown).
        self.len.fetch_max(offset.saturating_add(bytes.len() as u64), Ordering::AcqRel);
        Ok(())
    }

    /// Extends the file to `len` bytes (a page file never shrinks while it is open: readers may
    /// map every byte it had).
    pub(crate) fn set_len(&self, len: u64) -> Result<()> {
        let r = self.file.set_len(len).map_err(|e| Error::io(&self.path, e));
        // A failed change may have been partly done: ask the file again.
        self.len.store(if r.is_ok() { len } else { UNKNOWN_LEN }, Ordering::Release);
        r
    }

    /// Makes every write so far durable (`fdatasync`).
    pub(crate) fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }

    /// The length of the file in bytes (asked of the system once, then kept up to date by
    /// this handle's writes).
    pub(crate) fn len(&self) -> Result<u64> {
        let known = self.len.load(Ordering::Acquire);
        if known != UNKNOWN_LEN {
            return Ok(known);
        }
        let len = self.file.len().map_err(|e| Error::io(&self.path, e))?;
        // Only the writer changes the length, and never while the length is unknown and
        // readers ask for it (it is learned at open, before any write).
        self.len.store(len, Ordering::Release);
        Ok(len)
    }
}

/// The byte offset of page `id`.
fn page_at(id: PageId) -> u64 {
    id.saturating_mul(PAGE_SIZE_U64)
}

/// The `len` bytes of `map` at byte `offset`, if the mapping covers them.
fn span_of(map: &SharedMap, offset: u64, len: usize) -> Option<&[u8]> {
    let at = usize::try_from(offset).ok()?;
    map.get(at..at.checked_add(len)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{FileStorage, MemStorage, Storage};
    use crate::page::value::{FIRST_RECORD, overflow_header, put_bare, put_record};
    use crate::page::write_header;

    fn check_file(pf: &PageFile) {
        let mut p = new_page();
        let next = put_record(&mut p, FIRST_RECORD, b"hello").unwrap();
        write_header(&mut p, PageType::Value, 0, 1);
        pf.write_page(3, &mut p).unwrap();
        assert!(next > FIRST_RECORD);
        let page = pf.read_page(3, PageType::Value).unwrap();
        assert_eq!(page.bytes().len(), PAGE_SIZE);
        let loc = ValueLoc::Record { page: 3, offset: crate::page::u16_of(FIRST_RECORD), len: 5 };
        assert_eq!(pf.read_value(loc).unwrap(), b"hello");
        // A bare value page (format 3): values back to back, the page checksum their check.
        let mut b = new_page();
        let second = put_bare(&mut b, FIRST_RECORD, b"bare one").unwrap();
        put_bare(&mut b, second, b"bare two").unwrap();
        write_header(&mut b, PageType::BareValue, 0, 2);
        pf.write_page(8, &mut b).unwrap();
        let bare = |offset: usize, len| ValueLoc::Packed {
            page: 8,
            offset: crate::page::u16_of(offset),
            len,
        };
        for _ in 0..2 {
            assert_eq!(pf.read_value(bare(FIRST_RECORD, 8)).unwrap(), b"bare one");
            assert_eq!(pf.read_value(bare(second, 8)).unwrap(), b"bare two");
        }
        assert_eq!(pf.read_value(bare(second + 5, 3)).unwrap(), b"two");
        let mut out = b"x".to_vec();
        pf.read_value_into(bare(second, 8), &mut out).unwrap();
        assert_eq!(out, b"xbare two");
        for wrong in [bare(PAGE_SIZE - 2, 3), bare(4, 3), bare(FIRST_RECORD, u32::MAX)] {
            assert!(matches!(pf.read_value(wrong), Err(Error::Corruption { .. })), "{wrong:?}");
        }
        // The kinds of value page are not interchangeable.
        let as_record =
            ValueLoc::Record { page: 8, offset: crate::page::u16_of(FIRST_RECORD), len: 0 };
        assert!(matches!(pf.read_value(as_record), Err(Error::Corruption { .. })));
        assert!(matches!(
            pf.read_value(ValueLoc::Packed { page: 3, offset: 24, len: 5 }),
            Err(Error::Corruption { .. })
        ));
        let big = vec![9u8; 9000];
        pf.write_at(&overflow_header(4, &big), 4 * PAGE_SIZE_U64).unwrap();
        pf.write_at(&big, 4 * PAGE_SIZE_U64 + O_VALUE as u64).unwrap();
        let loc = ValueLoc::Overflow { page: 4, len: 9000 };
        assert_eq!(pf.read_value(loc).unwrap(), big);
        // Later pages appear through the mapping after a remap.
        let mut q = new_page();
        write_header(&mut q, PageType::Leaf, 0, 0);
        pf.write_page(9, &mut q).unwrap();
        pf.read_page(9, PageType::Leaf).unwrap();
        assert!(matches!(pf.read_page(9, PageType::Branch), Err(Error::Corruption { .. })));
        assert!(matches!(pf.read_page(50, PageType::Leaf), Err(Error::Corruption { .. })));
        assert!(matches!(pf.read_page(1, PageType::Leaf), Err(Error::Corruption { .. })));
        let bad = ValueLoc::Overflow { page: 4, len: 8999 };
        assert!(matches!(pf.read_value(bad), Err(Error::Corruption { .. })));
    }

    #[test]
    fn a_page_checked_once_is_checked_again_after_it_is_written() {
        let s = MemStorage::new();
        let pf = PageFile::new("db".into(), s.open_file(Path::new("db"), true).unwrap(), false);
        let mut p = new_page();
        write_header(&mut p, PageType::Leaf, 0, 0);
        pf.write_page(3, &mut p).unwrap();
        pf.read_page(3, PageType::Leaf).unwrap();
        assert!(pf.verified.contains(3));
        // Once verified, the id and type are still checked on every read.
        assert!(matches!(pf.read_page(3, PageType::Branch), Err(Error::Corruption { .. })));
        // A write (here of bytes whose checksum is wrong) forgets the page: the next read
        // checksums it again and sees the damage.
        let mut bad = p;
        bad[100] ^= 1;
        pf.write_at(&bad[..], 3 * PAGE_SIZE_U64).unwrap();
        assert!(!pf.verified.contains(3));
        assert!(matches!(pf.read_page(3, PageType::Leaf), Err(Error::Corruption { .. })));
    }

    /// Writes a value page of formats 1 and 2 at 3 holding the records "first" (at
    /// `FIRST_RECORD`) and "second"; returns where the second starts, and the page.
    fn record_page(pf: &PageFile) -> (usize, PageBuf) {
        let mut p = new_page();
        let second = put_record(&mut p, FIRST_RECORD, b"first").unwrap();
        put_record(&mut p, second, b"second").unwrap();
        write_header(&mut p, PageType::Value, 0, 2);
        pf.write_page(3, &mut p).unwrap();
        (second, p)
    }

    #[test]
    fn a_value_page_read_in_place_is_checked_whole_once_and_records_fall_back_to_their_own_crc() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let f = FileStorage.open_file(&path, true).unwrap();
        f.write_at(&[0u8; 2 * PAGE_SIZE], 0).unwrap();
        let pf = PageFile::new(path, f, true);
        let (second, p) = record_page(&pf);
        let first = ValueLoc::Record { page: 3, offset: crate::page::u16_of(FIRST_RECORD), len: 5 };
        let loc2 = ValueLoc::Record { page: 3, offset: crate::page::u16_of(second), len: 6 };
        let read = |loc| {
            let map = pf.current_map().unwrap().unwrap();
            let mut out = b"x".to_vec();
            pf.read_value_in(Some(&map), loc, &mut out).map(|()| out)
        };
        assert_eq!(pf.read_value(first).unwrap(), b"first");
        assert!(pf.value_pages.contains(3), "the whole page was checked on first read");
        assert_eq!(read(first).unwrap(), b"xfirst");
        assert_eq!(read(loc2).unwrap(), b"xsecond");
        // A length the record does not hold is caught on a verified page too.
        let wrong = ValueLoc::Record { page: 3, offset: crate::page::u16_of(second), len: 5 };
        assert!(matches!(read(wrong), Err(Error::Corruption { .. })));
        // Rewritten with a damaged first record: the page is forgotten, its checksum fails, the
        // damaged record is an error and the intact one still reads (its own checksum holds).
        let mut bad = p;
        bad[FIRST_RECORD + 9] ^= 1;
        pf.write_at(&bad[..], 3 * PAGE_SIZE_U64).unwrap();
        assert!(!pf.value_pages.contains(3));
        assert!(matches!(read(first), Err(Error::Corruption { .. })));
        assert_eq!(read(loc2).unwrap(), b"xsecond");
        // The same through the file's own mapping (iterators, transactions).
        assert!(matches!(pf.read_value(first), Err(Error::Corruption { .. })));
        assert_eq!(pf.read_value(loc2).unwrap(), b"second");
        assert!(!pf.value_pages.contains(3), "a page with a bad checksum is never trusted");
        // A page of another type is never taken for a verified value page.
        let mut leaf = new_page();
        write_header(&mut leaf, PageType::Leaf, 0, 0);
        pf.write_page(4, &mut leaf).unwrap();
        let at_leaf =
            ValueLoc::Record { page: 4, offset: crate::page::u16_of(FIRST_RECORD), len: 5 };
        assert!(matches!(read(at_leaf), Err(Error::Corruption { .. })));
        assert!(!pf.value_pages.contains(4));
    }

    #[test]
    fn values_read_in_the_mapping_check_their_page_once_and_still_catch_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let file = FileStorage.open_file(&path, true).unwrap();
        file.write_at(&[0u8; 2 * PAGE_SIZE], 0).unwrap();
        let pf = PageFile::new(path, file, true);
        let (second, page) = record_page(&pf);
        let first = FIRST_RECORD;
        let mut leaf = new_page();
        write_header(&mut leaf, PageType::Leaf, 0, 0);
        pf.write_page(4, &mut leaf).unwrap();
        let loc = |page, at, len| ValueLoc::Record { page, offset: crate::page::u16_of(at), len };

        let map = pf.current_map().unwrap().unwrap();
        let checked = AtomicU64::new(0);
        assert_eq!(pf.value_in_map(&map, loc(3, first, 5), &checked).unwrap(), Some(&b"first"[..]));
        assert!(pf.verified.contains(3), "the whole page was checked");
        assert!(pf.value_pages.contains(3), "as a value page");
        assert_eq!(
            pf.value_in_map(&map, loc(3, second, 6), &checked).unwrap(),
            Some(&b"second"[..])
        );
        // In a checked page the record's length must still agree with the leaf's.
        let short = pf.value_in_map(&map, loc(3, second, 5), &checked);
        assert!(matches!(short, Err(Error::Corruption { .. })));
        // A verified page of another type is not a value page.
        pf.read_page(4, PageType::Leaf).unwrap();
        let wrong = pf.value_in_map(&map, loc(4, first, 0), &AtomicU64::new(0));
        assert!(matches!(wrong, Err(Error::Corruption { .. })));

        // One flipped bit in the second record: the page checksum fails, so each record is
        // checked by its own; the intact one still reads, the damaged one is an error.
        let mut bad = page;
        bad[second + R_VALUE] ^= 1;
        pf.write_at(&bad[..], 3 * PAGE_SIZE_U64).unwrap();
        assert!(!pf.value_pages.contains(3), "a write forgets the page");
        let map = pf.current_map().unwrap().unwrap();
        let intact = pf.value_in_map(&map, loc(3, first, 5), &AtomicU64::new(0)).unwrap();
        assert_eq!(intact, Some(&b"first"[..]));
        let damaged = pf.value_in_map(&map, loc(3, second, 6), &AtomicU64::new(0));
        assert!(matches!(damaged, Err(Error::Corruption { .. })));
        assert!(!pf.value_pages.contains(3), "a page whose checksum fails is never trusted");
        // Past the end of the mapping there is nothing to read in it.
        assert_eq!(pf.value_in_map(&map, loc(40, first, 5), &AtomicU64::new(0)).unwrap(), None);
    }

    /// Writes a bare value page at 3 holding "first" and "second"; returns the two locations
    /// and the page.
    fn bare_page(pf: &PageFile) -> (ValueLoc, ValueLoc, PageBuf) {
        let mut p = new_page();
        let second = put_bare(&mut p, FIRST_RECORD, b"first").unwrap();
        put_bare(&mut p, second, b"second").unwrap();
        write_header(&mut p, PageType::BareValue, 0, 2);
        pf.write_page(3, &mut p).unwrap();
        let loc =
            |at: usize, len| ValueLoc::Packed { page: 3, offset: crate::page::u16_of(at), len };
        (loc(FIRST_RECORD, 5), loc(second, 6), p)
    }

    #[test]
    fn a_bare_value_page_is_checked_once_in_the_mapping_and_its_damage_fails_every_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let file = FileStorage.open_file(&path, true).unwrap();
        file.write_at(&[0u8; 2 * PAGE_SIZE], 0).unwrap();
        let pf = PageFile::new(path, file, true);
        let (first, second, page) = bare_page(&pf);
        let mut leaf = new_page();
        write_header(&mut leaf, PageType::Leaf, 0, 0);
        pf.write_page(4, &mut leaf).unwrap();

        let map = pf.current_map().unwrap().unwrap();
        let checked = AtomicU64::new(0);
        assert_eq!(pf.value_in_map(&map, first, &checked).unwrap(), Some(&b"first"[..]));
        assert!(pf.bare_pages.contains(3) && pf.verified.contains(3), "checked whole once");
        assert_eq!(checked.load(Ordering::Relaxed), 3);
        assert_eq!(pf.value_in_map(&map, second, &checked).unwrap(), Some(&b"second"[..]));
        assert_eq!(
            pf.value_in_map(&map, second, &AtomicU64::new(0)).unwrap(),
            Some(&b"second"[..])
        );
        // A location that leaves the page is an error even on a checked page.
        let past = ValueLoc::Packed { page: 3, offset: crate::page::u16_of(PAGE_SIZE - 3), len: 4 };
        assert!(matches!(pf.value_in_map(&map, past, &checked), Err(Error::Corruption { .. })));
        // A verified page of another type is not a bare value page.
        pf.read_page(4, PageType::Leaf).unwrap();
        let at_leaf =
            ValueLoc::Packed { page: 4, offset: crate::page::u16_of(FIRST_RECORD), len: 5 };
        let wrong = pf.value_in_map(&map, at_leaf, &AtomicU64::new(0));
        assert!(matches!(wrong, Err(Error::Corruption { .. })));
        assert!(!pf.bare_pages.contains(4));

        // One flipped bit in the second value: the page checksum fails, and with no check of
        // their own, BOTH values are errors (never the damaged bytes), in the mapping and
        // through pread, every time.
        let mut bad = page;
        bad[usize::from(match second {
            ValueLoc::Packed { offset, .. } => offset,
            _ => unreachable!(),
        })] ^= 1;
        pf.write_at(&bad[..], 3 * PAGE_SIZE_U64).unwrap();
        assert!(!pf.bare_pages.contains(3), "a write forgets the page");
        let map = pf.current_map().unwrap().unwrap();
        for _ in 0..2 {
            for loc in [first, second] {
                let in_map = pf.value_in_map(&map, loc, &AtomicU64::new(0));
                assert!(matches!(in_map, Err(Error::Corruption { .. })), "{in_map:?}");
                assert!(matches!(pf.read_value(loc), Err(Error::Corruption { .. })));
            }
        }
        assert!(!pf.bare_pages.contains(3), "a page whose checksum fails is never trusted");
        assert!(!pf.verified.contains(3));
        // Past the end of the mapping there is nothing to read in it.
        let far = ValueLoc::Packed { page: 40, offset: crate::page::u16_of(FIRST_RECORD), len: 5 };
        assert_eq!(pf.value_in_map(&map, far, &AtomicU64::new(0)).unwrap(), None);
    }

    #[test]
    fn a_damaged_bare_value_page_read_with_pread_is_corruption_for_every_value() {
        let s = MemStorage::new();
        let pf = PageFile::new("db".into(), s.open_file(Path::new("db"), true).unwrap(), false);
        let (first, second, page) = bare_page(&pf);
        assert_eq!(pf.read_value(first).unwrap(), b"first");
        assert_eq!(pf.read_value(second).unwrap(), b"second");
        // Damage in the page's unused tail (no value lies there) still fails both values: the
        // checksum cannot tell where the damage is.
        let mut bad = page;
        bad[PAGE_SIZE - 1] ^= 0x40;
        pf.write_at(&bad[..], 3 * PAGE_SIZE_U64).unwrap();
        for loc in [first, second] {
            let err = pf.read_value(loc).unwrap_err();
            assert!(matches!(err, Error::Corruption { offset: 12_288, .. }), "{err}");
        }
        let mut out = b"keep".to_vec();
        assert!(pf.read_value_into(first, &mut out).is_err());
        assert_eq!(out, b"keep", "nothing appended on error");
    }

    #[test]
    fn pages_and_values_round_trip_through_pread() {
        let s = MemStorage::new();
        let f = s.open_file(Path::new("db"), true).unwrap();
        check_file(&PageFile::new("db".into(), f, false));
    }

    #[test]
    fn pages_and_values_round_trip_through_the_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let f = FileStorage.open_file(&path, true).unwrap();
        f.write_at(&[0u8; 2 * PAGE_SIZE], 0).unwrap();
        let pf = PageFile::new(path, f, true);
        check_file(&pf);
        assert!(matches!(pf.read_raw(9).unwrap(), Page::Mapped(..)));
    }
}
