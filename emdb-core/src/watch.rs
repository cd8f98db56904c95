//! The change feed: [`Watcher`], which receives the commits that change the keys it follows.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::keyspace::{Commit, Keyspace, RawEvent, Subscriber};
use crate::namespace::Namespace;

/// How many commits a watcher's queue holds when no capacity is given.
pub const DEFAULT_WATCH_CAPACITY: usize = 1024;

/// Receives, in commit order, every commit that changes the keys it follows, once each: a write,
/// a transaction (all its changes in one [`Commit`]), a removal by
/// [`purge_expired`](crate::Emdb::purge_expired). A transaction that rolls back delivers
/// nothing.
///
/// A commit is delivered once it is visible to readers and, under
/// [`FlushPolicy::OnEachWrite`](crate::FlushPolicy::OnEachWrite), durable. A slow watcher never
/// holds up a writer: its queue holds a bounded number of commits
/// ([`DEFAULT_WATCH_CAPACITY`] unless set), and the commits that find it full are dropped for
/// this watcher, which then receives [`Error::Lagged`] once, after the commits it had queued,
/// and goes on with the next commit. Dropping the watcher ends the subscription. When the
/// database closes (its last handle drops), the watcher receives what it has queued and then
/// [`Error::WatchClosed`]; as an iterator it ends there.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use emdb::{Emdb, RawEvent};
///
/// let db = Emdb::open_in_memory();
/// let feed = db.watch_prefix("product.")?;
/// db.insert("product.1", "phone")?;
/// db.insert("user.1", "alice")?; // not followed
/// let commit = feed.recv_timeout(Duration::from_secs(1))?.expect("a commit");
/// assert_eq!(
///     commit.events,
///     vec![RawEvent { key: b"product.1".to_vec(), old: None, new: Some(b"phone".to_vec()) }]
/// );
/// assert_eq!(feed.try_recv()?, None);
/// # Ok::<(), emdb::Error>(())
/// ```
pub struct Watcher<E> {
    subscription: Arc<Subscription>,
    map: Arc<dyn Fn(RawEvent) -> Result<E> + Send + Sync>,
}

impl<E> std::fmt::Debug for Watcher<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").finish_non_exhaustive()
    }
}

/// A subscription, ended when its last watcher drops.
struct Subscription {
    ks: Weak<Keyspace>,
    subscriber: Arc<Subscriber>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(ks) = self.ks.upgrade() {
            ks.unsubscribe(&self.subscriber);
        }
    }
}

impl Watcher<RawEvent> {
    pub(crate) fn new(ns: &Namespace, prefix: &[u8], capacity: usize) -> Self {
        let subscriber = ns.ks.subscribe(ns.ns.id, prefix, capacity);
        Watcher {
            subscription: Arc::new(Subscription { ks: Arc::downgrade(&ns.ks), subscriber }),
            map: Arc::new(Ok),
        }
    }

    /// A watcher of the same commits that turns each change into a `T` with `f` (the typed
    /// layer decodes keys and values this way). An error of `f` is what receiving that commit
    /// returns.
    pub fn map_events<T>(
        self,
        f: impl Fn(RawEvent) -> Result<T> + Send + Sync + 'static,
    ) -> Watcher<T> {
        Watcher { subscription: self.subscription, map: Arc::new(f) }
    }
}

impl<E> Watcher<E> {
    /// The next commit, waiting for one as long as it takes.
    ///
    /// # Errors
    /// [`Error::Lagged`] where commits were dropped for want of room; [`Error::WatchClosed`]
    /// once the database is closed and every queued commit was received; the error of the
    /// [`map_events`](Watcher::map_events) function.
    pub fn recv(&self) -> Result<Commit<E>> {
        self.receive(None)?.ok_or(Error::WatchClosed)
    }

    /// The next commit, waiting at most `timeout` for one; `None` if none came in time.
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<Commit<E>>> {
        // A timeout too long to add to now waits without a deadline.
        let deadline = Instant::now().checked_add(timeout);
        match deadline {
            Some(deadline) => self.receive(Some(deadline)),
            None => self.receive(None),
        }
    }

    /// The next commit if one is queued, without waiting.
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    pub fn try_recv(&self) -> Result<Option<Commit<E>>> {
        self.receive(Some(Instant::now()))
    }

    fn receive(&self, deadline: Option<Instant>) -> Result<Option<Commit<E>>> {
        let Some(Commit { lsn, events }) = self.subscription.subscriber.recv(deadline)? else {
            return Ok(None);
        };
        let events = events.into_iter().map(|e| (self.map)(e)).collect::<Result<_>>()?;
        Ok(Some(Commit { lsn, events }))
    }
}

impl<E> Iterator for Watcher<E> {
    type Item = Result<Commit<E>>;

    /// The next commit, waiting for it; `None` once the database is closed and every queued
    /// commit was received.
    fn next(&mut self) -> Option<Self::Item> {
        match self.recv() {
            Err(Error::WatchClosed) => None,
            other => Some(other),
        }
    }
}

impl Namespace {
    /// A [`Watcher`] of the changes to the keys of this namespace that start with `prefix`
    /// (every key for an empty prefix), with room for [`DEFAULT_WATCH_CAPACITY`] commits.
    ///
    /// # Errors
    /// None today; the `Result` leaves room for a database that cannot be watched.
    pub fn watch_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Watcher<RawEvent>> {
        self.watch_prefix_with_capacity(prefix, DEFAULT_WATCH_CAPACITY)
    }

    /// As [`watch_prefix`](Self::watch_prefix), with room for `capacity` commits not yet
    /// received (at least 1).
    ///
    /// # Errors
    /// As [`watch_prefix`](Self::watch_prefix).
    pub fn watch_prefix_with_capacity(
        &self,
        prefix: impl AsRef<[u8]>,
        capacity: usize,
    ) -> Result<Watcher<RawEvent>> {
        Ok(Watcher::new(self, prefix.as_ref(), capacity))
    }
}

/// With the cargo feature `stream`, a watcher is a [`Stream`](futures_core::Stream) of
/// commits for async code: it yields what [`recv`](Watcher::recv) returns, and ends once the
/// database is closed.
#[cfg(feature = "stream")]
impl<E> futures_core::Stream for Watcher<E> {
    type Item = Result<Commit<E>>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let ready = |r: Result<Option<Commit<E>>>| match r {
            Ok(Some(commit)) => Some(Poll::Ready(Some(Ok(commit)))),
            Ok(None) => None,
            Err(Error::WatchClosed) => Some(Poll::Ready(None)),
            Err(e) => Some(Poll::Ready(Some(Err(e)))),
        };
        if let Some(poll) = ready(self.try_recv()) {
            return poll;
        }
        // Parked before looking again: a commit pushed in between wakes the task.
        self.subscription.subscriber.park(cx.waker());
        ready(self.try_recv()).unwrap_or(Poll::Pending)
    }
}
