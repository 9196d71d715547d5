//! loom models of the worker sleep/notify protocol: `src/runtime/idle.rs` and
//! `src/runtime/wake.rs` (the sleeping worker's waker, which interrupts the reactor's poller if
//! the worker blocks in it as the driver) themselves, compiled here against loom's atomics and
//! mutex, with the queue pushes and re-checks of the worker
//! loop (`src/runtime/worker.rs`) and the schedule function (`src/runtime/shared.rs`) around it.
//!
//! And models of the run queues (`src/runtime/queue.rs`, compiled here as it is, generic over
//! the task type, with `concurrent-queue`'s loom build inside): a task pushed, handed off
//! through the LIFO slot, overflowed to the global queue or stolen while another worker picks
//! is run exactly once and never lost, and the task in a LIFO slot is never stolen. The queues
//! are `concurrent-queue`'s; what these check is our protocol around them (LIFO hand-off and
//! streak limit, overflow of the new task alone, global batches, steal-half).
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

#[path = "../src/runtime/queue.rs"]
#[allow(dead_code)]
mod queue;

use idle::Idle;
use queue::{Picker, RunQueues};
use wake::SleepWake;

/// `loom::model`, saying on stderr how many executions it explored and how long that took
/// (`--nocapture` shows it).
fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    model_bounded(name, None, f)
}

/// [`model`] with at most `cap` preemptions even when `LOOM_MAX_PREEMPTIONS` is unset or
/// larger (`cargo xtask loom` runs unbounded): for models whose full state space takes too long.
fn model_bounded(name: &str, cap: Option<usize>, f: impl Fn() + Sync + Send + 'static) {
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = runs.clone();
    let start = std::time::Instant::now();
    let mut builder = loom::model::Builder::new();
    if let Some(cap) = cap {
        builder.preemption_bound = Some(builder.preemption_bound.map_or(cap, |b| b.min(cap)));
    }
    builder.check(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    eprintln!(
        "loom: {name}: {} executions in {:.2?}",
        runs.load(std::sync::atomic::Ordering::Relaxed),
        start.elapsed()
    );
}

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
    model(
        "a_task_pushed_while_a_worker_goes_to_sleep_is_never_lost",
        || {
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
        },
    );
}

/// The searching shortcut: a notifier that sees a searching worker wakes nobody, so that
/// searcher must see the task when it gives up and goes to sleep.
#[test]
fn a_searcher_that_gives_up_sees_a_task_whose_notify_it_absorbed() {
    model(
        "a_searcher_that_gives_up_sees_a_task_whose_notify_it_absorbed",
        || {
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
        },
    );
}

