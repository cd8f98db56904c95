//! Progress of long operations ([`Operation`]), reported to a callback set with
//! [`EmdbBuilder::on_progress`](crate::EmdbBuilder::on_progress), so that a tool can show it.
//! The library draws nothing itself. The operation running now, if any, is also kept for
//! [`Stats::running`](crate::Stats::running).

use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

/// A long operation that reports its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`Emdb::compact`](crate::Emdb::compact): entries copied into the new file, out of the
    /// entries of the tree.
    Compact,
    /// [`Emdb::backup_to`](crate::Emdb::backup_to): bytes of the page file copied, out of its
    /// length.
    Backup,
    /// [`Emdb::check_integrity`](crate::Emdb::check_integrity): pages of the file checked, out
    /// of its page count.
    IntegrityCheck,
    /// The build of a secondary index's entries when a typed table is opened with an index new
    /// to it (`TableOptions::index` in the typed layer): rows of the table indexed, out of its
    /// rows.
    IndexBuild,
}

/// How far an [`Operation`] has come: `done` of `total` units (entries, bytes or pages, as the
/// operation says). Every operation reports `0` of `total` when it starts and `total` of
/// `total` when it ends successfully, and at most about a thousand times in between.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// What is running.
    pub operation: Operation,
    /// The table it works on: the typed table of an [`Operation::IndexBuild`]; `None` for the
    /// operations on the whole database.
    pub table: Option<Arc<str>>,
    /// Units done so far.
    pub done: u64,
    /// Units in all (`done` never passes it).
    pub total: u64,
}

/// A callback that takes progress.
pub(crate) type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// The callback progress goes to, if any, and the newest report of the operation running now.
/// Clones share both.
#[derive(Clone, Default)]
pub(crate) struct Reporter {
    callback: Option<ProgressFn>,
    running: Arc<Mutex<Option<Progress>>>,
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Reporter").field(&self.callback.is_some()).finish()
    }
}

impl Reporter {
    /// Reports to `f`.
    pub(crate) fn new(f: ProgressFn) -> Self {
        Reporter { callback: Some(f), running: Arc::default() }
    }

    /// A tracker of `operation` over `total` units of the whole database; reports its start.
    pub(crate) fn start(&self, operation: Operation, total: u64) -> Tracker {
        self.start_on(operation, None, total)
    }

    /// A tracker of `operation` over `total` units of `table` (or of the whole database);
    /// reports its start.
    pub(crate) fn start_on(
        &self,
        operation: Operation,
        table: Option<Arc<str>>,
        total: u64,
    ) -> Tracker {
        let step = total.div_ceil(1000).max(1);
        let mut t = Tracker {
            reporter: self.clone(),
            operation,
            table,
            total,
            done: 0,
            next: step,
            reported: 0,
        };
        t.report(0);
        t
    }

    /// The newest report of the operation running now (`None` when none runs).
    pub(crate) fn running(&self) -> Option<Progress> {
        self.running.lock().clone()
    }
}

/// One running operation: counts its units and reports when about a thousandth more is done.
/// Dropped before [`finish`](Self::finish) (the operation failed), it reports nothing more and
/// the operation no longer shows as running.
///
/// The typed layer reports the build of its secondary indexes through one
/// ([`Emdb::track_progress`](crate::Emdb::track_progress)); not an API for applications.
#[doc(hidden)]
pub struct Tracker {
    reporter: Reporter,
    operation: Operation,
    table: Option<Arc<str>>,
    total: u64,
    done: u64,
    /// The count at which the next report is due.
    next: u64,
    /// The count last reported.
    reported: u64,
}

impl fmt::Debug for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracker")
            .field("operation", &self.operation)
            .field("table", &self.table)
            .field("done", &self.done)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl Tracker {
    /// Counts `n` more units done.
    #[inline]
    pub fn advance(&mut self, n: u64) {
        self.done = self.done.saturating_add(n).min(self.total);
        if self.done >= self.next {
            self.report(self.done);
            self.next = self.done + self.total.div_ceil(1000).max(1);
        }
    }

    /// Reports the end: every unit done.
    pub fn finish(mut self) {
        if self.reported < self.total || self.total == 0 {
            self.report(self.total);
        }
    }

    fn report(&mut self, done: u64) {
        let progress = Progress {
            operation: self.operation,
            table: self.table.clone(),
            done,
            total: self.total,
        };
        *self.reporter.running.lock() = Some(progress.clone());
        if let Some(f) = &self.reporter.callback {
            f(&progress);
        }
        self.reported = done;
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        *self.reporter.running.lock() = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tracker_reports_start_end_and_at_most_a_thousand_steps_between() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let r = Reporter::new(Arc::new(move |p: &Progress| sink.lock().push(p.done)));
        let mut t = r.start(Operation::Compact, 100_000);
        for _ in 0..100_000 {
            t.advance(1);
        }
        t.finish();
        let seen = seen.lock();
        assert_eq!(seen.first(), Some(&0));
        assert_eq!(seen.last(), Some(&100_000));
        assert!(seen.len() <= 1_002, "{} reports", seen.len());
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "not increasing");
    }

    #[test]
    fn without_a_callback_nothing_is_reported_and_an_empty_operation_ends_at_zero() {
        let r = Reporter::default();
        let mut t = r.start(Operation::Backup, 10);
        t.advance(20);
        t.finish();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let r = Reporter::new(Arc::new(move |p: &Progress| sink.lock().push((p.done, p.total))));
        r.start(Operation::IntegrityCheck, 0).finish();
        assert_eq!(*seen.lock(), vec![(0, 0), (0, 0)]);
    }

    #[test]
    fn the_running_operation_is_kept_until_its_tracker_ends_or_drops() {
        let r = Reporter::default();
        assert_eq!(r.running(), None);
        let mut t = r.start_on(Operation::IndexBuild, Some("users".into()), 10);
        t.advance(4);
        let seen = r.clone().running().map(|p| (p.operation, p.table, p.done, p.total));
        assert_eq!(seen, Some((Operation::IndexBuild, Some("users".into()), 4, 10)));
        t.finish();
        assert_eq!(r.running(), None);
        let t = r.start(Operation::Compact, 10);
        assert!(r.running().is_some());
        drop(t);
        assert_eq!(r.running(), None, "a failed operation no longer runs");
    }
}
