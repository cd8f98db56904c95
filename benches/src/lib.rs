//! Shared helpers for emdb's benchmarks.
