//! The elastic thread pool: [`BlockingPool`], its builder, metrics and shutdown report.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_task::{FallibleTask, Runnable};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::error::PoolError;

mod counters;
use counters::Counters;

/// What `counters.rs` is written against (loom's types under `tests/loom.rs`).
mod sync {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
}

/// Default thread limit of the global pool (override with `WEFT_MAX_BLOCKING_THREADS`).
pub const DEFAULT_MAX_THREADS: usize = 512;
/// Upper bound accepted for any thread limit (Go's limit, also used by smol's `blocking`).
pub const MAX_THREADS_CAP: usize = 10_000;
/// Default idle timeout: an idle pool thread exits after this long without work.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

type Payload = Box<dyn Any + Send + 'static>;

/// Starts a pool thread: given the configured `std::thread::Builder` and the thread's main
/// function, spawn it (or fail). See [`BlockingPoolBuilder::spawner`].
type Spawner =
    Arc<dyn Fn(std::thread::Builder, Box<dyn FnOnce() + Send>) -> io::Result<()> + Send + Sync>;

/// How a job ended without producing its value.
enum Failure {
    /// The job panicked: the payload is re-raised where the result is awaited.
    Panic(Payload),
    /// The pool never ran the job.
    Refused(PoolError),
}

thread_local! {
    /// Set while this thread "runs" refused jobs: their futures return the refusal instead of
    /// calling the closure (so the awaiter learns *why*, instead of a bare cancellation).
    static REFUSING: RefCell<Option<PoolError>> = const { RefCell::new(None) };
}

/// Completes `runnable` with `why` on this thread: its closure is dropped without running.
fn refuse(runnable: Runnable, why: &PoolError) {
    REFUSING.with(|r| *r.borrow_mut() = Some(why.clone()));
    runnable.run();
    REFUSING.with(|r| *r.borrow_mut() = None);
}

fn refusal() -> Option<PoolError> {
    REFUSING.with(|r| r.borrow().clone())
}

/// Parses `WEFT_MAX_BLOCKING_THREADS`: missing or invalid means the default; the builder clamps.
fn max_threads_from_env(value: Option<&str>) -> usize {
    value
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(DEFAULT_MAX_THREADS)
}

enum Msg {
    Run(Runnable),
    /// Wakes one idle thread so it re-checks shutdown and the thread limit.
    Wake,
}

struct Inner {
    name: String,
    /// Threads, idle threads, `Wake` messages, the limit and the shutdown flag.
    c: Counters,
    idle_timeout: Duration,
    stack_size: Option<usize>,
    spawner: Option<Spawner>,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    /// Jobs taken off the queue and not yet finished.
    running: AtomicUsize,
    /// Jobs sent to the queue and not yet finished or cancelled.
    pending: AtomicUsize,
    /// Threads blocked in `drain`/`shutdown` (workers notify `done_cv` when non-zero).
    waiters: AtomicUsize,
    next_thread_id: AtomicU64,
    threads_started: AtomicU64,
    completed: AtomicU64,
    panicked: AtomicU64,
    done_lock: Mutex<()>,
    done_cv: Condvar,
}

/// An elastic pool of threads for blocking work and CPU-bound jobs.
///
/// Threads start on demand (a job is queued and no thread is idle) up to
/// [`max_threads`](BlockingPoolBuilder::max_threads), never beyond it; a thread that stays idle
/// for the [`idle_timeout`](BlockingPoolBuilder::idle_timeout) exits, and so does a thread that
/// finds the pool above its limit after [`set_max_threads`](Self::set_max_threads) lowered it. The
/// job queue is a lock-free MPMC channel (`crossbeam-channel`), so submitting from many threads
/// does not serialize on one mutex.
///
/// `BlockingPool` is a cheap handle (`Clone` is an `Arc` clone). Dropping every handle does not
/// stop jobs already submitted; idle threads still exit after the idle timeout. Use
/// [`shutdown`](Self::shutdown) to stop a pool.
///
/// The global pool ([`BlockingPool::global`], used by [`crate::unblock`]) is for blocking I/O and
/// short blocking calls; a dedicated pool sized to the cores suits CPU-bound work.
///
/// ```
/// use weft_blocking::BlockingPool;
///
/// let cpu = BlockingPool::builder()
///     .max_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
///     .name("cpu")
///     .build();
/// let sum = futures_lite::future::block_on(cpu.run(|| (1..=100u64).sum::<u64>()));
/// assert_eq!(sum, 5050);
/// ```
#[derive(Clone)]
pub struct BlockingPool {
    inner: Arc<Inner>,
}

