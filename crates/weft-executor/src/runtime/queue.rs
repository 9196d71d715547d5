//! The run queues of a multi-threaded runtime and how a worker picks its next task: one bounded
//! local queue per worker, one unbounded global queue, the LIFO slot hand-off, batches from the
//! global queue and steal-half.
//!
//! The queues themselves are `concurrent-queue`'s lock-free queues; what is ours is the
//! protocol around them (the LIFO slot and its streak limit, overflow of a new task to the
//! global queue when its local queue is full, the fair-share global batch, stealing half of a victim's queue). This file
//! depends on nothing else in the crate and is generic over the task type, so that
//! `tests/loom.rs` compiles this very file (with loom's atomics inside `concurrent-queue`) and
//! model-checks that a task pushed, handed off, overflowed or stolen concurrently runs exactly
//! once and is never lost.

use std::cell::Cell;

use concurrent_queue::{ConcurrentQueue, PushError};

/// Capacity of each worker's local run queue.
pub(crate) const LOCAL_QUEUE_CAP: usize = 256;
/// At most this many tasks in a row from the LIFO slot.
const MAX_LIFO_STREAK: u32 = 3;
/// Every this many picks a worker looks at the global queue first (as tokio and Go do).
const GLOBAL_QUEUE_INTERVAL: u32 = 61;

/// The global queue and every worker's local queue.
pub(crate) struct RunQueues<T> {
    /// Tasks scheduled from outside the workers, and overflow of full local queues.
    injector: ConcurrentQueue<T>,
    /// One bounded queue per worker.
    locals: Box<[ConcurrentQueue<T>]>,
    /// Capacity of each local queue.
    cap: usize,
}

/// A worker's own picking state (only that worker touches it).
pub(crate) struct Picker {
    index: usize,
    tick: u32,
    /// Consecutive tasks taken from the LIFO slot.
    lifo_streak: u32,
    rng: u32,
}

impl Picker {
    /// The picking state of worker `index`.
    pub(crate) fn new(index: usize) -> Picker {
        Picker {
            index,
            tick: 0,
            lifo_streak: 0,
            rng: (index as u32).wrapping_mul(0x9E37_79B9) | 1,
        }
    }

    fn next_rand(&mut self) -> u32 {
        // xorshift32
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }
}

impl<T> RunQueues<T> {
    /// Empty queues for `workers` workers, each local queue holding `cap` tasks (at least 2).
    pub(crate) fn new(workers: usize, cap: usize) -> RunQueues<T> {
        let cap = cap.max(2);
        RunQueues {
            injector: ConcurrentQueue::unbounded(),
            locals: (0..workers.max(1))
                .map(|_| ConcurrentQueue::bounded(cap))
                .collect(),
            cap,
        }
    }

    /// Number of workers (local queues).
    pub(crate) fn workers(&self) -> usize {
        self.locals.len()
    }

    /// Queues `r` on the global queue.
    pub(crate) fn push_global(&self, r: T) {
        // The unbounded queue is never full, and never closed (nobody calls `close`).
        let _ = self.injector.push(r);
    }

    /// Queues `r` on worker `index`'s local queue; if that queue is full, `r` alone goes to
    /// the global queue (the local queue keeps its tasks and their order).
    ///
    /// tokio moves half of a full local queue there instead; for the same spreading (idle
    /// workers take global batches and steal half) that costs every moved task an extra pop
    /// and push, about 60 instructions per task on `spawn_cost` (issue 14).
    pub(crate) fn push_local(&self, index: usize, r: T) {
        if let Err(PushError::Full(r) | PushError::Closed(r)) = self.locals[index].push(r) {
            self.push_global(r);
        }
    }

    /// Schedules `r` on worker `index`, from that worker's own thread. With a LIFO slot, `r`
    /// goes into it (it runs next) and the task it displaces is queued. Returns false if
    /// nothing was queued (so nobody else needs waking).
    pub(crate) fn schedule_here(&self, index: usize, lifo: Option<&Cell<Option<T>>>, r: T) -> bool {
        let r = match lifo {
            Some(slot) => match slot.replace(Some(r)) {
                Some(old) => old,
                None => return false,
            },
            None => r,
        };
        self.push_local(index, r);
        true
    }

