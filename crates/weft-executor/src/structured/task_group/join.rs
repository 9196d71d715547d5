//! Joining a group: [`TaskGroup::join`], [`TaskGroup::cancel_and_join`] and the scoped form
//! [`task_group`].

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::{Context, Poll};

use super::super::group_error::GroupError;
use super::state::{Out, Phase};
#[cfg(doc)]
use super::GroupHandle;
use super::{GroupSpawner, TaskGroup};
use crate::lock::lock;

impl<T, E> TaskGroup<T, E>
where
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
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

    /// Registers `cx` to be woken when a child fails or the group is cancelled; true if the body
    /// should stop now.
    pub(super) fn should_stop_body(&self, cx: &mut Context<'_>) -> bool {
        let mut st = lock(&self.sp.shared.st);
        if st.phase == Phase::Open {
            st.joiner = Some(cx.waker().clone());
            false
        } else {
            true
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