/// Builder for a dedicated [`BlockingPool`]; see [`BlockingPool::builder`].
#[derive(Clone)]
pub struct BlockingPoolBuilder {
    max_threads: usize,
    name: String,
    idle_timeout: Duration,
    stack_size: Option<usize>,
    spawner: Option<Spawner>,
}

impl fmt::Debug for BlockingPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPoolBuilder")
            .field("max_threads", &self.max_threads)
            .field("name", &self.name)
            .field("idle_timeout", &self.idle_timeout)
            .field("stack_size", &self.stack_size)
            .field("spawner", &self.spawner.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl Default for BlockingPoolBuilder {
    fn default() -> Self {
        BlockingPoolBuilder {
            max_threads: DEFAULT_MAX_THREADS,
            name: "weft-blocking".to_string(),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            stack_size: None,
            spawner: None,
        }
    }
}

impl BlockingPoolBuilder {
    /// Maximum number of threads (default 512). Values are clamped to `1..=10_000`.
    pub fn max_threads(mut self, n: usize) -> Self {
        self.max_threads = n.clamp(1, MAX_THREADS_CAP);
        self
    }

    /// Thread name prefix (default `"weft-blocking"`); threads are named `"{name}-{n}"`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// How long an idle thread waits for a job before it exits (default 10 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Stack size in bytes for the pool's threads (default: the std default).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Starts the pool's threads with `spawn(builder, main)` instead of `builder.spawn(main)`:
    /// `builder` carries the thread name and stack size, and `spawn` must either start a thread
    /// running `main` and return `Ok`, or return the error (a hook to pin threads, count them, or
    /// simulate the OS refusing to start one).
    ///
    /// If no thread can be started while the pool has none, queued jobs fail with
    /// [`PoolError::NoThread`] instead of waiting forever.
    ///
    /// ```
    /// use weft_blocking::{BlockingPool, PoolError};
    ///
    /// let pool = BlockingPool::builder()
    ///     .spawner(|_builder, _main| Err(std::io::Error::from(std::io::ErrorKind::WouldBlock)))
    ///     .build();
    /// let res = futures_lite::future::block_on(pool.run(|| 1).checked());
    /// assert!(matches!(res, Err(PoolError::NoThread(_))));
    /// ```
    pub fn spawner<F>(mut self, spawn: F) -> Self
    where
        F: Fn(std::thread::Builder, Box<dyn FnOnce() + Send>) -> io::Result<()>
            + Send
            + Sync
            + 'static,
    {
        self.spawner = Some(Arc::new(spawn));
        self
    }

    /// Builds the pool. No thread starts until the first job arrives.
    pub fn build(self) -> BlockingPool {
        let (tx, rx) = crossbeam_channel::unbounded();
        BlockingPool {
            inner: Arc::new(Inner {
                name: self.name,
                c: Counters::new(self.max_threads),
                idle_timeout: self.idle_timeout,
                stack_size: self.stack_size,
                spawner: self.spawner,
                tx,
                rx,
                running: AtomicUsize::new(0),
                pending: AtomicUsize::new(0),
                waiters: AtomicUsize::new(0),
                next_thread_id: AtomicU64::new(1),
                threads_started: AtomicU64::new(0),
                completed: AtomicU64::new(0),
                panicked: AtomicU64::new(0),
                done_lock: Mutex::new(()),
                done_cv: Condvar::new(),
            }),
        }
    }
}

/// A snapshot of a pool's counters, from [`BlockingPool::metrics`].
///
/// The values are read one by one without a lock, so under load they may be mutually
/// inconsistent by a job or two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolMetrics {
    /// Live threads (busy, idle or starting).
    pub threads: usize,
    /// Threads waiting for work (a thread that is starting counts as idle).
    pub idle_threads: usize,
    /// Jobs submitted and not yet picked up by a thread.
    pub queued_jobs: usize,
    /// Jobs currently running.
    pub running_jobs: usize,
    /// The current thread limit.
    pub max_threads: usize,
    /// Threads started since the pool was built.
    pub threads_started: u64,
    /// Jobs that ran to completion (panicked ones included).
    pub completed_jobs: u64,
    /// Jobs that panicked.
    pub panicked_jobs: u64,
}

