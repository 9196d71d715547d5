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
use crate::registry::RegistryRef;

/// Allocates and schedules a task for `fut`: registers it in `registry` in debug mode (else the
/// task registers itself when it first waits, see [`Wrapped`]), lets `alloc` create the
/// async-task task (`spawn` or `spawn_local`, with the executor's schedule function; it passes
/// the task's metadata, in place in the allocation, to [`MakeWrapped::make`] to build the
/// future), stores the task's own waker in its metadata, and returns its handle. The one spawn
/// path of every executor.
///
/// # Safety
/// `alloc`'s schedule function must keep `registry` alive (own, through an `Arc`, the executor
/// that owns it): every task's metadata holds a plain [`RegistryRef`], which is sound because
/// async-task drops a task's future (on completion, cancellation or when its last `Runnable` is
/// dropped) before its schedule function, which goes only with the allocation.
#[inline]
pub(crate) unsafe fn spawn_into<F: Future>(
    reg: RegistryRef,
    fut: F,
    info: TaskInfo,
    alloc: impl FnOnce(MakeWrapped<F>, Meta) -> (Runnable, async_task::Task<Outcome<F::Output>, Meta>),
) -> Task<F::Output> {
    // SAFETY: the registry is alive during the spawn (the caller holds its executor).
    let registry = unsafe { reg.get() };
    let spawn = |fut, info| {
        let make = MakeWrapped::new(fut, &info);
        let (runnable, task) = alloc(make, Meta::new(info, reg));
        let meta = task.metadata();
        // SAFETY: the task is not shared yet: its `Runnable` is scheduled and its handle
        // returned below, and `insert_with` registers it after this.
        unsafe { meta.init_waker(runnable.waker()) };
        (MetaRef::new(meta), (runnable, task))
    };
    let (runnable, task) = if registry.eager() {
        registry.insert_with(|key| {
            let (meta, r) = spawn(fut, info);
            // SAFETY: `r` holds the task.
            unsafe { meta.get() }.set_entry(Some(key));
            (meta, r)
        })
    } else {
        spawn(fut, info).1
    };
    let meta = MetaRef::new(task.metadata());
    let task = Task {
        inner: task.fallible(),
        meta,
    };
    runnable.schedule();
    task
}

/// A task's future before it is placed in its allocation: [`MakeWrapped::make`] wraps it,
/// given the task's metadata in place (async-task's `Builder::spawn` passes it).
pub(crate) struct MakeWrapped<F> {
    fut: F,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl<F> MakeWrapped<F> {
    fn new(fut: F, info: &TaskInfo) -> MakeWrapped<F> {
        #[cfg(not(feature = "tracing"))]
        let _ = info;
        MakeWrapped {
            fut,
            #[cfg(feature = "tracing")]
            span: crate::trace::task_span(info),
        }
    }

    /// The task's future, pointing at `meta` (which must be the task's own, in its allocation).
    pub(crate) fn make(self, meta: &Meta) -> Wrapped<F> {
        Wrapped {
            fut: ManuallyDrop::new(self.fut),
            meta: MetaRef::new(meta),
            #[cfg(feature = "tracing")]
            span: self.span,
        }
    }
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
    pub(super) fn take(mut self) -> Box<dyn Any + Send> {
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
/// it without the registry; debug mode registers at spawn), and once the future is dropped
/// removes that entry and drops the task's own waker (in its metadata).
pub(crate) struct Wrapped<F> {
    fut: ManuallyDrop<F>,
    /// The task's metadata, in the same allocation as this future.
    meta: MetaRef,
    /// The task's `weft.task` span, entered around every poll and the drop of the future.
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl<F> Drop for Wrapped<F> {
    /// Drops the future, containing a panic in its destructor: `async-task` aborts the process
    /// if dropping a task's future unwinds (on cancellation, or at shutdown), so such a panic is
    /// caught here and goes to the unhandled-error hook instead, like a panic nobody awaited.
    fn drop(&mut self) {
        #[cfg(feature = "tracing")]
        let _span = self.span.enter();
        // SAFETY: `meta` is in the allocation this future lives in, so it outlives `self`.
        let meta = unsafe { self.meta.get() };
        // SAFETY: the registry outlives every task's future (see `spawn_into`).
        let reg = unsafe { meta.registry().get() };
        let fut = &mut self.fut;
        // SAFETY: `fut` is dropped exactly once, here, in place (pinning allows dropping a
        // pinned value where it is), and never touched again: `Wrapped` is being dropped.
        let r = catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(fut) }));
        if let Err(payload) = r {
            let task = Some(meta.info.clone());
            (reg.error_hook())(UnhandledError {
                task,
                kind: Kind::Panic(payload),
            });
        }
        // The registry entry goes once the future is gone, then the task's own waker (the
        // entry's pointer is valid only while the waker keeps the allocation alive).
        if let Some(k) = meta.entry() {
            meta.set_entry(None);
            reg.remove(k);
        }
        // SAFETY: this is the drop of the task's future, which happens once.
        drop(unsafe { meta.take_waker() });
    }
}

impl<F: Future> Future for Wrapped<F> {
    type Output = Outcome<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing is moved out of `self`: `fut` is structurally pinned (never moved out
        // of `Wrapped`, whose `Drop` impl drops it in place, and `Wrapped` is not `Unpin` unless
        // `F` is); `meta` is a plain pointer, not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above: `fut` is pinned for as long as `Wrapped` is.
        let fut = unsafe { Pin::new_unchecked(&mut *this.fut) };
        #[cfg(feature = "tracing")]
        let _span = this.span.enter();
        // SAFETY: `meta` is in the allocation this future lives in.
        let meta = unsafe { this.meta.get() };
        // The dump's view of the task (relaxed stores; a wake-up after this poll marks it
        // queued again in the executor's schedule function).
        meta.set_state(TaskState::Running);
        let polled = catch_unwind(AssertUnwindSafe(|| fut.poll(cx)));
        meta.set_state(match polled {
            Ok(Poll::Pending) => TaskState::Waiting,
            _ => TaskState::Completed,
        });
        match polled {
            Ok(Poll::Pending) => {
                if meta.entry().is_none() {
                    // First wait: from now on only a wake-up reaches the task, so shutdown
                    // needs to find it (and its waker, in its metadata) to cancel it.
                    // SAFETY: the registry outlives every task's future (see `spawn_into`).
                    let reg = unsafe { meta.registry().get() };
                    meta.set_entry(Some(reg.insert(this.meta)));
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
