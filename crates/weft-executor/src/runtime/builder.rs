//! [`RuntimeBuilder`]: the settings of a [`Runtime`] or a [`crate::LocalRuntime`].

use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use weft_timer::{Clock, Timers};

use super::config::{
    default_slow, default_unhandled, env_debug, guard_error_hook, guard_slow_hook,
    guard_thread_hook, Config, ErrorHook, SlowHook, ThreadHook,
};
use super::shared::Shared;
use super::worker::worker_main;
use super::Runtime;
use crate::task::{SlowPoll, UnhandledError};

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
    /// task detached with [`Task::detach_or_report`](crate::Task::detach_or_report), or a panic while a task's future is dropped
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
        let shared = Shared::new(n, cfg, self.lifo_slot);
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
        Ok(Runtime::from_parts(shared, threads, timers))
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
