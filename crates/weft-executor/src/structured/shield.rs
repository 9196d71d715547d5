//! [`shield`]: work that outlives the caller's cancellation, and [`wait_shielded`] /
//! [`shutdown_shielded`] so shutdown can wait for it.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use slab::Slab;

use crate::lock::lock;
use crate::task::TaskInfo;
use crate::{JoinError, Task};

struct Entry {
    /// The executor the shielded task runs on ([`crate::context::executor_key`]).
    key: usize,
    /// Never reused (the slab index is): identifies this shield when its info is filled in.
    token: u64,
    info: Option<TaskInfo>,
}

fn next_token() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[derive(Default)]
struct Registry {
    entries: Slab<Entry>,
    waiters: Vec<Waker>,
}

fn registry() -> &'static (Mutex<Registry>, Condvar) {
    static R: OnceLock<(Mutex<Registry>, Condvar)> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// Keeps a shielded future registered until it is dropped (after the future itself).
struct Tracked<F> {
    fut: Option<F>,
    id: usize,
}

impl<F> Drop for Tracked<F> {
    fn drop(&mut self) {
        self.fut = None;
        let (m, cv) = registry();
        let waiters = {
            let mut r = lock(m);
            r.entries.try_remove(self.id);
            std::mem::take(&mut r.waiters)
        };
        cv.notify_all();
        for w in waiters {
            w.wake();
        }
    }
}

/// Runs `fut` as its own task, so that **cancelling the caller does not stop it** (asyncio's
/// `shield`): dropping the returned [`Shield`] detaches the task instead of cancelling it.
/// Awaiting the `Shield` gives the task's result.
///
/// The work is registered with the runtime it runs on: [`wait_shielded`] (or
/// [`shutdown_shielded`]) waits for it, with a timeout, and reports what it had to abandon.
/// Runtime shutdown still cancels shielded tasks that are unfinished by then, so call one of
/// those before shutting down (`weft::run` does). Nothing shields against a hard drop of the
/// task itself (runtime shutdown): a shield is a separate task, not an uncancellable future.
///
/// Awaiting is cancel-safe: that is the point.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// weft_executor::run(async {
///     let saved = Arc::new(AtomicBool::new(false));
///     let may_finish = Arc::new(weft_sync::Event::new());
///     let (s, go) = (saved.clone(), may_finish.clone());
///     let save = weft_executor::shield(async move {
///         go.wait().await; // the work is still running when the caller gives up
///         s.store(true, Ordering::SeqCst);
///     });
///     // The caller gives up (a timeout, a cancelled request)...
///     let r = weft_timer::timeout(Duration::from_millis(1), save).await;
///     assert!(r.is_err());
///     // ...but the shielded work goes on.
///     may_finish.set();
///     let report = weft_executor::wait_shielded(Duration::from_secs(5)).await;
///     assert!(report.is_clean());
///     assert!(saved.load(Ordering::SeqCst));
/// });
/// ```
#[track_caller]
pub fn shield<F>(fut: F) -> Shield<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    shield_as(fut, TaskInfo::new(None, std::panic::Location::caller()))
}

/// [`shield`], with the shielded task's name and location given (for helpers that shield work
/// on their caller's behalf, such as `with_resource`'s cleanup).
pub(crate) fn shield_as<F>(fut: F, info: TaskInfo) -> Shield<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let key = crate::context::executor_key();
    let token = next_token();
    let id = lock(&registry().0).entries.insert(Entry {
        key,
        token,
        info: None,
    });
    let tracked = Tracked { fut: Some(fut), id };
    let task = crate::context::spawn(
        async move {
            let mut t = tracked;
            let fut = t.fut.take();
            match fut {
                Some(f) => Some(f.await),
                None => None,
            }
        },
        info,
    );
    if let Some(e) = lock(&registry().0).entries.get_mut(id) {
        // The shielded work may have finished already and its slot been reused.
        if e.token == token {
            e.info = Some(task.info().clone());
        }
    }
    Shield { task: Some(task) }
}

/// The handle returned by [`shield`]: await it for the result; dropping it lets the work finish
/// in the background (it does not cancel).
#[must_use = "dropping a Shield lets the work finish in the background; await it for the result"]
pub struct Shield<T> {
    task: Option<Task<Option<T>>>,
}

impl<T> Shield<T> {
    /// The shielded task's info.
    pub fn info(&self) -> Option<&TaskInfo> {
        self.task.as_ref().map(|t| t.info())
    }

    /// Whether the shielded work has finished.
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl<T> Future for Shield<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(t) = self.task.as_mut() else {
            return Poll::Ready(Err(JoinError::Cancelled));
        };
        let r = match Pin::new(t).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(Some(v))) => Ok(v),
            Poll::Ready(Ok(None)) => Err(JoinError::Cancelled),
            Poll::Ready(Err(e)) => Err(e),
        };
        self.task = None;
        Poll::Ready(r)
    }
}

impl<T> Drop for Shield<T> {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.detach();
        }
    }
}

impl<T> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield")
            .field("task", &self.info())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// What [`wait_shielded`] / [`shutdown_shielded`] found.
