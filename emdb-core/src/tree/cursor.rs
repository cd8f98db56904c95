//! [`Cursor`] and [`Position`]: ordered iteration over a tree, forward and backward, from any
//! key.

use crate::error::Result;
use crate::page::PageId;
use crate::page::file::{Page, PageFile};
use crate::page::leaf::LeafEntry;

use super::{TreeRoot, branch, leaf, read_node};

/// Which entry a descent looks for.
#[derive(Clone, Copy)]
enum Target<'k> {
    First,
    Last,
    /// The first entry `>= key`.
    AtOrAfter(&'k [u8]),
    /// The last entry `<= key`.
    AtOrBefore(&'k [u8]),
}

/// A position in a tree, holding the path of pages from the root to the current leaf.
///
/// Cursors are moved by the `seek_*` methods and [`next`](Cursor::next) (and, in tests,
/// `prev`); [`entry`](Cursor::entry) is `None` past either end. The engine's backward walks hold
/// a [`Position`].
#[derive(Debug)]
pub(crate) struct Cursor<'f> {
    file: &'f PageFile,
    pos: Position,
}

impl<'f> Cursor<'f> {
    /// A cursor on the tree at `root`, positioned nowhere until a seek.
    pub(crate) fn new(file: &'f PageFile, root: TreeRoot) -> Self {
        Cursor { file, pos: Position::new(root) }
    }

    /// Moves to the smallest key.
    pub(crate) fn seek_first(&mut self) -> Result<()> {
        self.pos.seek_first(self.file)
    }

    /// Moves to the first entry whose key is `>= key`.
    pub(crate) fn seek_at_or_after(&mut self, key: &[u8]) -> Result<()> {
        self.pos.seek_at_or_after(self.file, key)
    }

    /// Moves to the last entry whose key is `<= key`.
    #[cfg(test)]
    pub(crate) fn seek_at_or_before(&mut self, key: &[u8]) -> Result<()> {
        self.pos.seek_at_or_before(self.file, key)
    }

    /// The entry at the position, borrowing the cursor's leaf.
    #[inline]
    pub(crate) fn entry(&self) -> Result<Option<LeafEntry<'_>>> {
        self.pos.entry(self.file)
    }

    /// Moves to the next entry (past the end: `entry()` becomes `None`).
    #[inline]
    pub(crate) fn next(&mut self) -> Result<()> {
        self.pos.next(self.file)
    }

    /// Moves to the previous entry (before the start: `entry()` becomes `None`).
    #[cfg(test)]
    pub(crate) fn prev(&mut self) -> Result<()> {
        self.pos.prev(self.file)
    }
}

/// A [`Cursor`] without the borrow of its file: every method takes the file, which must be the
/// one the position was sought in. An iterator that owns its file (an `Arc`) keeps one of these
/// between calls, so it walks the tree without descending from the root again.
#[derive(Debug)]
pub(crate) struct Position {
    root: TreeRoot,
    /// Branch pages from the root down, each with the index of the child being visited.
    path: Vec<(PageId, Page, usize)>,
    /// The current leaf and the index in it; `None` when off either end.
    leaf: Option<(PageId, Page, usize)>,
}

impl Position {
    /// A position in the tree at `root`, nowhere until a seek.
    pub(crate) fn new(root: TreeRoot) -> Self {
        Position { root, path: Vec::new(), leaf: None }
    }

    /// Moves to the smallest key.
    pub(crate) fn seek_first(&mut self, file: &PageFile) -> Result<()> {
        self.seek(file, Target::First)
    }

    /// Moves to the largest key.
    pub(crate) fn seek_last(&mut self, file: &PageFile) -> Result<()> {
        self.seek(file, Target::Last)
    }

    /// Moves to the first entry whose key is `>= key`.
    pub(crate) fn seek_at_or_after(&mut self, file: &PageFile, key: &[u8]) -> Result<()> {
        self.seek(file, Target::AtOrAfter(key))
    }

    /// Moves to the last entry whose key is `<= key`.
    pub(crate) fn seek_at_or_before(&mut self, file: &PageFile, key: &[u8]) -> Result<()> {
        self.seek(file, Target::AtOrBefore(key))
    }

    /// The current leaf, its page and the index in it, if the position is in one.
    #[inline]
    pub(crate) fn leaf_at(&self) -> Option<(PageId, &Page, usize)> {
        self.leaf.as_ref().map(|(id, page, i)| (*id, page, *i))
    }

    /// The current leaf page, if the position is in one.
    #[inline]
    pub(crate) fn leaf_page(&self) -> Option<&Page> {
        self.leaf.as_ref().map(|(_, page, _)| page)
    }

