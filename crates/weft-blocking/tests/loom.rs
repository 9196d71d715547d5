//! loom models of the blocking pool's grow/shrink accounting: `src/pool/counters.rs` itself,
//! compiled here against loom's atomics, driven the way `src/pool/mod.rs` drives it (submit:
//! push then `reserve_for_queue` and start a thread per `true`; a thread: take a message or
//! time out, `timed_out`, `retire_if_over_limit`). The job queue, a crossbeam channel in the
//! pool, is a loom mutex around a `VecDeque` here; a thread's idle timeout is modelled as
//! "the queue was empty when it looked", the worst moment for it to fire.
//!
//! Also the write overlap's second buffer: tests/loom_models/overflow.rs.
//!
//! Run with `cargo xtask loom` (`RUSTFLAGS="--cfg loom" cargo test --profile loom -p
//! weft-blocking --test loom`). Compiles to nothing without `--cfg loom`.
#![cfg(loom)]

use std::collections::VecDeque;

use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Mutex;
use loom::thread;
use std::sync::Arc; // a plain handle: loom checks the counters and the queue

/// What `counters.rs` and `overflow.rs` are written against (`super::sync` in the crate).
mod sync {
    pub use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
    pub use loom::sync::{Arc, Mutex, MutexGuard};
}

#[path = "../src/pool/counters.rs"]
#[allow(dead_code)]
mod counters;

/// The write overlap's second buffer, and its model.
#[path = "../src/unblock/overflow.rs"]
#[allow(dead_code)]
mod overflow;
#[path = "loom_models/overflow.rs"]
mod overflow_model;

use counters::Counters;

/// `loom::model` with at most 2 preemptions unless `LOOM_MAX_PREEMPTIONS` says otherwise
/// (`cargo xtask ci` sets 2, `cargo xtask loom` nothing). With 3 or more, the last model finds
/// interleavings where threads start for the job, find it taken, time out and are replaced
/// (harmless churn: the limit holds and the job runs once), which need more threads than
/// loom's five; unbounded, the models run for many minutes.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(2);
    }
    b.check(f);
}

enum Msg {
    Run,
    Wake,
}

/// The pool: counters, queue, and how many jobs ran.
struct Pool {
    c: Counters,
    queue: Mutex<VecDeque<Msg>>,
    ran: AtomicUsize,
    /// Threads started by `grow` (joined at the end of a model).
    started: Mutex<Vec<thread::JoinHandle<()>>>,
    /// The initial limit (models only lower it): the thread count never exceeds it.
    cap: usize,
}

impl Pool {
    /// A pool with `threads` idle threads already counted (their loops are started by the
    /// model) and limit `max`.
    fn new(max: usize, idle_threads: usize) -> Arc<Pool> {
        let c = Counters::new(max);
        c.threads.store(idle_threads, SeqCst);
        c.idle.store(idle_threads, SeqCst);
        Arc::new(Pool {
            c,
            queue: Mutex::new(VecDeque::new()),
            ran: AtomicUsize::new(0),
            started: Mutex::new(Vec::new()),
            cap: max,
        })
    }

    fn len(&self) -> usize {
        self.queue.lock().unwrap().len()
    }

    /// `Inner::grow`: a thread per `true`, never more than the limit.
    fn grow(self: &Arc<Self>) {
        while self.c.reserve_for_queue(|| self.len()) {
            // Over the current limit only while a lowered one is not yet taken into account:
            // never over the highest limit the model set.
            let live = self.c.threads.load(SeqCst);
            assert!(
                live <= self.cap,
                "{live} threads, over the limit {}",
                self.cap
            );
            let me = self.clone();
            let t = thread::spawn(move || me.worker());
            self.started.lock().unwrap().push(t);
        }
    }

    /// `Inner::schedule` for one job.
    fn submit(self: &Arc<Self>) {
        self.queue.lock().unwrap().push_back(Msg::Run);
        self.grow();
    }

    /// `BlockingPool::set_max_threads`.
    fn set_max_threads(self: &Arc<Self>, n: usize) {
        for _ in 0..self.c.set_max_threads(n) {
            self.c.wake_sent();
            self.queue.lock().unwrap().push_back(Msg::Wake);
        }
        self.grow();
    }

