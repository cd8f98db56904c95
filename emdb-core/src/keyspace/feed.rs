//! The change feed: who watches which keys, the changes of each commit that concern them, and
//! their delivery in commit order once the commit is visible (and durable, when the flush
//! policy makes every commit durable).
//!
//! The writer collects a commit's changes before it applies them (the old values are read under
//! the writer lock, so nothing changes them meanwhile), stages them under its LSN once the
//! commit is applied, and releases every staged commit up to its own once the commit may be
//! seen. Staging happens in LSN order under the writer lock; releasing pops that order, so a
//! watcher receives commits in commit order whichever committer releases them. With no watcher
//! a commit pays one atomic load.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Waker;
use std::time::Instant;

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::{Keyspace, NsState};
use crate::batch::{Batch, NsId, Op, Writes};
use crate::error::{Error, Result};

/// One change to one key, as a watcher receives it: the key (in full, within its namespace), its
/// value before the commit (`None`: absent) and after it (`None`: removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    /// The full key within its namespace.
    pub key: Vec<u8>,
    /// The value before the commit, or `None` if the key was absent.
    pub old: Option<Vec<u8>>,
    /// The value after the commit, or `None` if the commit removed the key.
    pub new: Option<Vec<u8>>,
}

/// The changes one commit (a write, a transaction, a purge round) made to the keys a watcher
/// follows, delivered once, in commit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit<E> {
    /// The commit's log sequence number: increasing across the commits a watcher receives.
    pub lsn: u64,
    /// The changes, in the order the commit made them (a large transaction's in key order).
    pub events: Vec<E>,
}

/// What a subscriber's queue holds: a commit, or the number of commits it missed because the
/// queue was full.
#[derive(Debug)]
pub(crate) enum Item {
    Commit(Commit<RawEvent>),
    Missed(u64),
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Item>,
    /// Commits queued (the `Missed` marker does not count).
    commits: usize,
    closed: bool,
}

/// One watcher's subscription: the keys it follows and its bounded queue.
#[derive(Debug)]
pub(crate) struct Subscriber {
    ns: NsId,
    prefix: Vec<u8>,
    capacity: usize,
    queue: Mutex<Queue>,
    ready: Condvar,
    /// The task an async receiver parked, woken with the condition variable's waiters.
    waker: Mutex<Option<Waker>>,
}

impl Subscriber {
    fn follows(&self, ns: NsId, key: &[u8]) -> bool {
        self.ns == ns && key.starts_with(&self.prefix)
    }

    /// Queues `commit`, or counts it missed when the queue is full: a slow watcher never holds
    /// up a writer.
    fn push(&self, commit: Commit<RawEvent>) {
        let mut queue = self.queue.lock();
        if queue.commits >= self.capacity {
            match queue.items.back_mut() {
                Some(Item::Missed(n)) => *n += 1,
                _ => queue.items.push_back(Item::Missed(1)),
            }
        } else {
            queue.commits += 1;
            queue.items.push_back(Item::Commit(commit));
        }
        drop(queue);
        self.ready.notify_one();
        self.wake();
    }

    /// Wakes the task an async receiver parked, if any.
    fn wake(&self) {
        if let Some(waker) = self.waker.lock().take() {
            waker.wake();
        }
    }

    /// Parks the task of `waker` until the next commit arrives or the subscription ends.
    #[cfg(feature = "stream")]
    pub(crate) fn park(&self, waker: &Waker) {
        *self.waker.lock() = Some(waker.clone());
    }

    /// The next item, waiting until `deadline` (`None`: forever) for one. `Ok(None)` when the
    /// deadline passed first.
    ///
    /// # Errors
    /// [`Error::Lagged`] once for every run of commits the queue had no room for;
    /// [`Error::WatchClosed`] once the database is closed and every queued commit was received.
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<Option<Commit<RawEvent>>> {
        let mut backoff = Backoff::default();
        let mut queue = self.queue.lock();
        loop {
            match queue.items.pop_front() {
                Some(Item::Commit(commit)) => {
                    queue.commits -= 1;
                    return Ok(Some(commit));
                }
                Some(Item::Missed(missed)) => return Err(Error::Lagged { missed }),
                None if queue.closed => return Err(Error::WatchClosed),
                // A busy feed's next commit usually comes within microseconds: looking again a
                // few times first spares its writer the wake-up of a parked thread.
                None if backoff.next() && deadline.is_none_or(|at| Instant::now() < at) => {
                    MutexGuard::unlocked(&mut queue, || backoff.pause());
                }
                None => match deadline {
                    None => self.ready.wait(&mut queue),
                    Some(deadline) => {
                        if self.ready.wait_until(&mut queue, deadline).timed_out()
                            && queue.items.is_empty()
                            && !queue.closed
                        {
                            return Ok(None);
                        }
                    }
                },
            }
        }
    }

    fn close(&self) {
        self.queue.lock().closed = true;
        self.ready.notify_all();
        self.wake();
    }
}

/// How a receiver that found its queue empty looks again before it parks: spins that double
/// from 1 to 32, then a few yields of the CPU, some microseconds in all.
#[derive(Debug, Default)]
struct Backoff {
    round: u32,
}

