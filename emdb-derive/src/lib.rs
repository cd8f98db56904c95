//! Derive macros for emdb: `#[derive(Record)]` and `#[derive(Group)]`.
#![forbid(unsafe_code)]
