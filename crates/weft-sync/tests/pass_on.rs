//! "A notification meant for a dropped waiter passes to the next one", per primitive. Each test
//! queues two waiters A and B, lets a notifier pick A, drops A *without polling it*, and checks
//! that B was woken and completes.

#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::task::Poll;

use common::Driven;
use weft_sync::{channel, Barrier, Condition, Mutex, Queue, RwLock, Semaphore};

fn assert_pending<T>(d: &mut Driven<T>) {
    assert!(d.poll().is_pending());
}

#[test]
fn semaphore_passes_permits_on() {
    let sem = Arc::new(Semaphore::new(0));
    let mut a = Driven::new(sem.clone().acquire_owned());
    let mut b = Driven::new(sem.clone().acquire_owned());
    assert_pending(&mut a);
    assert_pending(&mut b);
    sem.add_permits(1);
    assert!(a.woken() && !b.woken());
    drop(a);
    assert!(b.woken());
    let Poll::Ready(Ok(p)) = b.poll() else {
        panic!("B should have the permit")
    };
    assert_eq!(sem.available_permits(), 0);
    drop(p);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn semaphore_dropping_large_head_unblocks_small() {
    let sem = Arc::new(Semaphore::new(1));
    let mut big = Driven::new(sem.clone().acquire_many_owned(3));
    let mut small = Driven::new(sem.clone().acquire_owned());
    assert_pending(&mut big);
    // Strict FIFO: the small request waits behind the big one even though a permit is free.
    assert_pending(&mut small);
    drop(big);
    assert!(small.woken());
    assert!(matches!(small.poll(), Poll::Ready(Ok(_))));
}

#[test]
fn mutex_passes_lock_on() {
    let m = Arc::new(Mutex::new(0));
    let guard = m.clone().try_lock_owned().unwrap();
    let mut a = Driven::new(m.clone().lock_owned());
    let mut b = Driven::new(m.clone().lock_owned());
    assert_pending(&mut a);
    assert_pending(&mut b);
    assert!(m.try_lock().is_err());
    drop(guard);
    assert!(a.woken() && !b.woken());
    drop(a);
    assert!(b.woken());
    let Poll::Ready(mut g) = b.poll() else {
        panic!("B should hold the lock")
    };
    *g += 1;
    drop(g);
    assert_eq!(*m.try_lock().unwrap(), 1);
}

#[test]
fn rwlock_passes_write_lock_on() {
    let l = Arc::new(RwLock::new(0));
    let l2 = l.clone();
    let mut r = Driven::new(async move {
        let g = l2.read().await;
        // Hold the read lock until dropped.
        std::future::pending::<()>().await;
        drop(g);
    });
    assert_pending(&mut r);
    let (la, lb) = (l.clone(), l.clone());
    let mut a = Driven::new(async move {
        *la.write().await += 1;
    });
    let mut b = Driven::new(async move {
        *lb.write().await += 10;
    });
    assert_pending(&mut a);
    assert_pending(&mut b);
    // A queued writer blocks new readers (no writer starvation).
    assert!(l.try_read().is_err());
    drop(r);
    assert!(a.woken());
    drop(a);
    assert!(b.woken());
    assert!(b.poll().is_ready());
    assert_eq!(*l.try_read().unwrap(), 10);
}

#[test]
fn queue_get_passes_item_on() {
    let q = Queue::<u32>::unbounded();
    let (qa, qb) = (q.clone(), q.clone());
    let mut a = Driven::new(async move { qa.get().await });
    let mut b = Driven::new(async move { qb.get().await });
    assert_pending(&mut a);
    assert_pending(&mut b);
    q.try_put(7).unwrap();
    assert!(a.woken() && !b.woken());
    drop(a);
    assert!(b.woken());
    assert_eq!(b.poll(), Poll::Ready(Ok(7)));
    assert!(q.is_empty());
}

#[test]
fn queue_put_passes_slot_on() {
    let q = Queue::<u32>::bounded(1);
    q.try_put(1).unwrap();
    let (qa, qb) = (q.clone(), q.clone());
    let mut a = Driven::new(async move { qa.put(2).await.is_ok() });
    let mut b = Driven::new(async move { qb.put(3).await.is_ok() });
    assert_pending(&mut a);
    assert_pending(&mut b);
    assert_eq!(q.try_get().unwrap(), 1);
    assert!(a.woken() && !b.woken());
    drop(a); // A's put never happened; its reserved slot goes to B.
    assert!(b.woken());
    assert_eq!(b.poll(), Poll::Ready(true));
    assert_eq!(q.try_get().unwrap(), 3);
    assert!(q.try_get().is_err());
}

#[test]
fn channel_recv_passes_message_on() {
    let (tx, rx) = channel::unbounded::<u32>();
    let (ra, rb) = (rx.clone(), rx.clone());
    let mut a = Driven::new(async move { ra.recv().await });
    let mut b = Driven::new(async move { rb.recv().await });
    assert_pending(&mut a);
    assert_pending(&mut b);
    tx.try_send(5).unwrap();
    assert!(a.woken() && !b.woken());
    drop(a);
    assert!(b.woken());
    assert_eq!(b.poll(), Poll::Ready(Ok(5)));
}

#[test]
fn channel_send_passes_slot_on() {
    let (tx, rx) = channel::bounded::<u32>(1);
    tx.try_send(1).unwrap();
    let (ta, tb) = (tx.clone(), tx.clone());
    let mut a = Driven::new(async move { ta.send(2).await.is_ok() });
    let mut b = Driven::new(async move { tb.send(3).await.is_ok() });
    assert_pending(&mut a);
    assert_pending(&mut b);
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(a.woken());
    drop(a);
    assert!(b.woken());
    assert_eq!(b.poll(), Poll::Ready(true));
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn receiver_stream_passes_message_on_when_dropped() {
    use futures_lite::StreamExt;
    let (tx, rx) = channel::unbounded::<u32>();
    let mut rx_stream = rx.clone();
    let mut other = Driven::new({
        let rx = rx.clone();
        async move { rx.recv().await }
    });
    // The stream registers first, then `other`.
    assert!(common::poll_once(&mut rx_stream.next()).is_pending());
    assert_pending(&mut other);
    tx.try_send(9).unwrap(); // handed to the stream's pending poll
    drop(rx_stream);
    assert!(other.woken());
    assert_eq!(other.poll(), Poll::Ready(Ok(9)));
}

#[test]
fn condition_passes_notification_on() {
    let pair = Arc::new((Mutex::new(0u32), Condition::new()));
    let mk = |pair: Arc<(Mutex<u32>, Condition)>| {
        Driven::new(async move {
            let (m, c) = &*pair;
            let g = m.lock().await;
            let g = c.wait(g).await;
            *g
        })
    };
    let mut a = mk(pair.clone());
    let mut b = mk(pair.clone());
    assert_pending(&mut a);
    assert_pending(&mut b);
    assert_eq!(pair.1.notify(1), 1);
    assert!(a.woken() && !b.woken());
    drop(a);
    assert!(b.woken());
    assert_eq!(b.poll(), Poll::Ready(0));
}

#[test]
fn barrier_withdraws_dropped_arrival() {
    let b = Arc::new(Barrier::new(2));
    let b1 = b.clone();
    let mut a = Driven::new(async move { b1.wait().await });
    assert_pending(&mut a);
    assert_eq!(b.n_waiting(), 1);
    drop(a);
    assert_eq!(b.n_waiting(), 0);
    let (b2, b3) = (b.clone(), b.clone());
    let mut x = Driven::new(async move { b2.wait().await.is_leader() });
    assert_pending(&mut x); // still needs a second live task
    let mut y = Driven::new(async move { b3.wait().await.is_leader() });
    assert_eq!(y.poll(), Poll::Ready(true));
    assert!(x.woken());
    assert_eq!(x.poll(), Poll::Ready(false));
}
