//! [`prefetch`]: a hint that asks the CPU to start loading a cache line, the one place outside
//! the mapping and the index allocator with `unsafe` code.

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
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
