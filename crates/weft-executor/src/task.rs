//! Tasks: [`Task`], [`JoinError`], [`Id`], [`TaskInfo`], [`Builder`], [`current`], [`yield_now`]
//! and the unhandled-error types.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::context;
use crate::registry::{EntryKey, Registry};

/// The async-task handle inside a [`Task`] (it resolves to `None` once the task is cancelled).
pub(crate) type FallibleTask<T> = async_task::FallibleTask<Outcome<T>, Meta>;
/// Former name of [`FallibleTask`] (it is async-task's fallible handle, not a raw task).
#[allow(dead_code)]
pub(crate) type RawTask<T> = FallibleTask<T>;
/// A scheduled task, ready to be polled once.
pub(crate) type Runnable = async_task::Runnable<Meta>;

/// What a task's allocation carries besides its future: its info and the abort flag that
/// [`AbortHandle::abort`] sets (checked before every poll).
pub(crate) struct Meta {
    pub(crate) info: TaskInfo,
    aborted: AtomicBool,
}

impl Meta {
    pub(crate) fn new(info: TaskInfo) -> Meta {
        Meta {
            info,
            aborted: AtomicBool::new(false),
        }
    }
}

/// A pointer to a task's [`Meta`], inside its allocation. Valid while the holder also holds a
/// reference to the task (a `FallibleTask` or a `Waker` of it): async-task frees the allocation,
/// which never moves, only when the last reference is gone.
#[derive(Clone, Copy)]
pub(crate) struct MetaRef(NonNull<Meta>);

// SAFETY: `Meta` is `Send + Sync` (an `AtomicBool` and a `TaskInfo`), and a `MetaRef` is only
// dereferenced to a shared reference while a task reference keeps it alive (see `MetaRef`).
unsafe impl Send for MetaRef {}
// SAFETY: as above.
unsafe impl Sync for MetaRef {}

impl MetaRef {
    /// # Safety
    /// The caller must hold a reference to the task (see [`MetaRef`]) for as long as it uses
    /// the returned reference.
    pub(crate) unsafe fn get<'a>(self) -> &'a Meta {
        // SAFETY: guaranteed by the caller.
        unsafe { self.0.as_ref() }
    }
}

/// Allocates and schedules a task for `fut`: registers it in `registry` in debug mode (else the
/// task registers itself when it first waits, see [`Wrapped`]), lets `alloc` create the async-task task (`spawn` or `spawn_local`, with the executor's
/// schedule function), and returns its handle. The one spawn path of every executor.
#[inline]
pub(crate) fn spawn_into<F: Future>(
    registry: &Arc<crate::registry::Registry>,
    fut: F,
    info: TaskInfo,
    alloc: impl FnOnce(Wrapped<F>, Meta) -> (Runnable, async_task::Task<Outcome<F::Output>, Meta>),
) -> Task<F::Output> {
    let (runnable, task) = if registry.eager() {
        registry.insert_with(|key| {
            let wrapped = Wrapped::new(fut, registry.clone(), Some(key));
            let (runnable, task) = alloc(wrapped, Meta::new(info));
            let meta = MetaRef(NonNull::from(task.metadata()));
            (runnable.waker(), meta, (runnable, task))
        })
    } else {
        alloc(Wrapped::new(fut, registry.clone(), None), Meta::new(info))
    };
    let meta = MetaRef(NonNull::from(task.metadata()));
    let task = Task {
        inner: task.fallible(),
        meta,
        waker: runnable.waker(),
    };
    runnable.schedule();
    task
}

/// A task's unique id: process-wide, never reused, assigned in spawn order.
///
/// ```
/// let rt = weft_executor::LocalRuntime::new().unwrap();
/// let a = rt.spawn_local(async {});
/// let b = rt.spawn_local(async {});
/// assert!(a.id() < b.id());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(u64);

