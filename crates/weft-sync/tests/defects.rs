//! Regression tests for the defects of issue 15 (found against ports of tokio's sync tests and
//! CPython's asyncio lock/queue tests). Each failed before its fix.
#![cfg(not(loom))]

mod common;

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use common::{poll_once, within, Driven};
use futures_lite::future::block_on;
use weft_sync::channel::{self, broadcast, oneshot, watch};
use weft_sync::{Barrier, Condition, Event, Mutex, Queue, QueueShutDown, Semaphore};

/// A waker that runs `on_drop` when its last clone is dropped.
struct DropHook(StdMutex<Option<Box<dyn FnOnce() + Send>>>);

impl Wake for DropHook {
    fn wake(self: Arc<Self>) {}
}

impl Drop for DropHook {
    fn drop(&mut self) {
        if let Some(f) = self.0.lock().unwrap().take() {
            f();
        }
    }
}

fn hook_waker(on_drop: impl FnOnce() + Send + 'static) -> Waker {
    Waker::from(Arc::new(DropHook(StdMutex::new(Some(Box::new(on_drop))))))
}

fn poll_with<F: Future>(fut: std::pin::Pin<&mut F>, w: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(w))
}

// ---- 1. a waker's Drop that touches the same primitive -------------------------------------

#[test]
fn waker_dropped_on_repoll_may_send_on_the_same_channel() {
    // tokio's `send_in_waker_drop`: re-polling with another waker drops the old one.
    within("re-poll", || {
        let (tx, rx) = channel::bounded::<u8>(4);
        let mut recv = pin!(rx.recv());
        let w1 = hook_waker(move || {
            let _ = tx.try_send(1);
        });
        assert!(poll_with(recv.as_mut(), &w1).is_pending());
        drop(w1); // the channel holds the last clone
                  // The re-poll drops `w1`, whose drop sends; the message reaches this receiver (on this
                  // poll or, since it arrived after the check, the next one).
        let mut got = poll_with(recv.as_mut(), Waker::noop());
        if got.is_pending() {
            got = poll_with(recv.as_mut(), Waker::noop());
        }
        assert_eq!(got, Poll::Ready(Ok(1)));
    });
}

#[test]
fn waker_dropped_with_a_cancelled_future_may_touch_the_primitive() {
    within("cancel", || {
        let m = Arc::new(Mutex::new(()));
        let held = m.try_lock().unwrap();
        let m2 = m.clone();
        {
            let mut lock = pin!(m.lock());
            let w = hook_waker(move || assert!(m2.try_lock().is_err()));
            assert!(poll_with(lock.as_mut(), &w).is_pending());
        } // dropping the pending lock drops the waker
        drop(held);
        let ev = Arc::new(Event::new());
        let ev2 = ev.clone();
        {
            let mut wait = pin!(ev.wait());
            let w = hook_waker(move || ev2.set());
            assert!(poll_with(wait.as_mut(), &w).is_pending());
        }
        assert!(ev.is_set());
    });
}

// ---- 2. dropping the receivers drops the queued messages -----------------------------------

struct Counted {
    drops: Arc<AtomicUsize>,
    panic: bool,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panic {
            panic!("destructor panics (on purpose)");
        }
    }
}

#[test]
fn dropping_the_last_receiver_drops_queued_messages() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::bounded(4);
    for _ in 0..2 {
        let c = Counted {
            drops: drops.clone(),
            panic: false,
        };
        assert!(tx.try_send(c).is_ok());
    }
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 2, "dropped with the receiver");
    assert!(tx.is_closed());
}

#[test]
fn a_panicking_destructor_does_not_stop_the_others() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::unbounded();
    for panic in [false, true, false] {
        let c = Counted {
            drops: drops.clone(),
            panic,
        };
        assert!(tx.try_send(c).is_ok());
    }
    let r = catch_unwind(AssertUnwindSafe(|| drop(rx)));
    assert!(r.is_err(), "the destructor's panic reaches the dropper");
    assert_eq!(drops.load(Ordering::SeqCst), 3, "every message was dropped");
    assert!(tx.is_closed());
    drop(tx); // no double drop, no abort
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[test]
fn broadcast_releases_read_messages_and_the_buffer() {
    let msg = Arc::new(());
    let (tx, mut rx1) = broadcast::channel(8);
    let mut rx2 = tx.subscribe();
    tx.send(msg.clone()).unwrap();
    rx1.try_recv().unwrap();
    assert_eq!(Arc::strong_count(&msg), 2, "rx2 has not read it yet");
    rx2.try_recv().unwrap();
    assert_eq!(
        Arc::strong_count(&msg),
        1,
        "read by every receiver: dropped"
    );
    tx.send(msg.clone()).unwrap();
    drop(rx1);
    assert_eq!(Arc::strong_count(&msg), 2);
    drop(rx2);
    assert_eq!(Arc::strong_count(&msg), 1, "no receiver left: dropped");
    // A clone taken mid-stream counts as a reader of what it has not read.
    let mut rx3 = tx.subscribe();
    tx.send(msg.clone()).unwrap();
    let mut rx4 = rx3.clone();
    rx3.try_recv().unwrap();
    assert_eq!(Arc::strong_count(&msg), 2);
    rx4.try_recv().unwrap();
    assert_eq!(Arc::strong_count(&msg), 1);
}

