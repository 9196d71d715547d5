//! The multi-threaded work-stealing [`Runtime`], its [`RuntimeBuilder`] and [`Handle`].
//!
//! * `config`: settings and hooks shared by an executor's threads;
//! * `builder`: [`RuntimeBuilder`];
//! * `shared`: the scheduler state shared by the threads and the schedule function; shutdown;
//! * `idle`: the worker sleep/notify protocol (also run under loom, `tests/loom.rs`);
//! * `queue`: the run queues and how a worker picks its next task: LIFO slot, local queue,
//!   global batches, stealing (also run under loom);
//! * `worker`: the worker threads' scheduling loop;
//! * `run`: the end of [`crate::run`] (cancel and join leftover tasks, then shielded work);
//! * this file: [`Runtime`] and [`Handle`].

mod builder;
mod config;
mod idle;
mod queue;
mod run;
mod shared;
mod wake;
mod worker;

use std::fmt;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use weft_timer::Timers;

pub use builder::RuntimeBuilder;
pub(crate) use config::{default_config, Config, ErrorHook};
pub(crate) use run::run;
pub(crate) use shared::{cancel_all, report_alive, Shared};
pub(crate) use worker::assert_not_on_worker;

use crate::context::{self, Ctx, Spawner};
use crate::local::LocalCore;
use crate::lock::lock;
use crate::task::{Task, TaskInfo};

/// The primitives the idle protocol is written against (loom's in `tests/loom.rs`).
mod sync {
    pub(crate) use crate::lock::lock;
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
    pub(crate) use std::sync::Mutex;
}

/// A cheap, cloneable, `Send` handle to a [`Runtime`] for spawning from anywhere.
///
/// ```
/// let rt = weft_executor::Runtime::builder().worker_threads(1).build().unwrap();
/// let h = rt.handle();
/// let t = std::thread::spawn(move || h.spawn(async { 3 })).join().unwrap();
/// assert_eq!(rt.block_on(t).unwrap(), 3);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// The handle of the multi-threaded runtime this thread runs in (a worker or a
    /// `Runtime::block_on` thread), or `None` (outside a runtime, or in a `LocalRuntime`).
    pub fn try_current() -> Option<Handle> {
        context::current_multi().map(|shared| Handle { shared })
    }

    /// Spawns a task on the runtime; see [`crate::spawn`].
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared
            .spawn(fut, TaskInfo::new(None, Location::caller()))
    }

    /// Number of tasks alive on this runtime that wait (polled at least once, not finished or
    /// cancelled); in debug mode, every task spawned and not finished (see `docs/runtime.md`:
    /// outside debug mode a task registers itself when it first waits).
    pub fn alive_count(&self) -> usize {
        self.shared.registry.len()
    }

    /// The tasks alive on this runtime, in id order (counted as in [`Handle::alive_count`]).
    pub fn alive_tasks(&self) -> Vec<TaskInfo> {
        self.shared.registry.infos()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.queues.workers())
            .field("alive_tasks", &self.shared.registry.len())
            .finish()
    }
}

/// The runtime behind [`Runtime::global`].
static GLOBAL: OnceLock<Runtime> = OnceLock::new();

/// A multi-threaded work-stealing executor.
///
/// Each worker thread has a local run queue (256 slots); there is one global queue for tasks
/// spawned from outside the workers; idle workers steal half of a busy worker's queue and park in
/// the reactor (so I/O and timers keep running). See `docs/runtime.md` for the model.
///
/// Dropping the runtime shuts it down: workers stop, then every task still alive is cancelled
/// (its future is dropped) and the worker threads are joined. A [`Task`] of this runtime awaited
/// afterwards (on another runtime or thread) resolves to [`crate::JoinError::Cancelled`]; a task
/// spawned or woken through a [`Handle`] after shutdown is cancelled at once. Dropping waits for
/// a poll in progress to return, so a task blocking its worker forever blocks the drop too; use
/// [`Runtime::shutdown_timeout`] to bound that wait.
///
/// ```
/// let rt = weft_executor::Runtime::builder().worker_threads(2).build().unwrap();
/// let out = rt.block_on(async {
///     let t = weft_executor::spawn(async { 1 + 1 });
///     t.await.unwrap()
/// });
/// assert_eq!(out, 2);
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Mutex<Vec<JoinHandle<()>>>,
    timers: Option<Timers>,
}

impl Runtime {
    pub(super) fn from_parts(
        shared: Arc<Shared>,
        threads: Vec<JoinHandle<()>>,
        timers: Option<Timers>,
    ) -> Runtime {
        Runtime {
            handle: Handle { shared },
            threads: Mutex::new(threads),
            timers,
        }
    }