impl Id {
    pub(crate) fn next() -> Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Id(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number (starts at 1).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

/// What is known about a task: its [`Id`], optional name and spawn location.
///
/// Cheap to clone (the name is shared). Obtained from [`current`] inside a task, from
/// [`Task::info`], and from hooks ([`UnhandledError::task`], [`SlowPoll::task`]).
#[derive(Clone)]
pub struct TaskInfo {
    id: Id,
    /// A thin pointer (`Arc<String>`, not `Arc<str>`): a `TaskInfo` is kept in every task and in
    /// every registry entry, so its size is per-task memory.
    name: Option<Arc<String>>,
    location: &'static Location<'static>,
}

impl TaskInfo {
    pub(crate) fn new(name: Option<Arc<String>>, location: &'static Location<'static>) -> TaskInfo {
        TaskInfo {
            id: Id::next(),
            name,
            location,
        }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The task's name, if it was given one with [`Builder::name`].
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().map(String::as_str)
    }

    /// Where the task was spawned (the caller of `spawn`, via `#[track_caller]`).
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }
}

impl fmt::Debug for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskInfo")
            .field("id", &self.id.0)
            .field("name", &self.name)
            .field("location", &format_args!("{}", self.location))
            .finish()
    }
}

impl fmt::Display for TaskInfo {
    /// `task 7 "name" (spawned at src/main.rs:10:5)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(n) = &self.name {
            write!(f, " {n:?}")?;
        }
        write!(f, " (spawned at {})", self.location)
    }
}

thread_local! {
    /// The info of the task being polled on this thread (`None` outside a poll).
    ///
    /// A clone, not a pointer into the task: `Runnable::run` may free the task (it drops its
    /// reference, then wakes the awaiter, whose waker can drop the last `Task` handle) before it
    /// returns, and a waker or destructor running at that point may call [`try_current`].
    /// Cloning costs no atomic operation for an unnamed task.
    static CURRENT: Cell<Option<TaskInfo>> = const { Cell::new(None) };
}

/// Restores the previous [`current`] task when dropped (also if a destructor panics).
struct CurrentGuard(Option<TaskInfo>);

impl CurrentGuard {
    #[inline]
    fn enter(r: &Runnable) -> CurrentGuard {
        CurrentGuard(CURRENT.with(|c| c.replace(Some(r.metadata().info.clone()))))
    }
}

impl Drop for CurrentGuard {
    #[inline]
    fn drop(&mut self) {
        let prev = self.0.take();
        let _ = CURRENT.try_with(|c| c.set(prev));
    }
}

/// Runs one scheduled task with [`current`] set, timing the poll when `debug` is on.
#[inline]
pub(crate) fn run_runnable(r: Runnable, cfg: &crate::runtime::Config) {
    if r.metadata().aborted.load(Ordering::Acquire) {
        abort_now(r);
    } else if cfg.debug {
        run_timed(r, cfg);
    } else {
        let _g = CurrentGuard::enter(&r);
        r.run();
    }
}

/// An aborted task is dropped instead of polled: async-task then drops its future (here, on
/// the executor's thread) and resolves its `Task` to `Cancelled`.
#[cold]
fn abort_now(r: Runnable) {
    drop(r);
}

#[cold]
fn run_timed(r: Runnable, cfg: &crate::runtime::Config) {
    let info = r.metadata().info.clone();
    poll_timed(&info, cfg, || {
        let _g = CurrentGuard::enter(&r);
        r.run();
    });
}

/// Runs one poll (`poll`) of `info`'s future, reporting it to the slow-poll hook if it took
/// longer than the threshold (debug mode).
pub(crate) fn poll_timed<R>(
    info: &TaskInfo,
    cfg: &crate::runtime::Config,
    poll: impl FnOnce() -> R,
) -> R {
    let start = std::time::Instant::now();
    let out = poll();
    let took = start.elapsed();
    if took > cfg.slow_poll_threshold {
        (cfg.on_slow_poll)(&SlowPoll {
            task: info.clone(),
            duration: took,
        });
    }
    out
}

