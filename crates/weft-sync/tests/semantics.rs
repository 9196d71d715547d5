//! Behaviour of each primitive: asyncio semantics, closing, fairness, blocking variants.

#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::task::Poll;

use common::Driven;
use futures_lite::future::block_on;
use weft_sync::channel::{broadcast, oneshot, watch};
use weft_sync::{
    channel, CancellationToken, Event, LifoQueue, PriorityQueue, Queue, QueueError, QueueShutDown,
    RwLock, Semaphore,
};

#[test]
fn queue_task_done_and_join() {
    let q = Queue::unbounded();
    assert_eq!(q.task_done(), Err(QueueError::TaskDoneTooManyTimes));
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    let q2 = q.clone();
    let mut join = Driven::new(async move { q2.join().await });
    assert!(join.poll().is_pending());
    assert_eq!(q.try_get().unwrap(), 1);
    q.task_done().unwrap();
    assert!(!join.woken());
    assert_eq!(q.try_get().unwrap(), 2);
    q.task_done().unwrap();
    assert!(join.woken());
    assert!(join.poll().is_ready());
    assert_eq!(q.task_done(), Err(QueueError::TaskDoneTooManyTimes));
}

#[test]
fn queue_shutdown_drains_then_fails() {
    let q = Queue::bounded(1);
    q.try_put(1).unwrap();
    let q2 = q.clone();
    let mut putter = Driven::new(async move { q2.put(2).await });
    assert!(putter.poll().is_pending());
    q.shutdown(false);
    assert!(putter.woken());
    assert_eq!(putter.poll(), Poll::Ready(Err(QueueShutDown(2))));
    assert_eq!(q.try_put(3), Err(QueueError::ShutDown(3)));
    assert_eq!(block_on(q.put(3)), Err(QueueShutDown(3)));
    assert_eq!(block_on(q.get()), Ok(1)); // drains
    assert_eq!(block_on(q.get()), Err(QueueShutDown(())));
    assert!(q.is_shut_down());
}

#[test]
fn queue_shutdown_wakes_pending_getters() {
    let q = Queue::<u8>::unbounded();
    let q2 = q.clone();
    let mut getter = Driven::new(async move { q2.get().await });
    assert!(getter.poll().is_pending());
    q.shutdown(false);
    assert!(getter.woken());
    assert_eq!(getter.poll(), Poll::Ready(Err(QueueShutDown(()))));
}

#[test]
fn queue_shutdown_immediate_discards_and_releases_join() {
    let q = Queue::unbounded();
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    let q2 = q.clone();
    let mut join = Driven::new(async move { q2.join().await });
    assert!(join.poll().is_pending());
    q.shutdown(true);
    assert!(join.woken());
    assert!(join.poll().is_ready());
    assert_eq!(q.try_get(), Err(QueueError::ShutDown(())));
    assert!(q.is_empty());
}

#[test]
fn queue_zero_maxsize_is_unbounded_like_asyncio() {
    let q = Queue::bounded(0);
    for i in 0..1000 {
        q.try_put(i).unwrap();
    }
    assert_eq!(q.maxsize(), 0);
    assert!(!q.is_full());
    assert_eq!(q.len(), 1000);
}

#[test]
fn priority_and_lifo_order() {
    let p = PriorityQueue::unbounded();
    for v in [5, 1, 4, 2, 3] {
        p.try_put(v).unwrap();
    }
    let out: Vec<_> = std::iter::from_fn(|| p.try_get().ok()).collect();
    assert_eq!(out, [1, 2, 3, 4, 5]);

    let l = LifoQueue::bounded(3);
    for v in [1, 2, 3] {
        l.try_put(v).unwrap();
    }
    assert!(l.is_full());
    assert!(matches!(l.try_put(4), Err(QueueError::Full(4))));
    let out: Vec<_> = std::iter::from_fn(|| l.try_get().ok()).collect();
    assert_eq!(out, [3, 2, 1]);
}

#[test]
fn semaphore_close_fails_waiters_but_keeps_held_permits() {
    let sem = Arc::new(Semaphore::new(1));
    let held = sem.clone().try_acquire_owned().unwrap();
    let mut waiter = Driven::new(sem.clone().acquire_owned());
    assert!(waiter.poll().is_pending());
    sem.close();
    assert!(sem.is_closed());
    assert!(waiter.woken());
    assert!(matches!(waiter.poll(), Poll::Ready(Err(_))));
    drop(held);
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(
        sem.try_acquire().unwrap_err(),
        weft_sync::TryAcquireError::Closed
    );
}