/// What [`BlockingPool::shutdown`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Queued jobs that had not started and were cancelled (they never run).
    pub cancelled: usize,
    /// Jobs still running when the timeout expired. They keep running on their threads, which
    /// exit when the job returns; nothing waits for them any more.
    pub abandoned: usize,
    /// How long `shutdown` waited.
    pub waited: Duration,
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "blocking pool shut down after {:?}: {} queued job(s) cancelled, {} running job(s) abandoned",
            self.waited, self.cancelled, self.abandoned
        )
    }
}

impl BlockingPool {
    /// Starts building a dedicated pool.
    pub fn builder() -> BlockingPoolBuilder {
        BlockingPoolBuilder::default()
    }

    /// The process-wide pool used by [`crate::unblock`], [`crate::Unblock`] and [`crate::fs`].
    ///
    /// Its thread limit is read once from `WEFT_MAX_BLOCKING_THREADS` (an integer, clamped to
    /// `1..=10_000`; missing or invalid means 512); it can be changed later with
    /// [`set_max_threads`](Self::set_max_threads). Idle threads exit after 10 s.
    pub fn global() -> &'static BlockingPool {
        static GLOBAL: OnceLock<BlockingPool> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let env = std::env::var("WEFT_MAX_BLOCKING_THREADS").ok();
            BlockingPool::builder()
                .max_threads(max_threads_from_env(env.as_deref()))
                .build()
        })
    }

    /// Runs `f` on this pool; the returned future resolves to its result.
    ///
    /// See [`Unblocked`] for cancellation and panic behaviour.
    pub fn run<T, F>(&self, f: F) -> Unblocked<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let inner = self.inner.clone();
        // A paused clock must not auto-advance past work the timers cannot see: the guard
        // lives as long as the job (run, refused or dropped unrun).
        let inhibit = weft_timer::inhibit_auto_advance();
        let job = async move {
            let _inhibit = inhibit;
            if let Some(why) = refusal() {
                return Err(Failure::Refused(why));
            }
            catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
                inner.panicked.fetch_add(1, SeqCst);
                Failure::Panic(p)
            })
        };
        let sched = self.inner.clone();
        let (runnable, task) = async_task::spawn(job, move |r| sched.schedule(r));
        runnable.schedule();
        Unblocked {
            task: Some(task.fallible()),
            // The job's guard goes when the job returns, just before its result is published;
            // an awaiting `block_on` that looked in between would see the clock free to jump
            // while the result is not yet there. This second guard lasts until the result is
            // taken (or the future is dropped).
            inhibit: Some(weft_timer::inhibit_auto_advance()),
        }
    }

    /// Same as [`run`](Self::run) (the name `unblock` reads better in some code).
    pub fn unblock<T, F>(&self, f: F) -> Unblocked<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.run(f)
    }

    /// A snapshot of the pool's counters.
    pub fn metrics(&self) -> PoolMetrics {
        let i = &self.inner;
        PoolMetrics {
            threads: i.c.threads.load(SeqCst),
            idle_threads: i.c.idle.load(SeqCst),
            queued_jobs: i.c.queued(i.rx.len()),
            running_jobs: i.running.load(SeqCst),
            max_threads: i.c.max_threads.load(SeqCst),
            threads_started: i.threads_started.load(SeqCst),
            completed_jobs: i.completed.load(SeqCst),
            panicked_jobs: i.panicked.load(SeqCst),
        }
    }

    /// The thread name prefix.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Changes the thread limit (clamped to `1..=10_000`). When it is lowered, threads above the
    /// limit exit as soon as they finish their current job (idle ones are woken to exit now).
    pub fn set_max_threads(&self, n: usize) {
        let n = n.clamp(1, MAX_THREADS_CAP);
        for _ in 0..self.inner.c.set_max_threads(n) {
            self.inner.send_wake();
        }
        self.inner.grow();
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.c.shutdown.load(SeqCst)
    }

    /// Waits up to `timeout` until no job is queued or running, without closing the pool (new
    /// jobs are still accepted and run). Reports as `abandoned` the jobs still queued or running
    /// at the deadline; `cancelled` is always 0.
    ///
    /// This is the call for a runtime that shares the process-wide [`global`](Self::global) pool
    /// with other runtimes (or with a later `weft::run`): tasks it cancelled already cancelled
    /// their queued jobs by dropping them, and permanently shutting down the global pool would
    /// break every later `unblock`. Blocks the calling thread for up to `timeout`.
    pub fn drain(&self, timeout: Duration) -> ShutdownReport {
        let start = Instant::now();
        let inner = &self.inner;
        let abandoned = inner.wait_for(start.checked_add(timeout), || inner.pending.load(SeqCst));
        ShutdownReport {
            cancelled: 0,
            abandoned,
            waited: start.elapsed(),
        }
    }

    /// Shuts the pool down: cancels queued jobs that have not started (they never run; awaiting
    /// them panics with a message saying the pool was shut down, which an executor reports as a
    /// panicked task; [`Unblocked::checked`] returns [`PoolError::Shutdown`]), then waits up to `timeout` for running jobs, and reports what it
    /// abandoned. Jobs submitted after shutdown are cancelled the same way. Idle threads exit.
    ///
    /// This blocks the calling thread for up to `timeout`. Calling it again waits again for jobs
    /// still running.
    pub fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        let start = Instant::now();
        let inner = &self.inner;
        inner.c.shutdown.store(true, SeqCst);
        fence(SeqCst);
        let cancelled = inner.drain(&PoolError::Shutdown);
        let threads = inner.c.threads.load(SeqCst);
        for _ in 0..threads {
            inner.send_wake();
        }
        let abandoned = inner.wait_for(start.checked_add(timeout), || inner.running.load(SeqCst));
        ShutdownReport {
            cancelled,
            abandoned,
            waited: start.elapsed(),
        }
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPool")
            .field("name", &self.inner.name)
            .field("idle_timeout", &self.inner.idle_timeout)
            .field("shutdown", &self.is_shutdown())
            .field("metrics", &self.metrics())
            .finish()
    }
}