/// Information about the task being polled right now (asyncio's `current_task()`).
///
/// # Panics
///
/// Outside a task (for example in the future passed to `block_on` or `run`, or on a plain
/// thread). Use [`try_current`] where that can happen.
///
/// ```
/// let name = weft_executor::run(async {
///     let t = weft_executor::task::Builder::new()
///         .name("worker")
///         .spawn(async { weft_executor::task::current().name().map(String::from) });
///     t.await.unwrap()
/// });
/// assert_eq!(name.as_deref(), Some("worker"));
/// ```
#[track_caller]
pub fn current() -> TaskInfo {
    try_current().expect(
        "weft::task::current() called outside a task; use task::try_current() where that can happen",
    )
}

/// Information about the task being polled right now, or `None` outside a task.
///
/// ```
/// assert!(weft_executor::task::try_current().is_none());
/// let id = weft_executor::run(async {
///     weft_executor::spawn(async { weft_executor::task::try_current().map(|t| t.id()) })
///         .await
///         .unwrap()
/// });
/// assert!(id.is_some());
/// ```
pub fn try_current() -> Option<TaskInfo> {
    CURRENT
        .try_with(|c| {
            let cur = c.take();
            let out = cur.clone();
            c.set(cur);
            out
        })
        .ok()
        .flatten()
}

/// The output stored in a task: the value, or a caught panic.
pub(crate) type Outcome<T> = Result<T, PanicBox>;

/// A caught panic. If nobody takes the payload (the task was detached, or its handle dropped
/// after it panicked), dropping the box hands the panic to the unhandled-error hook, exactly once.
pub(crate) struct PanicBox {
    payload: Option<Box<dyn Any + Send>>,
    info: Option<TaskInfo>,
    hook: crate::runtime::ErrorHook,
}

impl PanicBox {
    fn take(mut self) -> Box<dyn Any + Send> {
        self.payload
            .take()
            .unwrap_or_else(|| Box::new("panic payload already taken"))
    }
}

impl Drop for PanicBox {
    fn drop(&mut self) {
        if let Some(p) = self.payload.take() {
            (self.hook)(UnhandledError {
                task: self.info.take(),
                kind: Kind::Panic(p),
            });
        }
    }
}

/// Wraps a task's future: catches panics, registers the task in its executor's registry of live
/// tasks when it first returns `Pending` (until then it is queued or running, so shutdown reaches
/// it without the registry; debug mode registers at spawn), and removes that entry once the
/// future is dropped.
pub(crate) struct Wrapped<F> {
    fut: ManuallyDrop<F>,
    reg: Arc<Registry>,
    entry: Option<EntryKey>,
    /// This task's metadata (set by [`Wrapped::with_meta`] when the task is allocated; valid
    /// for as long as this future exists, since it lives in the same allocation).
    meta: Option<MetaRef>,
}

impl<F> Wrapped<F> {
    pub(crate) fn new(fut: F, reg: Arc<Registry>, entry: Option<EntryKey>) -> Wrapped<F> {
        Wrapped {
            fut: ManuallyDrop::new(fut),
            reg,
            entry,
            meta: None,
        }
    }

    /// Gives the future a pointer to its task's metadata: the executors build the future with
    /// `async_task::Builder::spawn(move |meta| wrapped.with_meta(meta), ..)`.
    pub(crate) fn with_meta(mut self, meta: &Meta) -> Wrapped<F> {
        self.meta = Some(MetaRef(NonNull::from(meta)));
        self
    }
}