    /// A builder with default settings.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::new()
    }

    /// A runtime with default settings (see [`RuntimeBuilder::new`]).
    pub fn new() -> io::Result<Runtime> {
        RuntimeBuilder::new().build()
    }

    /// The process-wide runtime behind [`crate::spawn`] outside any runtime; created on first use
    /// with default settings and never shut down.
    ///
    /// # Panics
    /// If it cannot be started (invalid `WEFT_THREADS`, or no threads can be spawned).
    pub fn global() -> &'static Runtime {
        GLOBAL.get_or_init(|| {
            Runtime::new().unwrap_or_else(|e| panic!("weft: cannot start the global runtime: {e}"))
        })
    }

    /// [`Runtime::global`] if it was started (the task dump must not start it).
    pub(crate) fn global_if_started() -> Option<&'static Runtime> {
        GLOBAL.get()
    }

    /// Runs `fut` to completion on this thread, with [`crate::spawn`] going to this runtime and
    /// [`crate::spawn_local`] to a local executor driven by this thread. Local tasks still alive
    /// when `fut` completes are cancelled.
    ///
    /// # Panics
    /// Inside a task on a worker thread of a multi-threaded runtime (see [`crate::block_on`]).
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        assert_not_on_worker("Runtime::block_on");
        let at = Location::caller();
        let _t = self.timers.as_ref().map(|t| t.enter());
        let core = Rc::new(LocalCore::new(
            self.handle.shared.cfg.clone(),
            self.timers.clone(),
        ));
        let _c = context::enter(Ctx {
            spawner: Spawner::Multi(self.handle.shared.clone()),
            local: Some(core.clone()),
        });
        // Cancels the local tasks also when `fut` panics: they are kept alive only by the core's
        // registry (a reference cycle through their wakers), so skipping this leaked them.
        let _shutdown = crate::local::ShutdownOnDrop(core.clone());
        // The workers drive I/O and timers (each when it runs out of work, in its own context):
        // this thread only parks, so the tasks it waits for are woken where they run.
        weft_reactor::block_on_passive(crate::local::drive(core, fut, false, at))
    }

    /// Spawns a task on this runtime; see [`crate::spawn`].
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(fut)
    }

    /// A cloneable handle for spawning from other threads.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Number of worker threads.
    pub fn worker_threads(&self) -> usize {
        self.handle.shared.queues.workers()
    }

    /// Shuts down the way [`crate::run`] ends: stops the workers (waiting at most `timeout`
    /// for running polls to return), cancels every task that is not shielded **and joins it**
    /// on this thread (its future is dropped here, so a [`with_resource`](crate::with_resource)
    /// scope inside it hands its async cleanup to a shielded task), then runs
    /// [`shield`](crate::shield)ed work, those cleanups included, on this thread for the rest
    /// of `timeout` (naming what it abandons on stderr), then cancels whatever is left.
    ///
    /// Returns `true` if every worker stopped in time and all shielded work finished (workers
    /// stuck in a blocking poll are left running detached otherwise; the task stuck there, and
    /// tasks such a worker queues after it unblocks, may then never be cancelled).
    pub fn shutdown_timeout(self, timeout: Duration) -> bool {
        let (stopped, report) = self.end(Some(timeout), |spent| timeout.saturating_sub(spent));
        if !report.is_clean() {
            eprintln!("weft: Runtime::shutdown_timeout: {report}");
        }
        stopped && report.is_clean()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let threads = std::mem::take(&mut *lock(&self.threads));
        // Unless `shutdown_timeout` (or `run`'s ending) already shut down completely.
        if !threads.is_empty() || !self.handle.shared.cancelling.load(Ordering::Acquire) {
            self.handle.shared.shutdown(threads, None);
        }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.worker_threads())
            .field("alive_tasks", &self.handle.shared.registry.len())
            .field("paused_time", &self.timers.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    use super::Runtime;

    thread_local! {
        /// Runs once, on this thread, between `schedule`'s `closed` check and its queue push.
        pub(super) static BEFORE_PUSH: Cell<Option<Box<dyn FnOnce()>>> = const { Cell::new(None) };
        /// Runs once, on this worker thread, between the worker's `start_driving` and its
        /// taking the reactor lock to block as the driver.
        pub(super) static BEFORE_DRIVE: Cell<Option<Box<dyn FnOnce()>>> = const { Cell::new(None) };
    }

    /// A lost wake-up found by this helper (a `spawn_one` loop hung about once per 2-5 million
    /// spawns with (sleeping, searching) = (1, 1) and the task queued): a worker going to
    /// block as the reactor's driver publishes `driving` and checks `woken` *before* it takes
    /// the reactor lock. A waker that schedules work for it then writes the poller's notifier,
    /// but the thread holding the lock meanwhile (another worker's zero-timeout poll) could
    /// consume that notification; the worker then took the lock and blocked with its wake-up
    /// spent, counted as searching, so no later notify woke anyone. It now checks `woken` again
    /// under the lock. Deterministic: the hook runs in that window, makes a foreign spawn
    /// (which wakes this worker and writes the notifier), then consumes the notification with
    /// a zero-timeout poll, as the other thread would.
    #[test]
    fn a_driver_wake_consumed_before_it_blocks_is_not_lost() {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let handle = rt.handle();
        let (tx, rx) = mpsc::channel::<()>();
        let h2 = handle.clone();
        let setup = handle.spawn(async move {
            // On the worker thread: armed for the worker's next blocking drive.
            BEFORE_DRIVE.with(|h| {
                h.set(Some(Box::new(move || {
                    let h3 = h2.clone();
                    let t = thread::spawn(move || {
                        h3.spawn(async move {
                            tx.send(()).unwrap();
                        })
                        .detach();
                    });
                    t.join().unwrap();
                    // The notification goes to whoever polls next: here, this zero-timeout
                    // poll (standing for the thread that holds the lock meanwhile), or the
                    // fallback thread if it holds the lock (then it is told to yield it).
                    let deadline = std::time::Instant::now() + Duration::from_secs(20);
                    while weft_reactor::try_react(Some(Duration::ZERO)).is_none() {
                        assert!(
                            std::time::Instant::now() < deadline,
                            "the reactor lock never came free"
                        );
                        thread::yield_now();
                    }
                })))
            });
        });
        rt.block_on(setup).unwrap();
        if rx.recv_timeout(Duration::from_secs(20)).is_err() {
            // Shutting down would wait for the stuck worker (it is off the idle list).
            std::mem::forget(rt);
            panic!("watchdog: a worker blocked in the reactor with its wake-up consumed");
        }
    }

    /// Waits (watchdog: 20 s) until both workers of a 2-worker runtime sleep.
    fn wait_until_both_workers_sleep(shared: &super::shared::Shared) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while shared.idle.counts().0 < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the workers never went idle"
            );
            thread::yield_now();
        }
    }

    /// Issue 14, defect 8: `wake_all_idle` took the sleeping workers off the idle list without
    /// counting them as searching, so each one's exit decremented `num_searching` below zero.
    #[test]
    fn shutdown_leaves_the_idle_counters_balanced() {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let shared = rt.handle().shared.clone();
        wait_until_both_workers_sleep(&shared);
        drop(rt);
        assert_eq!(shared.idle.counts(), (0, 0), "(sleeping, searching)");
    }

    /// Issue 14 (spawn profile): a worker whose local queue is empty used to move a batch of
    /// global tasks into it (each moved task paid a local push and pop, ~90 instructions on
    /// `spawn_cost`), also on every 61st pick. It now takes one global task at a time, and
    /// batches only at the 61st pick when its local queue has work (tests/executor_fairness.rs).
    #[test]
    fn an_empty_local_queue_takes_global_tasks_one_at_a_time() {
        use super::queue::{Picker, RunQueues};
        let q = RunQueues::<usize>::new(2, 256);
        for t in 0..100 {
            q.push_global(t);
        }
        let mut p = Picker::new(0);
        // Past the 61st pick, so the periodic global check is crossed too.
        for want in 0..70 {
            assert_eq!(q.pick(&mut p, None, || {}), Some(want));
            assert!(
                q.local_is_empty(0),
                "pick {want} moved global tasks into the empty local queue"
            );
        }
    }

    /// Issue 14 (yield profile): every yield on a worker issued a `SeqCst` fence and ran the
    /// idle protocol's notify, which woke the other worker whenever it slept (one wake-up per
    /// yield on an idle machine, ~50 µs each on a halted vCPU). A yielded task goes back to the
    /// queue of the worker that ran it, which runs it again; its wake of another worker is
    /// deferred to the worker's periodic `spread` (every `IO_INTERVAL` tasks). Counted, not
    /// timed: the notify calls of one task yielding `N` times.
    #[test]
    fn a_yield_on_a_worker_defers_its_notify() {
        use std::sync::atomic::Ordering;
        const N: usize = 6_100;
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let shared = rt.handle().shared.clone();
        wait_until_both_workers_sleep(&shared);
        let before = shared.notify_calls.load(Ordering::SeqCst);
        let (tx, rx) = mpsc::channel();
        let task = rt.handle().spawn(async move {
            for _ in 0..N {
                crate::yield_now().await;
            }
            tx.send(()).unwrap();
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("watchdog: the yielding task did not finish (lost wake-up?)");
        let calls = shared.notify_calls.load(Ordering::SeqCst) - before;
        drop(task);
        // Before: at least one per yield (6,101). After: the spawn, one `spread` per 61 tasks
        // run, and what the searchers those woke add.
        assert!(
            calls < N / 4,
            "{calls} notify calls for {N} yields: a yield should not notify"
        );
    }

    /// tcp_echo c=100 (issue 13, driver notes round 6): the busy worker's periodic reactor
    /// poll counted the tasks run since the worker's *last* reactor poll, and a worker out of
    /// work polls too. With batches shorter than `IO_INTERVAL` (~50 tasks per worker there) it
    /// never came: each worker harvested I/O only once it had run dry, both ran dry together,
    /// one slept on a futex and was woken ~50 µs later (2x tokio's context switches). The
    /// interval now counts every task run, as tokio's `event_interval` ticks. Counted: rounds
    /// of 30 tasks, each round ending with the worker out of work.
    #[test]
    fn the_periodic_reactor_poll_counts_every_task_run() {
        use std::sync::atomic::Ordering;
        const ROUNDS: usize = 20;
        const TASKS: usize = 30;
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let shared = rt.handle().shared.clone();
        let before = shared.interval_polls.load(Ordering::SeqCst);
        let spawner = rt.handle();
        rt.block_on(async move {
            for _ in 0..ROUNDS {
                let tasks: Vec<_> = (0..TASKS).map(|_| spawner.spawn(async {})).collect();
                for t in tasks {
                    t.await.unwrap();
                }
            }
        });
        let polls = shared.interval_polls.load(Ordering::SeqCst) - before;
        let want = ROUNDS * TASKS / super::worker::IO_INTERVAL as usize;
        assert!(
            polls >= want,
            "{polls} periodic reactor polls for {} tasks run (want at least {want})",
            ROUNDS * TASKS
        );
    }

    /// The deferred notify of a yield skips `after_push`'s shutdown check too: a yield that
    /// passed the `cancelling` check just before shutdown drained the queues lands in its
    /// worker's queue after the drain. The worker's exit (`Worker::drop` -> `settle`) must
    /// cancel it, or its `Task` never resolves. Deterministic: the yielding task's schedule is
    /// stopped inside the window (on the worker thread) until shutdown has finished.
    #[test]
    fn a_yield_racing_shutdown_is_cancelled_when_its_worker_exits() {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let (at_tx, at_rx) = mpsc::channel::<()>();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let task = rt.handle().spawn(async move {
            // Runs on the worker thread: the schedule after this poll stops in the window.
            BEFORE_PUSH.with(|h| {
                h.set(Some(Box::new(move || {
                    at_tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                })))
            });
            crate::yield_now().await;
            crate::yield_now().await;
        });
        at_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the yield reached schedule()");
        // The worker is stuck in the window: shutdown gives up waiting and cancels.
        let ended = thread::spawn(move || rt.shutdown_timeout(Duration::from_millis(1)));
        let stopped = ended.join().unwrap();
        assert!(!stopped, "the worker was stuck in the window");
        go_tx.send(()).unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = done_tx.send(weft_reactor::block_on(task));
        });
        let r = done_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("watchdog: a yield queued after shutdown's drain was stranded");
        assert!(r.unwrap_err().is_cancelled());
    }

    /// Review finding: a spawn (or wake) from a foreign thread that passed the `closed` check just
    /// before shutdown drained the queues used to push its task into a queue nobody would ever
    /// run; the `Task` never resolved. Deterministic: the spawner is stopped inside the window.
    #[test]
    fn spawn_racing_shutdown_never_strands_its_task() {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let handle = rt.handle();
        let (at_tx, at_rx) = mpsc::channel::<()>();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let spawner = thread::spawn(move || {
            BEFORE_PUSH.with(|h| {
                h.set(Some(Box::new(move || {
                    at_tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                })))
            });
            let task = handle.spawn(async { 1 });
            (task.is_finished(), task)
        });
        at_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the spawner reached schedule()");
        // Shut down completely while the spawner sits between its check and its push.
        drop(rt);
        go_tx.send(()).unwrap();
        let (finished, task) = spawner.join().unwrap();
        assert!(
            finished,
            "a task scheduled during shutdown was stranded in a queue"
        );
        assert!(weft_reactor::block_on(task).unwrap_err().is_cancelled());
    }
}