    /// The entry at the position, borrowing the position's leaf.
    #[inline]
    pub(crate) fn entry<'p>(&'p self, file: &PageFile) -> Result<Option<LeafEntry<'p>>> {
        let Some((id, page, i)) = &self.leaf else { return Ok(None) };
        let l = leaf(file, *id, page)?;
        if *i >= l.len() {
            return Ok(None);
        }
        l.entry(*i).map(Some).map_err(|d| file.bad_page(*id, d))
    }

    fn seek(&mut self, file: &PageFile, target: Target<'_>) -> Result<()> {
        self.path.clear();
        self.leaf = None;
        if self.root.height == 0 {
            return Ok(());
        }
        self.descend(file, self.root.root, self.root.height - 1, target)?;
        if self.in_leaf(file)? {
            return Ok(());
        }
        // The target lies past this leaf's end (or before its start): use the neighbour.
        match target {
            Target::First | Target::AtOrAfter(_) => self.step_leaf(file, true),
            Target::Last | Target::AtOrBefore(_) => self.step_leaf(file, false),
        }
    }

    /// Whether the position is on an entry of the current leaf.
    #[inline]
    fn in_leaf(&self, file: &PageFile) -> Result<bool> {
        match &self.leaf {
            Some((id, page, i)) => Ok(*i < leaf(file, *id, page)?.len()),
            None => Ok(false),
        }
    }

    /// Goes down from node `id` at `top` to the leaf holding `target` and sets the index,
    /// which may be out of the leaf's range (the caller then steps to a neighbour).
    fn descend(
        &mut self,
        file: &PageFile,
        mut id: PageId,
        top: u32,
        target: Target<'_>,
    ) -> Result<()> {
        for lvl in (1..=top).rev() {
            let page = read_node(file, id, lvl)?;
            let b = branch(file, id, &page)?;
            let c = match target {
                Target::First => 0,
                Target::Last => b.children() - 1,
                Target::AtOrAfter(k) | Target::AtOrBefore(k) => {
                    b.route(k).map_err(|d| file.bad_page(id, d))?
                }
            };
            let child = b.child(c).map_err(|d| file.bad_page(id, d))?;
            self.path.push((id, page, c));
            id = child;
        }
        let page = read_node(file, id, 0)?;
        let l = leaf(file, id, &page)?;
        let n = l.len();
        let i = match target {
            Target::First => 0,
            Target::Last => n.wrapping_sub(1),
            Target::AtOrAfter(k) => {
                l.search(k).map_err(|d| file.bad_page(id, d))?.unwrap_or_else(|p| p)
            }
            Target::AtOrBefore(k) => match l.search(k).map_err(|d| file.bad_page(id, d))? {
                Ok(p) => p,
                Err(p) => p.wrapping_sub(1),
            },
        };
        self.leaf = Some((id, page, i));
        Ok(())
    }

    /// Moves to the next entry (past the end: `entry()` becomes `None`).
    #[inline]
    pub(crate) fn next(&mut self, file: &PageFile) -> Result<()> {
        let Some((id, page, i)) = &mut self.leaf else { return Ok(()) };
        let n = leaf(file, *id, page)?.len();
        *i += 1;
        if *i >= n { self.step_leaf(file, true) } else { Ok(()) }
    }

    /// Moves to the previous entry (before the start: `entry()` becomes `None`).
    #[inline]
    pub(crate) fn prev(&mut self, file: &PageFile) -> Result<()> {
        let Some((_, _, i)) = &mut self.leaf else { return Ok(()) };
        if *i == 0 {
            return self.step_leaf(file, false);
        }
        *i -= 1;
        Ok(())
    }

    /// Moves to the neighbour leaf (skipping empty ones, which only damaged files hold),
    /// iteratively: the path never grows past the tree height. Off the end, the position is
    /// nowhere.
    fn step_leaf(&mut self, file: &PageFile, forward: bool) -> Result<()> {
        loop {
            // Climb to the deepest branch with a child on the wanted side of the current one.
            let mut found = None;
            while let Some((id, page, c)) = self.path.last_mut() {
                let b = branch(file, *id, page)?;
                if forward && *c + 1 < b.children() {
                    *c += 1;
                } else if !forward && *c > 0 {
                    *c -= 1;
                } else {
                    self.path.pop();
                    continue;
                }
                found = Some(b.child(*c).map_err(|d| file.bad_page(*id, d))?);
                break;
            }
            let Some(child) = found else {
                self.leaf = None;
                return Ok(());
            };
            let lvl = self.level_below(self.path.len() - 1);
            self.descend(file, child, lvl, if forward { Target::First } else { Target::Last })?;
            if self.in_leaf(file)? {
                return Ok(());
            }
        }
    }

    /// The level of the children of the branch at `depth` of the path.
    fn level_below(&self, depth: usize) -> u32 {
        let depth = u32::try_from(depth).unwrap_or(u32::MAX);
        self.root.height.saturating_sub(2).saturating_sub(depth)
    }
}
