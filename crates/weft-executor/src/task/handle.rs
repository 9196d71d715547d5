//! [`Task`], the handle of a spawned task.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::meta::{FallibleTask, Meta, MetaRef};
use super::report::Kind;
use super::{report_unhandled, AbortHandle, Id, JoinError, TaskInfo, UnhandledError};

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
    pub(super) inner: FallibleTask<T>,
    /// The task's metadata (its info, and a copy of its waker for [`Task::abort_handle`]),
    /// valid while `inner` keeps the allocation alive.
    pub(super) meta: MetaRef,
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
            // SAFETY: `self.inner` keeps the task alive during the call, and every task is
            // spawned through `spawn_into`.
            waker: unsafe { self.meta().waker() },
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
        self.info().id()
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
            .field("id", &self.info().id().as_u64())
            .field("name", &self.info().name())
            .field("finished", &self.is_finished())
            .finish()
    }
}