/// Shutdown's wake-all racing a worker that wakes up by itself keeps the counters balanced.
#[test]
fn wake_all_keeps_the_counters_balanced() {
    model("wake_all_keeps_the_counters_balanced", || {
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
    model(
        "a_worker_blocked_in_the_reactor_is_interrupted_by_a_notify",
        || {
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
        },
    );
}

/// Asserts that `ran` (every task taken by any worker) plus what is left in the queues is
/// exactly `0..n`, each once.
fn assert_each_exactly_once(q: &RunQueues<usize>, mut ran: Vec<usize>, n: usize) {
    while let Some(t) = q.pop_any() {
        ran.push(t);
    }
    ran.sort_unstable();
    assert_eq!(
        ran,
        (0..n).collect::<Vec<_>>(),
        "a task was lost or run twice"
    );
}

/// Worker 1 steals from worker 0 while worker 0 pushes a task and pops its own queue.
#[test]
fn a_task_pushed_while_another_worker_steals_runs_exactly_once() {
    model(
        "a_task_pushed_while_another_worker_steals_runs_exactly_once",
        || {
            let q = Arc::new(RunQueues::<usize>::new(2, 4));
            q.push_local(0, 0);
            let thief = {
                let q = q.clone();
                thread::spawn(move || q.steal(1, 0).into_iter().collect::<Vec<_>>())
            };
            q.push_local(0, 1);
            let mut ran: Vec<usize> = q
                .pick(&mut Picker::new(0), None, || {})
                .into_iter()
                .collect();
            ran.extend(thief.join().unwrap());
            assert_each_exactly_once(&q, ran, 2);
        },
    );
}

/// The LIFO slot hand-off racing a steal: worker 0 schedules two tasks (the second displaces
/// the first into its queue) while worker 1 steals; the task in the slot is run by worker 0,
/// never stolen, and every task runs exactly once.
#[test]
fn the_lifo_slot_is_handed_off_and_never_stolen() {
    model("the_lifo_slot_is_handed_off_and_never_stolen", || {
        let q = Arc::new(RunQueues::<usize>::new(2, 4));
        let lifo = std::cell::Cell::new(None);
        assert!(
            !q.schedule_here(0, Some(&lifo), 0),
            "an empty slot queues nothing"
        );
        let thief = {
            let q = q.clone();
            thread::spawn(move || q.steal(1, 0).into_iter().collect::<Vec<_>>())
        };
        assert!(
            q.schedule_here(0, Some(&lifo), 1),
            "the displaced task is queued"
        );
        let first = q.pick(&mut Picker::new(0), Some(&lifo), || {});
        assert_eq!(first, Some(1), "the LIFO slot runs next, on its own worker");
        let stolen = thief.join().unwrap();
        assert!(!stolen.contains(&1), "a LIFO slot was stolen");
        let mut ran = vec![1];
        ran.extend(stolen);
        assert_each_exactly_once(&q, ran, 2);
    });
}

/// A full local queue sends only the new task to the global queue (the rule `push_local`
/// implements) while another worker takes a global batch: nothing is lost, and the full queue
/// keeps its own tasks in order (moving half of it, tokio's rule, fails the order check: task 0
/// would have gone global and worker 0 would pick task 1 first).
#[test]
fn overflow_to_the_global_queue_racing_a_global_batch_loses_nothing() {
    model(
        "overflow_to_the_global_queue_racing_a_global_batch_loses_nothing",
        || {
            let q = Arc::new(RunQueues::<usize>::new(2, 2));
            q.push_local(0, 0);
            q.push_local(0, 1);
            let other = {
                let q = q.clone();
                thread::spawn(move || q.pop_global_batch(1).into_iter().collect::<Vec<_>>())
            };
            q.push_local(0, 2); // full: only task 2 goes to the global queue
            let mut p = Picker::new(0);
            let own: Vec<usize> = (0..2).filter_map(|_| q.pick(&mut p, None, || {})).collect();
            assert_eq!(
                own,
                [0, 1],
                "a full local queue gave up its own tasks on overflow"
            );
            let mut ran = other.join().unwrap();
            assert!(
                ran.iter().all(|&t| t == 2),
                "only the overflowing task may reach the global queue, the other worker got {ran:?}"
            );
            ran.extend(own);
            assert_each_exactly_once(&q, ran, 3);
        },
    );
}

/// After three tasks in a row from the LIFO slot, the next one is queued (and a worker
/// notified) instead, so a thief may take it: it still runs exactly once.
#[test]
fn the_lifo_streak_limit_lets_a_thief_take_the_task() {
    model("the_lifo_streak_limit_lets_a_thief_take_the_task", || {
        let q = Arc::new(RunQueues::<usize>::new(2, 4));
        let lifo = std::cell::Cell::new(None);
        let mut p = Picker::new(0);
        for t in 0..3 {
            q.schedule_here(0, Some(&lifo), t);
            assert_eq!(q.pick(&mut p, Some(&lifo), || {}), Some(t));
        }
        q.schedule_here(0, Some(&lifo), 3);
        let thief = {
            let q = q.clone();
            thread::spawn(move || q.steal(1, 0).into_iter().collect::<Vec<_>>())
        };
        let mut notified = false;
        let mine = q.pick(&mut p, Some(&lifo), || notified = true);
        assert!(notified, "the queued LIFO task was not announced");
        let mut ran: Vec<usize> = (0..3).chain(mine).collect();
        ran.extend(thief.join().unwrap());
        assert_each_exactly_once(&q, ran, 4);
    });
}

/// Two thieves and the owner race for one worker's queue: each task runs exactly once.
#[test]
fn two_thieves_and_the_owner_share_one_queue_without_loss() {
    // Three threads: unbounded, this takes many minutes.
    model_bounded(
        "two_thieves_and_the_owner_share_one_queue_without_loss",
        Some(2),
        || {
            let q = Arc::new(RunQueues::<usize>::new(3, 4));
            for t in 0..3 {
                q.push_local(0, t);
            }
            let thieves: Vec<_> = [1, 2]
                .into_iter()
                .map(|i| {
                    let q = q.clone();
                    thread::spawn(move || q.steal(i, 0).into_iter().collect::<Vec<_>>())
                })
                .collect();
            let mut ran: Vec<usize> = q
                .pick(&mut Picker::new(0), None, || {})
                .into_iter()
                .collect();
            for t in thieves {
                ran.extend(t.join().unwrap());
            }
            assert_each_exactly_once(&q, ran, 3);
        },
    );
}

/// The schedule function racing shutdown (`src/runtime/shared.rs`: `schedule` checks
/// `cancelling`, pushes, fences and re-checks, draining itself if shutdown began; shutdown sets
/// `cancelling`, fences and drains): a task scheduled meanwhile is never left in a queue.
#[test]
fn a_task_scheduled_while_shutdown_drains_is_never_stranded() {
    model(
        "a_task_scheduled_while_shutdown_drains_is_never_stranded",
        || {
            let q = Arc::new(RunQueues::<usize>::new(1, 2));
            let cancelling = Arc::new(AtomicBool::new(false));
            let drain = |q: &RunQueues<usize>| {
                fence(Ordering::SeqCst);
                while q.pop_any().is_some() {}
            };
            let scheduler = {
                let (q, cancelling) = (q.clone(), cancelling.clone());
                thread::spawn(move || {
                    if cancelling.load(Ordering::Acquire) {
                        return; // dropped at once
                    }
                    q.push_global(0);
                    fence(Ordering::SeqCst);
                    if cancelling.load(Ordering::SeqCst) {
                        drain(&q);
                    }
                })
            };
            cancelling.store(true, Ordering::SeqCst);
            drain(&q);
            scheduler.join().unwrap();
            assert!(
                q.pop_any().is_none(),
                "a task was stranded in a queue after shutdown"
            );
        },
    );
}
