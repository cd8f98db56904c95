//! [`prefetch`]: a hint that asks the CPU to start loading a cache line, the one place outside
//! the mapping and the index allocator with `unsafe` code.

/// Asks the CPU to start loading the cache line that holds `byte`, and returns at once.
///
/// Unlike a load, a prefetch retires without waiting for the data: a loop that prefetches the
/// values of the next entries while decoding them keeps every miss in flight, where loads
/// would stall it once the reorder buffer is full of instructions waiting for the oldest one.
/// On targets without the instruction (anything but `x86_64`) the byte is read instead.
#[inline]
pub(crate) fn prefetch(byte: &u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is only a hint: it never faults and reads nothing the program
        // sees, whatever the address (here a valid reference anyway); SSE, which it needs, is
        // part of every x86_64 CPU.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(byte).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::hint::black_box(*byte);
}
