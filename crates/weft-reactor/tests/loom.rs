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

/// An executor worker about to block in the reactor as its driver (`Worker::react_here_unless`
/// over `try_react_unless`), reduced to the protocol: publish "driving" and check `woken`
/// (`enter_poller`, the same hand-shake as the executor's `SleepWake::start_driving`) *before*
/// taking the reactor lock; then, holding it, check `woken` again (`recheck`) and only then
/// block in the poller (a parker only a notify unparks). If the lock is taken, it parks in its
/// `block_on` until its waker runs instead.
fn worker_drive_unless_woken(sh: &Shared, lock: &Mutex<()>, poller: &Parker, recheck: bool) {
    if sh.enter_poller() {
        if let Ok(_g) = lock.try_lock() {
            if !(recheck && sh.is_woken()) {
                poller.park(None); // epoll_wait(-1): returns on a notify only
            }
        } else {
            // Another thread drives: park in `block_on` (the waker unparks it).
            while !sh.is_woken() {
                sh.parker.park(None);
            }
        }
    }
    sh.leave_poller();
}

/// The worker hand-shake with one waker and one other thread that takes the reactor lock and
/// consumes a pending notification (a zero-timeout poll of the shared poller) before releasing
/// it. `recheck = false` is the code before the fix.
fn drive_handshake_model(recheck: bool) {
    loom::model(move || {
        let sh = Arc::new(Shared::new());
        let lock = Arc::new(Mutex::new(()));
        let poller = Arc::new(Parker::new());
        let (sh2, poller2) = (sh.clone(), poller.clone());
        // The waker: set `woken`, and notify the poller if the worker is driving.
        let waker = thread::spawn(move || sh2.wake(|| poller2.unpark()));
        let (lock3, poller3) = (lock.clone(), poller.clone());
        let holder = thread::spawn(move || {
            if let Ok(_g) = lock3.try_lock() {
                // Harvests whatever is pending, a notify meant for the worker included.
                poller3.park(Some(std::time::Duration::ZERO));
            }
        });
        // The worker blocking in the poller with `woken` set and the notification spent is a
        // thread nobody will unpark: loom reports the deadlock.
        worker_drive_unless_woken(&sh, &lock, &poller, recheck);
        assert!(
            sh.is_woken(),
            "the worker stopped waiting without being woken"
        );
        waker.join().unwrap();
        holder.join().unwrap();
    });
}

#[test]
fn a_driver_wake_consumed_by_the_lock_holder_is_not_lost() {
    // `try_react_unless` re-checks `woken` under the reactor lock: the waker stored it before
    // notifying, and a holder that consumed that notify did so before releasing the lock the
    // worker then took, so the re-check sees it. Without the re-check (`false`) loom finds the
    // interleaving where the worker blocks with its wake-up spent.
    drive_handshake_model(true);
}