impl Backoff {
    /// Rounds of spins, then rounds of yields.
    const SPINS: u32 = 6;
    const YIELDS: u32 = 4;

    /// Whether to look again (after [`pause`](Self::pause)) rather than park.
    fn next(&mut self) -> bool {
        self.round += 1;
        self.round <= Self::SPINS + Self::YIELDS
    }

    fn pause(&self) {
        if self.round <= Self::SPINS {
            for _ in 0..1u32 << (self.round - 1) {
                std::hint::spin_loop();
            }
        } else {
            std::thread::yield_now();
        }
    }
}

/// The changes of one commit for each subscriber they concern, collected before the apply.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    per_subscriber: Vec<(Arc<Subscriber>, Vec<RawEvent>)>,
}

impl Changes {
    fn add(&mut self, subscriber: &Arc<Subscriber>, event: RawEvent) {
        match self.per_subscriber.iter_mut().find(|(s, _)| Arc::ptr_eq(s, subscriber)) {
            Some((_, events)) => events.push(event),
            None => self.per_subscriber.push((Arc::clone(subscriber), vec![event])),
        }
    }
}

/// The watchers of a keyspace and the commits staged for them.
#[derive(Debug, Default)]
pub(crate) struct Feed {
    /// How many subscribers there are: the one load a commit pays when there is none.
    count: AtomicUsize,
    /// Replaced whole when a watcher comes or goes, so a commit takes it with one count.
    subscribers: Mutex<Arc<Vec<Arc<Subscriber>>>>,
    /// Commits applied but not yet released, in LSN order.
    staged: Mutex<VecDeque<(u64, Changes)>>,
}

impl Feed {
    fn subscribers(&self) -> Option<Arc<Vec<Arc<Subscriber>>>> {
        if self.count.load(Ordering::Acquire) == 0 {
            return None;
        }
        Some(Arc::clone(&self.subscribers.lock()))
    }

    /// Stages the changes of the commit `lsn` (the caller holds the writer lock and has applied
    /// the commit).
    pub(crate) fn stage(&self, lsn: u64, changes: Option<Changes>) {
        if let Some(changes) = changes.filter(|c| !c.per_subscriber.is_empty()) {
            self.staged.lock().push_back((lsn, changes));
        }
    }

    /// Delivers every staged commit up to `lsn`, in order: the commit `lsn` may be seen now.
    pub(crate) fn release(&self, lsn: u64) {
        if self.count.load(Ordering::Acquire) == 0 {
            // Staged commits exist only while someone watches (see `unsubscribe`).
            return;
        }
        let mut staged = self.staged.lock();
        while staged.front().is_some_and(|(at, _)| *at <= lsn) {
            let Some((at, changes)) = staged.pop_front() else { break };
            for (subscriber, events) in changes.per_subscriber {
                subscriber.push(Commit { lsn: at, events });
            }
        }
    }

    /// Ends every subscription: the database is closing.
    pub(crate) fn close(&self) {
        let all = std::mem::take(&mut *self.subscribers.lock());
        for subscriber in all.iter() {
            subscriber.close();
        }
        self.count.store(0, Ordering::Release);
    }
}

impl Keyspace {
    /// Subscribes to the changes of the keys under `prefix` in namespace `ns`, with room for
    /// `capacity` commits not yet received.
    pub(crate) fn subscribe(&self, ns: NsId, prefix: &[u8], capacity: usize) -> Arc<Subscriber> {
        let subscriber = Arc::new(Subscriber {
            ns,
            prefix: prefix.to_vec(),
            capacity: capacity.max(1),
            queue: Mutex::default(),
            ready: Condvar::new(),
            waker: Mutex::new(None),
        });
        let mut all = self.feed.subscribers.lock();
        Arc::make_mut(&mut all).push(Arc::clone(&subscriber));
        self.feed.count.store(all.len(), Ordering::Release);
        subscriber
    }

    /// How many watchers follow this keyspace.
    #[cfg(test)]
    pub(crate) fn watchers(&self) -> usize {
        self.feed.count.load(Ordering::Acquire)
    }

    /// Whether no commit waits for release.
    #[cfg(test)]
    pub(crate) fn nothing_staged(&self) -> bool {
        self.feed.staged.lock().is_empty()
    }

    /// Ends the subscription of `subscriber` (its watcher was dropped).
    pub(crate) fn unsubscribe(&self, subscriber: &Arc<Subscriber>) {
        let mut all = self.feed.subscribers.lock();
        Arc::make_mut(&mut all).retain(|s| !Arc::ptr_eq(s, subscriber));
        self.feed.count.store(all.len(), Ordering::Release);
        if all.is_empty() {
            self.feed.staged.lock().clear();
        }
    }

