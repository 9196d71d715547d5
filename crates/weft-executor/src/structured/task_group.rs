//! [`TaskGroup`]: asyncio's `TaskGroup` / trio's nursery for weft tasks.

use std::any::Any;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::AssertUnwindSafe;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_lite::FutureExt;
use weft_sync::{CancellationToken, Semaphore};

use super::group_error::{Failure, FailureKind, GroupError, SpawnError};
use crate::lock::lock;
use crate::task::{report_unhandled, TaskInfo, UnhandledError};
use crate::Task;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Open,
    Aborting,
    Cancelled,
    /// Joined: every child is done and the results were collected.
    Finished,
    /// The group was dropped before its join completed.
    Dropped,
}

enum Out<T> {
    Pending,
    Value(T),
    Failed,
    Cancelled,
    Taken,
}

/// One child's output, shared with its [`GroupHandle`].
struct Slot<T> {
    /// Spawn sequence number (the key in `State::slots`).
    seq: u64,
    st: Mutex<(Out<T>, Option<Waker>)>,
}

impl<T> Slot<T> {
    fn set(&self, out: Out<T>) {
        let w = {
            let mut g = lock(&self.st);
            if !matches!(g.0, Out::Pending) {
                return;
            }
            g.0 = out;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

struct State<T, E> {
    phase: Phase,
    /// Children whose future has not been dropped yet.
    live: usize,
    /// Children still running or holding a value for `join`, in spawn order (finished children
    /// with nothing to collect are removed, so a long-lived group does not grow).
    slots: BTreeMap<u64, Arc<Slot<T>>>,
    next_seq: u64,
    failures: Vec<Failure<E>>,
    /// Child tasks still running, keyed by spawn sequence number (never reused, so a stale
    /// handle can never reach another child's task).
    tasks: BTreeMap<u64, Task<()>>,
    joiner: Option<Waker>,
    /// The concurrency limit for children spawned from now on.
    limit: Option<Arc<Semaphore>>,
    /// Formats an error for the unhandled-error hook.
    fmt_err: Option<fn(&E) -> String>,
    /// Cancelled when the group stops (failure, `cancel`, drop): cooperative cancellation.
    token: CancellationToken,
    /// How long children get to finish after `token` is cancelled before they are dropped.
    grace: Option<Duration>,
    /// Whether the delayed hard cancellation has been scheduled.
    reaper: bool,
    spawn_reaper: fn(Weak<Shared<T, E>>, Duration),
}

struct Shared<T, E> {
    supervisor: bool,
    st: Mutex<State<T, E>>,
}

/// Type-erased control of a group, for [`GroupHandle::cancel`].
trait Ctl: Send + Sync {
    fn cancel_child(&self, seq: u64);
    fn forget(&self, seq: u64);
}

impl<T: Send, E: Send> Ctl for Shared<T, E> {
    fn cancel_child(&self, seq: u64) {
        let t = lock(&self.st).tasks.remove(&seq);
        drop(t);
    }

    fn forget(&self, seq: u64) {
        lock(&self.st).slots.remove(&seq);
    }
}

fn report<E>(fmt_err: Option<fn(&E) -> String>, f: Failure<E>) {
    let err = match f.kind {
        FailureKind::Panic(p) => UnhandledError::panic(f.task, p),
        FailureKind::Error(e) => UnhandledError::error(
            f.task,
            match fmt_err {
                Some(fmt) => fmt(&e),
                None => "error".to_string(),
            },
        ),
    };
    report_unhandled(err);
}

impl<T, E> Shared<T, E> {
    /// Records a failure; in a fail-fast group the first one cancels every other child.
    /// Returns the tasks to drop (outside the lock).
    /// If the group was dropped, hands the failure back: the caller reports it to the
    /// unhandled-error hook once the lock is released (the hook is user code).
    fn fail(
        &self,
        st: &mut State<T, E>,
        f: Failure<E>,
        me: Weak<Shared<T, E>>,
    ) -> (Vec<Task<()>>, Option<Failure<E>>) {
        if st.phase == Phase::Dropped {
            return (Vec::new(), Some(f));
        }
        st.failures.push(f);
        if st.phase == Phase::Open && !self.supervisor {
            st.phase = Phase::Aborting;
            return (stop(st, me), None);
        }
        (Vec::new(), None)
    }
}

/// Stops the children: cancels the group's token (cooperative cancellation), then takes every
/// child task out of the group, to be dropped (hard-cancelled) outside the lock, or, with a grace
/// period, schedules that for later. A running child that completes detaches its own task first,
/// so it is never among them.
fn stop<T, E>(st: &mut State<T, E>, shared: Weak<Shared<T, E>>) -> Vec<Task<()>> {
    st.token.cancel();
    match st.grace {
        None => std::mem::take(&mut st.tasks).into_values().collect(),
        Some(d) => {
            if !st.reaper && !st.tasks.is_empty() {
                st.reaper = true;
                (st.spawn_reaper)(shared, d);
            }
            Vec::new()
        }
    }
}

/// After the grace period, hard-cancels the children that are still running.
fn spawn_reaper<T: Send + 'static, E: Send + 'static>(shared: Weak<Shared<T, E>>, d: Duration) {
    crate::spawn(async move {
        weft_timer::sleep(d).await;
        let Some(sh) = shared.upgrade() else {
            return;
        };
        let tasks: Vec<Task<()>> = std::mem::take(&mut lock(&sh.st).tasks)
            .into_values()
            .collect();
        drop(sh);
        if crate::context::debug_mode() {
            for t in &tasks {
                eprintln!(
                    "weft: {} ignored its task group's cancellation for {d:?}; dropping it",
                    t.info()
                );
            }
        }
        drop(tasks);
    })
    .detach();
}

/// Lives in a child's task; records the outcome, and when the child's future is dropped
/// (completed or cancelled) tells the group, after the user's future has been dropped.
struct Child<F, T, E> {
    fut: Option<F>,
    slot: Arc<Slot<T>>,
    shared: Arc<Shared<T, E>>,
}

impl<F, T, E> Child<F, T, E> {
    fn complete(&mut self, out: Result<Result<T, E>, Box<dyn Any + Send>>) {
        let failure = match out {
            Ok(Ok(v)) => {
                self.slot.set(Out::Value(v));
                None
            }
            Ok(Err(e)) => Some(FailureKind::Error(e)),
            Err(p) => Some(FailureKind::Panic(p)),
        };
        let (to_drop, joiner, unreported, fmt) = {
            let mut st = lock(&self.shared.st);
            let mut to_drop = Vec::new();
            let mut joiner = None;
            let mut unreported = None;
            if let Some(t) = st.tasks.remove(&self.slot.seq) {
                t.detach();
            }
            if let Some(kind) = failure {
                self.slot.set(Out::Failed);
                st.slots.remove(&self.slot.seq);
                let f = Failure {
                    task: crate::task::try_current(),
                    kind,
                };
                (to_drop, unreported) = self.shared.fail(&mut st, f, Arc::downgrade(&self.shared));
                // Wake the scoped form's body poller (it stops the body on a failure).
                joiner = st.joiner.take();
            }
            (to_drop, joiner, unreported, st.fmt_err)
        };
        drop(to_drop);
        if let Some(w) = joiner {
            w.wake();
        }
        if let Some(f) = unreported {
            report(fmt, f);
        }
    }
}

impl<F, T, E> Drop for Child<F, T, E> {
    fn drop(&mut self) {
        // The user's future (and its destructors) first, then the accounting.
        self.fut = None;
        self.slot.set(Out::Cancelled);
        let (joiner, own) = {
            let mut st = lock(&self.shared.st);
            // Still there if the child never completed (refused start, runtime shutdown).
            let own = st.tasks.remove(&self.slot.seq);
            st.live -= 1;
            if !matches!(lock(&self.slot.st).0, Out::Value(_)) {
                st.slots.remove(&self.slot.seq);
            }
            let joiner = if st.live == 0 { st.joiner.take() } else { None };
            (joiner, own)
        };
        if let Some(t) = own {
            t.detach();
        }
        if let Some(w) = joiner {
            w.wake();
        }
    }
}

/// A handle to a child of a [`TaskGroup`].
///
/// Awaiting it waits for the child and gives `Some(value)` if it succeeded: the value is then
/// **taken** (it will not be in the `Vec` of [`TaskGroup::join`]). It gives `None` if the child
/// failed (the failure is reported by `join`, once), was cancelled, never ran, or its value was
/// already collected by `join`.
///
/// **Dropping the handle only stops observing**: the child keeps running and the group still
/// joins it (unlike a top-level [`Task`], whose drop cancels). [`GroupHandle::cancel`] cancels
/// just this child (not a failure).
///
/// Awaiting it is cancel-safe: the value stays in the group if the await is dropped.
pub struct GroupHandle<T> {
    slot: Arc<Slot<T>>,
    info: Option<TaskInfo>,
    ctl: Option<Arc<dyn Ctl>>,
}

impl<T> GroupHandle<T> {
    /// The child's task info (id, name, spawn location); `None` if the spawn was refused.
    pub fn info(&self) -> Option<&TaskInfo> {
        self.info.as_ref()
    }

    /// Whether the child has finished (succeeded, failed, been cancelled or never run).
    pub fn is_finished(&self) -> bool {
        !matches!(lock(&self.slot.st).0, Out::Pending)
    }

    /// Cancels this child only (its future is dropped at its next await). Not a failure: the
    /// group goes on. Awaiting the handle then gives `None`, unless the child had already
    /// succeeded.
    pub fn cancel(&self) {
        if let Some(ctl) = &self.ctl {
            ctl.cancel_child(self.slot.seq);
        }
    }
}

impl<T> Future for GroupHandle<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut g = lock(&self.slot.st);
        let taken = match std::mem::replace(&mut g.0, Out::Taken) {
            Out::Pending => {
                g.0 = Out::Pending;
                match &g.1 {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => g.1 = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            Out::Value(v) => v,
            other => {
                g.0 = other;
                return Poll::Ready(None);
            }
        };
        drop(g);
        if let Some(ctl) = &self.ctl {
            ctl.forget(self.slot.seq);
        }
        Poll::Ready(Some(taken))
    }
}

impl<T> fmt::Debug for GroupHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupHandle")
            .field("task", &self.info)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// A cloneable, `Send` handle that spawns into a [`TaskGroup`]: give it to children so they can
/// spawn siblings, or get one from [`task_group`]. It cannot join the group.
pub struct GroupSpawner<T, E> {
    shared: Arc<Shared<T, E>>,
}

impl<T, E> Clone for GroupSpawner<T, E> {
    fn clone(&self) -> Self {
        GroupSpawner {
            shared: self.shared.clone(),
        }
    }
}

impl<T, E> fmt::Debug for GroupSpawner<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.shared.st);
        f.debug_struct("GroupSpawner")
            .field("phase", &st.phase)
            .field("live", &st.live)
            .finish()
    }
}

