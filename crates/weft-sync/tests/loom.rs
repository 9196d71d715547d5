//! loom models for the waiter queue, Semaphore, Mutex, RwLock, Condition, Notify, the lock-free
//! oneshot, the bounded channel, broadcast, watch, Queue shutdown and CancellationToken.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --profile loom -p weft-sync --test loom`
//! (`cargo xtask loom`). Compiles to nothing without `--cfg loom`.
#![cfg(loom)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use loom::future::block_on;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use std::sync::Arc;
use weft_sync::{
    channel, CancellationToken, Condition, Event, Mutex, Notify, Queue, RwLock, Semaphore,
};

/// Polls a future once with a no-op waker.
fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn waitlist_set_wakes_waiter() {
    loom::model(|| {
        let ev = Arc::new(Event::new());
        let ev2 = ev.clone();
        let t = thread::spawn(move || ev2.set());
        block_on(ev.wait());
        t.join().unwrap();
        assert!(ev.is_set());
    });
}

#[test]
fn waitlist_cancel_races_with_notify_passes_on() {
    // A waiter polls once and is dropped while another thread hands it a permit: the permit must
    // end up either with the second waiter or back in the semaphore, never lost.
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let s1 = sem.clone();
        let dropper = thread::spawn(move || {
            let mut acq = pin!(s1.acquire());
            if let Poll::Ready(p) = poll_once(acq.as_mut()) {
                drop(p);
            }
            // dropped here, possibly after being granted the permit
        });
        let s2 = sem.clone();
        let releaser = thread::spawn(move || s2.add_permits(1));
        dropper.join().unwrap();
        releaser.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
        // And a fresh waiter gets it.
        drop(block_on(sem.acquire()).unwrap());
    });
}

