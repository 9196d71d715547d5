//! The multi-threaded work-stealing [`Runtime`], its [`RuntimeBuilder`] and [`Handle`].

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use concurrent_queue::{ConcurrentQueue, PushError};
use weft_timer::{Clock, Timers};

use crate::context::{self, Ctx, Spawner};
use crate::local::LocalCore;
use crate::registry::Registry;
use crate::task::{run_runnable, spawn_into, Runnable, SlowPoll, Task, TaskInfo, UnhandledError};

/// The unhandled-error hook.
pub(crate) type ErrorHook = Arc<dyn Fn(UnhandledError) + Send + Sync>;
/// The slow-poll hook.
pub(crate) type SlowHook = Arc<dyn Fn(&SlowPoll) + Send + Sync>;
type ThreadHook = Arc<dyn Fn() + Send + Sync>;

/// Capacity of each worker's local run queue.
const LOCAL_QUEUE_CAP: usize = 256;
/// Tasks a worker runs per poll of its loop before returning `Pending` to `block_on`, which
/// then gets a chance to poll I/O and timers (it does so at least every
/// [`weft_reactor::IO_POLL_BUDGET`] self-wakes).
pub(crate) const WORKER_BUDGET: u32 = 16;
/// At most this many tasks in a row from the LIFO slot.
const MAX_LIFO_STREAK: u32 = 3;
/// Every this many ticks a worker looks at the global queue first (as tokio and Go do).
const GLOBAL_QUEUE_INTERVAL: u32 = 61;

/// Settings shared by every thread of an executor.
pub(crate) struct Config {
    pub(crate) debug: bool,
    pub(crate) slow_poll_threshold: Duration,
    pub(crate) on_unhandled: ErrorHook,
    pub(crate) on_slow_poll: SlowHook,
}

pub(crate) fn default_config() -> &'static Arc<Config> {
    static CFG: OnceLock<Arc<Config>> = OnceLock::new();
    CFG.get_or_init(|| {
        Arc::new(Config {
            debug: env_debug(),
            slow_poll_threshold: Duration::from_millis(100),
            on_unhandled: guard_error_hook(default_unhandled()),
            on_slow_poll: guard_slow_hook(default_slow()),
        })
    })
}

fn default_unhandled() -> ErrorHook {
    Arc::new(|e: UnhandledError| {
        let _ = writeln!(io::stderr(), "weft: {e}");
    })
}

fn default_slow() -> SlowHook {
    Arc::new(|s: &SlowPoll| {
        let _ = writeln!(io::stderr(), "weft: slow poll: {s}");
    })
}

/// Runs a user callback, containing a panic in it: hooks run inside the executor (the
/// unhandled-error hook even inside `async-task`, where an unwinding panic aborts the process),
/// so a panicking hook is reported on stderr and otherwise ignored.
pub(crate) fn call_hook(what: &str, f: impl FnOnce()) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
        let _ = writeln!(
            io::stderr(),
            "weft: the {what} hook panicked (ignored): {}",
            crate::task::panic_message(&*p)
        );
        // A payload whose destructor panics must not escape either.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(p)));
    }
}

/// `h` with its panics contained (see [`call_hook`]).
fn guard_error_hook(h: ErrorHook) -> ErrorHook {
    Arc::new(move |e: UnhandledError| call_hook("unhandled-error", || h(e)))
}

/// `h` with its panics contained (see [`call_hook`]).
fn guard_slow_hook(h: SlowHook) -> SlowHook {
    Arc::new(move |s: &SlowPoll| call_hook("slow-poll", || h(s)))
}

/// `h` with its panics contained (see [`call_hook`]).
fn guard_thread_hook(what: &'static str, h: &Option<ThreadHook>) -> Option<ThreadHook> {
    h.clone()
        .map(|h| -> ThreadHook { Arc::new(move || call_hook(what, || h())) })
}

fn env_debug() -> bool {
    matches!(
        std::env::var("WEFT_DEBUG").as_deref(),
        Ok("1") | Ok("true") | Ok("yes") | Ok("on")
    )
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Configures and builds a [`Runtime`] (or a [`crate::LocalRuntime`]).
///
/// ```
/// let rt = weft_executor::Runtime::builder()
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
/// ```
pub struct RuntimeBuilder {
    worker_threads: Option<usize>,
    thread_name: String,
    on_thread_start: Option<ThreadHook>,
    on_thread_stop: Option<ThreadHook>,
    slow_poll_threshold: Duration,
    debug: Option<bool>,
    on_unhandled: Option<ErrorHook>,
    on_slow_poll: Option<SlowHook>,
    start_paused: bool,
    abort_on_unhandled: bool,
    lifo_slot: bool,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder::new()
    }
}

