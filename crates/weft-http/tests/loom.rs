//! loom model of the HTTP pool's waiter queue (issue 20): `src/client/pool/waiters.rs` itself,
//! compiled here through `#[path]` and driven under loom's mutex the way the pool drives it
//! (`src/client/pool/mod.rs`: `Checkout::poll`, `Checkout`'s drop, `release_slot`/`dispatch`):
//! every change runs under the lock, wakers are woken after unlocking.
//!
//! What is checked: a slot released concurrently with a waiter's cancellation is never lost (a
//! later or still-waiting request gets it: a lost slot deadlocks the model) and never given
//! twice (the slot count never exceeds the limit, and each waiter gets at most one grant).
//!
//! Run with `cargo xtask loom` (`RUSTFLAGS="--cfg loom" cargo test --profile loom -p weft-http
//! --test loom`). Compiles to nothing without `--cfg loom`.
#![cfg(loom)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use loom::sync::{Arc, Mutex};
use loom::thread;

#[path = "../src/client/pool/waiters.rs"]
#[allow(dead_code)]
mod waiters;

use waiters::{Ticket, Waiters};

/// What a waiter is granted: a slot to connect in (the pool's `Grant::Connect`) or a pooled
/// connection handed over (`Grant::Reuse`, here a connection id).
#[derive(Debug, PartialEq)]
enum Slot {
    Connect,
    Reuse(u32),
}

/// The part of the pool's state the protocol touches: the queue and the slot count.
struct State {
    waiters: Waiters<u8, Slot>,
    open: usize,
    max: usize,
    /// Idle connections (ids).
    idle: Vec<u32>,
}

impl State {
    /// `State::dispatch`: free slots go to queued waiters in FIFO order.
    fn dispatch(&mut self, wake: &mut Vec<Waker>) {
        while self.open < self.max {
            let Some(pos) = self.waiters.next_live(0) else {
                return;
            };
            self.open += 1;
            wake.extend(self.waiters.grant(pos, Slot::Connect));
        }
    }
}

struct Pool {
    st: Mutex<State>,
}

impl Pool {
    fn new(max: usize) -> Arc<Pool> {
        Arc::new(Pool {
            st: Mutex::new(State {
                waiters: Waiters::default(),
                open: 0,
                max,
                idle: Vec::new(),
            }),
        })
    }

    /// `release_slot`: gives a slot back and dispatches, waking after unlocking.
    fn release(&self) {
        let mut wake = Vec::new();
        {
            let mut st = self.st.lock().unwrap();
            assert!(st.open > 0, "a slot released twice");
            st.open -= 1;
            st.dispatch(&mut wake);
        }
        for w in wake {
            w.wake();
        }
    }

    /// `Inner::checkin`: a reusable connection goes to the first waiter, else to the idle list.
    fn checkin(&self, conn: u32) {
        let mut wake = None;
        {
            let mut st = self.st.lock().unwrap();
            match st.waiters.first(|_| true) {
                Some(pos) => wake = st.waiters.grant(pos, Slot::Reuse(conn)),
                None => st.idle.push(conn),
            }
        }
        if let Some(w) = wake {
            w.wake();
        }
    }

    fn open(&self) -> usize {
        self.st.lock().unwrap().open
    }
}

/// `Checkout`: takes a free slot at once, else queues; dropping it cancels and passes on a grant
/// that arrived meanwhile.
struct Checkout {
    pool: Arc<Pool>,
    ticket: Option<Ticket>,
}

impl Checkout {
    fn new(pool: &Arc<Pool>) -> Checkout {
        Checkout {
            pool: pool.clone(),
            ticket: None,
        }
    }
}