#[test]
fn semaphore_two_acquirers() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let inside = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (sem, inside) = (sem.clone(), inside.clone());
                thread::spawn(move || {
                    let p = block_on(sem.acquire()).unwrap();
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                    inside.fetch_sub(1, Ordering::SeqCst);
                    drop(p);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn mutex_exclusive_access() {
    loom::model(|| {
        let m = Arc::new(Mutex::new(0usize));
        let m2 = m.clone();
        let t = thread::spawn(move || {
            *block_on(m2.lock()) += 1;
        });
        *block_on(m.lock()) += 1;
        t.join().unwrap();
        assert_eq!(*m.try_lock().unwrap(), 2);
    });
}

#[test]
fn oneshot_send_recv() {
    loom::model(|| {
        let (tx, rx) = channel::oneshot::channel();
        let t = thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(block_on(rx), Ok(7));
        t.join().unwrap();
    });
}

#[test]
fn oneshot_sender_dropped() {
    loom::model(|| {
        let (tx, rx) = channel::oneshot::channel::<u8>();
        let t = thread::spawn(move || drop(tx));
        assert!(block_on(rx).is_err());
        t.join().unwrap();
    });
}

#[test]
fn oneshot_reregister_races_send() {
    // The receiver registers one waker, then re-polls with another (block_on's) while the value
    // is sent: the swap (clear RX_WAKER, rewrite the slot, set it again) must not lose the wake.
    loom::model(|| {
        let (tx, mut rx) = channel::oneshot::channel();
        let t = thread::spawn(move || tx.send(5u8).unwrap());
        let first = poll_once(std::pin::Pin::new(&mut rx));
        let got = match first {
            Poll::Ready(v) => v,
            Poll::Pending => block_on(rx),
        };
        assert_eq!(got, Ok(5));
        t.join().unwrap();
    });
}

#[test]
fn oneshot_close_races_send_loses_nothing() {
    // `close` against `send`: either the send fails and returns the value, or it succeeded and
    // the value is still there for `try_recv`; never both, never neither.
    loom::model(|| {
        let (tx, mut rx) = channel::oneshot::channel();
        let t = thread::spawn(move || tx.send(String::from("v")).err());
        rx.close();
        let returned = t.join().unwrap();
        let received = rx.try_recv().ok();
        assert!(returned.is_some() != received.is_some());
        assert_eq!(returned.or(received).as_deref(), Some("v"));
        assert_eq!(rx.try_recv(), Err(channel::oneshot::TryRecvError::Closed));
    });
}

#[test]
fn oneshot_receiver_drop_races_send_drops_value_once() {
    loom::model(|| {
        let value = Arc::new(());
        let (tx, rx) = channel::oneshot::channel();
        let v2 = value.clone();
        let t = thread::spawn(move || drop(tx.send(v2)));
        drop(rx);
        t.join().unwrap();
        // Whichever side ended up owning it dropped it exactly once.
        assert_eq!(Arc::strong_count(&value), 1);
    });
}

#[test]
fn oneshot_closed_wakes_sender() {
    // `Sender::closed` registers its waker (possibly re-registering) while the receiver is
    // dropped: it must complete.
    loom::model(|| {
        let (mut tx, rx) = channel::oneshot::channel::<u8>();
        let t = thread::spawn(move || drop(rx));
        {
            let mut closed = pin!(tx.closed());
            if poll_once(closed.as_mut()).is_pending() {
                block_on(closed);
            }
        }
        assert!(tx.is_closed());
        assert!(tx.send(1).is_err());
        t.join().unwrap();
    });
}

#[test]
fn bounded_channel_send_recv() {
    loom::model(|| {
        let (tx, rx) = channel::bounded(1);
        let t = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
            block_on(tx.send(2)).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Ok(1));
        assert_eq!(block_on(rx.recv()), Ok(2));
        assert!(block_on(rx.recv()).is_err()); // closed after the sender is dropped
        t.join().unwrap();
    });
}

#[test]
fn mutex_cancelled_lock_passes_on() {
    loom::model(|| {
        let m = Arc::new(Mutex::new(0usize));
        let guard = m.try_lock().unwrap();
        let m1 = m.clone();
        let canceller = thread::spawn(move || {
            let mut fut = pin!(m1.lock());
            if let Poll::Ready(mut g) = poll_once(fut.as_mut()) {
                *g += 1;
            }
        });
        let m2 = m.clone();
        let locker = thread::spawn(move || *block_on(m2.lock()) += 10);
        drop(guard);
        canceller.join().unwrap();
        locker.join().unwrap();
        let v = *m.try_lock().unwrap();
        assert!(v == 10 || v == 11);
    });
}

#[test]
fn channel_recv_cancel_races_with_send() {
    loom::model(|| {
        let (tx, rx) = channel::bounded(1);
        let rx1 = rx.clone();
        let canceller = thread::spawn(move || {
            let mut fut = pin!(rx1.recv());
            match poll_once(fut.as_mut()) {
                Poll::Ready(v) => v.ok(),
                Poll::Pending => None,
            }
        });
        let sender = thread::spawn(move || block_on(tx.send(5)).unwrap());
        let early = canceller.join().unwrap();
        sender.join().unwrap();
        match early {
            Some(v) => assert_eq!(v, 5),
            None => assert_eq!(block_on(rx.recv()), Ok(5)), // passed on, not lost
        }
    });
}

#[test]
fn semaphore_fast_release_races_with_enqueue() {
    // Exercises the lock-free fast paths against a waiter setting the WAITERS flag.
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let s1 = sem.clone();
        let waiter = thread::spawn(move || block_on(s1.acquire_many(2)).unwrap().forget());
        let s2 = sem.clone();
        let releaser = thread::spawn(move || s2.add_permits(1));
        sem.add_permits(1);
        waiter.join().unwrap();
        releaser.join().unwrap();
        assert_eq!(sem.available_permits(), 0);
    });
}

#[test]
fn channel_send_cancel_races_with_recv() {
    // A sender waiting on a full channel is dropped while a receiver frees the slot (which may be
    // reserved for it): the slot must not leak.
    loom::model(|| {
        let (tx, rx) = channel::bounded(1);
        tx.try_send(1).unwrap();
        let tx1 = tx.clone();
        let canceller = thread::spawn(move || {
            let mut fut = pin!(tx1.send(2));
            poll_once(fut.as_mut()).is_ready()
        });
        let rx1 = rx.clone();
        let receiver = thread::spawn(move || block_on(rx1.recv()).unwrap());
        let sent = canceller.join().unwrap();
        assert_eq!(receiver.join().unwrap(), 1);
        if sent {
            assert_eq!(rx.try_recv(), Ok(2));
        } else {
            assert!(rx.try_recv().is_err());
        }
        tx.try_send(3).unwrap(); // the slot is free again
        assert_eq!(rx.try_recv(), Ok(3));
    });
}

