//! The one spawn path of every executor ([`spawn_into`]) and [`Wrapped`], the future around
//! every task's future (panics caught, live-task registration, the task's state for the dump,
//! and with feature `tracing` the task's span).

use std::any::Any;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::meta::{Meta, MetaRef, Runnable};
use super::report::Kind;
use super::{try_current, Task, TaskInfo, UnhandledError};
use crate::context;
use crate::dump::TaskState;
use crate::registry::{EntryKey, RegistryRef};

/// Allocates and schedules a task for `fut`: registers it in `registry` in debug mode (else the
/// task registers itself when it first waits, see [`Wrapped`]), lets `alloc` create the async-task task (`spawn` or `spawn_local`, with the executor's
/// schedule function), and returns its handle. The one spawn path of every executor.
///
/// # Safety
/// `alloc`'s schedule function must keep `registry` alive (own, through an `Arc`, the executor
/// that owns it): every task's future holds a plain [`RegistryRef`], which is sound because
/// async-task drops a task's future (on completion, cancellation or when its last `Runnable` is
/// dropped) before its schedule function, which goes only with the allocation.
#[inline]
pub(crate) unsafe fn spawn_into<F: Future>(
    reg: RegistryRef,
    fut: F,
    info: TaskInfo,
    alloc: impl FnOnce(Wrapped<F>, Meta) -> (Runnable, async_task::Task<Outcome<F::Output>, Meta>),
) -> Task<F::Output> {
    // SAFETY: the registry is alive during the spawn (the caller holds its executor).
    let registry = unsafe { reg.get() };
    let spawn = |fut, key, info| {
        let wrapped = Wrapped::new(fut, reg, key, &info);
        let (runnable, task) = alloc(wrapped, Meta::new(info));
        // SAFETY: the task is not shared yet: its `Runnable` is scheduled and its handle
        // returned below, and `insert_with` registers it only after this; the waker is its own.
        unsafe { task.metadata().init_waker(runnable.waker()) };
        (runnable, task)
    };
    let (runnable, task) = if registry.eager() {
        registry.insert_with(|key| {
            let (runnable, task) = spawn(fut, Some(key), info);
            (MetaRef::new(task.metadata()), (runnable, task))
        })
    } else {
        spawn(fut, None, info)
    };
    let meta = MetaRef::new(task.metadata());
    let task = Task {
        inner: task.fallible(),
        meta,
    };
    runnable.schedule();
    task
}

/// Debug mode: records for the dump that the task registered at `entry` starts a poll now (its
/// registry entry keeps the time; debug mode registers every task at spawn).
#[cold]
fn record_poll_start(reg: RegistryRef, entry: Option<EntryKey>) {
    if let Some(k) = entry {
        // SAFETY: the registry outlives every task's future (see `spawn_into`).
        unsafe { reg.get() }.set_last_poll(k, std::time::Instant::now());
    }
}

/// The output stored in a task: the value, or a caught panic.
pub(crate) type Outcome<T> = Result<T, PanicBox>;

/// A caught panic. If nobody takes the payload (the task was detached, or its handle dropped
/// after it panicked), dropping the box hands the panic to the unhandled-error hook, exactly once.
///
/// One pointer (the details are boxed; panics are rare): the output slot of every task is at
/// least an `Outcome<T>`, so this keeps a small task's allocation small and the output cheap
/// to move and drop.
pub(crate) struct PanicBox(Box<Caught>);

struct Caught {
    payload: Option<Box<dyn Any + Send>>,
    info: Option<TaskInfo>,
    hook: crate::runtime::ErrorHook,
}

impl PanicBox {
    pub(super) fn take(mut self) -> Box<dyn Any + Send> {
        self.0
            .payload
            .take()
            .unwrap_or_else(|| Box::new("panic payload already taken"))
    }
}

impl Drop for PanicBox {
    fn drop(&mut self) {
        if let Some(p) = self.0.payload.take() {
            (self.0.hook)(UnhandledError {
                task: self.0.info.take(),
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
    reg: RegistryRef,
    entry: Option<EntryKey>,
    /// The task's `weft.task` span, entered around every poll and the drop of the future.
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl<F> Wrapped<F> {
    pub(crate) fn new(
        fut: F,
        reg: RegistryRef,
        entry: Option<EntryKey>,
        info: &TaskInfo,
    ) -> Wrapped<F> {
        #[cfg(not(feature = "tracing"))]
        let _ = info;
        Wrapped {
            fut: ManuallyDrop::new(fut),
            reg,
            entry,
            #[cfg(feature = "tracing")]
            span: crate::trace::task_span(info),
        }
    }
}

impl<F> Drop for Wrapped<F> {
    /// Drops the future, containing a panic in its destructor: `async-task` aborts the process
    /// if dropping a task's future unwinds (on cancellation, or at shutdown), so such a panic is
    /// caught here and goes to the unhandled-error hook instead, like a panic nobody awaited.
    fn drop(&mut self) {
        #[cfg(feature = "tracing")]
        let _span = self.span.enter();
        // SAFETY: the registry outlives every task's future (see `spawn_into`).
        let reg = unsafe { self.reg.get() };
        let fut = &mut self.fut;
        // SAFETY: `fut` is dropped exactly once, here, in place (pinning allows dropping a
        // pinned value where it is), and never touched again: `Wrapped` is being dropped.
        let r = catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(fut) }));
        if let Err(payload) = r {
            let task = self.entry.and_then(|k| reg.info(k)).or_else(try_current);
            (reg.error_hook())(UnhandledError {
                task,
                kind: Kind::Panic(payload),
            });
        }
        // The registry entry goes once the future is gone.
        if let Some(k) = self.entry.take() {
            reg.remove(k);
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
        #[cfg(feature = "tracing")]
        let _span = this.span.enter();
        let (meta_ptr, timed) = super::current::polling_meta()
            .expect("weft: a task's future was polled outside run_runnable");
        // SAFETY: `POLLING` is this task's metadata while its `Runnable` runs (which is the only
        // way a task's future is polled), and the task is alive for the whole poll.
        let meta = unsafe { meta_ptr.as_ref() };
        // The dump's view of the task (relaxed stores; a wake-up after this poll marks it
        // queued again in the executor's schedule function).
        meta.set_state(TaskState::Running);
        if timed {
            record_poll_start(this.reg, this.entry);
        }
        let polled = catch_unwind(AssertUnwindSafe(|| fut.poll(cx)));
        meta.set_state(match polled {
            Ok(Poll::Pending) => TaskState::Waiting,
            _ => TaskState::Completed,
        });
        match polled {
            Ok(Poll::Pending) => {
                // A task that yielded is rescheduled as its poll returns, so it stays
                // reachable through the queues, like a task not polled yet: it registers when
                // it first waits for something else.
                if this.entry.is_none() && !super::current::yielded(cx.waker()) {
                    // First wait: from now on only a wake-up reaches the task, so shutdown
                    // needs to find it (its metadata has its waker) to cancel it.
                    // SAFETY: the registry outlives every task's future (see `spawn_into`).
                    let reg = unsafe { this.reg.get() };
                    let (key, closed) = reg.insert(MetaRef::new(meta));
                    this.entry = Some(key);
                    if closed {
                        // Shutdown already cancelled everything it could see: rescheduled
                        // after this poll, the task is dropped by its closed executor.
                        cx.waker().wake_by_ref();
                    }
                }
                Poll::Pending
            }
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(PanicBox(Box::new(Caught {
                payload: Some(payload),
                info: try_current(),
                hook: context::error_hook(),
            })))),
        }
    }
}
