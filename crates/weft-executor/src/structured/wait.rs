//! `wait`: asyncio's `wait(aws, timeout=, return_when=)`, which never cancels anything.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::{JoinError, Task};

use super::set::FutureSet;
use super::{GroupHandle, Shield};

/// A future [`wait`] can hold: `Unpin`, plus what happens to it if the `wait` future is
/// dropped before it returns ([`Waitable::release`]). `wait` never cancels: a dropped `wait`
/// *detaches* the [`Task`]s it holds (they keep running; their panics reach the
/// unhandled-error hook), and leaves borrowed futures (`&mut fut`, e.g. `tasks.iter_mut()`)
/// with their owner, who can still await them.
///
/// Implemented for [`Task`], [`Flatten`], [`Shield`], [`GroupHandle`], `&mut F`, `Box<F>`,
/// `Pin<Box<F>>` and `std::future::{Ready, Pending}`; implement it for your own future types
/// (the default `release` drops the future).
pub trait Waitable: Future + Unpin {
    /// Called on each future still held when a `wait` future is dropped. Default: drop it.
    fn release(self)
    where
        Self: Sized,
    {
    }
}

impl<T> Waitable for Task<T> {
    /// Detaches the task: it keeps running.
    fn release(self) {
        self.detach();
    }
}

impl<T, E> Waitable for Flatten<T, E> {
    /// Detaches the task: it keeps running.
    fn release(self) {
        self.task.detach();
    }
}

/// Dropping a `Shield` already lets the work go on.
impl<T> Waitable for Shield<T> {}
/// Dropping a `GroupHandle` only stops observing: the group still runs and joins the child.
impl<T> Waitable for GroupHandle<T> {}
/// A borrowed future stays with its owner.
impl<F: Future + Unpin + ?Sized> Waitable for &mut F {}
impl<F: Future + Unpin + ?Sized> Waitable for Box<F> {}
impl<F: Future + ?Sized> Waitable for Pin<Box<F>> {}
impl<T> Waitable for std::future::Ready<T> {}
impl<T> Waitable for std::future::Pending<T> {}

/// The futures of one `wait` call; whatever is still in it when it drops is released.
struct Held<F: Waitable>(FutureSet<F>);

impl<F: Waitable> Drop for Held<F> {
    fn drop(&mut self) {
        for i in 0..self.0.len() {
            if let Some(f) = self.0.take(i) {
                f.release();
            }
        }
    }
}

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any future completes.
    FirstCompleted,
    /// As soon as any future completes with `Err` (or when all have completed). For tasks whose
    /// output is a `Result`, pass [`Task::flatten`]ed tasks so that their own `Err` counts.
    FirstError,
    /// When every future has completed.
    AllCompleted,
}

/// The outcome of [`wait`]: `done` holds `(index, output)` in completion order, `pending` holds
/// `(index, future)` in input order; `index` is the position in the input.
pub type WaitResult<F, O> = (Vec<(usize, O)>, Vec<(usize, F)>);