#[test]
fn rwlock_writer_excludes_reader() {
    loom::model(|| {
        let lock = Arc::new(RwLock::new((0usize, 0usize)));
        let l2 = lock.clone();
        let writer = thread::spawn(move || {
            let mut w = block_on(l2.write());
            w.0 += 1;
            w.1 += 1;
        });
        {
            let r = block_on(lock.read());
            assert_eq!(r.0, r.1, "a reader saw a half-done write");
        }
        writer.join().unwrap();
        assert_eq!(*lock.try_read().unwrap(), (1, 1));
    });
}

#[test]
fn condition_notify_reaches_waiter() {
    loom::model(|| {
        let pair = Arc::new((Mutex::new(false), Condition::new()));
        let p2 = pair.clone();
        let notifier = thread::spawn(move || {
            let (m, c) = &*p2;
            *block_on(m.lock()) = true;
            c.notify_one();
        });
        let (m, c) = &*pair;
        let g = block_on(c.wait_for(block_on(m.lock()), |ready| *ready));
        assert!(*g);
        drop(g);
        notifier.join().unwrap();
    });
}

#[test]
fn broadcast_recv_and_receiver_drop_release_the_message() {
    loom::model(|| {
        let msg = Arc::new(());
        let (tx, mut rx) = channel::broadcast::channel(2);
        let mut rx2 = tx.subscribe();
        let m2 = msg.clone();
        let sender = thread::spawn(move || {
            tx.send(m2).unwrap();
        });
        let dropper = thread::spawn(move || {
            let _ = rx2.try_recv();
            drop(rx2);
        });
        assert!(block_on(rx.recv()).is_ok());
        sender.join().unwrap();
        dropper.join().unwrap();
        // Read by rx, and rx2 either read it or left: the ring no longer holds it.
        assert_eq!(Arc::strong_count(&msg), 1);
    });
}