impl<F> Drop for Wrapped<F> {
    /// Drops the future, containing a panic in its destructor: `async-task` aborts the process
    /// if dropping a task's future unwinds (on cancellation, or at shutdown), so such a panic is
    /// caught here and goes to the unhandled-error hook instead, like a panic nobody awaited.
    fn drop(&mut self) {
        let fut = &mut self.fut;
        // SAFETY: `fut` is dropped exactly once, here, in place (pinning allows dropping a
        // pinned value where it is), and never touched again: `Wrapped` is being dropped.
        let r = catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(fut) }));
        if let Err(payload) = r {
            let task = self
                .entry
                .and_then(|k| self.reg.info(k))
                .or_else(try_current);
            (self.reg.error_hook())(UnhandledError {
                task,
                kind: Kind::Panic(payload),
            });
        }
        // The registry entry goes once the future is gone.
        if let Some(k) = self.entry.take() {
            self.reg.remove(k);
        }
    }
}

impl<F: Future> Future for Wrapped<F> {
    type Output = Outcome<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing is moved out of `self`: `fut` is structurally pinned (never moved out
        // of `Wrapped`, whose `Drop` impl drops it in place, and `Wrapped` is not `Unpin` unless
        // `F` is); `reg` and `entry` are not pinned and only used through `&mut`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above: `fut` is pinned for as long as `Wrapped` is.
        let fut = unsafe { Pin::new_unchecked(&mut *this.fut) };
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => {
                if this.entry.is_none() {
                    // First wait: from now on only a wake-up reaches the task, so shutdown
                    // needs its waker (`cx`'s is the task's own) to cancel it.
                    let meta = this
                        .meta
                        .expect("weft: a task's future was built without with_meta");
                    this.entry = Some(this.reg.insert(meta, cx.waker().clone()));
                }
                Poll::Pending
            }
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(PanicBox {
                payload: Some(payload),
                info: try_current(),
                hook: context::error_hook(),
            })),
        }
    }
}

/// A handle to a spawned task: await it for the task's result.
///
/// * Awaiting gives `Ok(value)`, or `Err(JoinError::Panicked(payload))` if the task panicked, or
///   `Err(JoinError::Cancelled)` if the task was cancelled (runtime shut down).
/// * **Dropping a `Task` cancels the task**: the future is dropped by the executor instead of
///   being polled again (it never resumes past its current `.await`). Use [`Task::detach`] to let
///   it run in the background, or [`Task::cancel`] to cancel and wait until it has stopped.
/// * A panic nobody observes (the task was detached, or its handle dropped after it finished)
///   reaches the runtime's unhandled-error hook exactly once, like asyncio's "Task exception was
///   never retrieved".
///
/// Awaiting a `Task` is cancel-safe: dropping the `.await` (not the `Task`) loses nothing.
///
/// ```
/// let rt = weft_executor::LocalRuntime::new().unwrap();
/// let task = rt.spawn_local(async { 6 * 7 });
/// assert_eq!(rt.block_on(task).unwrap(), 42);
/// ```
#[must_use = "dropping a Task cancels it; use .detach() to run it in the background"]
pub struct Task<T> {
    inner: FallibleTask<T>,
    meta: MetaRef,
    /// Keeps the allocation (so `meta`) alive with the handle, and lets an [`AbortHandle`]
    /// wake the task.
    waker: Waker,
}

impl<T> Task<T> {
    fn meta(&self) -> &Meta {
        // SAFETY: `self.inner` is a reference to the task for as long as `self` lives.
        unsafe { self.meta.get() }
    }