impl fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("worker_threads", &self.worker_threads)
            .field("thread_name", &self.thread_name)
            .field("slow_poll_threshold", &self.slow_poll_threshold)
            .field("debug", &self.debug)
            .field("start_paused", &self.start_paused)
            .field("abort_on_unhandled_error", &self.abort_on_unhandled)
            .field("lifo_slot", &self.lifo_slot)
            .finish_non_exhaustive()
    }
}

impl RuntimeBuilder {
    /// Default settings: `WEFT_THREADS` or the available parallelism, threads named `weft-worker-N`,
    /// slow-poll threshold 100 ms, debug mode from `WEFT_DEBUG=1`, real time.
    pub fn new() -> RuntimeBuilder {
        RuntimeBuilder {
            worker_threads: None,
            thread_name: "weft-worker".into(),
            on_thread_start: None,
            on_thread_stop: None,
            slow_poll_threshold: Duration::from_millis(100),
            debug: None,
            on_unhandled: None,
            on_slow_poll: None,
            start_paused: false,
            abort_on_unhandled: false,
            lifo_slot: true,
        }
    }

    /// Number of worker threads (must be at least 1). Overrides `WEFT_THREADS`.
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n);
        self
    }

    /// Worker thread name prefix (threads are named `{name}-{index}`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Runs `f` on each worker thread when it starts (a panic in `f` is caught and reported on
    /// stderr; the worker runs on).
    pub fn on_thread_start(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on each worker thread just before it exits (a panic in `f` is caught and
    /// reported on stderr).
    pub fn on_thread_stop(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_stop = Some(Arc::new(f));
        self
    }

    /// In debug mode, a single poll longer than this is reported (default 100 ms).
    pub fn slow_poll_threshold(mut self, d: Duration) -> Self {
        self.slow_poll_threshold = d;
        self
    }

    /// Debug mode: time every poll, report slow polls, list tasks alive at shutdown. Default: on
    /// if the environment has `WEFT_DEBUG=1`.
    pub fn debug(mut self, on: bool) -> Self {
        self.debug = Some(on);
        self
    }

    /// Called once for each failure nobody observed (a detached task's panic, or an `Err` from a
    /// task detached with [`Task::detach_or_report`], or a panic while a task's future is dropped
    /// on cancellation). Default: one line on stderr. A panic in `f` is caught and reported on
    /// stderr; it never aborts the process or stops a worker.
    pub fn on_unhandled_error(
        mut self,
        f: impl Fn(UnhandledError) + Send + Sync + 'static,
    ) -> Self {
        self.on_unhandled = Some(Arc::new(f));
        self
    }

    /// Strict mode: after the unhandled-error hook has run, abort the process (like a panic in a
    /// thread with `panic = "abort"`). For programs and CI runs where a failure nobody observed
    /// must never pass silently. Default: off.
    pub fn abort_on_unhandled_error(mut self, on: bool) -> Self {
        self.abort_on_unhandled = on;
        self
    }

    /// LIFO slot (default **on**, as in tokio; chosen by the `rt_*` benchmarks): a task spawned or
    /// woken by a task running on a worker runs next on that worker (at most 3 times in a row),
    /// which helps message-passing workloads (`rt_chained_spawn` about 30 % faster,
    /// `rt_ping_pong` about 10 %). The slot cannot be stolen, so a long poll delays the task in
    /// it; turn it off if your tasks poll for long. See `docs/runtime.md`. Yields always go to
    /// the back of the queue.
    pub fn lifo_slot(mut self, on: bool) -> Self {
        self.lifo_slot = on;
        self
    }

    /// Called once per slow poll in debug mode. Default: one line on stderr. A panic in `f` is
    /// caught and reported on stderr.
    pub fn on_slow_poll(mut self, f: impl Fn(&SlowPoll) + Send + Sync + 'static) -> Self {
        self.on_slow_poll = Some(Arc::new(f));
        self
    }

    /// Start with a paused virtual clock (a fresh `weft_timer::Timers` entered on every thread
    /// of this runtime): sleeps complete instantly when all tasks are idle. Sound only with one
    /// thread driving tasks, so use it with [`RuntimeBuilder::build_local`] or one worker.
    pub fn start_paused(mut self, paused: bool) -> Self {
        self.start_paused = paused;
        self
    }

    fn config(&self) -> Arc<Config> {
        // User hooks are wrapped so that a panicking hook can neither abort the process nor
        // unwind through a worker or a `block_on`.
        let mut on_unhandled =
            guard_error_hook(self.on_unhandled.clone().unwrap_or_else(default_unhandled));
        if self.abort_on_unhandled {
            let inner = on_unhandled;
            on_unhandled = Arc::new(move |e: UnhandledError| {
                inner(e);
                let _ = writeln!(
                    io::stderr(),
                    "weft: aborting: unhandled error in strict mode (abort_on_unhandled_error)"
                );
                std::process::abort();
            });
        }
        Arc::new(Config {
            debug: self.debug.unwrap_or_else(env_debug),
            slow_poll_threshold: self.slow_poll_threshold,
            on_unhandled,
            on_slow_poll: guard_slow_hook(self.on_slow_poll.clone().unwrap_or_else(default_slow)),
        })
    }

    fn timers(&self) -> Option<Timers> {
        self.start_paused.then(|| Timers::new(Clock::paused()))
    }

    fn threads(&self) -> io::Result<usize> {
        let n = match self.worker_threads {
            Some(n) => n,
            None => match std::env::var("WEFT_THREADS") {
                Ok(s) => s.trim().parse::<usize>().map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("WEFT_THREADS must be a positive integer, got {s:?}"),
                    )
                })?,
                Err(_) => thread::available_parallelism().map_or(1, |n| n.get()),
            },
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "worker_threads must be at least 1",
            ));
        }
        Ok(n)
    }

    /// Starts the worker threads.
    pub fn build(self) -> io::Result<Runtime> {
        let n = self.threads()?;
        let cfg = self.config();
        let timers = self.timers();
        let shared = Arc::new(Shared {
            id: context::next_executor_id(),
            injector: ConcurrentQueue::unbounded(),
            locals: (0..n)
                .map(|_| ConcurrentQueue::bounded(LOCAL_QUEUE_CAP))
                .collect(),
            idle: Mutex::new(Vec::with_capacity(n)),
            num_sleeping: AtomicUsize::new(0),
            num_searching: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            lifo: self.lifo_slot,
            registry: Registry::new(n * 4, cfg.on_unhandled.clone()),
            cfg,
            exited: Mutex::new(0),
            exited_cv: Condvar::new(),
        });
        let mut threads = Vec::with_capacity(n);
        for index in 0..n {
            let sh = shared.clone();
            let timers = timers.clone();
            let start = guard_thread_hook("on_thread_start", &self.on_thread_start);
            let stop = guard_thread_hook("on_thread_stop", &self.on_thread_stop);
            let spawned = thread::Builder::new()
                .name(format!("{}-{index}", self.thread_name))
                .spawn(move || worker_main(sh, index, timers, start, stop));
            match spawned {
                Ok(h) => threads.push(h),
                Err(e) => {
                    shared.shutdown(threads, Some(Duration::from_secs(1)));
                    return Err(e);
                }
            }
        }
        Ok(Runtime {
            handle: Handle { shared },
            threads: Mutex::new(threads),
            timers,
        })
    }

    /// Builds a single-threaded [`crate::LocalRuntime`] with these settings (the thread options
    /// and `worker_threads` are ignored).
    pub fn build_local(self) -> io::Result<crate::LocalRuntime> {
        Ok(crate::LocalRuntime::from_parts(
            self.config(),
            self.timers(),
        ))
    }
}

