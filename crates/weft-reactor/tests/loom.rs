//! loom models of the `block_on` park/hand-off protocol, driven by the crate's own code
//! (`weft_reactor::__loom` re-exports `park::{Parker, Shared, Handoff}` under `--cfg loom`).
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --profile loom -p weft-reactor --test loom`
//! (`cargo xtask loom`). Compiles to nothing without `--cfg loom`.
#![cfg(loom)]

use std::sync::Arc;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Mutex;
use loom::thread;
use weft_reactor::__loom::{Handoff, Parker, Shared};

#[test]
fn parker_never_loses_an_unpark() {
    loom::model(|| {
        let p = Arc::new(Parker::new());
        let flag = Arc::new(AtomicBool::new(false));
        let (p2, f2) = (p.clone(), flag.clone());
        let t = thread::spawn(move || {
            f2.store(true, Ordering::SeqCst);
            p2.unpark();
        });
        while !flag.load(Ordering::SeqCst) {
            p.park(None);
        }
        t.join().unwrap();
    });
}

/// The thread that drives the reactor, reduced to the protocol: it blocks in the "poller"
/// (modelled by a parker that the waker's interrupt unparks) only after `enter_poller` said it
/// may, exactly like `driver::drive`.
fn drive_until_woken(sh: &Shared, poller: &Parker) {
    while sh.enter_poller() {
        poller.park(None); // epoll_wait(-1): returns on an interrupt (notify) only
        sh.leave_poller();
    }
    sh.leave_poller();
}

#[test]
fn a_cross_thread_wake_reaches_a_thread_blocked_in_the_poller() {
    // If the waker's `woken` store and the driver's `io_blocked` store could both miss each
    // other, the driver would block in the poller forever: loom reports the deadlock.
    loom::model(|| {
        let sh = Arc::new(Shared::new());
        let poller = Arc::new(Parker::new());
        let (sh2, poller2) = (sh.clone(), poller.clone());
        let waker = thread::spawn(move || sh2.wake(|| poller2.unpark()));
        drive_until_woken(&sh, &poller);
        assert!(sh.is_woken());
        waker.join().unwrap();
    });
}

/// A `block_on` thread that finds the reactor lock taken: queue up, re-check the lock, park;
/// on wake, leave the queue and, if handed the baton, take the lock. Mirrors
/// `driver::wait_until_woken` for a thread whose own future is not woken meanwhile.
fn wait_for_lock(lock: &Mutex<()>, q: &Handoff, sh: &Arc<Shared>) {
    loop {
        if let Ok(_g) = lock.try_lock() {
            sh.take_baton();
            return;
        }
        q.push(sh);
        if let Ok(_g) = lock.try_lock() {
            q.remove(sh);
            sh.take_baton();
            return;
        }
        sh.parker.park(None);
        q.remove(sh);
    }
}

#[test]
fn releasing_the_reactor_lock_hands_it_to_a_parked_waiter() {
    // One thread holds the reactor lock and releases it (then hands off, as `ReactorLock`'s
    // drop does); another wants it. The waiter must end up with the lock, whatever the
    // interleaving of its queueing with the release: a lost hand-off deadlocks.
    loom::model(|| {
        let lock = Arc::new(Mutex::new(()));
        let q = Arc::new(Handoff::new());
        let held = lock.try_lock().expect("free at start");
        let sh = Arc::new(Shared::new());
        let (lock2, q2, sh2) = (lock.clone(), q.clone(), sh.clone());
        let waiter = thread::spawn(move || wait_for_lock(&lock2, &q2, &sh2));
        drop(held);
        q.handoff();
        waiter.join().unwrap();
        assert!(q.is_empty());
    });
}

#[test]
fn two_waiters_are_served_in_turn() {
    // Two threads wait for the lock a third releases; each, after using it, releases and hands
    // off again. Both must get it (bounded: LOOM_MAX_PREEMPTIONS keeps this small).
    loom::model(|| {
        let lock = Arc::new(Mutex::new(()));
        let q = Arc::new(Handoff::new());
        let held = lock.try_lock().expect("free at start");
        let mut threads = Vec::new();
        for _ in 0..2 {
            let (lock, q) = (lock.clone(), q.clone());
            threads.push(thread::spawn(move || {
                let sh = Arc::new(Shared::new());
                wait_for_lock(&lock, &q, &sh);
                q.handoff(); // the lock guard was dropped inside wait_for_lock
            }));
        }
        drop(held);
        q.handoff();
        for t in threads {
            t.join().unwrap();
        }
    });
}
