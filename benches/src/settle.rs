//! Quieting the machine before each engine's child process starts, so that no engine pays for
//! what ran before it: [`disk`] writes back dirty pages, [`memory`] warms free memory.

use std::process::Command;

/// Writes back every dirty page of the system (`sync`) before an engine's child starts, so that
/// no engine's durable commits queue behind the write-back of earlier work: without it the first
/// engine paid for whatever ran just before the benchmark (a build writes hundreds of megabytes),
/// and each later one for the files of the engine before it.
pub fn disk() {
    match Command::new("sync").status() {
        Ok(status) if status.success() => {}
        other => eprintln!(
            "  `sync` before the engine did not succeed ({other:?}): its durable phases may wait \
             for earlier writes"
        ),
    }
}

/// How much memory [`memory`] touches.
const SETTLE_BYTES: usize = 1 << 30;

/// Touches [`SETTLE_BYTES`] of fresh memory and frees it, just before each engine's child
/// starts. A virtual machine hands memory its guest freed back to the host, and the guest's
/// first touch of such memory then waits for the host to supply it: in this guest a 1M-record
/// load right after a build took 0.86–1.38 s against 0.74 s after this step. Every engine's
/// child so starts with the same recently used free memory, whatever ran before it (the
/// first engine followed the build; each later one, the exit of the engine before it).
pub fn memory() {
    let mut block = vec![0u8; SETTLE_BYTES];
    for page in block.chunks_mut(4096) {
        if let Some(byte) = page.first_mut() {
            *byte = 1;
        }
    }
    std::hint::black_box(&block);
}