fn worker_main(
    sh: Arc<Shared>,
    index: usize,
    timers: Option<Timers>,
    start: Option<ThreadHook>,
    stop: Option<ThreadHook>,
) {
    // Counted as exited however this thread ends, so `shutdown` never waits for a dead worker.
    let _exit = ExitGuard(&sh);
    let _t = timers.as_ref().map(|t| t.enter());
    let _c = context::enter(Ctx {
        spawner: Spawner::Multi(sh.clone()),
        local: None,
    });
    if let Some(f) = &start {
        f();
    }
    while !sh.closed.load(Ordering::Acquire) {
        // Tasks catch their own panics; this only guards against a panicking hook.
        let r = catch_unwind(AssertUnwindSafe(|| {
            weft_reactor::block_on(Worker {
                shared: sh.clone(),
                index,
                tick: 0,
                searching: false,
                in_idle: false,
                lifo_streak: 0,
                rng: (index as u32).wrapping_mul(0x9E37_79B9) | 1,
            })
        }));
        if r.is_ok() {
            break;
        }
    }
    if let Some(f) = &stop {
        f();
    }
}

/// Counts a worker thread as exited when dropped (also when it unwinds).
struct ExitGuard<'a>(&'a Shared);

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        *lock(&self.0.exited) += 1;
        self.0.exited_cv.notify_all();
    }
}

