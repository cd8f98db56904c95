//! Point reads: the one reader of a value the index holds or points to, the one expiry test
//! (through the keyspace's clock), and the tree fallback while a lazy open builds the index.

use std::sync::Arc;

use super::tree_key;
use super::{Held, IndexSlot, Keyspace, NsState, ValueSource};
use crate::batch::{ExpiresAt, NO_EXPIRY, is_expired};
use crate::error::Result;
use crate::page::file::PageFile;

impl Keyspace {
    /// Runs `f` on the slot of `key` in namespace `ns` as the tree holds it, and on the page
    /// file its value lies in: a point read while the indexes are being built. It runs under a
    /// registered snapshot, which keeps the tree's pages (and the file) as they are until `f`
    /// has read the value. `Ok(None)` when the build has finished meanwhile: read the index.
    ///
    /// # Errors
    /// [`Error::Corruption`](crate::Error::Corruption) or an I/O error reading the tree; the error of `f`.
    pub(crate) fn with_tree_slot<R>(
        self: &Arc<Self>,
        ns: &NsState,
        key: &[u8],
        f: impl FnOnce(Option<&IndexSlot>, &PageFile) -> Result<R>,
    ) -> Result<Option<R>> {
        let (_guard, view) = self.snapshot(ns);
        // Commits wait for the build: while it runs, the tree is the database.
        if !self.is_loading() {
            return Ok(None);
        }
        let Some(tree) = view.tree else { return Ok(None) };
        let full = tree_key::encode(ns.id, key);
        let found = crate::tree::get(&tree.file, tree.root, &full)?;
        let slot = found.map(|found| IndexSlot {
            held: match found.value {
                crate::tree::FoundValue::Inline(bytes) => Held::Mem(Arc::from(bytes)),
                crate::tree::FoundValue::Stored(loc) => Held::Disk(loc),
            },
            expires_at: found.expires_at,
        });
        f(slot.as_ref(), &tree.file).map(Some)
    }

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
        slot: Option<&IndexSlot>,
        source: Option<&ValueSource>,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        match slot {
            Some(slot) if !self.expired(slot.expires_at) => {
                self.read_value_into(&slot.held, source, out)?;
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
        held: &Held,
        source: Option<&ValueSource>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        match (held, source) {
            (Held::Mem(bytes), _) => {
                out.extend_from_slice(bytes);
                Ok(())
            }
            (Held::Disk(loc), Some(source)) => source.read_into(*loc, out),
            (Held::Disk(loc), None) => self.durability.read_value_into(*loc, out),
        }
    }

    /// Hands every namespace's index the current page file and its mapping, for point reads.
    pub(crate) fn publish_value_source(&self) -> Result<()> {
        let Some(source) = self.durability.value_source()? else { return Ok(()) };
        for ns in self.namespaces() {
            ns.index.publish(Some(&source));
        }
        Ok(())
    }
}
