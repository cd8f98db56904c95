//! Fuzz target: `emdb_core::fuzz_api::open_database` (see its documentation for the properties).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| emdb_core::fuzz_api::open_database(data));