#[test]
fn semaphore_forget_and_blocking() {
    let sem = Semaphore::new(3);
    sem.acquire_many_blocking(2).unwrap().forget();
    assert_eq!(sem.available_permits(), 1);
    let p = sem.acquire_blocking().unwrap();
    assert_eq!(p.num_permits(), 1);
    assert!(sem.try_acquire().is_err());
}

#[test]
fn rwlock_upgrade_waits_for_readers_and_blocks_writers() {
    let l = Arc::new(RwLock::new(1));
    let r = l.try_read().unwrap();
    let l2 = l.clone();
    let mut up = Driven::new(async move {
        let u = l2.upgradable_read().await;
        let mut w = u.upgrade().await;
        *w += 1;
    });
    assert!(up.poll().is_pending()); // upgrade waits for `r`
    assert!(l.try_write().is_err());
    drop(r);
    assert!(up.woken());
    assert!(up.poll().is_ready());
    let w = l.write_blocking();
    assert_eq!(*w, 2);
    let r = w.downgrade();
    assert_eq!(*r, 2);
    assert!(l.try_read().is_ok());
}

#[test]
fn event_is_level_triggered() {
    let ev = Arc::new(Event::new());
    let e2 = ev.clone();
    let mut w1 = Driven::new(async move { e2.wait().await });
    let e3 = ev.clone();
    let mut w2 = Driven::new(async move { e3.wait().await });
    assert!(w1.poll().is_pending());
    assert!(w2.poll().is_pending());
    ev.set();
    ev.clear(); // woken waiters still complete (asyncio semantics)
    assert!(w1.woken() && w2.woken());
    assert!(w1.poll().is_ready() && w2.poll().is_ready());
    assert!(!ev.is_set());
    ev.set();
    block_on(ev.wait()); // set: returns at once
                         // `wait_blocking` really blocks: clear the flag, let a thread wait, and set it only once
                         // the thread is parked in the queue (seen through `Debug`; bounded by a deadline).
    ev.clear();
    let e4 = ev.clone();
    let t = std::thread::spawn(move || e4.wait_blocking());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !format!("{ev:?}").contains("waiters: 1") {
        assert!(
            std::time::Instant::now() < deadline,
            "wait_blocking never queued"
        );
        assert!(
            !t.is_finished(),
            "wait_blocking returned while the event was clear"
        );
        std::thread::yield_now();
    }
    assert!(!t.is_finished());
    ev.set();
    t.join().unwrap();
}

#[test]
fn channel_close_semantics_and_stream() {
    use futures_lite::StreamExt;
    let (tx, rx) = channel::bounded(4);
    for i in 0..4 {
        tx.try_send(i).unwrap();
    }
    assert!(tx.try_send(9).unwrap_err().is_full());
    drop(tx);
    assert!(rx.is_closed());
    let all: Vec<i32> = block_on(rx.clone().collect());
    assert_eq!(all, [0, 1, 2, 3]);
    assert_eq!(rx.try_recv(), Err(channel::TryRecvError::Closed));

    let (tx, rx) = channel::unbounded::<u8>();
    drop(rx);
    assert_eq!(block_on(tx.send(1)), Err(channel::SendError(1)));
}

#[test]
fn channel_blocking_across_threads() {
    let (tx, rx) = channel::bounded(1);
    let t = std::thread::spawn(move || {
        for i in 0..100 {
            tx.send_blocking(i).unwrap();
        }
    });
    let got: Vec<i32> = std::iter::from_fn(|| rx.recv_blocking().ok()).collect();
    t.join().unwrap();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

#[test]
fn oneshot_basics() {
    let (tx, rx) = oneshot::channel();
    tx.send(1).unwrap();
    assert_eq!(block_on(rx), Ok(1));

    let (tx, rx) = oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(block_on(rx), Err(oneshot::RecvError));

    let (mut tx, rx) = oneshot::channel::<u8>();
    let mut closed = Driven::new(async move {
        tx.closed().await;
        tx.send(3)
    });
    assert!(closed.poll().is_pending());
    drop(rx);
    assert!(closed.woken());
    assert_eq!(closed.poll(), Poll::Ready(Err(3)));

    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || tx.send(5).unwrap());
    assert_eq!(rx.recv_blocking(), Ok(5));
}