impl Future for Checkout {
    type Output = Slot;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Slot> {
        let pool = self.pool.clone();
        let mut st = pool.st.lock().unwrap();
        if let Some(t) = self.ticket {
            if let Some(g) = st.waiters.poll(t, cx.waker()) {
                self.ticket = None;
                return Poll::Ready(g);
            }
            return Poll::Pending;
        }
        if let Some(conn) = st.idle.pop() {
            return Poll::Ready(Slot::Reuse(conn));
        }
        if st.open < st.max {
            // The pool's invariant (newcomers never overtake waiters): every change that frees
            // a slot dispatches, so a free slot means nobody is queued.
            assert!(
                st.waiters.next_live(0).is_none(),
                "a waiter stayed queued while a slot was free"
            );
            st.open += 1;
            return Poll::Ready(Slot::Connect);
        }
        self.ticket = Some(st.waiters.push(0, cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let Some(t) = self.ticket.take() else {
            return;
        };
        let grant = self.pool.st.lock().unwrap().waiters.cancel(t);
        // Granted but never claimed: it goes to the next waiter (or back to the pool).
        match grant {
            None => {}
            Some(Slot::Connect) => self.pool.release(),
            Some(Slot::Reuse(conn)) => self.pool.checkin(conn),
        }
    }
}

/// Polls `fut` once with a no-op waker.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(Waker::noop()))
}

/// One slot, held; a waiter queues and then cancels while the holder releases: afterwards the
/// slot is free (not lost) and taken once.
#[test]
fn a_slot_released_while_its_waiter_cancels_is_not_lost() {
    loom::model(|| {
        let pool = Pool::new(1);
        let mut held = Checkout::new(&pool);
        assert_eq!(poll_once(&mut held), Poll::Ready(Slot::Connect));
        let waiter = {
            let pool = pool.clone();
            thread::spawn(move || {
                let mut c = Checkout::new(&pool);
                match poll_once(&mut c) {
                    // The release came first: the slot is ours; give it back.
                    Poll::Ready(_) => pool.release(),
                    // Queued: cancel (possibly after the release granted us the slot).
                    Poll::Pending => drop(c),
                }
            })
        };
        let releaser = {
            let pool = pool.clone();
            thread::spawn(move || pool.release())
        };
        waiter.join().unwrap();
        releaser.join().unwrap();
        assert_eq!(pool.open(), 0, "the slot leaked");
        let st = pool.st.lock().unwrap();
        assert_eq!(st.waiters.waiting(), 0);
        drop(st);
        let mut again = Checkout::new(&pool);
        assert_eq!(
            poll_once(&mut again),
            Poll::Ready(Slot::Connect),
            "the slot was lost"
        );
        drop(again);
        pool.release();
    });
}

/// One slot, held; two waiters: one cancels, one waits until served, while the holder releases.
/// The waiting one is always served (a slot lost to the cancelled one deadlocks the model), and
/// the limit is never exceeded.
#[test]
fn a_cancelled_waiter_passes_its_grant_to_the_next() {
    loom::model(|| {
        let pool = Pool::new(1);
        let mut held = Checkout::new(&pool);
        assert_eq!(poll_once(&mut held), Poll::Ready(Slot::Connect));
        let mut first = Checkout::new(&pool);
        assert!(
            poll_once(&mut first).is_pending(),
            "queued behind the holder"
        );
        let patient = {
            let pool = pool.clone();
            thread::spawn(move || {
                let slot = loom::future::block_on(Checkout::new(&pool));
                assert_eq!(slot, Slot::Connect);
                assert_eq!(pool.open(), 1);
                pool.release();
            })
        };
        let canceller = thread::spawn(move || drop(first));
        pool.release();
        canceller.join().unwrap();
        patient.join().unwrap();
        assert_eq!(pool.open(), 0);
        assert_eq!(pool.st.lock().unwrap().waiters.waiting(), 0);
    });
}

/// One connection, in use; a waiter queues and then cancels while the connection is checked in:
/// the connection ends up idle exactly once (handed to the waiter and passed back, or pooled
/// directly), never dropped and never duplicated.
#[test]
fn a_connection_handed_to_a_cancelling_waiter_returns_to_the_pool() {
    loom::model(|| {
        let pool = Pool::new(1);
        let mut held = Checkout::new(&pool);
        assert_eq!(poll_once(&mut held), Poll::Ready(Slot::Connect));
        let waiter = {
            let pool = pool.clone();
            thread::spawn(move || {
                let mut c = Checkout::new(&pool);
                match poll_once(&mut c) {
                    // The check-in came first: the connection is ours; return it.
                    Poll::Ready(Slot::Reuse(conn)) => pool.checkin(conn),
                    Poll::Ready(Slot::Connect) => panic!("a second slot over the limit"),
                    Poll::Pending => drop(c),
                }
            })
        };
        let checker = {
            let pool = pool.clone();
            thread::spawn(move || pool.checkin(7))
        };
        waiter.join().unwrap();
        checker.join().unwrap();
        let st = pool.st.lock().unwrap();
        assert_eq!(st.idle, vec![7], "the connection was lost or duplicated");
        assert_eq!(st.open, 1, "its slot is still counted");
        assert_eq!(st.waiters.waiting(), 0);
    });
}