    /// A cloneable handle that cancels this task from anywhere, while someone else awaits the
    /// `Task` (tokio's `AbortHandle`).
    ///
    /// ```
    /// weft_executor::run(async {
    ///     let task = weft_executor::spawn(std::future::pending::<()>());
    ///     let abort = task.abort_handle();
    ///     std::thread::spawn(move || abort.abort()).join().unwrap();
    ///     assert!(task.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            meta: self.meta,
            waker: self.waker.clone(),
        }
    }

    /// asyncio's `wait_for(task, timeout)`: awaits the task for at most `d`. On expiry it
    /// cancels the task **and waits until it has stopped** (its future dropped, destructors
    /// run, on whatever thread runs it), then returns `Err(Elapsed)`. If the task completes
    /// or panics before the cancellation reaches it, that result is returned instead.
    ///
    /// Plain `timeout(d, task)` differs: it drops the `Task`, which only *requests*
    /// cancellation, so the task's cleanup may still be running when `timeout` returns.
    ///
    /// Cancel-safety: dropping the returned future drops the `Task`, which cancels the task
    /// without waiting.
    ///
    /// ```
    /// use std::time::Duration;
    /// weft_executor::run(async {
    ///     let slow = weft_executor::spawn(weft_timer::sleep(Duration::from_secs(60)));
    ///     assert!(slow.wait_for(Duration::from_millis(1)).await.is_err());
    ///     let fast = weft_executor::spawn(async { 7 });
    ///     assert_eq!(fast.wait_for(Duration::from_secs(5)).await.unwrap().unwrap(), 7);
    /// });
    /// ```
    #[doc(alias = "timeout")]
    pub async fn wait_for(
        mut self,
        d: Duration,
    ) -> Result<Result<T, JoinError>, weft_timer::Elapsed> {
        match weft_timer::timeout(d, &mut self).await {
            Ok(r) => Ok(r),
            Err(elapsed) => match self.cancel().await {
                Err(JoinError::Cancelled) => Err(elapsed),
                done => Ok(done),
            },
        }
    }

    /// Lets the task keep running in the background; its output is dropped.
    ///
    /// A panic in a detached task goes to the unhandled-error hook exactly once. To also report an
    /// `Err` returned by a detached task, use [`Task::detach_or_report`].
    pub fn detach(self) {
        self.inner.detach();
    }

    /// Cancels the task and waits until it has stopped running.
    ///
    /// Returns `Ok(value)` if the task had already completed, `Err(JoinError::Panicked)` if it had
    /// panicked, and `Err(JoinError::Cancelled)` if it was cancelled before completing (the usual
    /// case; its future has been dropped when this resolves). Cancel-safe: dropping this future
    /// still cancels the task.
    pub async fn cancel(self) -> Result<T, JoinError> {
        match self.inner.cancel().await {
            None => Err(JoinError::Cancelled),
            Some(Ok(v)) => Ok(v),
            Some(Err(p)) => Err(JoinError::Panicked(p.take())),
        }
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.info().id
    }

    /// The task's name, if any.
    pub fn name(&self) -> Option<&str> {
        self.info().name()
    }

    /// The task's id, name and spawn location.
    pub fn info(&self) -> &TaskInfo {
        &self.meta().info
    }
}

/// Cancels a task from anywhere (from [`Task::abort_handle`]; cloneable, `Send`, `Sync`).
///
/// [`AbortHandle::abort`] requests cancellation now: the task's future is dropped instead of
/// being polled again (a poll in progress finishes first), and its [`Task`] resolves to
/// [`JoinError::Cancelled`] unless the task had completed. Aborting a finished task does
/// nothing. Holding an `AbortHandle` keeps the task's allocation (not its future) alive.
#[derive(Clone)]
pub struct AbortHandle {
    meta: MetaRef,
    waker: Waker,
}

impl AbortHandle {
    fn meta(&self) -> &Meta {
        // SAFETY: `self.waker` is a reference to the task for as long as `self` lives.
        unsafe { self.meta.get() }
    }

    /// Requests the task's cancellation (see [`AbortHandle`]).
    pub fn abort(&self) {
        self.meta().aborted.store(true, Ordering::Release);
        // Scheduling the task makes the executor look at the flag (and drop it) soon; a task
        // woken while running is re-scheduled after its poll.
        self.waker.wake_by_ref();
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.meta().info.id
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id().0)
            .finish()
    }
}

