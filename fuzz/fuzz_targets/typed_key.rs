//! Fuzz target: `emdb_fuzz::typed_key` (fuzz/src/typed.rs; see its documentation for the properties).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| emdb_fuzz::typed_key(data));