thread_local! {
    /// (runtime pointer, worker index) while this thread runs a worker loop poll.
    static WORKER: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    /// The LIFO slot of the worker running on this thread (only used with `lifo_slot(true)`).
    static LIFO: Cell<Option<Runnable>> = const { Cell::new(None) };
}

/// Whether this thread is inside a worker's scheduling loop (running a task of a multi-threaded
/// runtime).
pub(crate) fn on_worker() -> bool {
    WORKER.try_with(|w| w.get().0 != 0).unwrap_or(false)
}

/// Panics if called from a task on a worker thread: blocking there stalls the worker and
/// deadlocks if the awaited work is queued on it (its LIFO slot cannot be stolen).
#[track_caller]
pub(crate) fn assert_not_on_worker(what: &str) {
    if on_worker() {
        panic!(
            "weft: {what} called inside a task on a worker thread of a multi-threaded Runtime:              blocking there stalls the worker and deadlocks on work queued on it; `.await`              the future instead, or move blocking code to spawn_blocking"
        );
    }
}

/// State shared by a runtime's threads and its tasks' schedule functions.
pub(crate) struct Shared {
    /// Process-unique id (see [`context::next_executor_id`]).
    pub(crate) id: usize,
    injector: ConcurrentQueue<Runnable>,
    locals: Box<[ConcurrentQueue<Runnable>]>,
    /// Sleeping workers: (index, the waker of its `block_on`).
    idle: Mutex<Vec<(usize, Waker)>>,
    num_sleeping: AtomicUsize,
    num_searching: AtomicUsize,
    closed: AtomicBool,
    lifo: bool,
    pub(crate) registry: Arc<Registry>,
    pub(crate) cfg: Arc<Config>,
    exited: Mutex<usize>,
    exited_cv: Condvar,
}

