//! `block_on`'s fairness poll on an executor worker thread (issue 13): a thread that drives the
//! reactor through `try_react` polls I/O in its own context, so `block_on` must not poll I/O
//! for it outside that context (the wakers it fired ran outside the worker's loop: their
//! tasks went to the global queue plus an unpark of another worker).
//!
//! One test in this binary: it relies on no other thread driving the reactor meanwhile.

use std::os::unix::net::UnixStream as StdUnix;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use weft_reactor::{block_on, try_react, Async, IO_POLL_BUDGET};

mod common;

/// Counts its wake-ups.
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// `try_react(Some(ZERO))` until this thread holds the reactor (the fallback thread yields it
/// when notified); panics after the watchdog.
fn react_now() -> usize {
    let start = Instant::now();
    loop {
        if let Some(r) = try_react(Some(Duration::ZERO)) {
            return r.expect("poller");
        }
        assert!(
            start.elapsed() < common::WATCHDOG,
            "try_react never got the reactor lock"
        );
        std::thread::yield_now();
    }
}

#[test]
fn block_on_does_not_poll_io_behind_a_workers_back() {
    let (a, mut b) = StdUnix::pair().expect("socket pair");
    let a = Async::new(a).expect("register");
    let counter = Arc::new(Counter(AtomicUsize::new(0)));
    let io_waker = Waker::from(counter.clone());
    let polls = 3 * IO_POLL_BUDGET;
    let mut n = 0u32;
    let (outside, after_own_poll) = block_on(std::future::poll_fn(|cx| {
        n += 1;
        if n == 1 {
            // Become a worker (a thread that drives through try_react), then wait for `a`
            // with the counting waker and make it readable.
            react_now();
            let mut io_cx = Context::from_waker(&io_waker);
            assert!(
                a.poll_readable(&mut io_cx).is_pending(),
                "nothing written yet"
            );
            std::io::Write::write_all(&mut b, b"x").expect("write");
        }
        if n < polls {
            // Busy: keep waking ourselves without polling the reactor.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let outside = counter.0.load(Ordering::SeqCst);
        react_now();
        Poll::Ready((outside, counter.0.load(Ordering::SeqCst)))
    }));
    assert_eq!(
        outside, 0,
        "block_on's fairness poll fired an I/O waker outside the worker's own try_react \
         ({polls} self-wakes, budget {IO_POLL_BUDGET})"
    );
    assert_eq!(
        after_own_poll, 1,
        "the worker's own try_react should have fired the readiness waker"
    );
}