impl<T, E> GroupSpawner<T, E>
where
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    #[track_caller]
    fn spawn_inner<F>(&self, name: Option<String>, fut: F) -> Result<GroupHandle<T>, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let limit;
        // Register the child before it can run, so that a child completing (or failing) at once
        // is already counted by the group when its outcome is processed.
        let slot = {
            let mut st = lock(&self.shared.st);
            match st.phase {
                Phase::Open => {}
                Phase::Aborting => return Err(SpawnError::Aborting),
                Phase::Cancelled => return Err(SpawnError::Cancelled),
                Phase::Finished | Phase::Dropped => return Err(SpawnError::Finished),
            }
            st.live += 1;
            limit = st.limit.clone().map(|l| (l, st.token.clone()));
            let slot = Arc::new(Slot {
                seq: st.next_seq,
                st: Mutex::new((Out::Pending, None)),
            });
            st.next_seq += 1;
            st.slots.insert(slot.seq, slot.clone());
            if st.fmt_err.is_none() {
                st.fmt_err = Some(|e: &E| e.to_string());
            }
            slot
        };
        let child = Child {
            fut: Some(fut),
            slot: slot.clone(),
            shared: self.shared.clone(),
        };
        let wrapper = async move {
            // Locals drop in reverse order: the user's future before `child`'s accounting.
            let mut child = child;
            let fut = child.fut.take();
            // Waiting for a permit ends early if the group stops meanwhile.
            let _permit = match &limit {
                Some((sem, token)) => token.run_until_cancelled(sem.acquire()).await,
                None => None,
            };
            // The group may have stopped while this child waited for its first poll or for a
            // permit (a sibling's cancellation can hand it the permit before its own `Task` is
            // dropped): a child that has not started never starts once the group stopped.
            let open = lock(&child.shared.st).phase == Phase::Open;
            // `filter` drops a child that must not start right here, before `child`'s accounting
            // (a tail-expression `if let` would keep it alive until after `child` is dropped, so
            // `join` could return while the child's destructors had not run yet).
            let Some(fut) = fut.filter(|_| open) else {
                return;
            };
            let out = AssertUnwindSafe(fut).catch_unwind().await;
            child.complete(out);
        };
        let task = match name {
            Some(n) => crate::task::Builder::new().name(n).spawn(wrapper),
            None => crate::spawn(wrapper),
        };
        let info = task.info().clone();
        let cancel_now = {
            let mut st = lock(&self.shared.st);
            // The child may already have completed or been dropped (it removed no entry then):
            // its outcome is set under this same lock order, so it is seen here.
            let done = task.is_finished() || !matches!(lock(&slot.st).0, Out::Pending);
            if done {
                task.detach();
                None
            } else if st.phase == Phase::Open || st.phase == Phase::Finished {
                // (`Finished` cannot happen while this child is live.)
                st.tasks.insert(slot.seq, task);
                None
            } else {
                // The group started cancelling while we spawned: this child goes too.
                Some(task)
            }
        };
        drop(cancel_now);
        Ok(GroupHandle {
            slot,
            info: Some(info),
            ctl: Some(self.shared.clone() as Arc<dyn Ctl>),
        })
    }

    fn refused(&self) -> GroupHandle<T> {
        GroupHandle {
            slot: Arc::new(Slot {
                seq: u64::MAX,
                st: Mutex::new((Out::Cancelled, None)),
            }),
            info: None,
            ctl: None,
        }
    }

    /// See [`TaskGroup::spawn`].
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> GroupHandle<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.spawn_inner(None, fut)
            .unwrap_or_else(|_| self.refused())
    }

    /// See [`TaskGroup::try_spawn`].
    #[track_caller]
    pub fn try_spawn<F>(&self, fut: F) -> Result<GroupHandle<T>, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.spawn_inner(None, fut)
    }

    /// See [`TaskGroup::spawn_named`].
    #[track_caller]
    pub fn spawn_named<F>(&self, name: impl Into<String>, fut: F) -> GroupHandle<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.spawn_inner(Some(name.into()), fut)
            .unwrap_or_else(|_| self.refused())
    }

    /// See [`TaskGroup::spawn_ok`].
    #[track_caller]
    pub fn spawn_ok<F>(&self, fut: F) -> GroupHandle<T>
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.spawn_inner(None, async move { Ok(fut.await) })
            .unwrap_or_else(|_| self.refused())
    }

    /// See [`TaskGroup::cancel`].
    pub fn cancel(&self) {
        let tasks = {
            let mut st = lock(&self.shared.st);
            if st.phase != Phase::Open {
                return;
            }
            st.phase = Phase::Cancelled;
            let j = st.joiner.take();
            let tasks = stop(&mut st, Arc::downgrade(&self.shared));
            (tasks, j)
        };
        if let Some(w) = tasks.1 {
            w.wake();
        }
        drop(tasks.0);
    }

    /// Number of children still running (their futures not yet dropped).
    pub fn live(&self) -> usize {
        lock(&self.shared.st).live
    }

    /// See [`TaskGroup::token`].
    pub fn token(&self) -> CancellationToken {
        lock(&self.shared.st).token.clone()
    }
}

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
    sp: GroupSpawner<T, E>,
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
                shared: Arc::new(Shared {
                    supervisor,
                    st: Mutex::new(State {
                        phase: Phase::Open,
                        live: 0,
                        slots: BTreeMap::new(),
                        next_seq: 0,
                        failures: Vec::new(),
                        tasks: BTreeMap::new(),
                        joiner: None,
                        limit: limit.map(|n| Arc::new(Semaphore::new(n.max(1)))),
                        fmt_err: None,
                        token: CancellationToken::new(),
                        grace: None,
                        reaper: false,
                        spawn_reaper: spawn_reaper::<T, E>,
                    }),
                }),
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

    /// Waits for every child (cancelled ones included: their futures have been dropped when this
    /// returns), then returns the values of the children that succeeded, **in spawn order**
    /// (values taken through a [`GroupHandle`] are not included), or a [`GroupError`] with
    /// every failure in completion order.
    ///
    /// Cancel-safety: dropping the `join` future drops the group, which cancels the children
    /// that are still running (without waiting for them) and sends failures already recorded to
    /// the unhandled-error hook.
    pub async fn join(self) -> Result<Vec<T>, GroupError<E>> {
        poll_fn(|cx| self.poll_join(cx)).await
    }

    /// Cancels every child ([`TaskGroup::cancel`]) and waits until all of them have stopped
    /// (their futures dropped, destructors run): the awaitable form of dropping a group.
    /// Returns like [`TaskGroup::join`]: the values of children that had completed, or the
    /// failures recorded before the cancellation.
    ///
    /// ```
    /// weft_executor::run(async {
    ///     let mut g = weft_executor::TaskGroup::<(), std::convert::Infallible>::new();
    ///     g.spawn(std::future::pending());
    ///     assert!(g.cancel_and_join().await.unwrap().is_empty());
    /// });
    /// ```
    pub async fn cancel_and_join(self) -> Result<Vec<T>, GroupError<E>> {
        self.cancel();
        self.join().await
    }

    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<Vec<T>, GroupError<E>>> {
        let mut st = lock(&self.sp.shared.st);
        if st.phase == Phase::Finished {
            return Poll::Ready(Ok(Vec::new()));
        }
        if st.live > 0 {
            st.joiner = Some(cx.waker().clone());
            return Poll::Pending;
        }
        st.phase = Phase::Finished;
        let failures = std::mem::take(&mut st.failures);
        let slots = std::mem::take(&mut st.slots);
        drop(st);
        if !failures.is_empty() {
            return Poll::Ready(Err(GroupError { failures }));
        }
        let mut out = Vec::with_capacity(slots.len());
        for s in slots.into_values() {
            let mut g = lock(&s.st);
            if let Out::Value(_) = g.0 {
                if let Out::Value(v) = std::mem::replace(&mut g.0, Out::Taken) {
                    out.push(v);
                }
            }
        }
        Poll::Ready(Ok(out))
    }

    /// Records the body's failure (scoped form) and cancels the children.
    fn fail_body(&self, e: E) {
        let tasks = {
            let mut st = lock(&self.sp.shared.st);
            st.failures.push(Failure {
                task: None,
                kind: FailureKind::Error(e),
            });
            if matches!(st.phase, Phase::Open | Phase::Cancelled) {
                st.phase = Phase::Aborting;
            }
            stop(&mut st, Arc::downgrade(&self.sp.shared))
        };
        drop(tasks);
    }

    /// Registers `cx` to be woken when a child fails or the group is cancelled; true if the body
    /// should stop now.
    fn should_stop_body(&self, cx: &mut Context<'_>) -> bool {
        let mut st = lock(&self.sp.shared.st);
        if st.phase == Phase::Open {
            st.joiner = Some(cx.waker().clone());
            false
        } else {
            true
        }
    }
}