impl Inner {
    fn schedule(self: &Arc<Self>, runnable: Runnable) {
        if self.c.shutdown.load(SeqCst) {
            // The job never runs; its awaiter learns that the pool was shut down.
            refuse(runnable, &PoolError::Shutdown);
            return;
        }
        self.pending.fetch_add(1, SeqCst);
        // The receiver lives in `self`, so the channel is never disconnected.
        let _ = self.tx.send(Msg::Run(runnable));
        fence(SeqCst);
        if self.c.shutdown.load(SeqCst) {
            // `shutdown` may have drained before our send: drain again.
            self.drain(&PoolError::Shutdown);
            return;
        }
        self.grow();
    }

    fn send_wake(&self) {
        self.c.wake_sent();
        let _ = self.tx.send(Msg::Wake);
    }

    /// A job left the pool (finished or cancelled): wake `drain`/`shutdown` waiters.
    fn job_done(&self) {
        self.pending.fetch_sub(1, SeqCst);
        fence(SeqCst);
        if self.waiters.load(SeqCst) > 0 {
            let _g = self.done_lock.lock().unwrap_or_else(|e| e.into_inner());
            self.done_cv.notify_all();
        }
    }

    /// Blocks until `count()` is 0 or the deadline passes; returns the last non-zero count.
    fn wait_for(&self, deadline: Option<Instant>, count: impl Fn() -> usize) -> usize {
        self.waiters.fetch_add(1, SeqCst);
        fence(SeqCst);
        let mut guard = self.done_lock.lock().unwrap_or_else(|e| e.into_inner());
        let left = loop {
            let n = count();
            if n == 0 {
                break 0;
            }
            let now = Instant::now();
            let remaining = match deadline {
                Some(d) if d > now => d - now,
                Some(_) => break n,
                None => Duration::from_secs(3600),
            };
            guard = match self.done_cv.wait_timeout(guard, remaining) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        };
        drop(guard);
        self.waiters.fetch_sub(1, SeqCst);
        left
    }