    /// `Inner::worker`, with the idle timeout firing whenever the queue is empty.
    fn worker(self: Arc<Self>) {
        loop {
            let msg = self.queue.lock().unwrap().pop_front();
            self.c.left_idle();
            match msg {
                Some(Msg::Run) => {
                    self.grow();
                    self.ran.fetch_add(1, SeqCst);
                    if self.c.retire_if_over_limit() {
                        return;
                    }
                }
                Some(Msg::Wake) => {
                    self.c.wake_taken();
                    if self.c.retire_if_over_limit() {
                        return;
                    }
                }
                None if self.c.timed_out(|| self.len()) => {}
                None => return,
            }
            self.c.back_to_idle();
        }
    }

    /// A busy thread finishing its job (`Inner::worker` after `runnable.run()`), then waiting.
    fn finish_job_then_work(self: Arc<Self>) {
        if self.c.retire_if_over_limit() {
            return;
        }
        self.c.back_to_idle();
        self.worker();
    }

    /// Joins every started thread (threads they started included).
    fn join_all(&self) {
        loop {
            let t = self.started.lock().unwrap().pop();
            match t {
                Some(t) => t.join().unwrap(),
                None => return,
            }
        }
    }

    /// Every thread has exited: every job ran, no job is left queued and the counters are
    /// back to zero. (A `Wake` may be left behind when every thread timed out first: harmless,
    /// it is counted, and the next thread takes it; the count must match.)
    fn check_end(&self, jobs: usize) {
        assert_eq!(self.ran.load(SeqCst), jobs, "a job was stranded");
        let q = self.queue.lock().unwrap();
        let wakes = q.iter().filter(|m| matches!(m, Msg::Wake)).count();
        assert_eq!(q.len(), wakes, "a job left in the queue");
        assert_eq!(self.c.wakes.load(SeqCst), wakes, "wake count is off");
        assert_eq!(self.c.queued(q.len()), 0, "a Wake counted as a job");
        assert_eq!(self.c.threads.load(SeqCst), 0, "thread count leaked");
        assert_eq!(self.c.idle.load(SeqCst), 0, "idle count leaked");
    }
}

/// The last idle thread times out while a job is submitted: either the submitter sees no idle
/// thread and starts one, or the timing-out thread sees the job and stays.
#[test]
fn a_job_submitted_while_the_last_idle_thread_times_out_is_never_stranded() {
    model(|| {
        let pool = Pool::new(1, 1);
        let w = {
            let p = pool.clone();
            thread::spawn(move || p.worker())
        };
        pool.submit();
        w.join().unwrap();
        pool.join_all();
        pool.check_end(1);
    });
}

/// Two submitters race in `grow` on an empty pool with a limit of one: exactly one thread is
/// reserved, never two. (The threads are only counted, not run: started threads that exit and
/// are started again would exceed loom's thread limit; running them is the other models' job.)
#[test]
fn racing_submitters_never_exceed_the_limit() {
    model(|| {
        let pool = Pool::new(1, 0);
        let reserve = |p: &Pool| {
            p.queue.lock().unwrap().push_back(Msg::Run);
            let mut n = 0;
            while p.c.reserve_for_queue(|| p.len()) {
                n += 1;
            }
            n
        };
        let other = {
            let p = pool.clone();
            thread::spawn(move || reserve(&p))
        };
        let started = reserve(&pool) + other.join().unwrap();
        assert_eq!(started, 1, "two jobs, limit one: one thread");
        assert_eq!(pool.c.threads.load(SeqCst), 1);
        assert_eq!(pool.c.idle.load(SeqCst), 1);
    });
}

/// The limit is lowered from 2 to 1 (a `Wake` goes into the queue for the thread over it)
/// and a job is submitted, in either order, while one thread is idle (and may time out) and
/// the other finishes a job: the `Wake` is never counted as a job nor hides one, the job runs,
/// and the thread count never exceeds the old limit. (The setter and the submitter are one
/// thread, in both orders, to stay within loom's five threads.)
#[test]
fn lowering_the_limit_while_a_job_arrives_strands_nothing() {
    for submit_first in [false, true] {
        model(move || {
            let pool = Pool::new(2, 2);
            pool.c.idle.store(1, SeqCst); // the main thread is busy with a job
            let idle = {
                let p = pool.clone();
                thread::spawn(move || p.worker())
            };
            let other = {
                let p = pool.clone();
                thread::spawn(move || {
                    if submit_first {
                        p.submit();
                        p.set_max_threads(1);
                    } else {
                        p.set_max_threads(1);
                        p.submit();
                    }
                })
            };
            pool.clone().finish_job_then_work();
            other.join().unwrap();
            idle.join().unwrap();
            pool.join_all();
            pool.check_end(1);
        });
    }
}
