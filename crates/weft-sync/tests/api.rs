//! Behaviour of the API added for issue 15 beyond its doctests: pass-on on cancel, FIFO of the
//! new waiting operations, and the edge cases of permits and guards.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::task::Poll;

use common::{poll_once, Driven};
use futures_lite::future::block_on;
use weft_sync::channel::{self, broadcast, watch, SendTimeoutError};
use weft_sync::{
    Barrier, BoundedSemaphore, CancellationToken, Notify, RwLock, RwLockWriteGuard, Semaphore,
};

#[test]
fn notify_one_taken_by_a_dropped_waiter_passes_on() {
    let n = Arc::new(Notify::new());
    let (n1, n2) = (n.clone(), n.clone());
    let mut a = Driven::new(async move { n1.notified().await });
    let mut b = Driven::new(async move { n2.notified().await });
    assert!(a.poll().is_pending() && b.poll().is_pending());
    n.notify_one();
    assert!(a.woken() && !b.woken(), "FIFO: the first waiter is woken");
    drop(a);
    assert!(b.woken(), "passed on to the next waiter");
    assert!(b.poll().is_ready());
    // With nobody left, a notification taken and dropped goes back into the permit.
    let n3 = n.clone();
    let mut c = Driven::new(async move { n3.notified().await });
    assert!(c.poll().is_pending());
    n.notify_one();
    drop(c);
    assert!(poll_once(&mut Box::pin(n.notified())).is_ready());
    // notify_waiters stores nothing.
    n.notify_waiters();
    assert!(poll_once(&mut Box::pin(n.notified())).is_pending());
}

#[test]
fn reserve_many_is_fifo_and_a_cancelled_reservation_passes_its_slots_on() {
    let (tx, rx) = channel::bounded::<u32>(2);
    tx.try_send(0).unwrap();
    tx.try_send(1).unwrap();
    let tx1 = tx.clone();
    let mut big = Driven::new(async move { tx1.reserve_many(2).await.map(|p| p.len()) });
    let tx2 = tx.clone();
    let mut small = Driven::new(async move {
        let p = tx2.reserve().await.unwrap();
        p.send(9);
    });
    assert!(big.poll().is_pending() && small.poll().is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert!(
        !small.woken(),
        "one free slot must not let the small request pass the big one"
    );
    assert!(
        tx.try_reserve().is_err(),
        "try_reserve does not barge either"
    );
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(big.woken(), "two free slots: the big request is served");
    drop(big); // granted, then cancelled: both slots pass on
    assert!(small.woken());
    assert!(small.poll().is_ready());
    assert_eq!(rx.try_recv(), Ok(9));
    assert_eq!(tx.capacity(), Some(2));
    // A permit dropped unused gives its slot back.
    let p = tx.try_reserve().unwrap();
    assert_eq!(tx.capacity(), Some(1));
    drop(p);
    assert_eq!(tx.capacity(), Some(2));
    // reserve_many(0) succeeds at once with nothing reserved.
    assert_eq!(block_on(tx.reserve_many(0)).unwrap().len(), 0);
}

#[test]
fn permit_after_close_drops_the_message() {
    let (tx, rx) = channel::bounded::<Arc<()>>(1);
    let p = tx.try_reserve().unwrap();
    tx.close();
    let msg = Arc::new(());
    p.send(msg.clone());
    assert_eq!(
        Arc::strong_count(&msg),
        1,
        "dropped, not queued after close"
    );
    assert!(rx.try_recv().is_err());
    assert!(tx.try_reserve().unwrap_err().is_closed());
}

#[test]
fn send_timeout_sends_when_there_is_room_and_returns_the_message_on_expiry() {
    let (tx, rx) = channel::bounded(1);
    block_on(tx.send_timeout(1, std::future::pending::<()>())).unwrap();
    let r = block_on(tx.send_timeout(2, std::future::ready(())));
    assert_eq!(r, Err(SendTimeoutError::Timeout(2)));
    assert_eq!(
        tx.capacity(),
        Some(0),
        "the expired send left no reservation behind"
    );
    drop(rx);
    let r = block_on(tx.send_timeout(3, std::future::pending::<()>()));
    assert_eq!(r, Err(SendTimeoutError::Closed(3)));
}

#[test]
fn recv_many_waits_for_the_first_message_only() {
    let (tx, rx) = channel::bounded(4);
    let rx1 = rx.clone();
    let mut many = Driven::new(async move {
        let mut buf = Vec::new();
        let n = rx1.recv_many(&mut buf, 8).await;
        (n, buf)
    });
    assert!(many.poll().is_pending());
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert!(many.woken());
    assert_eq!(many.poll(), Poll::Ready((2, vec![1, 2])));
}

#[test]
fn bounded_semaphore_refuses_extra_releases() {
    let sem = BoundedSemaphore::new(2);
    assert_eq!(sem.bound(), 2);
    let p = sem.try_acquire().unwrap();
    assert!(sem.add_permits(2).is_err(), "1 free + 2 > 2");
    assert_eq!(sem.available_permits(), 1);
    p.forget();
    sem.release().unwrap();
    sem.release().unwrap_err();
    assert!(sem
        .release()
        .unwrap_err()
        .to_string()
        .contains("bound of 2"));
}

#[test]
fn semaphore_forget_merge_split_and_locked() {
    let sem = Semaphore::new(4);
    assert!(!sem.locked());
    let mut p = sem.try_acquire_many(3).unwrap();
    let q = p.split(2).unwrap();
    assert_eq!((p.num_permits(), q.num_permits()), (1, 2));
    drop(q);
    assert_eq!(sem.available_permits(), 3);
    assert_eq!(sem.forget_permits(10), 3);
    assert!(sem.locked());
    drop(p);
    assert_eq!(sem.available_permits(), 1);
    let other = Semaphore::new(1);
    let mut a = sem.try_acquire().unwrap();
    let b = other.try_acquire().unwrap();
    let merged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a.merge(b)));
    assert!(
        merged.is_err(),
        "merging permits of different semaphores is refused"
    );
}