impl Shared {
    pub(crate) fn spawn<F>(self: &Arc<Self>, fut: F, info: TaskInfo) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let sh = self.clone();
        spawn_into(&self.registry, fut, info, move |wrapped, meta| {
            async_task::Builder::new().metadata(meta).spawn(
                move |_| wrapped,
                async_task::WithInfo(move |r, i: async_task::ScheduleInfo| {
                    sh.schedule(r, i.woken_while_running)
                }),
            )
        })
    }

    fn schedule(self: &Arc<Self>, r: Runnable, yielded: bool) {
        if self.closed.load(Ordering::Acquire) {
            // Shut down: the task is cancelled (its future dropped here).
            drop(r);
            return;
        }
        #[cfg(test)]
        if let Some(f) = tests::BEFORE_PUSH.with(|h| h.take()) {
            f();
        }
        let me = Arc::as_ptr(self) as usize;
        let (p, index) = WORKER.with(|w| w.get());
        if p == me {
            let r = if self.lifo && !yielded {
                // The new task runs next on this worker; the one it displaces is queued.
                match LIFO.with(|l| l.replace(Some(r))) {
                    Some(old) => old,
                    None => return,
                }
            } else {
                r
            };
            if let Err(PushError::Full(r) | PushError::Closed(r)) = self.locals[index].push(r) {
                self.overflow(index, r);
            }
        } else {
            let _ = self.injector.push(r);
        }
        // `shutdown` may have set `closed` and drained the queues between the check above and
        // the push: re-check (this fence pairs with the one in `drain`) and cancel whatever is
        // queued ourselves, so no task is stranded in a queue nobody runs (its `Task` would
        // never resolve, and the task would keep the runtime's memory alive).
        fence(Ordering::SeqCst);
        if self.closed.load(Ordering::SeqCst) {
            self.drain();
            return;
        }
        self.notify_fenced();
    }

    /// A full local queue moves half of its tasks plus `r` to the global queue.
    #[cold]
    fn overflow(&self, index: usize, r: Runnable) {
        for _ in 0..LOCAL_QUEUE_CAP / 2 {
            match self.locals[index].pop() {
                Ok(x) => {
                    let _ = self.injector.push(x);
                }
                Err(_) => break,
            }
        }
        let _ = self.injector.push(r);
    }

    /// Wakes one sleeping worker unless one is already searching for work.
    fn notify(&self) {
        fence(Ordering::SeqCst);
        self.notify_fenced();
    }

    /// [`Shared::notify`] for a caller that has just issued a `SeqCst` fence after its push.
    fn notify_fenced(&self) {
        if self.num_searching.load(Ordering::SeqCst) > 0
            || self.num_sleeping.load(Ordering::SeqCst) == 0
        {
            return;
        }
        let w = {
            let mut idle = lock(&self.idle);
            if self.num_searching.load(Ordering::SeqCst) > 0 {
                return;
            }
            match idle.pop() {
                Some((_, w)) => {
                    self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
                    self.num_searching.fetch_add(1, Ordering::SeqCst);
                    w
                }
                None => return,
            }
        };
        w.wake();
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.locals.iter().any(|q| !q.is_empty())
    }

    /// Wakes every sleeping worker (shutdown). Each is counted as searching, as [`Shared::notify`]
    /// counts the worker it wakes: the woken worker leaves that state itself, so the counters
    /// stay balanced instead of `num_searching` wrapping below zero.
    fn wake_all_idle(&self) {
        let all = {
            let mut idle = lock(&self.idle);
            let all = std::mem::take(&mut *idle);
            self.num_sleeping.fetch_sub(all.len(), Ordering::SeqCst);
            self.num_searching.fetch_add(all.len(), Ordering::SeqCst);
            all
        };
        for (_, w) in all {
            w.wake();
        }
    }

    /// Drops (cancels) every queued task. Also called by `schedule` when it finds the runtime
    /// closed after pushing.
    fn drain(&self) -> usize {
        // Pairs with the fence in `schedule`: a push that missed `closed` is seen here.
        fence(Ordering::SeqCst);
        let mut n = 0;
        while let Ok(r) = self.injector.pop() {
            drop(r);
            n += 1;
        }
        for q in self.locals.iter() {
            while let Ok(r) = q.pop() {
                drop(r);
                n += 1;
            }
        }
        n
    }

    /// Stops the workers, waits for them (up to `timeout`), then cancels every live task.
    /// Returns whether every worker stopped in time.
    fn shutdown(&self, threads: Vec<JoinHandle<()>>, timeout: Option<Duration>) -> bool {
        self.closed.store(true, Ordering::SeqCst);
        self.wake_all_idle();
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
                self.wake_all_idle();
            }
        }
        for h in threads {
            if h.thread().id() != me && h.is_finished() {
                let _ = h.join();
            }
        }
        if self.cfg.debug {
            report_alive(&self.registry);
        }
        cancel_all(&self.registry, self.cfg.debug, || self.drain());
        all_stopped
    }
}

/// Debug mode: lists tasks still alive at shutdown on stderr.
pub(crate) fn report_alive(reg: &Registry) {
    let alive = reg.infos();
    if !alive.is_empty() {
        eprintln!(
            "weft: {} task(s) still alive at shutdown (they will be cancelled):",
            alive.len()
        );
        for t in alive {
            eprintln!("weft:   {t}");
        }
    }
}

/// Rounds of "drain the queues, wake every live task" shutdown tries before giving up.
const CANCEL_ROUNDS: usize = 64;

/// Cancels every live task of a closed executor: drops queued runnables and wakes the rest (a
/// closed executor's schedule function drops them). Tasks still alive after
/// [`CANCEL_ROUNDS`] rounds (a poll stuck on a worker that `shutdown_timeout` left behind, or a
/// local task woken from another thread) are leaked: that is said on stderr, and in debug mode
/// each of them is named.
pub(crate) fn cancel_all(reg: &Registry, debug: bool, mut drain: impl FnMut() -> usize) {
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
    let left = reg.infos();
    eprintln!(
        "weft: {} task(s) could not be cancelled at shutdown (still in a poll on a stuck worker, \
         or woken from another thread); they are leaked{}",
        left.len(),
        if debug {
            ":"
        } else {
            " (WEFT_DEBUG=1 names them)"
        }
    );
    if debug {
        for t in left {
            eprintln!("weft:   {t}");
        }
    }
}

