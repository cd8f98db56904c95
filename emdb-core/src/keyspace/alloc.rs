//! [`TableAlloc`]: the allocator of the point index's hash tables.
//!
//! A point read touches two random cache lines of a table that, for a million keys, spans over a
//! hundred megabytes: with 4 KiB pages nearly every read also misses the TLB, and under a
//! hypervisor a page walk costs several memory accesses, enough to stop reads from scaling
//! with threads (docs/BENCH.md has the measurement). So on Linux a table of at least [`HUGE_PAGE`] bytes is aligned to 2 MiB and marked
//! `MADV_HUGEPAGE`, which asks for transparent huge pages even where the system default is
//! `madvise` (the common one). Where the kernel has none to give, the advice is ignored and the
//! table works as before; elsewhere this is the global allocator.

use std::alloc::Layout;
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator};

/// The size of a transparent huge page on x86-64 and most aarch64 kernels.
const HUGE_PAGE: usize = 2 * 1024 * 1024;

/// The global allocator, with huge-page advice for large tables on Linux.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TableAlloc;

impl TableAlloc {
    /// The layout actually allocated for `layout`: large blocks are aligned to a huge page so
    /// that the advice covers whole huge pages. A pure function of `layout`, so deallocation
    /// recomputes the same one.
    fn actual(layout: Layout) -> Layout {
        if cfg!(target_os = "linux") && layout.size() >= HUGE_PAGE {
            layout.align_to(HUGE_PAGE).unwrap_or(layout)
        } else {
            layout
        }
    }
}

// SAFETY: every block comes from the global allocator with the layout `actual(layout)`, is
// returned to it with that same layout (recomputed from the layout the caller passes back, as
// the `Allocator` contract requires it to be the allocation's layout), and is at least
// `layout.size()` bytes aligned to at least `layout.align()`. Zero-sized requests get a dangling,
// well-aligned pointer and are never passed to the global allocator. The value is a unit struct,
// so clones are interchangeable, as the trait requires.
#[expect(unsafe_code, reason = "the global allocator's blocks, returned with their own layout")]
unsafe impl Allocator for TableAlloc {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            // An address equal to the alignment is non-null and aligned; nothing is allocated.
            let dangling = NonNull::new(std::ptr::without_provenance_mut::<u8>(layout.align()))
                .ok_or(AllocError)?;
            return Ok(NonNull::slice_from_raw_parts(dangling, 0));
        }
        let actual = Self::actual(layout);
        // SAFETY: `actual` has a non-zero size (checked above; aligning keeps the size).
        #[expect(unsafe_code, reason = "a non-zero size, as `alloc` requires")]
        let ptr = NonNull::new(unsafe { std::alloc::alloc(actual) }).ok_or(AllocError)?;
        advise_huge(ptr, actual);
        Ok(NonNull::slice_from_raw_parts(ptr, actual.size()))
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: `ptr` was allocated by `allocate` with `actual(layout)` (the caller's
            // contract), which is what is passed back.
            #[expect(unsafe_code, reason = "the block's own layout goes back")]
            unsafe {
                std::alloc::dealloc(ptr.as_ptr(), Self::actual(layout));
            }
        }
    }
}

/// Asks Linux to back the whole huge pages of a block with transparent huge pages.
#[cfg(target_os = "linux")]
fn advise_huge(ptr: NonNull<u8>, layout: Layout) {
    if layout.size() < HUGE_PAGE {
        return;
    }
    let len = layout.size() - layout.size() % HUGE_PAGE;
    crate::os::advise_huge_pages(ptr, len);
}

/// Huge pages are only requested on Linux.
#[cfg(not(target_os = "linux"))]
fn advise_huge(_ptr: NonNull<u8>, _layout: Layout) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(unsafe_code, reason = "writes inside a block it allocated, frees it once")]
    fn blocks_of_every_size_are_aligned_writable_and_freed() {
        for size in [0usize, 1, 64, 4096, HUGE_PAGE - 1, HUGE_PAGE, 3 * HUGE_PAGE + 17] {
            let layout = Layout::from_size_align(size, 16).unwrap();
            let block = TableAlloc.allocate(layout).unwrap();
            let ptr = block.cast::<u8>();
            assert!(block.len() >= size);
            assert_eq!(ptr.as_ptr() as usize % 16, 0);
            if size >= HUGE_PAGE && cfg!(target_os = "linux") {
                assert_eq!(ptr.as_ptr() as usize % HUGE_PAGE, 0, "large blocks sit on huge pages");
            }
            if size > 0 {
                // SAFETY: the block has at least `size` writable bytes.
                unsafe {
                    ptr.as_ptr().write_bytes(0xA5, size);
                    assert_eq!(*ptr.as_ptr().add(size - 1), 0xA5);
                }
            }
            // SAFETY: allocated just above with this layout.
            unsafe { TableAlloc.deallocate(ptr, layout) };
        }
    }

    #[test]
    fn a_table_in_it_grows_past_a_huge_page_and_keeps_every_entry() {
        let mut table = hashbrown::HashTable::new_in(TableAlloc);
        let hash = |v: &u64| v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for v in 0..400_000u64 {
            table.insert_unique(hash(&v), v, hash);
        }
        assert!(table.capacity() * 8 >= HUGE_PAGE, "the table outgrew a huge page");
        for v in 0..400_000u64 {
            assert_eq!(table.find(hash(&v), |x| *x == v), Some(&v));
        }
    }
}
