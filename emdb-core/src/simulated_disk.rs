//! [`SimulatedDisk`]: the fault-injecting storage of emdb-core's own crash tests, opened to the
//! crash tests of the crates above it (the typed layer's index model runs power losses on it).
//!
//! # Why this module exists
//!
//! The I/O seam and its fault-injecting storage are crate-private, so a test in another crate of
//! the workspace cannot put a typed table on a disk that loses power. This module is that door
//! and nothing more: a handle on the storage, the open that uses it, and the two faults those
//! tests need (the power going off before a chosen I/O call, and what a reboot then finds).
//!
//! It is compiled only with the `fault-injection` cargo feature, which is not a default feature
//! and which only the workspace's own tests turn on; the module is `#[doc(hidden)]`. It is not an
//! API: nothing in it is stable, and no other crate should turn the feature on.

use std::sync::Arc;

use crate::builder::EmdbBuilder;
use crate::db::Emdb;
use crate::error::Result;
use crate::io::fault::{CrashMode, FaultStorage};

/// An in-memory disk that keeps what a real one keeps: written data is durable only once
/// synced, and a power loss leaves each unsynced write kept, dropped, torn or garbled (chosen
/// from a seed). Clones share the same disk.
#[derive(Debug, Clone)]
pub struct SimulatedDisk {
    storage: FaultStorage,
}

impl SimulatedDisk {
    /// An empty disk whose random choices derive from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        SimulatedDisk { storage: FaultStorage::new(seed) }
    }

    /// Opens the database that `builder` describes on this disk (its path names a file of the
    /// disk; without a path the database is in memory and the disk is unused).
    ///
    /// # Errors
    ///
    /// What [`EmdbBuilder::build`] returns for the same files.
    pub fn open(&self, builder: EmdbBuilder) -> Result<Emdb> {
        builder.build_on(Arc::new(self.storage.clone()))
    }

    /// How many I/O calls have been made on this disk so far; the next one is numbered one
    /// more.
    #[must_use]
    pub fn io_count(&self) -> u64 {
        self.storage.io_count()
    }

    /// Cuts the power right before the I/O call numbered `at`: that call and every later one
    /// fail with an I/O error and change nothing. Take [`power_loss`](Self::power_loss)
    /// afterwards to see what the disk then holds.
    pub fn power_off_at(&self, at: u64) {
        self.storage.power_off_at(at);
    }

    /// The disk a machine finds after losing power now: what was synced, and each write made
    /// since kept whole, dropped, torn at a sector or garbled, as `seed` chooses. Locks held on
    /// this disk are not carried over, so the database can be opened again on the result while
    /// the old handle is still alive.
    #[must_use]
    pub fn power_loss(&self, seed: u64) -> SimulatedDisk {
        SimulatedDisk { storage: self.storage.crash(seed, CrashMode::Random) }
    }
}
