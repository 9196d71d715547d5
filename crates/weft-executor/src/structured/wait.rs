//! `wait`: asyncio's `wait(aws, timeout=, return_when=)`, which never cancels anything.

use std::future::{poll_fn, Future};
use std::task::Poll;
use std::time::Duration;

use super::set::FutureSet;

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any future completes.
    FirstCompleted,
    /// As soon as any future completes with `Err` (or when all have completed).
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
/// Futures must be `Unpin` (tasks are; box other futures with `Box::pin`).
///
/// Cancel-safety: **not** cancel-safe. If the `wait` future is dropped, the futures it holds are
/// dropped with it (tasks are then cancelled). Await it to completion, or bound it with the
/// `timeout` argument rather than by dropping it.
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
    F: Future<Output = Result<T, E>> + Unpin,
{
    let mut set = FutureSet::new(futs);
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
    let pending = (0..set.len())
        .filter_map(|i| set.take(i).map(|f| (i, f)))
        .collect();
    (done, pending)
}