    /// The changes `batch` is about to make to followed keys (`None` with no watcher). The
    /// caller holds the writer lock, so the values read here are the ones the batch replaces.
    ///
    /// # Errors
    /// An I/O error or [`Error::Corruption`] reading an old value from the page file.
    pub(crate) fn changes_of_batch(&self, batch: &Batch) -> Result<Option<Changes>> {
        let Some(subscribers) = self.feed.subscribers() else { return Ok(None) };
        let mut changes = Changes::default();
        // A batch of one write has no earlier write to the key to remember.
        let mut so_far = (batch.ops.len() > 1).then(SoFar::new);
        for op in &batch.ops {
            match op {
                Op::Put { ns, key, value, .. } => {
                    let so_far = so_far.as_mut();
                    self.change(&subscribers, so_far, &mut changes, *ns, key, Some(value))?;
                }
                Op::Remove { ns, key } => {
                    self.change(&subscribers, so_far.as_mut(), &mut changes, *ns, key, None)?;
                }
                Op::Clear { ns } => {
                    let Some(state) = self.namespace_by_id(*ns) else { continue };
                    let mut keys = self.namespace_keys(&state)?;
                    keys.sort_unstable();
                    for key in keys {
                        if !followed(&subscribers, *ns, &key) {
                            continue;
                        }
                        if let Some(old) = self.old_value(*ns, &key, true)? {
                            let event = RawEvent { key: key.to_vec(), old: Some(old), new: None };
                            add(&mut changes, &subscribers, *ns, event);
                        }
                    }
                }
                Op::CreateNamespace { .. } => {}
            }
        }
        Ok(Some(changes))
    }

    /// Records the change of `key` in namespace `ns` to `new` (`None`: removed) for the
    /// watchers that follow it. The old value is what the batch wrote to the key earlier, else
    /// what the index holds; a removal of an absent key changes nothing.
    fn change<'b>(
        &self,
        subscribers: &[Arc<Subscriber>],
        so_far: Option<&mut SoFar<'b>>,
        changes: &mut Changes,
        ns: NsId,
        key: &'b [u8],
        new: Option<&'b [u8]>,
    ) -> Result<()> {
        if !followed(subscribers, ns, key) {
            return Ok(());
        }
        let old = match so_far.and_then(|so_far| so_far.insert((ns, key), new)) {
            Some(earlier) => earlier.map(<[u8]>::to_vec),
            None => self.old_value(ns, key, new.is_none())?,
        };
        if new.is_some() || old.is_some() {
            let event = RawEvent { key: key.to_vec(), old, new: new.map(<[u8]>::to_vec) };
            add(changes, subscribers, ns, event);
        }
        Ok(())
    }

    /// As [`changes_of_batch`](Self::changes_of_batch), for sorted writes (one per key).
    ///
    /// # Errors
    /// As [`changes_of_batch`](Self::changes_of_batch).
    pub(crate) fn changes_of_writes(&self, writes: &Writes) -> Result<Option<Changes>> {
        let Some(subscribers) = self.feed.subscribers() else { return Ok(None) };
        let mut changes = Changes::default();
        for at in 0..writes.len() {
            let Some(ns) = writes.ns(at) else { continue };
            let key = writes.key(at);
            if !followed(&subscribers, ns, key) {
                continue;
            }
            let new = writes.value(at).map(|(value, _)| value.to_vec());
            let old = self.old_value(ns, key, new.is_none())?;
            if new.is_none() && old.is_none() {
                continue;
            }
            add(&mut changes, &subscribers, ns, RawEvent { key: key.to_vec(), old, new });
        }
        Ok(Some(changes))
    }

    /// The value `key` has now in namespace `ns`: its live value, or, for a removal, whatever
    /// value the index still holds (an expired entry that a removal or a purge takes away).
    fn old_value(&self, ns: NsId, key: &[u8], expired_too: bool) -> Result<Option<Vec<u8>>> {
        let Some(state) = self.namespace_by_id(ns) else { return Ok(None) };
        let now = self.now();
        state.index.with_source(key, |slot, source| {
            let Some(slot) = slot else { return Ok(None) };
            if !expired_too && crate::batch::is_expired(slot.expires_at, now) {
                return Ok(None);
            }
            let mut value = Vec::new();
            self.read_value_into(slot.held, source, &mut value)?;
            Ok(Some(value))
        })
    }

    /// The state of namespace `ns`, if it exists.
    fn namespace_by_id(&self, ns: NsId) -> Option<Arc<NsState>> {
        self.registry.read().by_id.get(&ns).cloned()
    }
}

/// What a batch wrote so far to each followed key: its later operations replace that, not what
/// the index holds.
type SoFar<'b> = HashMap<(NsId, &'b [u8]), Option<&'b [u8]>>;

/// Whether any of `subscribers` follows `key` in namespace `ns`.
fn followed(subscribers: &[Arc<Subscriber>], ns: NsId, key: &[u8]) -> bool {
    subscribers.iter().any(|s| s.follows(ns, key))
}

/// Adds `event`, a change of a key in namespace `ns`, for every subscriber that follows it.
fn add(changes: &mut Changes, subscribers: &[Arc<Subscriber>], ns: NsId, event: RawEvent) {
    let mut followers = subscribers.iter().filter(|s| s.follows(ns, &event.key));
    let Some(mut current) = followers.next() else { return };
    for next in followers {
        changes.add(current, event.clone());
        current = next;
    }
    changes.add(current, event);
}