    /// Whether any queue holds a task (the LIFO slots are not looked at: they are run by their
    /// own worker).
    pub(crate) fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.locals.iter().any(|q| !q.is_empty())
    }

    /// Whether worker `index`'s local queue is empty.
    pub(crate) fn local_is_empty(&self, index: usize) -> bool {
        self.locals[index].is_empty()
    }

    /// Takes one queued task from anywhere (global queue first), for whoever drains or runs
    /// the queues without being a worker (shutdown, the end of `run`).
    pub(crate) fn pop_any(&self) -> Option<T> {
        if let Ok(r) = self.injector.pop() {
            return Some(r);
        }
        self.locals.iter().find_map(|q| q.pop().ok())
    }

    /// Worker `p`'s next task: the LIFO slot (at most [`MAX_LIFO_STREAK`] in a row; then its
    /// task is queued and `notify` called, so another worker may steal it), a global batch
    /// every [`GLOBAL_QUEUE_INTERVAL`] picks, its local queue, one global task, else half of a
    /// random other worker's queue.
    pub(crate) fn pick(
        &self,
        p: &mut Picker,
        lifo: Option<&Cell<Option<T>>>,
        notify: impl FnOnce(),
    ) -> Option<T> {
        if let Some(slot) = lifo {
            if let Some(r) = slot.take() {
                if p.lifo_streak < MAX_LIFO_STREAK {
                    p.lifo_streak += 1;
                    return Some(r);
                }
                // Enough LIFO in a row: queue it (on the global queue if the local one is full)
                // and let the others run.
                if let Err(e) = self.locals[p.index].push(r) {
                    self.push_global(e.into_inner());
                }
                notify();
            }
            p.lifo_streak = 0;
        }
        let rand = p.next_rand() as usize;
        p.tick = p.tick.wrapping_add(1);
        // Every GLOBAL_QUEUE_INTERVAL-th pick looks at the global queue first, and takes a batch:
        // taking a single task there lets workers whose local queues never empty (tasks looping
        // on `yield_now`) drain the global queue at one task per 61 picks.
        // An empty local queue needs no batch (see below): the task then comes from the global
        // queue one by one anyway.
        if p.tick % GLOBAL_QUEUE_INTERVAL == 0 && !self.locals[p.index].is_empty() {
            if let Some(r) = self.pop_global_batch(p.index) {
                return Some(r);
            }
        }
        if let Ok(r) = self.locals[p.index].pop() {
            return Some(r);
        }
        // An empty local queue takes one global task, not a batch: `concurrent-queue` pops one
        // task at a time anyway (a batch amortizes no lock, unlike tokio's mutex-protected
        // inject queue), and moving a batch costs each moved task a local push and pop, about
        // 90 instructions per task on `spawn_cost` (issue 14). Idle workers pop the global
        // queue themselves before they steal, so the tasks still spread.
        if let Ok(r) = self.injector.pop() {
            return Some(r);
        }
        self.steal(p.index, rand)
    }

    /// Global queue: takes one task to run plus a fair share of the rest
    /// (`len / workers + 1`, at most half a local queue) into worker `index`'s local queue.
    pub(crate) fn pop_global_batch(&self, index: usize) -> Option<T> {
        let local = &self.locals[index];
        let r = self.injector.pop().ok()?;
        let n = (self.injector.len() / self.locals.len() + 1).min(self.cap / 2);
        for _ in 0..n {
            match self.injector.pop() {
                Ok(x) => {
                    if let Err(e) = local.push(x) {
                        self.push_global(e.into_inner());
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        Some(r)
    }

    /// Steals half of another worker's queue (starting at victim `rand % workers`) into worker
    /// `index`'s, returning one of the stolen tasks to run.
    pub(crate) fn steal(&self, index: usize, rand: usize) -> Option<T> {
        let n = self.locals.len();
        if n < 2 {
            return None;
        }
        let local = &self.locals[index];
        let start = rand % n;
        for k in 0..n {
            let v = (start + k) % n;
            if v == index {
                continue;
            }
            let q = &self.locals[v];
            let len = q.len();
            if len == 0 {
                continue;
            }
            let Ok(first) = q.pop() else { continue };
            for _ in 1..len.div_ceil(2) {
                match q.pop() {
                    Ok(x) => {
                        if let Err(e) = local.push(x) {
                            self.push_global(e.into_inner());
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
            return Some(first);
        }
        None
    }
}