impl<T: Send + 'static, E: fmt::Display + Send + 'static> Task<Result<T, E>> {
    /// Detaches the task, and if it returns `Err(e)` (or panics) reports that to the
    /// unhandled-error hook exactly once.
    ///
    /// Rust has no specialization, so plain [`Task::detach`] cannot see that an output is an
    /// error; this separate method is the opt-in. It spawns a small watcher task on the current
    /// runtime (the global runtime outside one) that awaits this task; the report goes to the
    /// hook of the runtime the watcher runs on.
    #[track_caller]
    pub fn detach_or_report(self) {
        let info = self.info().clone();
        crate::spawn(async move {
            match self.await {
                Ok(Ok(_)) | Err(JoinError::Cancelled) => {}
                Ok(Err(e)) => report_unhandled(UnhandledError::error(Some(info), e.to_string())),
                Err(JoinError::Panicked(p)) => report_unhandled(UnhandledError {
                    task: Some(info),
                    kind: Kind::Panic(p),
                }),
            }
        })
        .detach();
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.inner).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(Err(JoinError::Cancelled)),
            Poll::Ready(Some(Ok(v))) => Poll::Ready(Ok(v)),
            Poll::Ready(Some(Err(p))) => Poll::Ready(Err(JoinError::Panicked(p.take()))),
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.info().id.0)
            .field("name", &self.info().name)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why awaiting a [`Task`] did not produce a value.
pub enum JoinError {
    /// The task was cancelled before it completed (its handle's `cancel`, or runtime shutdown).
    Cancelled,
    /// The task panicked; the payload is kept (see [`JoinError::into_panic`]).
    Panicked(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// The panic payload (resume it with `std::panic::resume_unwind`).
    ///
    /// # Panics
    /// If the error is [`JoinError::Cancelled`]; use [`JoinError::try_into_panic`] to check.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self {
            JoinError::Panicked(p) => p,
            JoinError::Cancelled => panic!("JoinError::into_panic called on a cancelled task"),
        }
    }

    /// The panic payload, or `Err(self)` if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self {
            JoinError::Panicked(p) => Ok(p),
            e => Err(e),
        }
    }
}

/// The message of a panic payload (`&str` or `String`), if it has one.
pub(crate) fn panic_message(p: &(dyn Any + Send)) -> &str {
    if let Some(s) = p.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = p.downcast_ref::<String>() {
        s
    } else {
        "<non-string panic payload>"
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("task was cancelled"),
            JoinError::Panicked(p) => write!(f, "task panicked: {}", panic_message(&**p)),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("Cancelled"),
            JoinError::Panicked(p) => write!(f, "Panicked({:?})", panic_message(&**p)),
        }
    }
}

impl std::error::Error for JoinError {}

enum Kind {
    Panic(Box<dyn Any + Send + 'static>),
    Error(String),
}

/// A failure nobody observed: a detached task's panic, the `Err` of a task detached with
/// [`Task::detach_or_report`], or a panic while a task's future was being dropped (cancellation,
/// shutdown). Given to the hook set with
/// [`crate::RuntimeBuilder::on_unhandled_error`] (default: one line on stderr).
pub struct UnhandledError {
    task: Option<TaskInfo>,
    kind: Kind,
}

impl UnhandledError {
    /// An error (not a panic) to report, with the task it came from if known.
    pub fn error(task: Option<TaskInfo>, message: impl Into<String>) -> UnhandledError {
        UnhandledError {
            task,
            kind: Kind::Error(message.into()),
        }
    }

    /// A panic to report, with the task it came from if known.
    pub fn panic(task: Option<TaskInfo>, payload: Box<dyn Any + Send + 'static>) -> UnhandledError {
        UnhandledError {
            task,
            kind: Kind::Panic(payload),
        }
    }

    /// The task that failed, if known.
    pub fn task(&self) -> Option<&TaskInfo> {
        self.task.as_ref()
    }

