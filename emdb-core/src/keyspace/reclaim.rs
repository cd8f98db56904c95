//! Space that comes back without `compact()`: at each checkpoint, the live values of mostly
//! dead value pages are moved to new pages, so that the checkpoint that moves a page's last
//! live value frees the page ([`LiveValues`] counts them; the tree writer frees).
//!
//! A *cycle* starts by choosing victims: the value pages at least `dead_percent` % dead,
//! emptiest first, up to a budget of live bytes. Each checkpoint of the cycle (under the
//! writer lock) then scans the next entries of the durable tree, up to [`SCAN_ENTRIES`] of
//! them, for values that lie in a victim page, and adds a *move* for each to the checkpoint's
//! changes (at most [`move_budget`] bytes of values): the tree writer rewrites the entry with the
//! value placed anew, but only while the entry still refers to the victim page (see
//! [`Change::from`](crate::tree::write::Change)). The rewritten entries' leaves are new, and the
//! point indexes follow their keys there like any other checkpoint's; the old places stay
//! readable until the next checkpoint, which cannot start before. The cycle ends when the scan
//! has passed the last key of the tree: victims no key refers to any more were freed on the way.
//!
//! Values are never new in a victim page (a checkpoint writes only fresh pages), so a key
//! scanned early in a cycle cannot come to refer to a victim later in it.

use parking_lot::Mutex;

use crate::error::Result;
use crate::page::file::PageFile;
use crate::page::value::{ValueLoc, ValueRef};
use crate::tree::reclaim::{LiveValues, PageSet};
use crate::tree::write::Change;
use crate::tree::{Cursor, TreeRoot};

/// How many tree entries a checkpoint scans for values to move.
const SCAN_ENTRIES: usize = 1 << 18;

/// How many bytes of values a checkpoint moves: a quarter of the bytes of values it writes
/// anyway, but at least [`MOVE_BYTES_MIN`] and at most [`MOVE_BYTES_MAX`].
const MOVE_SHARE: u64 = 4;
const MOVE_BYTES_MIN: u64 = 256 << 10;
const MOVE_BYTES_MAX: u64 = 1 << 20;

/// The bytes of values a checkpoint that writes `written` bytes of values moves at most.
pub(crate) fn move_budget(written: u64) -> u64 {
    (written / MOVE_SHARE).clamp(MOVE_BYTES_MIN, MOVE_BYTES_MAX)
}

/// A value to move: its tree key, where it is and its bytes.
#[derive(Debug)]
pub(crate) struct Move {
    pub(crate) tree_key: Vec<u8>,
    pub(crate) from: ValueLoc,
    pub(crate) value: Vec<u8>,
}

/// Where a cycle is.
#[derive(Debug, Default)]
struct Cycle {
    victims: PageSet,
    /// The tree key the scan goes on from.
    next: Vec<u8>,
}

/// The mover of one database: its setting and its cycle.
#[derive(Debug)]
pub(crate) struct Mover {
    /// Pages at least this many percent dead are emptied; `None`: values are never moved.
    dead_percent: Option<u8>,
    cycle: Mutex<Cycle>,
    /// Values moved since the database was opened (tests).
    #[cfg(test)]
    pub(crate) moved: std::sync::atomic::AtomicU64,
}

