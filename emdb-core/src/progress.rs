//! Progress of long operations ([`Operation`]), reported to a callback set with
//! [`EmdbBuilder::on_progress`](crate::EmdbBuilder::on_progress), so that a tool can show it.
//! The library draws nothing itself.

use std::fmt;
use std::sync::Arc;

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
}

/// How far an [`Operation`] has come: `done` of `total` units (entries, bytes or pages, as the
/// operation says). Every operation reports `0` of `total` when it starts and `total` of
/// `total` when it ends successfully, and at most about a thousand times in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// What is running.
    pub operation: Operation,
    /// Units done so far.
    pub done: u64,
    /// Units in all (`done` never passes it).
    pub total: u64,
}

/// A callback that takes progress.
pub(crate) type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// The callback progress goes to, if any.
#[derive(Clone, Default)]
pub(crate) struct Reporter(Option<ProgressFn>);

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Reporter").field(&self.0.is_some()).finish()
    }
}

impl Reporter {
    /// Reports to `f`.
    pub(crate) fn new(f: ProgressFn) -> Self {
        Reporter(Some(f))
    }

    /// A tracker of `operation` over `total` units; reports its start.
    pub(crate) fn start(&self, operation: Operation, total: u64) -> Tracker<'_> {
        let step = (total / 1000).max(1);
        let mut t = Tracker { reporter: self, operation, total, done: 0, next: step, reported: 0 };
        t.report(0);
        t
    }
}

/// One running operation: counts its units and reports when about a thousandth more is done.
pub(crate) struct Tracker<'r> {
    reporter: &'r Reporter,
    operation: Operation,
    total: u64,
    done: u64,
    /// The count at which the next report is due.
    next: u64,
    /// The count last reported.
    reported: u64,
}

impl Tracker<'_> {
    /// Counts `n` more units done.
    #[inline]
    pub(crate) fn advance(&mut self, n: u64) {
        self.done = self.done.saturating_add(n).min(self.total);
        if self.done >= self.next && self.reporter.0.is_some() {
            self.report(self.done);
            self.next = self.done + (self.total / 1000).max(1);
        }
    }

    /// Reports the end: every unit done.
    pub(crate) fn finish(mut self) {
        if self.reported < self.total || self.total == 0 {
            self.report(self.total);
        }
    }

    fn report(&mut self, done: u64) {
        if let Some(f) = &self.reporter.0 {
            f(&Progress { operation: self.operation, done, total: self.total });
        }
        self.reported = done;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

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
}