#[test]
fn oneshot_wakes_the_latest_waker_once() {
    // The receiver moves between "tasks" (wakers): only the waker of the last poll is woken, once,
    // and a value sent while a poll was pending stays for the next poll.
    use common::CountingWaker;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::Ordering;
    use std::task::{Context, Waker};

    let (tx, mut rx) = oneshot::channel::<u32>();
    let (a, b) = (
        Arc::new(CountingWaker::default()),
        Arc::new(CountingWaker::default()),
    );
    let mut poll_with = |w: &Arc<CountingWaker>| {
        let waker = Waker::from(w.clone());
        Pin::new(&mut rx).poll(&mut Context::from_waker(&waker))
    };
    assert!(poll_with(&a).is_pending());
    assert!(poll_with(&a).is_pending()); // same waker: kept
    assert!(poll_with(&b).is_pending()); // replaced
    tx.send(9).unwrap();
    assert_eq!(a.count.load(Ordering::SeqCst), 0);
    assert_eq!(b.count.load(Ordering::SeqCst), 1);
    assert_eq!(poll_with(&a), Poll::Ready(Ok(9)));
    // Completed: a later poll reports the channel closed instead of a second value.
    assert_eq!(poll_with(&a), Poll::Ready(Err(oneshot::RecvError)));
    assert_eq!(b.count.load(Ordering::SeqCst), 1);

    // Sender dropped while the receiver waits: woken once, then `RecvError`.
    let (tx, mut rx) = oneshot::channel::<u32>();
    let c = Arc::new(CountingWaker::default());
    let waker = Waker::from(c.clone());
    assert!(Pin::new(&mut rx)
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    assert!(!tx.is_closed());
    drop(tx);
    assert_eq!(c.count.load(Ordering::SeqCst), 1);
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));

    // A value sent and never received is dropped with the receiver, not leaked.
    let v = Arc::new(());
    let (tx, rx) = oneshot::channel();
    tx.send(v.clone()).unwrap();
    drop(rx);
    assert_eq!(Arc::strong_count(&v), 1);
}

#[test]
fn broadcast_lag_and_close() {
    let (tx, mut rx) = broadcast::channel(2);
    let mut late = tx.subscribe();
    for i in 0..4 {
        assert_eq!(tx.send(i).unwrap(), 2);
    }
    assert_eq!(block_on(rx.recv()), Err(broadcast::RecvError::Lagged(2)));
    assert_eq!(block_on(rx.recv()), Ok(2));
    assert_eq!(block_on(rx.recv()), Ok(3));
    assert_eq!(rx.try_recv(), Err(broadcast::TryRecvError::Empty));
    drop(tx);
    assert_eq!(block_on(rx.recv()), Err(broadcast::RecvError::Closed));
    assert_eq!(late.try_recv(), Err(broadcast::TryRecvError::Lagged(2)));
    assert_eq!(late.try_recv(), Ok(2));
}

#[test]
fn broadcast_wakes_every_receiver() {
    let (tx, rx) = broadcast::channel(4);
    let mut rxs: Vec<_> = (0..3)
        .map(|_| {
            let mut r = rx.resubscribe();
            Driven::new(async move { r.recv().await })
        })
        .collect();
    for r in &mut rxs {
        assert!(r.poll().is_pending());
    }
    tx.send(11).unwrap();
    for r in &mut rxs {
        assert!(r.woken());
        assert_eq!(r.poll(), Poll::Ready(Ok(11)));
    }
}

#[test]
fn watch_changed_and_close() {
    let (tx, mut rx) = watch::channel(0);
    assert_eq!(rx.has_changed(), Ok(false));
    let mut rx2 = rx.clone();
    let mut w = Driven::new(async move {
        rx2.changed().await.unwrap();
        *rx2.borrow_and_update()
    });
    assert!(w.poll().is_pending());
    tx.send_modify(|v| *v += 5);
    assert!(w.woken());
    assert_eq!(w.poll(), Poll::Ready(5));
    assert_eq!(rx.has_changed(), Ok(true));
    block_on(rx.changed()).unwrap();
    assert_eq!(*rx.borrow(), 5);
    assert_eq!(tx.send_replace(6), 5);
    drop(tx);
    block_on(rx.changed()).unwrap(); // the last value is still seen
    assert_eq!(block_on(rx.changed()), Err(watch::RecvError));
}