#[test]
fn barrier_reset_and_abort_break_waiters() {
    let b = Arc::new(Barrier::new(3));
    let b1 = b.clone();
    let mut w = Driven::new(async move { b1.wait().await });
    assert!(w.poll().is_pending());
    assert_eq!(b.n_waiting(), 1);
    b.reset();
    assert!(w.woken());
    match w.poll() {
        Poll::Ready(r) => assert!(r.is_broken() && !r.is_leader()),
        Poll::Pending => panic!("reset must release waiters"),
    }
    assert_eq!(b.n_waiting(), 0);
    b.abort();
    assert!(block_on(b.wait_checked()).is_err());
    b.reset();
    assert!(!b.is_broken());
    let b2 = b.clone();
    let b3 = b.clone();
    let mut x = Driven::new(async move { b2.wait_checked().await });
    let mut y = Driven::new(async move { b3.wait_checked().await });
    assert!(x.poll().is_pending() && y.poll().is_pending());
    let leader = block_on(b.wait_checked()).unwrap();
    assert!(leader.is_leader());
    assert!(matches!(x.poll(), Poll::Ready(Ok(_))) && matches!(y.poll(), Poll::Ready(Ok(_))));
}

#[test]
fn rwlock_max_readers_mapped_and_owned_guards() {
    let lock = Arc::new(RwLock::with_max_readers(vec![1, 2], 2));
    let r1 = lock.try_read().unwrap();
    let r2 = lock.clone().try_read_owned().unwrap();
    assert!(lock.try_read().is_err(), "a third reader waits");
    let l2 = lock.clone();
    let mut w = Driven::new(async move {
        let mut g = RwLockWriteGuard::map(l2.write().await, |v| &mut v[0]);
        *g = 10;
    });
    assert!(w.poll().is_pending());
    drop(r1);
    assert!(!w.woken());
    drop(r2);
    assert!(w.woken());
    assert!(w.poll().is_ready());
    let first = weft_sync::RwLockReadGuard::map(block_on(lock.read()), |v| &v[0]);
    assert_eq!(*first, 10);
    drop(first);
    let mut wo = lock.clone().try_write_owned().unwrap();
    wo.push(3);
    drop(wo);
    assert_eq!(*block_on(lock.clone().read_owned()), [10, 2, 3]);
}