// ---- 3. oneshot close ------------------------------------------------------------------------

#[test]
fn oneshot_closed_receiver_resolves_instead_of_pending() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    rx.close();
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));
    assert_eq!(poll_once(&mut rx), Poll::Ready(Err(oneshot::RecvError)));
    assert_eq!(tx.send(1), Err(1));
    // A value sent before the close is still delivered.
    let (tx, mut rx) = oneshot::channel::<u8>();
    tx.send(3).unwrap();
    rx.close();
    assert_eq!(poll_once(&mut rx), Poll::Ready(Ok(3)));
}

// ---- 4. Queue shutdown -----------------------------------------------------------------------

#[test]
fn immediate_shutdown_discards_an_item_handed_to_a_cancelled_getter() {
    let q = Queue::<u32>::unbounded();
    let q2 = q.clone();
    let mut getter = Driven::new(async move { q2.get().await });
    assert!(getter.poll().is_pending());
    q.try_put(1).unwrap(); // handed to the getter
    q.shutdown(true);
    drop(getter); // cancelled after the hand-off
    assert_eq!(q.len(), 0);
    assert_eq!(q.unfinished_tasks(), 0);
    let mut join = q.join();
    assert!(
        poll_once(&mut join).is_ready(),
        "join must not wait for a discarded item"
    );
}

#[test]
fn getter_polled_after_immediate_shutdown_fails() {
    let q = Queue::<u32>::unbounded();
    let q2 = q.clone();
    let mut getter = Driven::new(async move { q2.get().await });
    assert!(getter.poll().is_pending());
    q.try_put(1).unwrap();
    q.shutdown(true);
    assert_eq!(getter.poll(), Poll::Ready(Err(QueueShutDown(()))));
    assert_eq!(q.unfinished_tasks(), 0);
}

#[test]
fn putter_with_a_reserved_slot_fails_after_shutdown() {
    let q = Queue::<u32>::bounded(1);
    q.try_put(1).unwrap();
    let q2 = q.clone();
    let mut putter = Driven::new(async move { q2.put(2).await });
    assert!(putter.poll().is_pending());
    assert_eq!(q.try_get(), Ok(1)); // frees the slot: reserved for the putter
    q.shutdown(false);
    match putter.poll() {
        Poll::Ready(Err(QueueShutDown(2))) => {}
        other => panic!(
            "expected QueueShutDown(2), got {:?}",
            other.map(|r| r.is_ok())
        ),
    }
    assert!(q.is_empty());
    assert_eq!(block_on(q.get()), Err(QueueShutDown(())));
}

// ---- 5. Condition --------------------------------------------------------------------------

#[test]
fn condition_waiter_cancelled_while_relocking_passes_the_notification_on() {
    let pair = Arc::new((Mutex::new(0), Condition::new()));
    let waiter = |pair: Arc<(Mutex<i32>, Condition)>| {
        Driven::new(async move {
            let (m, c) = &*pair;
            let g = m.lock().await;
            drop(c.wait(g).await);
        })
    };
    let mut a = waiter(pair.clone());
    let mut b = waiter(pair.clone());
    assert!(a.poll().is_pending() && b.poll().is_pending());
    let (m, c) = &*pair;
    let held = m.try_lock().unwrap();
    assert_eq!(c.notify(1), 1); // A is notified...
    assert!(a.poll().is_pending()); // ...and waits for the lock
    drop(a); // cancelled while re-locking
    assert!(b.woken(), "the notification passed to B");
    drop(held);
    assert!(b.poll().is_ready());
}

// ---- 6. Receiver as a Stream ---------------------------------------------------------------