#[test]
fn broadcast_waiting_receiver_sees_every_send_then_the_close() {
    // The receiver reads slots without the tail lock and registers under it only when it found
    // nothing: a send (or the close) racing with that check must not be lost.
    loom::model(|| {
        let (tx, mut rx) = channel::broadcast::channel(2);
        let sender = thread::spawn(move || {
            tx.send(1usize).unwrap();
            tx.send(2).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Ok(1));
        assert_eq!(block_on(rx.recv()), Ok(2));
        assert_eq!(
            block_on(rx.recv()),
            Err(channel::broadcast::RecvError::Closed)
        );
        sender.join().unwrap();
    });
}

#[test]
fn broadcast_lag_is_counted_and_overwritten_messages_are_dropped() {
    // Capacity 1: the sender overwrites while two receivers read; each receiver either reads a
    // message or is told exactly how many it missed, and nothing stays alive at the end.
    loom::model(|| {
        let msgs = [Arc::new(0usize), Arc::new(1usize)];
        let (tx, mut rx1) = channel::broadcast::channel(1);
        let mut rx2 = rx1.clone();
        let to_send = msgs.clone();
        let sender = thread::spawn(move || {
            for m in to_send {
                tx.send(m).unwrap();
            }
        });
        let reader = thread::spawn(move || {
            let mut seen = 0u64;
            loop {
                match block_on(rx2.recv()) {
                    Ok(_) => seen += 1,
                    Err(channel::broadcast::RecvError::Lagged(n)) => seen += n,
                    Err(channel::broadcast::RecvError::Closed) => break,
                }
            }
            assert_eq!(seen, 2, "every message read or counted as missed");
        });
        let mut last = None;
        let mut seen = 0u64;
        loop {
            match block_on(rx1.recv()) {
                Ok(m) => {
                    seen += 1;
                    last = Some(*m);
                }
                Err(channel::broadcast::RecvError::Lagged(n)) => seen += n,
                Err(channel::broadcast::RecvError::Closed) => break,
            }
        }
        assert_eq!(seen, 2);
        assert_eq!(last, Some(1), "the newest message is never missed");
        sender.join().unwrap();
        reader.join().unwrap();
        for m in &msgs {
            assert_eq!(
                Arc::strong_count(m),
                1,
                "read, overwritten or dropped: not kept"
            );
        }
    });
}

#[test]
fn watch_changed_marks_the_value_it_returns() {
    loom::model(|| {
        let (tx, mut rx) = channel::watch::channel(0usize);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        block_on(rx.changed()).unwrap();
        let seen = *rx.borrow_and_update();
        assert!(seen >= 1);
        sender.join().unwrap();
        assert!(rx.has_changed().is_err(), "sender gone: has_changed fails");
        // One more change is pending iff the value seen was not the last.
        if seen == 1 {
            assert!(block_on(rx.changed()).is_ok());
            assert_eq!(*rx.borrow_and_update(), 2);
        }
        assert!(
            block_on(rx.changed()).is_err(),
            "no spurious change once all is seen"
        );
    });
}

#[test]
fn queue_shutdown_wakes_getter_and_join() {
    loom::model(|| {
        let q = Queue::<u8>::unbounded();
        let q2 = q.clone();
        let closer = thread::spawn(move || {
            q2.try_put(1).unwrap();
            q2.shutdown(true);
        });
        // An error: the item was discarded by the immediate shutdown, counted as done.
        if let Ok(v) = block_on(q.get()) {
            assert_eq!(v, 1);
            q.task_done().unwrap();
        }
        closer.join().unwrap();
        block_on(q.join());
        assert!(block_on(q.get()).is_err());
    });
}

#[test]
fn cancellation_reaches_child_waiter() {
    loom::model(|| {
        let root = CancellationToken::new();
        let child = root.child_token();
        let r2 = root.clone();
        let canceller = thread::spawn(move || r2.cancel());
        let grandchild = child.child_token();
        block_on(grandchild.cancelled());
        assert!(child.is_cancelled());
        canceller.join().unwrap();
    });
}

#[test]
fn mutex_barging_unlock_races_waiter_no_lost_wakeup() {
    // The holder unlocks and re-locks (barging) while a queued waiter polls: the lazy wake-up
    // (`poked`) must never leave the waiter asleep with the lock free.
    loom::model(|| {
        let m = Arc::new(Mutex::new(0usize));
        let guard = m.try_lock().unwrap();
        let m2 = m.clone();
        let waiter = thread::spawn(move || *block_on(m2.lock()) += 1);
        drop(guard);
        *block_on(m.lock()) += 1;
        waiter.join().unwrap();
        assert_eq!(*m.try_lock().unwrap(), 2);
    });
}

#[test]
fn notify_one_fast_path_races_registration() {
    // The lock-free `notify_one` (store the permit while `WAITERS` is clear) against a waiter
    // that queues under the lock: the waiter is woken or finds the permit, and the one
    // notification is consumed exactly once.
    loom::model(|| {
        let n = Arc::new(Notify::new());
        let n2 = n.clone();
        let notifier = thread::spawn(move || n2.notify_one());
        block_on(n.notified());
        notifier.join().unwrap();
        assert!(poll_once(pin!(n.notified())).is_pending(), "consumed twice");
    });
}

#[test]
fn notify_dropped_waiter_passes_the_notification_on() {
    // A waiter registers and is dropped while `notify_one` runs: whether the notification went
    // to the waiter (passed on when it is dropped), was stored as the permit or was taken at
    // once, exactly one notification survives for the next `notified()`.
    loom::model(|| {
        let n = Arc::new(Notify::new());
        let n2 = n.clone();
        let notifier = thread::spawn(move || n2.notify_one());
        let took = poll_once(pin!(n.notified())).is_ready();
        notifier.join().unwrap();
        let next = poll_once(pin!(n.notified())).is_ready();
        assert_ne!(took, next, "the notification was lost or duplicated");
    });
}

#[test]
fn notify_waiters_reaches_a_registered_waiter() {
    // `notify_waiters` skips the lock when `WAITERS` is clear; a waiter queued before it (the
    // flag set under the lock) must still be woken, then notified again by `notify_one`.
    loom::model(|| {
        let n = Arc::new(Notify::new());
        let n2 = n.clone();
        let waiter = thread::spawn(move || block_on(n2.notified()));
        n.notify_waiters();
        n.notify_one();
        waiter.join().unwrap();
    });
}

#[test]
fn notify_second_waiter_registers_behind_the_first() {
    // A waiter that queues while another one already waits (`WAITERS` set) only loads the flag
    // instead of re-writing it; racing two `notify_one`s, both waiters must still be woken and
    // no permit may be left over.
    loom::model(|| {
        let n = Arc::new(Notify::new());
        let mut first = Box::pin(n.notified());
        assert!(
            poll_once(first.as_mut()).is_pending(),
            "no permit was stored"
        );
        let n2 = n.clone();
        let notifier = thread::spawn(move || {
            n2.notify_one();
            n2.notify_one();
        });
        block_on(n.notified());
        block_on(first);
        notifier.join().unwrap();
        assert!(
            poll_once(pin!(n.notified())).is_pending(),
            "a notification was duplicated"
        );
    });
}
