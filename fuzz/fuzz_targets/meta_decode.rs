//! Fuzz target: `emdb_core::fuzz_api::meta_decode` (see its documentation for the properties).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| emdb_core::fuzz_api::meta_decode(data));