#[test]
fn broadcast_sender_closed_wakes_when_the_last_receiver_goes() {
    let (tx, rx) = broadcast::channel::<u8>(2);
    let rx2 = rx.resubscribe();
    let tx1 = tx.clone();
    let mut closed = Driven::new(async move { tx1.closed().await });
    assert!(closed.poll().is_pending());
    drop(rx);
    assert!(!closed.woken());
    drop(rx2);
    assert!(closed.woken() && closed.poll().is_ready());
    assert!(tx.send(1).is_err());
}

#[test]
fn watch_cloned_senders_close_with_the_last_one() {
    let (tx, mut rx) = watch::channel(0);
    let tx2 = tx.clone();
    assert_eq!(tx.sender_count(), 2);
    drop(tx);
    assert_eq!(rx.has_changed(), Ok(false), "one sender is still alive");
    tx2.send(1).unwrap();
    drop(tx2);
    assert_eq!(rx.has_changed(), Err(watch::RecvError));
    assert!(
        block_on(rx.changed()).is_ok(),
        "the last value is still delivered"
    );
    assert!(block_on(rx.changed()).is_err());
    assert!(
        block_on(rx.wait_for(|v| *v == 1)).is_ok(),
        "the current value matches"
    );
    assert!(block_on(rx.wait_for(|v| *v == 2)).is_err());
}

#[test]
fn cancelled_owned_is_static_and_wakes() {
    let token = CancellationToken::new();
    let wait: Box<dyn std::future::Future<Output = ()> + Send + 'static> =
        Box::new(token.child_token().cancelled_owned());
    let mut d = Driven::new(Box::into_pin(wait));
    assert!(d.poll().is_pending());
    token.cancel();
    assert!(d.woken() && d.poll().is_ready());
}

/// The errors that hand a value back share one shape (issue 19 folded their impls into one
/// macro): `Debug` never needs `T: Debug`, `Display` keeps each message, `into_inner` returns
/// the value.
#[test]
fn value_errors_keep_their_debug_display_and_value() {
    use std::error::Error;
    use weft_sync::{QueueError, QueueShutDown};
    struct NoDebug(u8);
    let shape = |e: &dyn Error, debug: &str, display: &str| {
        assert_eq!(format!("{e:?}"), debug);
        assert_eq!(e.to_string(), display);
    };
    let e = channel::SendError(NoDebug(1));
    shape(
        &e,
        "SendError(..)",
        "sending on a closed channel (every receiver is gone or it was closed)",
    );
    assert_eq!(e.into_inner().0, 1);
    let e = channel::TrySendError::Full(NoDebug(2));
    shape(
        &e,
        "Full(..)",
        "channel is full: await `send` to wait for room",
    );
    assert!(e.is_full());
    assert_eq!(e.into_inner().0, 2);
    shape(
        &channel::TrySendError::Closed(NoDebug(3)),
        "Closed(..)",
        "sending on a closed channel",
    );
    shape(
        &SendTimeoutError::Timeout(NoDebug(4)),
        "Timeout(..)",
        "send timed out: the channel stayed full until the deadline",
    );
    assert_eq!(SendTimeoutError::Closed(NoDebug(5)).into_inner().0, 5);
    let e = broadcast::SendError(NoDebug(6));
    shape(
        &e,
        "SendError(..)",
        "broadcast has no receivers: subscribe before sending",
    );
    assert_eq!(e.into_inner().0, 6);
    shape(
        &watch::SendError(NoDebug(7)),
        "SendError(..)",
        "watch has no receivers: the value was not stored",
    );
    shape(
        &QueueShutDown(NoDebug(8)),
        "QueueShutDown(..)",
        "queue was shut down: no more items can be put, and none are left to get",
    );
    let e: QueueError<NoDebug> = QueueError::Full(NoDebug(9));
    shape(
        &e,
        "Full(..)",
        "queue is full: await `put` to wait for a free slot",
    );
    assert_eq!(e.into_inner().map(|v| v.0), Some(9));
    shape(
        &QueueError::<()>::Empty,
        "Empty",
        "queue is empty: await `get` to wait for an item",
    );
    shape(
        &QueueError::ShutDown(()),
        "ShutDown(..)",
        "queue was shut down",
    );
    shape(
        &QueueError::<()>::TaskDoneTooManyTimes,
        "TaskDoneTooManyTimes",
        "task_done() called more times than items were put: call it once per item gotten",
    );
}