#[test]
fn cancellation_token_tree() {
    let root = CancellationToken::new();
    let child = root.child_token();
    let grandchild = child.child_token();
    let sibling = root.child_token();
    sibling.cancel();
    assert!(!root.is_cancelled() && !child.is_cancelled());
    let g2 = grandchild.clone();
    let mut w = Driven::new(async move { g2.cancelled().await });
    assert!(w.poll().is_pending());
    root.cancel();
    assert!(child.is_cancelled() && grandchild.is_cancelled());
    assert!(w.woken());
    assert!(w.poll().is_ready());
    assert!(root.child_token().is_cancelled());

    let t = CancellationToken::new();
    let guard = t.clone().drop_guard();
    let t2 = guard.disarm();
    assert!(!t2.is_cancelled());
    drop(t2.clone().drop_guard());
    assert!(t.is_cancelled());

    let t = CancellationToken::new();
    assert_eq!(block_on(t.run_until_cancelled(async { 3 })), Some(3));
    t.cancel();
    assert_eq!(
        block_on(t.run_until_cancelled(std::future::pending::<()>())),
        None
    );
}

#[test]
fn grandchild_cancelled_after_middle_token_dropped() {
    let root = CancellationToken::new();
    let grandchild = root.child_token().child_token(); // the middle token is dropped at once
    root.cancel();
    assert!(grandchild.is_cancelled());
}

#[test]
fn child_tokens_still_work_after_many_drops() {
    let root = CancellationToken::new();
    for _ in 0..10_000 {
        drop(root.child_token());
    }
    let live = root.child_token();
    root.cancel();
    assert!(live.is_cancelled());
}

#[test]
fn semaphore_zero_permit_request_never_waits() {
    let sem = Arc::new(Semaphore::new(0));
    let mut big = Driven::new(sem.clone().acquire_many_owned(2));
    assert!(big.poll().is_pending());
    assert!(matches!(
        Driven::new(sem.clone().acquire_many_owned(0)).poll(),
        Poll::Ready(Ok(_))
    ));
}

#[test]
fn send_without_receivers_fails_and_returns_value() {
    let (tx, rx) = watch::channel(1);
    drop(rx);
    assert_eq!(tx.send(2), Err(watch::SendError(2)));
    assert_eq!(*tx.borrow(), 1);
    let (tx, rx) = broadcast::channel::<u8>(1);
    drop(rx);
    assert_eq!(tx.send(3), Err(broadcast::SendError(3)));
    let (tx, mut rx) = oneshot::channel::<u8>();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(4), Err(4));
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));
}

#[test]
fn queue_blocking_variants_across_threads() {
    let q = Queue::bounded(2);
    let q2 = q.clone();
    let producer = std::thread::spawn(move || {
        for i in 0..50 {
            q2.put_blocking(i).unwrap();
        }
        q2.shutdown(false);
    });
    let got: Vec<i32> = std::iter::from_fn(|| q.get_blocking().ok()).collect();
    producer.join().unwrap();
    assert_eq!(got, (0..50).collect::<Vec<_>>());
}

#[test]
fn condition_notify_all_wakes_every_waiter() {
    use weft_sync::{Condition, Mutex};
    let pair = Arc::new((Mutex::new(false), Condition::new()));
    let mut waiters: Vec<_> = (0..3)
        .map(|_| {
            let pair = pair.clone();
            Driven::new(async move {
                let (m, c) = &*pair;
                let g = c.wait_for(m.lock().await, |ready| *ready).await;
                assert!(*g);
            })
        })
        .collect();
    for w in &mut waiters {
        assert!(w.poll().is_pending());
    }
    *pair.0.try_lock().unwrap() = true;
    assert_eq!(pair.1.notify_all(), 3);
    // Each re-locks in turn: drive them until all complete.
    for _ in 0..10 {
        waiters.retain_mut(|w| w.poll().is_pending());
    }
    assert!(waiters.is_empty());
}

#[test]
fn mutex_lock_blocking_from_threads() {
    use weft_sync::Mutex;
    let m = Arc::new(Mutex::new(0u32));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    *m.lock_blocking() += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.try_lock().unwrap(), 4000);
}