#[derive(Debug, Clone)]
pub struct ShieldReport {
    waited: Duration,
    abandoned: Vec<TaskInfo>,
    /// Abandoned entries whose task info was not known yet (a shield still being spawned).
    unnamed: usize,
}

impl ShieldReport {
    /// How long the wait took.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// Shielded tasks still running when the timeout expired (they will be cancelled if the
    /// runtime now shuts down).
    pub fn abandoned(&self) -> &[TaskInfo] {
        &self.abandoned
    }

    /// Number of shielded tasks still running when the timeout expired, including any not
    /// listed in [`ShieldReport::abandoned`] (caught while still being spawned).
    pub fn abandoned_count(&self) -> usize {
        self.abandoned.len() + self.unnamed
    }

    /// True if every shielded task finished in time.
    pub fn is_clean(&self) -> bool {
        self.abandoned_count() == 0
    }
}

impl fmt::Display for ShieldReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return write!(f, "all shielded work finished (waited {:?})", self.waited);
        }
        write!(
            f,
            "{} shielded task(s) still running after {:?}, abandoned:",
            self.abandoned_count(),
            self.waited
        )?;
        for t in &self.abandoned {
            write!(f, " [{t}]")?;
        }
        if self.unnamed > 0 {
            write!(f, " and {} still being spawned", self.unnamed)?;
        }
        Ok(())
    }
}

/// The report of what is left of executor `key`'s shielded work after waiting `waited`.
fn report(r: &Registry, key: usize, waited: Duration) -> ShieldReport {
    let mut abandoned = Vec::new();
    let mut unnamed = 0;
    for (_, e) in r.entries.iter().filter(|(_, e)| e.key == key) {
        match &e.info {
            Some(i) => abandoned.push(i.clone()),
            None => unnamed += 1,
        }
    }
    ShieldReport {
        waited,
        abandoned,
        unnamed,
    }
}

/// Ids of the shielded tasks of executor `key` still running (for `run`, which cancels every
/// other task first).
pub(crate) fn shielded_ids(key: usize) -> std::collections::HashSet<crate::task::Id> {
    lock(&registry().0)
        .entries
        .iter()
        .filter(|(_, e)| e.key == key)
        .filter_map(|(_, e)| e.info.as_ref().map(TaskInfo::id))
        .collect()
}

fn any_left(r: &Registry, key: usize) -> bool {
    r.entries.iter().any(|(_, e)| e.key == key)
}

/// Waits (asynchronously) until every shielded task of the current runtime has finished, or
/// `timeout` has elapsed, and reports the tasks it abandoned. Call it at the end of `main`
/// (`weft::run` does), like asyncio waiting for pending work at shutdown.
///
/// Cancel-safe: it only observes.
pub async fn wait_shielded(timeout: Duration) -> ShieldReport {
    let key = crate::context::executor_key();
    let start = Instant::now();
    let mut sleep = Box::pin(weft_timer::sleep(timeout));
    poll_fn(|cx| {
        {
            let mut r = lock(&registry().0);
            if !any_left(&r, key) {
                return Poll::Ready(());
            }
            if !r.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                r.waiters.push(cx.waker().clone());
            }
        }
        sleep.as_mut().poll(cx)
    })
    .await;
    report(&lock(&registry().0), key, start.elapsed())
}

/// Blocking form of [`wait_shielded`] for shutdown paths outside async code: blocks this thread
/// (real time) until the current runtime's shielded tasks have finished or `timeout` elapsed.
///
/// Only for multi-threaded runtimes, on a thread that is not one of its workers (for example
/// inside `Runtime::block_on` just before it returns); a `LocalRuntime`'s shielded tasks need
/// the very thread this would block, so use [`wait_shielded`] there.
pub fn shutdown_shielded(timeout: Duration) -> ShieldReport {
    wait_shielded_blocking(crate::context::executor_key(), timeout)
}

/// Blocks until the shielded tasks of the executor identified by `key` have finished, or
/// `timeout` elapsed.
pub(crate) fn wait_shielded_blocking(key: usize, timeout: Duration) -> ShieldReport {
    let start = Instant::now();
    let deadline = start + timeout;
    let (m, cv) = registry();
    let mut r = lock(m);
    while any_left(&r, key) {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        r = cv
            .wait_timeout(r, deadline - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    report(&r, key, start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14, defect 8: an entry whose task info was not recorded yet was left out of the
    /// report, so `is_clean()` said true although work was abandoned.
    #[test]
    fn an_entry_without_info_is_not_clean() {
        let key = crate::context::next_executor_id();
        let id = lock(&registry().0).entries.insert(Entry {
            key,
            token: next_token(),
            info: None,
        });
        let report = wait_shielded_blocking(key, Duration::from_millis(1));
        lock(&registry().0).entries.remove(id);
        assert!(!report.is_clean(), "{report}");
        assert_eq!(report.abandoned_count(), 1);
        assert!(
            report.to_string().contains("1 still being spawned"),
            "{report}"
        );
    }

    /// Executor keys are never reused, unlike the addresses they used to be.
    #[test]
    fn executor_keys_are_never_reused() {
        let key = || {
            crate::LocalRuntime::new()
                .unwrap()
                .block_on(async { crate::context::executor_key() })
        };
        let (a, b) = (key(), key());
        assert_ne!(a, b);
    }
}