/// Waits until `when` is met or `timeout` elapses, then returns `(done, pending)`.
///
/// **It never cancels anything**: the futures that have not completed are handed back in
/// `pending`, unharmed, to be awaited, waited on again or dropped by the caller. With tasks
/// ([`crate::Task`]) they keep running meanwhile; other futures only make progress while polled.
/// A timeout is not an error: whatever is unfinished is simply `pending`. Outputs are
/// `Result`s (a `Task`'s output is `Result<T, JoinError>`); an `Err` is what
/// [`ReturnWhen::FirstError`] looks for.
///
/// Futures must be [`Waitable`] (tasks are; box other futures with `Box::pin`, or pass
/// `&mut` borrows such as `tasks.iter_mut()`).
///
/// Dropping the `wait` future (a `timeout` around it, or cancelling the task that awaits it)
/// cancels nothing either: each future it still holds is [released](Waitable::release), so
/// tasks it owned are **detached** and keep running, and borrowed futures stay with their
/// owner. To keep the tasks *reachable* across a drop, lend them:
/// `wait(tasks.iter_mut(), ..)`. Other owned futures (boxed ones) are dropped, since nothing
/// else could ever poll them.
///
/// ```
/// use std::time::Duration;
/// use weft_executor::{spawn, wait, ReturnWhen};
///
/// weft_executor::run(async {
///     let fast = spawn(async { Ok::<_, String>("fast") });
///     let slow = spawn(async {
///         weft_timer::sleep(Duration::from_millis(50)).await;
///         Ok::<_, String>("slow")
///     });
///     let (done, pending) = wait(vec![slow, fast], ReturnWhen::FirstCompleted, None).await;
///     assert_eq!(done.len(), 1);
///     assert_eq!(done[0].0, 1); // index of `fast` in the input
///     // `slow` was not cancelled: it is still there to await.
///     let (_, slow) = pending.into_iter().next().unwrap();
///     assert_eq!(slow.await.unwrap(), Ok("slow"));
/// });
/// ```
#[doc(alias = "FIRST_COMPLETED")]
#[doc(alias = "select_all")]
pub async fn wait<I, F, T, E>(
    futs: I,
    when: ReturnWhen,
    timeout: Option<Duration>,
) -> WaitResult<F, Result<T, E>>
where
    I: IntoIterator<Item = F>,
    F: Waitable<Output = Result<T, E>>,
{
    let mut held = Held(FutureSet::new(futs));
    let set = &mut held.0;
    let mut done = Vec::new();
    let mut sleep = timeout.map(|d| Box::pin(weft_timer::sleep(d)));
    poll_fn(|cx| loop {
        match set.poll_next(cx) {
            Poll::Ready(Some((i, v))) => {
                let failed = v.is_err();
                done.push((i, v));
                match when {
                    ReturnWhen::FirstCompleted => return Poll::Ready(()),
                    ReturnWhen::FirstError if failed => return Poll::Ready(()),
                    _ => {}
                }
            }
            Poll::Ready(None) => return Poll::Ready(()),
            Poll::Pending => {
                if let Some(s) = sleep.as_mut() {
                    if s.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(());
                    }
                }
                return Poll::Pending;
            }
        }
    })
    .await;
    let set = &mut held.0;
    let pending = (0..set.len())
        .filter_map(|i| set.take(i).map(|f| (i, f)))
        .collect();
    (done, pending)
}

/// Why a task whose output is a `Result` failed: its own `Err`, or a [`JoinError`] (cancelled
/// or panicked). The output of [`Task::flatten`].
#[derive(Debug)]
pub enum TaskError<E> {
    /// The task ran to completion and returned `Err`.
    Failed(E),
    /// The task was cancelled or panicked.
    Join(JoinError),
}

impl<E: fmt::Display> fmt::Display for TaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(e) => write!(f, "task failed: {e}"),
            TaskError::Join(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for TaskError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TaskError::Failed(e) => Some(e),
            TaskError::Join(e) => Some(e),
        }
    }
}

impl<T, E> Task<Result<T, E>> {
    /// Turns the task's `Result<Result<T, E>, JoinError>` into `Result<T, TaskError<E>>`, so that
    /// the task's own `Err` counts as a failure for [`wait`] with [`ReturnWhen::FirstError`]
    /// (asyncio's `FIRST_EXCEPTION`) and for `?`. Dropping the returned future cancels the task,
    /// like dropping the `Task`.
    ///
    /// ```
    /// use weft_executor::{spawn, wait, ReturnWhen, TaskError};
    ///
    /// weft_executor::run(async {
    ///     let failing = spawn(async { Err::<u32, _>("bad input") }).flatten();
    ///     let stuck = spawn(std::future::pending::<Result<u32, &str>>()).flatten();
    ///     let (done, pending) = wait(vec![stuck, failing], ReturnWhen::FirstError, None).await;
    ///     assert!(matches!(done[0], (1, Err(TaskError::Failed("bad input")))));
    ///     assert_eq!(pending.len(), 1); // not cancelled: still there to await or drop
    /// });
    /// ```
    #[doc(alias = "FIRST_EXCEPTION")]
    pub fn flatten(self) -> Flatten<T, E> {
        Flatten { task: self }
    }
}

/// The future returned by [`Task::flatten`]; awaiting it is cancel-safe (the task keeps its
/// result until awaited again), dropping it cancels the task.
#[must_use = "dropping a Flatten cancels its task"]
#[derive(Debug)]
pub struct Flatten<T, E> {
    task: Task<Result<T, E>>,
}

impl<T, E> Flatten<T, E> {
    /// The task inside, for `detach`, `id`, `name` or `cancel`.
    pub fn into_task(self) -> Task<Result<T, E>> {
        self.task
    }
}

impl<T, E> Future for Flatten<T, E> {
    type Output = Result<T, TaskError<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx).map(|r| match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(TaskError::Failed(e)),
            Err(j) => Err(TaskError::Join(j)),
        })
    }
}