/// One worker's scheduling loop, driven by `weft_reactor::block_on` so that an idle worker parks
/// in the reactor (driving I/O and timers).
struct Worker {
    shared: Arc<Shared>,
    index: usize,
    tick: u32,
    searching: bool,
    in_idle: bool,
    /// Consecutive tasks taken from the LIFO slot.
    lifo_streak: u32,
    rng: u32,
}

impl Worker {
    fn next_rand(&mut self) -> u32 {
        // xorshift32
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    fn find_task(&mut self) -> Option<Runnable> {
        if self.shared.lifo {
            if let Some(r) = LIFO.with(|l| l.take()) {
                if self.lifo_streak < MAX_LIFO_STREAK {
                    self.lifo_streak += 1;
                    return Some(r);
                }
                // Enough LIFO in a row: queue it and let the others run.
                if let Err(e) = self.shared.locals[self.index].push(r) {
                    let _ = self.shared.injector.push(e.into_inner());
                }
                self.shared.notify();
            }
            self.lifo_streak = 0;
        }
        let rand = self.next_rand() as usize;
        let sh = &*self.shared;
        let local = &sh.locals[self.index];
        self.tick = self.tick.wrapping_add(1);
        // Every GLOBAL_QUEUE_INTERVAL-th pick looks at the global queue first, and takes a batch:
        // taking a single task there lets workers whose local queues never empty (tasks looping
        // on `yield_now`) drain the global queue at one task per 61 picks.
        if self.tick % GLOBAL_QUEUE_INTERVAL == 0 {
            if let Some(r) = self.pop_global_batch() {
                return Some(r);
            }
        }
        if let Ok(r) = local.pop() {
            return Some(r);
        }
        if let Some(r) = self.pop_global_batch() {
            return Some(r);
        }
        // Steal half of another worker's queue, starting at a random victim.
        let n = sh.locals.len();
        if n > 1 {
            let start = rand % n;
            for k in 0..n {
                let v = (start + k) % n;
                if v == self.index {
                    continue;
                }
                let q = &sh.locals[v];
                let len = q.len();
                if len == 0 {
                    continue;
                }
                let Ok(first) = q.pop() else { continue };
                for _ in 1..len.div_ceil(2) {
                    match q.pop() {
                        Ok(x) => {
                            if let Err(e) = local.push(x) {
                                let _ = sh.injector.push(e.into_inner());
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
                return Some(first);
            }
        }
        None
    }

    /// Global queue: takes one task to run plus a fair share of the rest
    /// (`len / workers + 1`, at most half a local queue) into this worker's local queue.
    fn pop_global_batch(&self) -> Option<Runnable> {
        let sh = &*self.shared;
        let local = &sh.locals[self.index];
        let r = sh.injector.pop().ok()?;
        let n = (sh.injector.len() / sh.locals.len() + 1).min(LOCAL_QUEUE_CAP / 2);
        for _ in 0..n {
            match sh.injector.pop() {
                Ok(x) => {
                    if let Err(e) = local.push(x) {
                        let _ = sh.injector.push(e.into_inner());
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        Some(r)
    }

    /// Leaves the idle list (if still on it) and becomes a searching worker.
    fn leave_idle(&mut self) {
        let sh = &*self.shared;
        let mut idle = lock(&sh.idle);
        if let Some(pos) = idle.iter().position(|(i, _)| *i == self.index) {
            idle.swap_remove(pos);
            sh.num_sleeping.fetch_sub(1, Ordering::SeqCst);
            sh.num_searching.fetch_add(1, Ordering::SeqCst);
        }
        // Else `notify` took us off the list and already counted us as searching.
        drop(idle);
        self.in_idle = false;
        self.searching = true;
    }

    /// Leaves the searching state; true if this was the last searcher (then a fence orders the
    /// caller's following queue checks after the decrement, pairing with `notify`'s fence).
    fn stop_searching(&mut self) -> bool {
        if self.searching {
            self.searching = false;
            let last = self.shared.num_searching.fetch_sub(1, Ordering::SeqCst) == 1;
            if last {
                fence(Ordering::SeqCst);
            }
            last
        } else {
            false
        }
    }
}

impl Future for Worker {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.shared.closed.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        if this.in_idle {
            this.leave_idle();
        }
        let me = Arc::as_ptr(&this.shared) as usize;
        let prev = WORKER.with(|w| w.replace((me, this.index)));
        let _restore = RestoreWorker(prev);
        let mut budget = WORKER_BUDGET;
        loop {
            if this.shared.closed.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            if budget == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match this.find_task() {
                Some(r) => {
                    budget -= 1;
                    // The last searcher to find work wakes another worker if work is left.
                    if this.stop_searching() && this.shared.has_work() {
                        this.shared.notify();
                    }
                    run_runnable(r, &this.shared.cfg);
                }
                None => {
                    this.stop_searching();
                    {
                        let mut idle = lock(&this.shared.idle);
                        idle.push((this.index, cx.waker().clone()));
                        this.shared.num_sleeping.fetch_add(1, Ordering::SeqCst);
                    }
                    this.in_idle = true;
                    fence(Ordering::SeqCst);
                    if this.shared.closed.load(Ordering::SeqCst) {
                        return Poll::Ready(());
                    }
                    if this.shared.has_work() {
                        this.leave_idle();
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.in_idle {
            self.leave_idle();
        }
        self.stop_searching();
        // A task left in the LIFO slot goes to the global queue (or is dropped after shutdown,
        // which cancels it).
        if let Some(r) = LIFO.try_with(|l| l.take()).ok().flatten() {
            if self.shared.closed.load(Ordering::Acquire) {
                drop(r);
            } else {
                let _ = self.shared.injector.push(r);
                self.shared.notify();
            }
        }
    }
}

struct RestoreWorker((usize, usize));

impl Drop for RestoreWorker {
    fn drop(&mut self) {
        let _ = WORKER.try_with(|w| w.set(self.0));
    }
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

    /// Number of tasks alive on this runtime (spawned, not yet finished or cancelled).
    pub fn alive_count(&self) -> usize {
        self.shared.registry.len()
    }

    /// The tasks alive on this runtime, in id order.
    pub fn alive_tasks(&self) -> Vec<TaskInfo> {
        self.shared.registry.infos()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.locals.len())
            .field("alive_tasks", &self.shared.registry.len())
            .finish()
    }
}

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
        static GLOBAL: OnceLock<Runtime> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            Runtime::new().unwrap_or_else(|e| panic!("weft: cannot start the global runtime: {e}"))
        })
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
        weft_reactor::block_on(crate::local::drive(core, fut, false, at))
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
        self.handle.shared.locals.len()
    }

    /// Shuts down: first gives [`shield`](crate::shield)ed work on this runtime up to `timeout`
    /// to finish (naming what it abandons on stderr), then stops the workers, waiting at most the
    /// rest of `timeout` for running polls to return, then cancels every task still alive.
    /// Returns `true` if all shielded work finished and every worker stopped in time (workers
    /// stuck in a blocking poll are left running detached otherwise; the task stuck there, and
    /// tasks such a worker queues after it unblocks, may then never be cancelled).
    pub fn shutdown_timeout(self, timeout: Duration) -> bool {
        let key = crate::context::multi_key(&self.handle.shared);
        let report = crate::structured::wait_shielded_blocking(key, timeout);
        if !report.is_clean() {
            eprintln!("weft: Runtime::shutdown_timeout: {report}");
        }
        let rest = timeout.saturating_sub(report.waited());
        let threads = std::mem::take(&mut *lock(&self.threads));
        self.handle.shared.shutdown(threads, Some(rest)) && report.is_clean()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let threads = std::mem::take(&mut *lock(&self.threads));
        if !threads.is_empty() || !self.handle.shared.closed.load(Ordering::Acquire) {
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
    }

    /// Review finding: a spawn (or wake) from a foreign thread that passed the `closed` check just
    /// before shutdown drained the queues used to push its task into a queue nobody would ever
    /// run; the `Task` never resolved. Deterministic: the spawner is stopped inside the window.
    /// Issue 14, defect 8: `wake_all_idle` took the sleeping workers off the idle list without
    /// counting them as searching, so each one's exit decremented `num_searching` below zero.
    #[test]
    fn shutdown_leaves_the_idle_counters_balanced() {
        use std::sync::atomic::Ordering::SeqCst;
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let shared = rt.handle().shared.clone();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while shared.num_sleeping.load(SeqCst) < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the workers never went idle"
            );
            thread::yield_now();
        }
        drop(rt);
        assert_eq!(shared.num_searching.load(SeqCst), 0);
        assert_eq!(shared.num_sleeping.load(SeqCst), 0);
    }

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
