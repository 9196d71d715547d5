//! loom models of the blocking pool's grow/shrink accounting: `src/pool/counters.rs` itself,
//! compiled here against loom's atomics, driven the way `src/pool/mod.rs` drives it (submit:
//! push then `reserve_for_queue` and start a thread per `true`; a thread: take a message or
//! time out, `timed_out`, `retire_if_over_limit`). The job queue, a crossbeam channel in the
//! pool, is a loom mutex around a `VecDeque` here; a thread's idle timeout is modelled as
//! "the queue was empty when it looked", the worst moment for it to fire.
//!
//! Run with `cargo xtask loom` (`RUSTFLAGS="--cfg loom" cargo test --profile loom -p
//! weft-blocking --test loom`). Compiles to nothing without `--cfg loom`.
#![cfg(loom)]

use std::collections::VecDeque;

use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;

/// What `counters.rs` is written against (`super::sync` in the crate).
mod sync {
    pub use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
}

#[path = "../src/pool/counters.rs"]
#[allow(dead_code)]
mod counters;

use counters::Counters;

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
        })
    }

    fn len(&self) -> usize {
        self.queue.lock().unwrap().len()
    }

    /// `Inner::grow`: a thread per `true`, never more than the limit.
    fn grow(self: &Arc<Self>) {
        while self.c.reserve_for_queue(|| self.len()) {
            let live = self.c.threads.load(SeqCst);
            assert!(
                live <= self.c.max_threads.load(SeqCst),
                "{live} threads, over the limit"
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

    /// Every thread has exited: every job ran, nothing is left queued and the counters are
    /// back to zero.
    fn check_end(&self, jobs: usize) {
        assert_eq!(self.ran.load(SeqCst), jobs, "a job was stranded");
        assert_eq!(self.len(), 0, "messages left in the queue");
        assert_eq!(self.c.threads.load(SeqCst), 0, "thread count leaked");
        assert_eq!(self.c.idle.load(SeqCst), 0, "idle count leaked");
        assert_eq!(self.c.wakes.load(SeqCst), 0, "wake count leaked");
    }
}

/// The last idle thread times out while a job is submitted: either the submitter sees no idle
/// thread and starts one, or the timing-out thread sees the job and stays.
#[test]
fn a_job_submitted_while_the_last_idle_thread_times_out_is_never_stranded() {
    loom::model(|| {
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

/// Two submitters race to start threads for their jobs on an empty pool with a limit of one:
/// never two threads, and both jobs run.
#[test]
fn racing_submitters_never_exceed_the_limit_and_both_jobs_run() {
    loom::model(|| {
        let pool = Pool::new(1, 0);
        let other = {
            let p = pool.clone();
            thread::spawn(move || p.submit())
        };
        pool.submit();
        other.join().unwrap();
        pool.join_all();
        pool.check_end(2);
    });
}

/// The limit is lowered (a `Wake` goes into the queue for the thread over it) while a job is
/// submitted and the idle threads time out: the `Wake` is never counted as a job nor the job
/// hidden by it, and the job runs.
#[test]
fn lowering_the_limit_while_a_job_arrives_strands_nothing() {
    loom::model(|| {
        let pool = Pool::new(2, 2);
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let p = pool.clone();
                thread::spawn(move || p.worker())
            })
            .collect();
        let setter = {
            let p = pool.clone();
            thread::spawn(move || p.set_max_threads(1))
        };
        pool.submit();
        setter.join().unwrap();
        for w in workers {
            w.join().unwrap();
        }
        pool.join_all();
        pool.check_end(1);
    });
}
