//! [`Shared`]: the scheduler state of a multi-threaded runtime that its threads and its tasks'
//! schedule functions share (queues, idle protocol, registry), the schedule function itself,
//! and shutdown.

use std::future::Future;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::config::Config;
use super::idle::Idle;
use super::queue::{RunQueues, LOCAL_QUEUE_CAP};
use super::worker::{driving_here, LIFO, WORKER};
use crate::context;
use crate::lock::lock;
use crate::registry::{Registry, RegistryRef};
use crate::task::{spawn_into, Runnable, Task, TaskInfo};

/// State shared by a runtime's threads and its tasks' schedule functions.
pub(crate) struct Shared {
    /// Process-unique id (see [`context::next_executor_id`]).
    pub(crate) id: usize,
    /// The global queue and one bounded local queue per worker.
    pub(super) queues: RunQueues<Runnable>,
    /// The sleep/notify protocol between workers.
    pub(super) idle: Idle,
    /// The workers stop (set by shutdown, and by `run` before it cancels its leftover tasks).
    pub(super) closed: AtomicBool,
    /// Tasks scheduled from now on are dropped (cancelled) instead of queued: set by shutdown
    /// just before it cancels every task still alive.
    pub(super) cancelling: AtomicBool,
    /// Whether the LIFO slot is on.
    pub(super) lifo: bool,
    pub(crate) registry: Arc<Registry>,
    pub(crate) cfg: Arc<Config>,
    /// Worker threads that have exited (shutdown waits for them).
    pub(super) exited: Mutex<usize>,
    pub(super) exited_cv: Condvar,
    /// Calls of the idle protocol's notify (unit tests count them per operation).
    #[cfg(test)]
    pub(super) notify_calls: std::sync::atomic::AtomicUsize,
    /// Periodic (every `IO_INTERVAL` tasks) reactor polls of busy workers (unit tests).
    #[cfg(test)]
    pub(super) interval_polls: std::sync::atomic::AtomicUsize,
}