#[test]
fn stream_receiver_keeps_no_hidden_item() {
    use futures_lite::StreamExt;
    let (tx, mut rx) = channel::bounded::<u8>(2);
    {
        let mut next = rx.next();
        assert!(poll_once(&mut next).is_pending());
    } // `next()` dropped; the stream's waiter stays registered in the receiver
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(1), "the item is visible, in order");
    assert_eq!(rx.capacity(), Some(1));
    assert_eq!(block_on(rx.next()), Some(2));
}

// ---- 7. watch --------------------------------------------------------------------------------

#[test]
fn watch_has_changed_fails_once_the_sender_is_gone() {
    let (tx, rx) = watch::channel(0);
    tx.send(1).unwrap();
    assert_eq!(rx.has_changed(), Ok(true));
    drop(tx);
    assert_eq!(rx.has_changed(), Err(watch::RecvError));
}

// ---- 8. strict FIFO in asyncio's sense -----------------------------------------------------

#[test]
fn semaphore_reacquire_does_not_overtake_a_woken_waiter() {
    // asyncio's test_acquire_fifo_order_2 (expects [1, 2, 3, 4]).
    let sem = Arc::new(Semaphore::new(1));
    let order = Arc::new(StdMutex::new(Vec::new()));
    let p1 = sem.try_acquire().unwrap();
    order.lock().unwrap().push(1);
    let (s2, o2) = (sem.clone(), order.clone());
    let mut t2 = Driven::new(async move {
        let p = s2.acquire().await.unwrap();
        o2.lock().unwrap().push(2);
        drop(p);
        let _p = s2.acquire().await.unwrap();
        o2.lock().unwrap().push(4);
    });
    let (s3, o3) = (sem.clone(), order.clone());
    let mut t3 = Driven::new(async move {
        let _p = s3.acquire().await.unwrap();
        o3.lock().unwrap().push(3);
    });
    assert!(t2.poll().is_pending() && t3.poll().is_pending());
    drop(p1); // to t2
    sem.add_permits(1); // to t3 (woken, not yet run)
    assert!(t2.poll().is_pending(), "t2's re-acquire queues behind t3");
    assert!(
        sem.try_acquire().is_err(),
        "try_acquire does not barge past woken t3"
    );
    assert!(sem.locked());
    assert!(t3.poll().is_ready());
    assert!(t2.woken());
    assert!(t2.poll().is_ready());
    assert_eq!(*order.lock().unwrap(), [1, 2, 3, 4]);
    assert_eq!(sem.available_permits(), 2);
}

// ---- 9. input validation ---------------------------------------------------------------------

#[test]
fn invalid_inputs_are_errors_not_hangs() {
    assert!(Barrier::try_new(0).is_err());
    assert!(catch_unwind(|| Barrier::new(0)).is_err());
    assert!(broadcast::try_channel::<u8>(usize::MAX / 2 + 1).is_err());
    assert!(catch_unwind(|| broadcast::channel::<u8>(usize::MAX)).is_err());
    let sem = Semaphore::new(1);
    let acq = sem.acquire_many(Semaphore::MAX_PERMITS + 1);
    let r = poll_with(pin!(acq), Waker::noop());
    match r {
        Poll::Ready(Err(e)) => {
            assert!(!e.is_closed());
            assert!(e.to_string().contains("MAX_PERMITS"));
        }
        _ => panic!("acquire_many above MAX_PERMITS must fail at once"),
    }
}

// ---- Mutex fairness: Go-style barging with a starvation switch ------------------------------

#[test]
fn mutex_waiter_that_keeps_losing_gets_strict_hand_off() {
    let m = Arc::new(Mutex::new(0u32));
    let mut held = Some(m.clone().try_lock_owned().unwrap());
    let m2 = m.clone();
    let mut waiter = Driven::new(async move {
        *m2.lock().await += 1;
    });
    assert!(waiter.poll().is_pending());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut barged = 0u32;
    loop {
        assert!(std::time::Instant::now() < deadline, "the waiter starved");
        drop(held.take()); // unlock: wakes the waiter (no hand-off while it is not starving)
        match m.clone().try_lock_owned() {
            Ok(g) => {
                barged += 1;
                held = Some(g);
                // The waiter loses the race; after ~1 ms of losing it switches to hand-off.
                assert!(waiter.poll().is_pending(), "got the lock while it was held");
            }
            Err(_) => break, // hand-off: the unlock above went to the waiter
        }
    }
    assert!(barged > 0, "barging is allowed at first");
    assert!(waiter.woken());
    assert!(waiter.poll().is_ready());
    assert_eq!(*m.try_lock().unwrap(), 1);
}
