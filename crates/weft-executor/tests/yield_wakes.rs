//! Stress test for the deferred notify of a yield (issue 14): a task that wakes itself while
//! running goes back to its own worker's queue without waking another worker. No task may be
//! lost or stranded by that: many tasks yield, wake each other across workers and finish, under
//! a watchdog (a lost wake-up fails with a message instead of hanging).

use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use weft_executor::{yield_now, Runtime};

const WATCHDOG: Duration = Duration::from_secs(120);

/// A one-value mailbox (the ping-pong below never puts while a value is waiting).
#[derive(Clone, Default)]
struct Mailbox(Arc<Mutex<(Option<usize>, Option<Waker>)>>);

impl Mailbox {
    fn put(&self, v: usize) {
        let w = {
            let mut g = self.0.lock().unwrap();
            assert!(g.0.is_none(), "mailbox put twice");
            g.0 = Some(v);
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }

    async fn take(&self) -> usize {
        poll_fn(|cx| {
            let mut g = self.0.lock().unwrap();
            match g.0.take() {
                Some(v) => Poll::Ready(v),
                None => {
                    g.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

#[test]
fn yielding_tasks_all_finish_on_two_workers() {
    const TASKS: usize = 64;
    const YIELDS: usize = 500;
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    for round in 0..20 {
        let (tx, rx) = mpsc::channel();
        let done = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (tx, done) = (tx.clone(), done.clone());
                rt.handle().spawn(async move {
                    for _ in 0..YIELDS {
                        yield_now().await;
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                    tx.send(()).unwrap();
                })
            })
            .collect();
        for i in 0..TASKS {
            rx.recv_timeout(WATCHDOG).unwrap_or_else(|_| {
                panic!(
                    "watchdog: round {round}: {i} of {TASKS} yielding tasks finished ({} counted)",
                    done.load(Ordering::SeqCst)
                )
            });
        }
        drop(tasks);
    }
}

/// Yields mixed with cross-task wake-ups: pairs of tasks pass a token back and forth through
/// channels (the receiver may sleep on either worker), yielding between hand-offs, and a task
/// spawned by a yielding task must run too.
#[test]
fn yields_mixed_with_cross_worker_wakes_lose_nothing() {
    const PAIRS: usize = 16;
    const HOPS: usize = 300;
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let mut tasks = Vec::new();
    for _ in 0..PAIRS {
        let (a_tx, b_tx) = (Mailbox::default(), Mailbox::default());
        let (a_rx, b_rx) = (a_tx.clone(), b_tx.clone());
        let done = tx.clone();
        tasks.push(rt.handle().spawn(async move {
            for i in 0..HOPS {
                a_tx.put(i);
                yield_now().await;
                assert_eq!(b_rx.take().await, i);
            }
            done.send(()).unwrap();
        }));
        let done = tx.clone();
        tasks.push(rt.handle().spawn(async move {
            for i in 0..HOPS {
                let got = a_rx.take().await;
                yield_now().await;
                // A child spawned between yields runs too.
                let child = weft_executor::spawn(async move { got + 1 });
                assert_eq!(child.await.unwrap(), i + 1);
                b_tx.put(got);
            }
            done.send(()).unwrap();
        }));
    }
    for i in 0..2 * PAIRS {
        rx.recv_timeout(WATCHDOG)
            .unwrap_or_else(|_| panic!("watchdog: {i} of {} ping-pong tasks finished", 2 * PAIRS));
    }
    drop(tasks);
}
