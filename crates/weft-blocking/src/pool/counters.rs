//! The pool's thread accounting: live threads, threads waiting for a job, `Wake` messages in
//! the queue, the limit and the shutdown flag, and every decision made from them: start a
//! thread, retire one over the limit, keep one that timed out while a job arrived.
//!
//! The job queue (a crossbeam channel) stays outside: each decision takes the queue length as
//! a function, read after a `SeqCst` fence. A submitter pushes then fences then reads `idle`;
//! a thread giving up fences then reads the length: one of them sees the other, so a job is
//! never left queued with no thread to run it. `tests/loom.rs` checks this file under loom.

use super::sync::{fence, AtomicBool, AtomicUsize, Ordering::SeqCst};

pub(crate) struct Counters {
    pub(crate) max_threads: AtomicUsize,
    /// Live threads (including ones being started).
    pub(crate) threads: AtomicUsize,
    /// Threads waiting for a job (a thread being started counts as idle).
    pub(crate) idle: AtomicUsize,
    /// Number of `Wake` messages in the queue (so queued jobs can exclude them).
    pub(crate) wakes: AtomicUsize,
    pub(crate) shutdown: AtomicBool,
}

impl Counters {
    pub(crate) fn new(max_threads: usize) -> Counters {
        Counters {
            max_threads: AtomicUsize::new(max_threads),
            threads: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            wakes: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
        }
    }

    /// Jobs in a queue holding `len` messages (`Wake` messages do not count).
    pub(crate) fn queued(&self, len: usize) -> usize {
        len.saturating_sub(self.wakes.load(SeqCst))
    }

    /// Whether to start one more thread: more jobs are queued than threads are idle and the pool
    /// is below its limit. On `true` the new thread's slot is reserved and it counts as idle;
    /// start it (or call [`start_failed`](Self::start_failed)) and ask again.
    pub(crate) fn reserve_for_queue(&self, len: impl Fn() -> usize) -> bool {
        fence(SeqCst);
        if self.queued(len()) <= self.idle.load(SeqCst) || !self.try_reserve_thread() {
            return false;
        }
        self.idle.fetch_add(1, SeqCst);
        true
    }

    /// The thread reserved by [`reserve_for_queue`](Self::reserve_for_queue) could not be
    /// started: gives its slot back. `true` if the pool now has no thread at all (nothing would
    /// ever run the queue: the caller fails the queued jobs).
    pub(crate) fn start_failed(&self) -> bool {
        self.idle.fetch_sub(1, SeqCst);
        let last = self.threads.fetch_sub(1, SeqCst) == 1;
        fence(SeqCst);
        last
    }

    /// Reserves a thread slot if the pool is below its limit and not shut down.
    pub(crate) fn try_reserve_thread(&self) -> bool {
        let mut cur = self.threads.load(SeqCst);
        loop {
            if self.shutdown.load(SeqCst) || cur >= self.max_threads.load(SeqCst) {
                return false;
            }
            match self
                .threads
                .compare_exchange_weak(cur, cur + 1, SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(c) => cur = c,
            }
        }
    }

    /// A waiting thread got a message or timed out: it is no longer idle.
    pub(crate) fn left_idle(&self) {
        self.idle.fetch_sub(1, SeqCst);
    }

    /// A thread goes back to waiting for a job.
    pub(crate) fn back_to_idle(&self) {
        self.idle.fetch_add(1, SeqCst);
    }

    /// Counts a `Wake` message about to be sent (before the send, so a queue length read at any
    /// time never counts it as a job).
    pub(crate) fn wake_sent(&self) {
        self.wakes.fetch_add(1, SeqCst);
    }

    /// A thread took a `Wake` message off the queue.
    pub(crate) fn wake_taken(&self) {
        self.wakes.fetch_sub(1, SeqCst);
    }

    /// Sets the limit; returns how many threads are over it (send that many `Wake` messages, so
    /// idle ones exit now, then call [`reserve_for_queue`](Self::reserve_for_queue)).
    pub(crate) fn set_max_threads(&self, n: usize) -> usize {
        self.max_threads.store(n, SeqCst);
        self.threads.load(SeqCst).saturating_sub(n)
    }

    /// An idle thread waited out the idle timeout (after [`left_idle`](Self::left_idle)): it
    /// gives its slot back, unless a job was queued by a submitter that still saw it idle (and so
    /// started no thread). `true` means "keep running": the slot was taken again.
    pub(crate) fn timed_out(&self, len: impl Fn() -> usize) -> bool {
        self.threads.fetch_sub(1, SeqCst);
        fence(SeqCst);
        self.queued(len()) > 0 && self.try_reserve_thread()
    }

    /// Gives this thread's slot back if the pool is over its limit or shut down; `true` means
    /// "exit now".
    pub(crate) fn retire_if_over_limit(&self) -> bool {
        let mut cur = self.threads.load(SeqCst);
        loop {
            if cur <= self.max_threads.load(SeqCst) && !self.shutdown.load(SeqCst) {
                return false;
            }
            match self
                .threads
                .compare_exchange_weak(cur, cur - 1, SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(c) => cur = c,
            }
        }
    }
}
