//! Fuzz target: `emdb_fuzz::value_header` (fuzz/src/typed.rs; see its documentation for the properties).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| emdb_fuzz::value_header(data));
