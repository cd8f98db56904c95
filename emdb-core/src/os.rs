//! The calls into the operating system and the CPU that are not file I/O (those are in
//! `io/platform/`): handing freed heap back to the system, huge-page advice for a block of
//! memory and the cache-line prefetch. Each is a safe function; the `unsafe` they need, and
//! what makes it sound, is here and nowhere else.

/// Hands the memory in the C heap's free lists back to the system, merging free chunks on the
/// way (glibc's `malloc_trim`). On other platforms nothing is done.
#[inline]
pub(crate) fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only reorganizes glibc's own free lists and releases unused pages;
    // it touches no memory in use and is safe to call from any thread at any time.
    #[expect(unsafe_code, reason = "malloc_trim touches only glibc's free lists")]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Asks Linux to back the `len` bytes from `start` with transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`); where the kernel has none to give, nothing changes. Other
/// systems have no such advice (and callers ask only on Linux).
#[cfg(target_os = "linux")]
#[inline]
pub(crate) fn advise_huge_pages(start: std::ptr::NonNull<u8>, len: usize) {
    // SAFETY: MADV_HUGEPAGE only changes how the kernel backs the pages of the range, never
    // their contents or whether they are mapped, so it cannot affect memory the program uses,
    // whatever the range. A failure (a kernel without THP, a range that is not mapped) leaves
    // the memory as it was, so the result is deliberately ignored.
    #[expect(unsafe_code, reason = "MADV_HUGEPAGE never changes the contents of memory")]
    unsafe {
        libc::madvise(start.as_ptr().cast(), len, libc::MADV_HUGEPAGE);
    }
}

/// Asks the CPU to start loading the cache line that holds the start of `value` (a byte of a
/// page, an entry of a log), and returns at once.
///
/// Unlike a load, a prefetch retires without waiting for the data: a loop that prefetches the
/// values of the next entries while decoding them keeps every miss in flight, where loads
/// would stall it once the reorder buffer is full of instructions waiting for the oldest one.
/// On targets without the instruction (anything but `x86_64`) nothing is done.
#[inline]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is only a hint: it never faults and reads nothing the program
        // sees, whatever the address (here a valid reference anyway); SSE, which it needs, is
        // part of every x86_64 CPU.
        #[expect(unsafe_code, reason = "a prefetch never faults and reads nothing visible")]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
