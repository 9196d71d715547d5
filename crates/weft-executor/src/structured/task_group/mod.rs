//! [`TaskGroup`]: asyncio's `TaskGroup` / trio's nursery for weft tasks.
//!
//! * `state`: the shared state behind the group's lock (phase, output slots);
//! * `spawn`: [`GroupSpawner`], which every spawn goes through;
//! * `child`: what runs in each child's task and records its outcome;
//! * `handle`: [`GroupHandle`];
//! * `cancel`: fail-fast, `cancel`, the grace period, dropping an unjoined group;
//! * `join`: `join`, `cancel_and_join` and the scoped form [`task_group`];
//! * this file: [`TaskGroup`], its constructors and options.

mod cancel;
mod child;
mod handle;
mod join;
mod spawn;
mod state;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use weft_sync::{CancellationToken, Semaphore};

pub use handle::GroupHandle;
pub use join::task_group;
pub use spawn::GroupSpawner;

use super::group_error::SpawnError;
#[cfg(doc)]
use super::group_error::{Failure, GroupError};
use crate::lock::lock;
use cancel::spawn_reaper;
use state::Shared;

/// A group of tasks that live and die together: asyncio's `TaskGroup`, trio's nursery.
///
/// * Children are spawned with [`TaskGroup::spawn`] (futures returning `Result<T, E>`) or
///   [`TaskGroup::spawn_ok`] (infallible futures returning `T`; pick `E = Infallible` or any
///   error type). Each runs as its own task on the current runtime, in parallel.
/// * [`TaskGroup::join`] waits for **every** child, cancelled ones included (their destructors
///   have run when it returns), and gives the values in spawn order, or a [`GroupError`]
///   listing **every** failure (errors and panics) in completion order.
/// * Fail-fast ([`TaskGroup::new`]): the first failure cancels the other children. With
///   [`TaskGroup::supervisor`] failures do not cancel siblings. A cancelled child is never a
///   failure.
/// * Once a child failed (fail-fast), after [`TaskGroup::cancel`] and after `join`, spawning is
///   refused: [`TaskGroup::try_spawn`] returns a [`SpawnError`], [`TaskGroup::spawn`] returns a
///   handle that yields `None`, and the future is dropped without ever running.
/// * [`TaskGroup::with_limit`]: at most `n` children run at a time (batch processing and rate
///   limiting with no hand-written semaphore).
/// * **Dropping a group that was not joined cancels its children without waiting for them**
///   (`Drop` cannot await; debug mode says so on stderr). That includes dropping the `join`
///   future and cancelling the task that owns the group: such a runner can resolve before its
///   children's cleanup ran. To stop a group *and* know its children have stopped, await
///   [`TaskGroup::cancel_and_join`], or call [`GroupSpawner::cancel`] from elsewhere and let
///   the `join` in progress return. Failures that were recorded and never returned by `join`
///   go to the runtime's unhandled-error hook, once each.
///
/// ```
/// use weft_executor::TaskGroup;
///
/// weft_executor::run(async {
///     let mut g = TaskGroup::new();
///     for i in 1..=3u32 {
///         g.spawn(async move { Ok::<_, std::io::Error>(i * 10) });
///     }
///     assert_eq!(g.join().await.unwrap(), [10, 20, 30]);
/// });
/// ```
#[doc(alias = "JoinSet")]
#[doc(alias = "nursery")]
#[must_use = "dropping a TaskGroup cancels its children; call .join().await"]
pub struct TaskGroup<T, E = Infallible> {
    pub(super) sp: GroupSpawner<T, E>,
}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.sp.shared.st);
        f.debug_struct("TaskGroup")
            .field("supervisor", &self.sp.shared.supervisor)
            .field("phase", &st.phase)
            .field("live", &st.live)
            .field("failures", &st.failures.len())
            .finish()
    }
}