    /// Fails every queued job with `why` (they never run); returns how many there were.
    fn drain(&self, why: &PoolError) -> usize {
        let mut n = 0;
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Msg::Run(r) => {
                    refuse(r, why);
                    n += 1;
                    self.job_done();
                }
                Msg::Wake => self.c.wake_taken(),
            }
        }
        n
    }

    /// Starts threads while more jobs are queued than threads are idle (up to the limit).
    fn grow(self: &Arc<Self>) {
        while self.c.reserve_for_queue(|| self.rx.len()) {
            let id = self.next_thread_id.fetch_add(1, SeqCst);
            let mut b = std::thread::Builder::new().name(format!("{}-{}", self.name, id));
            if let Some(s) = self.stack_size {
                b = b.stack_size(s);
            }
            let me = self.clone();
            let spawned = match &self.spawner {
                Some(spawn) => spawn(b, Box::new(move || me.worker())),
                None => b.spawn(move || me.worker()).map(drop),
            };
            if let Err(e) = spawned {
                // Out of threads: give the slot back. Running threads keep draining the queue;
                // with none left, nothing ever would: fail the queued jobs instead of stranding
                // them.
                if self.c.start_failed() {
                    self.drain(&PoolError::NoThread(Arc::new(e)));
                }
                return;
            }
            self.threads_started.fetch_add(1, SeqCst);
        }
    }

    fn worker(self: Arc<Self>) {
        // A new thread was counted idle by `grow`.
        loop {
            let msg = self.rx.recv_timeout(self.idle_timeout);
            self.c.left_idle();
            match msg {
                Ok(Msg::Run(runnable)) => {
                    self.running.fetch_add(1, SeqCst);
                    fence(SeqCst);
                    if self.c.shutdown.load(SeqCst) {
                        refuse(runnable, &PoolError::Shutdown);
                    } else {
                        // Others may be waiting behind us while nobody is idle.
                        self.grow();
                        runnable.run();
                        self.completed.fetch_add(1, SeqCst);
                    }
                    self.running.fetch_sub(1, SeqCst);
                    self.job_done();
                    if self.c.retire_if_over_limit() {
                        return;
                    }
                }
                Ok(Msg::Wake) => {
                    self.c.wake_taken();
                    if self.c.retire_if_over_limit() {
                        return;
                    }
                }
                // A job may have been queued by someone who still saw us idle.
                Err(RecvTimeoutError::Timeout) if self.c.timed_out(|| self.rx.len()) => {}
                Err(RecvTimeoutError::Timeout) => return,
                Err(RecvTimeoutError::Disconnected) => {
                    self.c.threads.fetch_sub(1, SeqCst);
                    return;
                }
            }
            self.c.back_to_idle();
        }
    }
}

