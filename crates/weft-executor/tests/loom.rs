//! loom models of the worker sleep/notify protocol: `src/runtime/idle.rs` and
//! `src/runtime/wake.rs` (the sleeping worker's waker, which interrupts the reactor's poller if
//! the worker blocks in it as the driver) themselves, compiled here against loom's atomics and
//! mutex, with the queue pushes and re-checks of the worker
//! loop (`src/runtime/worker.rs`) and the schedule function (`src/runtime/shared.rs`) around it.
//!
//! Run with `cargo xtask loom` (`RUSTFLAGS="--cfg loom" cargo test --profile loom -p
//! weft-executor --test loom`). Compiles to nothing without `--cfg loom`.
#![cfg(loom)]

use std::task::{Wake, Waker};

use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

/// What `idle.rs` is written against (`super::sync` in the crate).
mod sync {
    pub use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
    pub use loom::sync::Mutex;

    pub fn lock<T>(m: &Mutex<T>) -> loom::sync::MutexGuard<'_, T> {
        m.lock().unwrap()
    }
}

#[path = "../src/runtime/idle.rs"]
#[allow(dead_code)]
mod idle;

#[path = "../src/runtime/wake.rs"]
#[allow(dead_code)]
mod wake;

use idle::Idle;
use wake::SleepWake;

/// A parked worker's "unparked" flag, set by its waker.
struct Unpark(AtomicBool);

impl Wake for Unpark {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn unpark_flag() -> (std::sync::Arc<Unpark>, Waker) {
    let f = std::sync::Arc::new(Unpark(AtomicBool::new(false)));
    let w = Waker::from(f.clone());
    (f, w)
}

/// Pushes one task (the real queues release-publish, they are not SeqCst), then the schedule
/// function's fence and notify.
fn push_and_notify(idle: &Idle, queue: &AtomicUsize) {
    queue.fetch_add(1, Ordering::Release);
    fence(Ordering::SeqCst);
    idle.notify_fenced();
}

/// The worker loop's "nothing found" path: go to sleep, re-check the queue, and either take
/// the work after all or park. Returns whether it found the work.
fn sleep_then_recheck(idle: &Idle, queue: &AtomicUsize, index: usize, waker: Waker) -> bool {
    idle.sleep(index, waker);
    if queue.load(Ordering::Acquire) > 0 {
        idle.wake_up(index);
        true
    } else {
        false
    }
}

/// An idle worker and a producer: the worker either sees the task on its re-check or is woken.
#[test]
fn a_task_pushed_while_a_worker_goes_to_sleep_is_never_lost() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(1));
        let queue = Arc::new(AtomicUsize::new(0));
        let (unparked, waker) = unpark_flag();
        let producer = {
            let (idle, queue) = (idle.clone(), queue.clone());
            thread::spawn(move || push_and_notify(&idle, &queue))
        };
        let found =
            queue.load(Ordering::Acquire) > 0 || sleep_then_recheck(&idle, &queue, 0, waker);
        producer.join().unwrap();
        assert!(
            found || unparked.0.load(Ordering::SeqCst),
            "lost wake-up: the worker parked with a task queued and nobody woke it"
        );
    });
}

/// The searching shortcut: a notifier that sees a searching worker wakes nobody, so that
/// searcher must see the task when it gives up and goes to sleep.
#[test]
fn a_searcher_that_gives_up_sees_a_task_whose_notify_it_absorbed() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(1));
        let queue = Arc::new(AtomicUsize::new(0));
        // Worker 0 was woken: it is off the list and counted as searching.
        let (_first, w0) = unpark_flag();
        idle.sleep(0, w0);
        idle.notify_fenced();
        assert_eq!(idle.counts(), (0, 1));
        let (unparked, waker) = unpark_flag();
        let producer = {
            let (idle, queue) = (idle.clone(), queue.clone());
            thread::spawn(move || push_and_notify(&idle, &queue))
        };
        let found = queue.load(Ordering::Acquire) > 0 || {
            idle.stop_searching();
            sleep_then_recheck(&idle, &queue, 0, waker)
        };
        producer.join().unwrap();
        assert!(
            found || unparked.0.load(Ordering::SeqCst),
            "lost wake-up: the notify was skipped for a searcher that then parked"
        );
    });
}

/// Shutdown's wake-all racing a worker that wakes up by itself keeps the counters balanced.
#[test]
fn wake_all_keeps_the_counters_balanced() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(1));
        let (_f, waker) = unpark_flag();
        idle.sleep(0, waker);
        let shutdown = {
            let idle = idle.clone();
            thread::spawn(move || idle.wake_all())
        };
        // The worker runs again (woken by shutdown, or by itself), then exits.
        idle.wake_up(0);
        idle.stop_searching();
        shutdown.join().unwrap();
        assert_eq!(idle.counts(), (0, 0), "(sleeping, searching)");
    });
}

/// A sleeping worker's waker as the crate builds it (`worker.rs`): `SleepWake` with the
/// reactor's `notify` replaced by a flag.
struct DriverWaker {
    sw: SleepWake,
    interrupted: AtomicBool,
}

impl Wake for DriverWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.sw
            .wake(|| self.interrupted.store(true, Ordering::SeqCst));
    }
}

/// A worker that runs out of work goes to sleep, re-checks the queue, then blocks in the
/// reactor as its driver; a producer pushes a task and notifies. Either the worker sees the
/// task, or sees the wake-up and does not block, or is blocked and the poller is interrupted.
#[test]
fn a_worker_blocked_in_the_reactor_is_interrupted_by_a_notify() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(1));
        let queue = Arc::new(AtomicUsize::new(0));
        let (unparked, inner) = unpark_flag();
        let dw = std::sync::Arc::new(DriverWaker {
            sw: SleepWake::new(inner),
            interrupted: AtomicBool::new(false),
        });
        let producer = {
            let (idle, queue) = (idle.clone(), queue.clone());
            thread::spawn(move || push_and_notify(&idle, &queue))
        };
        dw.sw.reset();
        let found = sleep_then_recheck(&idle, &queue, 0, Waker::from(dw.clone()));
        let blocked = !found && dw.sw.start_driving();
        producer.join().unwrap();
        let interrupted = dw.interrupted.load(Ordering::SeqCst);
        dw.sw.stop_driving();
        assert!(
            found || !blocked || interrupted,
            "lost wake-up: the worker blocked in the poller with a task queued and nobody \
             interrupted it"
        );
        if !found && !blocked {
            assert!(dw.sw.is_woken() && unparked.0.load(Ordering::SeqCst));
        }
    });
}