impl<T, E> Drop for TaskGroup<T, E> {
    fn drop(&mut self) {
        let (tasks, failures, fmt) = {
            let mut st = lock(&self.sp.shared.st);
            if st.phase == Phase::Finished {
                return;
            }
            st.phase = Phase::Dropped;
            let tasks = stop(&mut st, Arc::downgrade(&self.sp.shared));
            if st.live > 0 && crate::context::debug_mode() {
                eprintln!(
                    "weft: TaskGroup dropped while {} child(ren) still running; they were \
                     cancelled without being waited for (await `join()` to wait for them)",
                    st.live
                );
            }
            (tasks, std::mem::take(&mut st.failures), st.fmt_err)
        };
        drop(tasks);
        for f in failures {
            report(fmt, f);
        }
    }
}

/// The scoped form of [`TaskGroup`] (`async with asyncio.TaskGroup() as tg:`): runs `body` with
/// a [`GroupSpawner`], then joins every child.
///
/// The body is the group's first member: if a child fails (fail-fast) or the group is
/// cancelled, the body is dropped at its current `.await` (interrupted, like asyncio cancelling
/// the body of `async with`); if the body returns `Err(e)`, `e` is recorded as a failure (with
/// no task) and the children are cancelled. Returns the children's values in spawn order, or a
/// [`GroupError`] with every failure. A panic in the body itself propagates (after the group is
/// dropped, which cancels the children).
///
/// Cancel-safety: as [`TaskGroup::join`]: dropping it cancels the children without waiting.
///
/// ```
/// weft_executor::run(async {
///     let out = weft_executor::task_group(|g| async move {
///         for i in 0..3u64 {
///             g.spawn(async move { Ok::<_, String>(i * i) });
///         }
///         Ok(())
///     })
///     .await;
///     assert_eq!(out.unwrap(), [0, 1, 4]);
/// });
/// ```
pub fn task_group<T, E, B, Fut>(body: B) -> impl Future<Output = Result<Vec<T>, GroupError<E>>>
where
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
    B: FnOnce(GroupSpawner<T, E>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let group = TaskGroup::<T, E>::new();
    let fut = body(group.spawner());
    async move {
        let mut fut = pin!(Some(fut));
        poll_fn(|cx| {
            if let Some(f) = fut.as_mut().as_pin_mut() {
                if group.should_stop_body(cx) {
                    fut.set(None);
                } else if let Poll::Ready(r) = f.poll(cx) {
                    fut.set(None);
                    if let Err(e) = r {
                        group.fail_body(e);
                    }
                } else {
                    return Poll::Pending;
                }
            }
            group.poll_join(cx)
        })
        .await
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