impl<T, E> Default for TaskGroup<T, E>
where
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<T, E> TaskGroup<T, E>
where
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    fn build(supervisor: bool, limit: Option<usize>) -> Self {
        TaskGroup {
            sp: GroupSpawner {
                shared: Shared::new(supervisor, limit, spawn_reaper::<T, E>),
            },
        }
    }

    /// A fail-fast group: the first failure cancels the other children.
    pub fn new() -> Self {
        Self::build(false, None)
    }

    /// A supervisor group (Kotlin's `supervisorScope`): a failing child does not affect its
    /// siblings; `join` still reports every failure.
    ///
    /// ```
    /// weft_executor::run(async {
    ///     let mut g = weft_executor::TaskGroup::supervisor();
    ///     g.spawn(async { Err::<u32, _>("first fails") });
    ///     g.spawn(async { Ok(2) }); // not cancelled
    ///     let err = g.join().await.unwrap_err();
    ///     assert_eq!(err.errors().collect::<Vec<_>>(), [&"first fails"]);
    /// });
    /// ```
    pub fn supervisor() -> Self {
        Self::build(true, None)
    }

    /// A fail-fast group in which at most `n` children run at a time (the others wait, in spawn
    /// order, before their future is first polled). `n = 0` is treated as 1.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    /// use std::sync::Arc;
    /// weft_executor::run(async {
    ///     let running = Arc::new(AtomicUsize::new(0));
    ///     let mut g = weft_executor::TaskGroup::with_limit(2);
    ///     for _ in 0..6 {
    ///         let running = running.clone();
    ///         g.spawn_ok(async move {
    ///             assert!(running.fetch_add(1, SeqCst) < 2);
    ///             weft_timer::sleep(std::time::Duration::from_millis(1)).await;
    ///             running.fetch_sub(1, SeqCst);
    ///         });
    ///     }
    ///     let done: Result<Vec<()>, weft_executor::GroupError<std::convert::Infallible>> =
    ///         g.join().await;
    ///     assert_eq!(done.unwrap().len(), 6);
    /// });
    /// ```
    pub fn with_limit(n: usize) -> Self {
        Self::build(false, Some(n))
    }

    /// Sets a concurrency limit (e.g. `TaskGroup::supervisor().limit(4)`): at most `n` of the
    /// children spawned **from now on** run at a time. `n = 0` is treated as 1.
    ///
    /// ```
    /// let g = weft_executor::TaskGroup::<(), String>::supervisor().limit(4);
    /// # drop(g);
    /// ```
    pub fn limit(self, n: usize) -> Self {
        lock(&self.sp.shared.st).limit = Some(Arc::new(Semaphore::new(n.max(1))));
        self
    }

    /// Cooperative cancellation: when the group stops (a child fails in a fail-fast group,
    /// [`TaskGroup::cancel`], or the group is dropped), its [`token`](TaskGroup::token) is
    /// cancelled and children get `d` to finish on their own (run async cleanup, return a
    /// result) before those still running are dropped. Errors returned during that time are
    /// reported like any other. In debug mode every child dropped at the end of the grace period
    /// is named on stderr. Without a grace period (the default) children are dropped at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// weft_executor::run(async {
    ///     let mut g = weft_executor::TaskGroup::<&str, &str>::new()
    ///         .grace_period(Duration::from_secs(5));
    ///     let token = g.token();
    ///     g.spawn(async move {
    ///         token.cancelled().await;
    ///         // async cleanup: flush, say goodbye...
    ///         Ok("closed cleanly")
    ///     });
    ///     g.spawn(async { Err("boom") });
    ///     let err = g.join().await.unwrap_err();
    ///     assert_eq!(err.errors().collect::<Vec<_>>(), [&"boom"]);
    /// });
    /// ```
    pub fn grace_period(self, d: Duration) -> Self {
        lock(&self.sp.shared.st).grace = Some(d);
        self
    }

    /// The group's [`CancellationToken`]: cancelled when the group stops (a failure in a
    /// fail-fast group, [`TaskGroup::cancel`], drop). Children that need async cleanup watch it
    /// (`token.cancelled().await`); combine with [`TaskGroup::grace_period`] so they get the time
    /// to run it.
    pub fn token(&self) -> CancellationToken {
        self.sp.token()
    }

    /// Spawns a child running `fut` and returns its [`GroupHandle`] (droppable: the group still
    /// joins the child). If the group refuses new children (see [`TaskGroup::try_spawn`]) `fut`
    /// is dropped without running and the handle yields `None`.
    #[track_caller]
    pub fn spawn<F>(&mut self, fut: F) -> GroupHandle<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.sp.spawn(fut)
    }

    /// Like [`TaskGroup::spawn`], but says why a child was refused: [`SpawnError::Aborting`] (a
    /// child failed), [`SpawnError::Cancelled`] or [`SpawnError::Finished`].
    ///
    /// ```
    /// weft_executor::run(async {
    ///     use weft_executor::SpawnError;
    ///     let mut g = weft_executor::TaskGroup::new();
    ///     let failing = g.spawn(async { Err::<(), _>("boom") });
    ///     assert_eq!(failing.await, None); // it failed: the group is now cancelling
    ///     let refused = g.try_spawn(async { Ok(()) });
    ///     assert_eq!(refused.unwrap_err(), SpawnError::Aborting);
    ///     assert_eq!(g.join().await.unwrap_err().errors().collect::<Vec<_>>(), [&"boom"]);
    /// });
    /// ```
    #[track_caller]
    pub fn try_spawn<F>(&mut self, fut: F) -> Result<GroupHandle<T>, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.sp.try_spawn(fut)
    }

    /// [`TaskGroup::spawn`] with a task name (asyncio's `create_task(coro, name=...)`), shown
    /// by [`crate::task::current`], debug-mode reports and [`Failure::task`].
    #[track_caller]
    pub fn spawn_named<F>(&mut self, name: impl Into<String>, fut: F) -> GroupHandle<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.sp.spawn_named(name, fut)
    }

    /// Spawns an infallible child (a future returning `T`, not `Result`). Its panics are still
    /// failures.
    #[track_caller]
    pub fn spawn_ok<F>(&mut self, fut: F) -> GroupHandle<T>
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.sp.spawn_ok(fut)
    }

    /// A cloneable handle that spawns into this group (for children that spawn siblings).
    pub fn spawner(&self) -> GroupSpawner<T, E> {
        self.sp.clone()
    }

    /// Cancels the group gracefully (asyncio 3.15's `TaskGroup.cancel()`): every child is
    /// cancelled and no new child is accepted. Not an error: `join` still returns `Ok` (with the
    /// values of the children that had completed) unless a child had failed.
    pub fn cancel(&self) {
        self.sp.cancel()
    }

    /// Number of children still running (their futures not yet dropped).
    pub fn live(&self) -> usize {
        self.sp.live()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A long-lived group keeps nothing for children that have nothing left to collect.
    #[test]
    fn finished_children_do_not_accumulate() {
        let rt = crate::LocalRuntime::new().unwrap();
        rt.block_on(async {
            let mut g = TaskGroup::<u32, String>::supervisor();
            for i in 0..100 {
                let h = g.spawn(async move {
                    if i % 2 == 0 {
                        Ok(i)
                    } else {
                        Err("odd".into())
                    }
                });
                h.await;
            }
            let cancelled = g.spawn(std::future::pending());
            cancelled.cancel();
            drop(cancelled);
            crate::yield_now().await;
            crate::yield_now().await;
            let kept = g.spawn(async { Ok(7) });
            drop(kept);
            crate::yield_now().await;
            {
                let st = lock(&g.sp.shared.st);
                assert_eq!(st.live, 0);
                assert_eq!(st.slots.len(), 1, "only the value waiting for join is kept");
                assert!(st.tasks.is_empty());
            }
            let err = g.join().await.unwrap_err();
            assert_eq!(err.len(), 50);
        });
    }
}