    /// Whether this is a panic (else an `Err` value).
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, Kind::Panic(_))
    }

    /// The panic message or the error's `Display` text.
    pub fn message(&self) -> &str {
        match &self.kind {
            Kind::Panic(p) => panic_message(&**p),
            Kind::Error(s) => s,
        }
    }

    /// The panic payload, if this is a panic.
    pub fn into_panic(self) -> Option<Box<dyn Any + Send + 'static>> {
        match self.kind {
            Kind::Panic(p) => Some(p),
            Kind::Error(_) => None,
        }
    }
}

impl fmt::Display for UnhandledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.task {
            Some(t) => write!(f, "{t}")?,
            None => f.write_str("a task")?,
        }
        let what = if self.is_panic() {
            "panicked"
        } else {
            "failed"
        };
        write!(f, " {what} and nobody awaited it: {}", self.message())
    }
}

impl fmt::Debug for UnhandledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnhandledError")
            .field("task", &self.task)
            .field("panic", &self.is_panic())
            .field("message", &self.message())
            .finish()
    }
}

impl std::error::Error for UnhandledError {}

/// Sends `err` to the unhandled-error hook of the runtime this thread runs in (the default hook,
/// which prints one line to stderr, outside any runtime).
pub fn report_unhandled(err: UnhandledError) {
    (context::error_hook())(err)
}

/// A poll that took longer than the slow-poll threshold (debug mode). Given to the hook set with
/// [`crate::RuntimeBuilder::on_slow_poll`].
#[derive(Debug, Clone)]
pub struct SlowPoll {
    task: TaskInfo,
    duration: Duration,
}

impl SlowPoll {
    /// The task whose poll was slow.
    pub fn task(&self) -> &TaskInfo {
        &self.task
    }

    /// How long the poll took.
    pub fn duration(&self) -> Duration {
        self.duration
    }
}

impl fmt::Display for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} blocked its worker for {:?} in one poll; move blocking work to spawn_blocking",
            self.task, self.duration
        )
    }
}

/// Spawns tasks with options (a name).
///
/// ```
/// let rt = weft_executor::LocalRuntime::new().unwrap();
/// rt.block_on(async {
///     let t = weft_executor::task::Builder::new().name("fetch").spawn_local(async { 1 });
///     assert_eq!(t.name(), Some("fetch"));
///     assert_eq!(t.await.unwrap(), 1);
/// });
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<Arc<String>>,
}

impl Builder {
    /// A builder with no options set.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task (shown by [`current`], debug-mode warnings and the unhandled-error hook).
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(Arc::new(name.into()));
        self
    }

    /// Spawns a task on the current runtime (the global runtime outside one); see [`crate::spawn`].
    #[track_caller]
    pub fn spawn<F>(self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        context::spawn(fut, TaskInfo::new(self.name, Location::caller()))
    }

    /// Spawns a `!Send` task on this thread's local executor; see [`crate::spawn_local`].
    ///
    /// # Panics
    /// Outside `LocalRuntime::block_on`, `Runtime::block_on` and `run`.
    #[track_caller]
    pub fn spawn_local<F>(self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        context::spawn_local(fut, TaskInfo::new(self.name, Location::caller()))
    }
}

/// Yields once: the task is rescheduled behind the other ready tasks.
///
/// Cancel-safe (it holds nothing).
///
/// ```
/// let rt = weft_executor::LocalRuntime::new().unwrap();
/// rt.block_on(async { weft_executor::yield_now().await });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow(false)
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    /// Per-task memory: the metadata in every task and the info in every registry entry.
    #[test]
    fn task_metadata_stays_small() {
        assert_eq!(std::mem::size_of::<super::TaskInfo>(), 24);
        assert_eq!(std::mem::size_of::<super::Meta>(), 32);
        assert_eq!(std::mem::size_of::<super::Task<()>>(), 32);
        assert_eq!(std::mem::size_of::<Option<crate::registry::EntryKey>>(), 8);
    }
}