impl Mover {
    pub(crate) fn new(dead_percent: Option<u8>) -> Self {
        Mover {
            dead_percent,
            cycle: Mutex::new(Cycle::default()),
            #[cfg(test)]
            moved: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Forgets the cycle (compaction replaced the file its victims were pages of).
    pub(crate) fn reset(&self) {
        *self.cycle.lock() = Cycle::default();
    }

    /// The values the next checkpoint moves (at most `budget` bytes of them), in tree-key
    /// order, found in the durable tree at `root` (of `entries` entries). The caller holds the
    /// writer lock; a key the memtables changed since is left to its newer version (see
    /// [`add_moves`]).
    ///
    /// # Errors
    /// An error reading the tree or a value to move.
    pub(crate) fn moves(
        &self,
        live: Option<&LiveValues>,
        file: &PageFile,
        root: TreeRoot,
        entries: u64,
        budget: u64,
    ) -> Result<Vec<Move>> {
        let (Some(dead_percent), Some(live)) = (self.dead_percent, live) else {
            return Ok(Vec::new());
        };
        let mut cycle = self.cycle.lock();
        if cycle.victims.is_empty() {
            // Each checkpoint of the cycle scans SCAN_ENTRIES entries and moves up to the budget.
            let checkpoints = entries.div_ceil(SCAN_ENTRIES as u64).max(1);
            cycle.victims = live.victims(dead_percent, budget.saturating_mul(checkpoints));
            cycle.next = Vec::new();
            if cycle.victims.is_empty() {
                return Ok(Vec::new());
            }
        }
        let mut found: Vec<(Vec<u8>, ValueLoc)> = Vec::new();
        let (mut scanned, mut bytes) = (0usize, 0u64);
        let mut finished = true;
        let mut cursor = Cursor::new(file, root);
        cursor.seek_at_or_after(&cycle.next)?;
        while let Some(e) = cursor.entry()? {
            if scanned >= SCAN_ENTRIES || bytes >= budget {
                cycle.next = e.key.to_vec();
                finished = false;
                break;
            }
            scanned += 1;
            if let ValueRef::Stored(loc) = e.value
                && matches!(loc, ValueLoc::Packed { .. } | ValueLoc::Record { .. })
                && cycle.victims.contains(loc.page())
            {
                if bytes > 0 && bytes + u64::from(loc.len()) > budget {
                    // Too much for this checkpoint: the next one goes on from this key.
                    cycle.next = e.key.to_vec();
                    finished = false;
                    break;
                }
                bytes += u64::from(loc.len());
                found.push((e.key.to_vec(), loc));
            }
            cursor.next()?;
        }
        if finished {
            *cycle = Cycle::default();
        }
        drop(cycle);
        found
            .into_iter()
            .map(|(tree_key, from)| {
                let value = file.read_value(from)?;
                Ok(Move { tree_key, from, value })
            })
            .collect()
    }
}

/// Adds `moves` (in tree-key order) to a checkpoint's sorted `changes`, leaving out the moves
/// of keys the checkpoint changes anyway. Returns the merged changes and, per change, whether
/// it came from the batch being committed (`from_batch`'s flags carried over; `false` for a
/// move).
pub(crate) fn add_moves<'a>(
    changes: Vec<Change<'a>>,
    from_batch: Vec<bool>,
    moves: &'a [Move],
) -> (Vec<Change<'a>>, Vec<bool>) {
    if moves.is_empty() {
        return (changes, from_batch);
    }
    let mut out = Vec::with_capacity(changes.len() + moves.len());
    let mut flags = Vec::with_capacity(changes.len() + moves.len());
    let mut pending = moves.iter().peekable();
    for (c, flag) in changes.into_iter().zip(from_batch) {
        while let Some(m) = pending.next_if(|m| m.tree_key.as_slice() <= c.key) {
            if m.tree_key.as_slice() < c.key {
                out.push(move_change(m));
                flags.push(false);
            }
        }
        out.push(c);
        flags.push(flag);
    }
    for m in pending {
        out.push(move_change(m));
        flags.push(false);
    }
    (out, flags)
}

fn move_change(m: &Move) -> Change<'_> {
    Change { key: &m.tree_key, value: Some((&m.value, 0)), from: Some(m.from) }
}

#[cfg(test)]
mod tests {
    use super::{Move, add_moves};
    use crate::page::value::ValueLoc;
    use crate::tree::write::Change;

    fn mv(key: &[u8]) -> Move {
        Move {
            tree_key: key.to_vec(),
            from: ValueLoc::Packed { page: 9, offset: 16, len: 1 },
            value: vec![1],
        }
    }

    #[test]
    fn moves_merge_into_the_changes_in_key_order_and_yield_to_a_change_of_the_same_key() {
        let moves = [mv(b"a"), mv(b"c"), mv(b"d"), mv(b"f")];
        let changes = vec![Change::new(b"b", None), Change::new(b"c", Some((b"x", 0)))];
        let (merged, flags) = add_moves(changes, vec![false, true], &moves);
        let keys: Vec<&[u8]> = merged.iter().map(|c| c.key).collect();
        assert_eq!(keys, [&b"a"[..], b"b", b"c", b"d", b"f"]);
        assert_eq!(flags, [false, false, true, false, false]);
        let c = merged.iter().find(|c| c.key == b"c").unwrap();
        assert_eq!((c.value, c.from), (Some((&b"x"[..], 0)), None), "the change wins");
        assert!(merged.iter().filter(|c| c.key != b"b" && c.key != b"c").all(|c| c.from.is_some()));
    }
}