impl Shared {
    pub(super) fn new(workers: usize, cfg: Arc<Config>, lifo: bool) -> Arc<Shared> {
        Arc::new(Shared {
            id: context::next_executor_id(),
            queues: RunQueues::new(workers, LOCAL_QUEUE_CAP),
            idle: Idle::new(workers),
            closed: AtomicBool::new(false),
            cancelling: AtomicBool::new(false),
            lifo,
            registry: Registry::new(workers * 4, cfg.on_unhandled.clone(), cfg.debug),
            cfg,
            exited: Mutex::new(0),
            exited_cv: Condvar::new(),
            #[cfg(test)]
            notify_calls: std::sync::atomic::AtomicUsize::new(0),
            #[cfg(test)]
            interval_polls: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    pub(crate) fn spawn<F>(self: &Arc<Self>, fut: F, info: TaskInfo) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Shared::spawn_owned(self.clone(), fut, info)
    }

    /// [`Shared::spawn`] with the `Arc` the task's schedule function keeps (one reference count
    /// increment per spawn, not two).
    pub(crate) fn spawn_owned<F>(sh: Arc<Shared>, fut: F, info: TaskInfo) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let reg = RegistryRef::new(&sh.registry);
        // SAFETY: the schedule function below owns `sh`, which owns the registry, and async-task
        // drops a task's future before its schedule function (see `spawn_into`).
        unsafe {
            spawn_into(reg, fut, info, move |wrapped, meta| {
                async_task::Builder::new().metadata(meta).spawn(
                    move |_| wrapped,
                    async_task::WithInfo(move |r, i: async_task::ScheduleInfo| {
                        sh.schedule(r, i.woken_while_running)
                    }),
                )
            })
        }
    }

    /// The schedule function of every task of this runtime. `woken_while_running`: the task
    /// woke itself (a yield, or a wake-up during its own poll), so it goes to the back of the
    /// queue rather than into the LIFO slot.
    fn schedule(self: &Arc<Self>, r: Runnable, woken_while_running: bool) {
        if self.cancelling.load(Ordering::Acquire) {
            // Shut down: the task is cancelled (its future dropped here).
            drop(r);
            return;
        }
        r.metadata().set_state(crate::dump::TaskState::Queued);
        #[cfg(test)]
        if let Some(f) = super::tests::BEFORE_PUSH.with(|h| h.take()) {
            f();
        }
        let me = Arc::as_ptr(self) as usize;
        let (p, index) = WORKER.with(|w| w.get());
        // A worker driving the reactor schedules what it wakes onto itself and wakes nobody:
        // it runs these tasks next (and spreads a surplus afterwards). A task that woke itself
        // while running (a yield) goes back to the queue of the worker that ran it, which is
        // still in its loop and runs it again: its wake-up of another worker is deferred to
        // the worker's next periodic `spread` (as tokio defers a yield's wake to its
        // maintenance), so a yield costs no fence-and-notify of the idle protocol.
        let mut quiet = false;
        if p == me {
            quiet = woken_while_running || driving_here();
            if woken_while_running || !self.lifo {
                self.queues.push_local(index, r);
            } else {
                // With the LIFO slot the new task runs next on this worker; the one it
                // displaces is queued.
                let queued = LIFO.with(|l| self.queues.schedule_here(index, Some(l), r));
                if !queued {
                    return;
                }
            }
        } else {
            self.queues.push_global(r);
        }
        self.after_push(quiet);
    }

    /// Puts a task back on the global queue from outside a worker's loop (a LIFO slot left
    /// behind by a stopping worker), waking a worker for it.
    pub(super) fn requeue(&self, r: Runnable) {
        self.queues.push_global(r);
        self.after_push(false);
    }

    /// After a push: `shutdown` may have started cancelling and drained the queues between
    /// the caller's check and its push, so re-check (this fence pairs with the one in `drain`)
    /// and cancel whatever is queued ourselves, so no task is stranded in a queue nobody runs
    /// (its `Task` would never resolve, and the task would keep the runtime's memory alive).
    /// Else wake a worker.
    ///
    /// `quiet`: the push went to the queue of the worker running on this thread, inside its
    /// loop, which runs the task next; then neither the fence nor the notify is paid here. That
    /// worker settles the shutdown check when its loop ends ([`Shared::settle`], from the
    /// worker's `Drop`), and the task is run or cancelled either way.
    fn after_push(&self, quiet: bool) {
        if quiet {
            return;
        }
        if !self.settle() {
            self.notify_fenced();
        }
    }

    /// Issues a `SeqCst` fence and, if shutdown has started cancelling, cancels whatever is
    /// queued (see [`Shared::after_push`]). Returns whether it was cancelling.
    pub(super) fn settle(&self) -> bool {
        fence(Ordering::SeqCst);
        if self.cancelling.load(Ordering::SeqCst) {
            self.drain();
            return true;
        }
        false
    }

    /// Wakes one sleeping worker unless one is already searching for work.
    pub(super) fn notify(&self) {
        fence(Ordering::SeqCst);
        self.notify_fenced();
    }

    /// [`Shared::notify`] for a caller that has just issued a `SeqCst` fence after its push.
    fn notify_fenced(&self) {
        #[cfg(test)]
        self.notify_calls.fetch_add(1, Ordering::Relaxed);
        self.idle.notify_fenced();
    }

    pub(super) fn has_work(&self) -> bool {
        self.queues.has_work()
    }

    /// Drops (cancels) every queued task. Also called by `schedule` when it finds the runtime
    /// closed after pushing.
    fn drain(&self) -> usize {
        // Pairs with the fence in `schedule`: a push that missed `closed` is seen here.
        fence(Ordering::SeqCst);
        let mut n = 0;
        while let Some(r) = self.queues.pop_any() {
            drop(r);
            n += 1;
        }
        n
    }

    /// Stops the workers, waits for them (up to `timeout`), then cancels every live task.
    /// Returns whether every worker stopped in time.
    pub(super) fn shutdown(&self, threads: Vec<JoinHandle<()>>, timeout: Option<Duration>) -> bool {
        let all_stopped = self.stop_workers(threads, timeout);
        self.cancel_remaining();
        all_stopped
    }

    /// Stops the workers and waits for them to exit (up to `timeout`; a worker whose LIFO slot
    /// holds a task puts it on the global queue as it exits). Tasks stay queued and
    /// registered, so whoever stops the workers may still run them (see `run`). Returns
    /// whether every worker stopped in time.
    pub(super) fn stop_workers(
        &self,
        threads: Vec<JoinHandle<()>>,
        timeout: Option<Duration>,
    ) -> bool {
        self.closed.store(true, Ordering::SeqCst);
        self.idle.wake_all();
        let me = thread::current().id();
        let others = threads.iter().filter(|h| h.thread().id() != me).count();
        let deadline = timeout.map(|d| Instant::now() + d);
        let mut all_stopped = true;
        {
            let mut exited = lock(&self.exited);
            while *exited < others {
                match deadline {
                    None => {
                        exited = self
                            .exited_cv
                            .wait(exited)
                            .unwrap_or_else(|e| e.into_inner())
                    }
                    Some(d) => {
                        let now = Instant::now();
                        if now >= d {
                            all_stopped = false;
                            break;
                        }
                        exited = self
                            .exited_cv
                            .wait_timeout(exited, d - now)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                }
                // A worker may be parked in block_on: keep nudging until it exits.
                self.idle.wake_all();
            }
        }
        for h in threads {
            if h.thread().id() != me && h.is_finished() {
                let _ = h.join();
            }
        }
        all_stopped
    }

    /// Cancels every task still alive (the workers are stopped): from now on a scheduled task
    /// is dropped instead of queued. In debug mode the tasks are listed first.
    pub(super) fn cancel_remaining(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.cancelling.store(true, Ordering::SeqCst);
        if self.cfg.debug {
            report_alive(&self.registry);
        }
        cancel_all(&self.registry, self.cfg.debug, || self.drain());
    }
}

/// Debug mode: lists tasks still alive at shutdown (stderr, or `tracing` events).
pub(crate) fn report_alive(reg: &Registry) {
    report_alive_filtered(reg, |_| true);
}

/// [`report_alive`] for the tasks `which` selects.
pub(super) fn report_alive_filtered(reg: &Registry, which: impl Fn(&TaskInfo) -> bool) {
    let alive: Vec<TaskInfo> = reg.infos().into_iter().filter(|i| which(i)).collect();
    crate::trace::alive_at_shutdown(&alive);
}

/// Rounds of "drain the queues, wake every live task" shutdown tries before giving up.
const CANCEL_ROUNDS: usize = 64;

/// Cancels every live task of a closed executor: drops queued runnables and wakes the rest (a
/// closed executor's schedule function drops them). Tasks still alive after
/// [`CANCEL_ROUNDS`] rounds (a poll stuck on a worker that `shutdown_timeout` left behind, or a
/// local task woken from another thread) are leaked: that is said on stderr, and in debug mode
/// each of them is named.
pub(crate) fn cancel_all(reg: &Registry, debug: bool, mut drain: impl FnMut() -> usize) {
    // A task whose first `Pending` comes after this (a poll stuck while we cancel) wakes
    // itself, so the closed executor drops it (tests/shutdown_gave_up.rs).
    reg.close();
    for _ in 0..CANCEL_ROUNDS {
        drain();
        if reg.len() == 0 {
            return;
        }
        for w in reg.wakers() {
            w.wake();
        }
        drain();
        if reg.len() == 0 {
            return;
        }
        thread::yield_now();
    }
    crate::trace::leaked_at_shutdown(&reg.infos(), debug);
}
