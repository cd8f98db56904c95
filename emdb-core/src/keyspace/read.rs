//! Point reads: the one reader of a value the index holds or points to, and the one expiry test
//! (through the keyspace's clock).

use std::sync::Arc;

use super::{HeldRef, Keyspace, SlotRef, ValueSource};
use crate::batch::{ExpiresAt, NO_EXPIRY, is_expired};
use crate::error::Result;
use crate::page::file::PageFile;
use crate::tree::TreeRoot;

impl Keyspace {
    /// The time expiry is judged at, in Unix milliseconds: the clock, but never before 1 ms,
    /// since an expiry of 0 means "never" ([`NO_EXPIRY`]): a zero TTL written at a clock of 0
    /// expires at 1 ms ([`Ttl::expires_at`](crate::Ttl)) and is judged expired at once, as at
    /// any other time.
    pub(crate) fn now(&self) -> u64 {
        self.clock_ms().max(1)
    }

    /// The clock, in Unix milliseconds: what a time-to-live counts from.
    pub(crate) fn clock_ms(&self) -> u64 {
        self.config.clock.now_ms()
    }

    /// Whether an entry that expires at `expires_at` is expired now (the clock is read only for
    /// an entry with an expiry).
    #[inline]
    pub(crate) fn expired(&self, expires_at: ExpiresAt) -> bool {
        expires_at != NO_EXPIRY && is_expired(expires_at, self.now())
    }

    /// Appends the value of the index slot `slot` to `out` if it is live (present and
    /// unexpired) and says whether it was: the end of every point read through the index.
    ///
    /// # Errors
    /// As [`read_value_into`](Self::read_value_into); `out` is unchanged on error.
    pub(crate) fn read_live_into(
        &self,
        slot: Option<SlotRef<'_>>,
        source: Option<&ValueSource>,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        match slot {
            Some(slot) if !self.expired(slot.expires_at) => {
                self.read_value_into(slot.held, source, out)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Appends the value an index slot holds (in memory) or points to (on disk) to `out`: the
    /// one reader of a value. A value on disk is read through `source` (the mapping the index
    /// handed out with the location) or, without one, from the current page file.
    ///
    /// # Errors
    /// [`Error::Corruption`](crate::Error::Corruption) or an I/O error reading it from the page
    /// file; `out` is unchanged on error.
    pub(crate) fn read_value_into(
        &self,
        held: HeldRef<'_>,
        source: Option<&ValueSource>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        match (held, source) {
            (HeldRef::Bytes(bytes), _) => {
                out.extend_from_slice(bytes);
                Ok(())
            }
            (HeldRef::Disk(loc), Some(source)) => source.read_into(loc, out),
            (HeldRef::Disk(loc), None) => self.durability.read_value_into(loc, out),
        }
    }

    /// Hands every namespace's index the page file, its current mapping and the tree at
    /// `root`, which point reads look keys up in (open, before the build and the replay).
    ///
    /// # Errors
    /// An error mapping the file.
    pub(crate) fn publish_tree(&self, file: &Arc<PageFile>, root: TreeRoot) -> Result<()> {
        let source = ValueSource { file: Arc::clone(file), map: file.current_map()? };
        for ns in self.namespaces() {
            ns.index.publish(Some(&source), root);
            // A tree with keys: complete once the build has added them.
            ns.index.set_complete(root.height == 0);
        }
        Ok(())
    }
}
