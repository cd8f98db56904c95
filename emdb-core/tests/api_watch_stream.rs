//! With the `stream` feature, a watcher is a `futures_core::Stream`: it yields the commits
//! `recv` would, wakes its task when a commit arrives, and ends when the database closes.
#![cfg(feature = "stream")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use emdb_core::{Emdb, RawEvent};
use futures_core::Stream;

/// Wakes the thread that polls, and counts the wakes.
struct ThreadWaker {
    thread: std::thread::Thread,
    wakes: AtomicUsize,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
        self.thread.unpark();
    }
}

/// Runs `future` to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let waker =
        Arc::new(ThreadWaker { thread: std::thread::current(), wakes: AtomicUsize::new(0) });
    let waker = Waker::from(waker);
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park_timeout(Duration::from_secs(5));
    }
}

/// The next item of a stream.
fn next<S: Stream + Unpin>(stream: &mut S) -> impl Future<Output = Option<S::Item>> + '_ {
    std::future::poll_fn(move |cx| Pin::new(&mut *stream).poll_next(cx))
}

#[test]
fn a_watcher_stream_yields_commits_as_they_arrive_and_ends_when_the_database_closes() {
    let db = Emdb::open_in_memory();
    let mut feed = db.watch_prefix("k").unwrap();
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            for i in 0..3 {
                std::thread::sleep(Duration::from_millis(20));
                db.insert(format!("k{i}"), "v").unwrap();
            }
        })
    };
    let keys: Vec<Vec<u8>> = block_on(async {
        let mut keys = Vec::new();
        while keys.len() < 3 {
            let commit = next(&mut feed).await.unwrap().unwrap();
            keys.extend(commit.events.into_iter().map(|e: RawEvent| e.key));
        }
        keys
    });
    assert_eq!(keys, vec![b"k0".to_vec(), b"k1".to_vec(), b"k2".to_vec()]);
    writer.join().unwrap();
    drop(db);
    assert!(block_on(next(&mut feed)).is_none(), "the stream ends with the database");
}

#[test]
fn a_pending_stream_is_woken_by_the_commit() {
    let db = Emdb::open_in_memory();
    let mut feed = db.watch_prefix("").unwrap();
    let counter =
        Arc::new(ThreadWaker { thread: std::thread::current(), wakes: AtomicUsize::new(0) });
    let waker = Waker::from(Arc::clone(&counter));
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut feed).poll_next(&mut cx).is_pending());
    db.insert("a", "1").unwrap();
    assert_eq!(counter.wakes.load(Ordering::Relaxed), 1, "the commit woke the task");
    assert!(matches!(Pin::new(&mut feed).poll_next(&mut cx), Poll::Ready(Some(Ok(_)))));
}