/// The future returned by [`unblock`](crate::unblock) and [`BlockingPool::run`]: resolves to the
/// job's return value.
///
/// - **Cancellation:** dropping it before the job has started means the job never runs. Once the
///   job has started it cannot be interrupted: it runs to the end on its pool thread and its
///   result is dropped. [`detach`](Self::detach) lets it run without awaiting it.
/// - **Panics:** a panic in the job is caught on the pool thread (the thread survives and serves
///   other jobs) and re-raised with [`std::panic::resume_unwind`] when this future is polled, so
///   an executor's `catch_unwind` around the task (weft's `spawn_blocking`) turns it into
///   `JoinError::Panicked` with the original payload.
/// - **Shutdown, no threads:** if the pool is shut down before the job starts, or has no thread
///   and cannot start one, the job never runs and polling this future panics with the
///   [`PoolError`] message ("the blocking pool was shut down before this job started", "... could
///   not start one"). Use [`checked`](Self::checked) to get the [`PoolError`] as a value.
/// - **Cancel-safety:** cancel-safe in the sense above: dropping it never leaves the job half
///   done *by the drop*, but a started job still completes.
#[must_use = "dropping an Unblocked cancels the job if it has not started"]
pub struct Unblocked<T> {
    task: Option<FallibleTask<Result<T, Failure>>>,
    /// Keeps a paused clock from auto-advancing until the result is taken.
    inhibit: Option<weft_timer::AutoAdvanceGuard>,
}

impl<T> Unblocked<T> {
    /// Lets the job run to completion without awaiting it (its result is dropped).
    pub fn detach(mut self) {
        self.inhibit = None;
        if let Some(t) = self.task.take() {
            t.detach();
        }
    }

    /// Whether the job has finished (or was cancelled by a pool shutdown).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Cancels the job and waits for it: `None` if it had not finished (if it was running, this
    /// waits until it returns), `Some(result)` if it had already completed.
    ///
    /// **Cancel-safe:** dropping this future still cancels the job (it is dropped with it).
    pub async fn cancel(mut self) -> Option<T> {
        let task = self.task.take()?;
        match task.cancel().await? {
            Ok(v) => Some(v),
            Err(Failure::Panic(p)) => resume_unwind(p),
            Err(Failure::Refused(_)) => None,
        }
    }

    /// Waits for the job like `.await`, but returns a [`PoolError`] instead of panicking when
    /// the pool never ran it (shut down, or no thread could be started). A panic in the job is
    /// still re-raised. Cancel-safe like awaiting the `Unblocked`.
    pub async fn checked(mut self) -> Result<T, PoolError> {
        futures_lite::future::poll_fn(|cx| self.poll_checked(cx)).await
    }

    /// Poll form of [`checked`](Self::checked).
    pub fn poll_checked(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, PoolError>> {
        let task = self
            .task
            .as_mut()
            .expect("`Unblocked` polled after completion");
        let out = std::task::ready!(Pin::new(task).poll(cx));
        self.task = None;
        self.inhibit = None;
        Poll::Ready(match out {
            Some(Ok(v)) => Ok(v),
            Some(Err(Failure::Panic(payload))) => resume_unwind(payload),
            Some(Err(Failure::Refused(why))) => Err(why),
            // Only our own paths drop a runnable, and they refuse it instead; a bare
            // cancellation can only come from a shutdown racing a drop.
            None => Err(PoolError::Shutdown),
        })
    }
}

impl<T> Future for Unblocked<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match std::task::ready!(self.poll_checked(cx)) {
            Ok(v) => Poll::Ready(v),
            Err(why) => panic!("{why}"),
        }
    }
}

impl<T> fmt::Debug for Unblocked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unblocked")
            .field("finished", &self.is_finished())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_limit_parsing_and_clamping() {
        assert_eq!(max_threads_from_env(None), 512);
        assert_eq!(max_threads_from_env(Some(" 16 ")), 16);
        assert_eq!(max_threads_from_env(Some("lots")), 512);
        let clamp = |v| {
            BlockingPool::builder()
                .max_threads(max_threads_from_env(Some(v)))
                .build()
                .metrics()
                .max_threads
        };
        assert_eq!(clamp("0"), 1);
        assert_eq!(clamp("99999999"), MAX_THREADS_CAP);
    }
}
