//! `gather`, `try_gather`, `gather_settled`, `race`, `as_completed` and the `gather!` /
//! `try_gather!` macros.
//!
//! All of them run their futures **concurrently inside the awaiting task** (like `join!`):
//! nothing is spawned, so the futures may borrow local data and need not be `Send`. For
//! parallelism across worker threads, pass tasks ([`crate::spawn`]`(fut)`): a [`crate::Task`] is
//! a future too. Dropping any of these futures drops (cancels) every future still running in it,
//! so none of them leaks work the way asyncio's `gather` does after a failure.

use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::Stream;

use super::set::FutureSet;
use crate::JoinError;

/// Runs all futures concurrently and returns their outputs **in argument order** (asyncio's
/// `gather(*aws)`, futures' `join_all`).
///
/// For fallible futures the outputs are `Result`s, so every error is returned as a value (asyncio's
/// `return_exceptions=True`); use [`try_gather`] to stop at the first error instead, and
/// [`gather_settled`] to also turn panics into values.
///
/// Cancel-safety: dropping the returned future drops every unfinished future (their outputs are
/// lost); completed outputs are dropped too.
///
/// ```
/// use std::time::Duration;
///
/// async fn fetch(ms: u64) -> u64 {
///     weft_timer::sleep(Duration::from_millis(ms)).await;
///     ms
/// }
///
/// weft_executor::run(async {
///     let out = weft_executor::gather([fetch(5), fetch(0), fetch(2)]).await;
///     assert_eq!(out, [5, 0, 2]); // argument order, not completion order
///     // Tasks are futures too: this runs on several worker threads.
///     let out = weft_executor::gather((0..3).map(|i| weft_executor::spawn(fetch(i)))).await;
///     assert_eq!(out.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [0, 1, 2]);
/// });
/// ```
#[doc(alias = "join_all")]
pub async fn gather<I>(futs: I) -> Vec<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future,
{
    let mut set = FutureSet::new(futs);
    let mut out: Vec<Option<<I::Item as Future>::Output>> = (0..set.len()).map(|_| None).collect();
    while let Some((i, v)) = poll_fn(|cx| set.poll_next(cx)).await {
        out[i] = Some(v);
    }
    out.into_iter().flatten().collect()
}

/// Runs all futures concurrently; returns `Ok` with every output in argument order, or the
/// **first** `Err` (in completion order), after dropping (cancelling) the futures still running.
///
/// Cancel-safety: as [`gather`].
///
/// ```
/// async fn parse(s: &str) -> Result<i32, std::num::ParseIntError> {
///     s.parse()
/// }
///
/// weft_executor::run(async {
///     let ok = weft_executor::try_gather(["1", "2"].map(parse)).await;
///     assert_eq!(ok, Ok(vec![1, 2]));
///     let err = weft_executor::try_gather(["1", "x", "3"].map(parse)).await;
///     assert!(err.is_err());
/// });
/// ```
#[doc(alias = "try_join_all")]
pub async fn try_gather<I, T, E>(futs: I) -> Result<Vec<T>, E>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>>,
{
    let mut set = FutureSet::new(futs);
    let mut out: Vec<Option<T>> = (0..set.len()).map(|_| None).collect();
    while let Some((i, v)) = poll_fn(|cx| set.poll_next(cx)).await {
        match v {
            Ok(v) => out[i] = Some(v),
            Err(e) => {
                set.clear();
                return Err(e);
            }
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// asyncio's `gather(..., return_exceptions=True)`: runs all futures to the end and returns
/// every outcome in argument order, a panic included: `Err(JoinError::Panicked(payload))`. One
/// future failing or panicking never stops the others.
///
/// Cancel-safety: as [`gather`].
///
/// ```
/// async fn check(n: i32) -> i32 {
///     assert!(n >= 0, "negative input");
///     n
/// }
///
/// weft_executor::run(async {
///     let out = weft_executor::gather_settled([check(1), check(-1)]).await;
///     assert_eq!(*out[0].as_ref().unwrap(), 1);
///     assert!(out[1].as_ref().unwrap_err().is_panic());
/// });
/// ```
#[doc(alias = "return_exceptions")]
#[doc(alias = "join_all")]
pub async fn gather_settled<I>(futs: I) -> Vec<Result<<I::Item as Future>::Output, JoinError>>
where
    I: IntoIterator,
    I::Item: Future,
{
    let mut set = FutureSet::new(futs);
    let mut out: Vec<Option<Result<_, JoinError>>> = (0..set.len()).map(|_| None).collect();
    while let Some((i, v)) = poll_fn(|cx| {
        set.poll_next_with(cx, |f, cx| {
            match catch_unwind(AssertUnwindSafe(|| f.poll(cx))) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
                Err(p) => Poll::Ready(Err(JoinError::Panicked(p))),
            }
        })
    })
    .await
    {
        out[i] = Some(v);
    }
    out.into_iter().flatten().collect()
}

/// Runs the futures concurrently and returns the output of the **first** to complete; the others
/// are dropped (cancelled). `None` if `futs` is empty.
///
/// Cancel-safety: dropping the returned future drops every future in it.
///
/// ```
/// use std::time::Duration;
///
/// async fn mirror(name: &str, ms: u64) -> &str {
///     weft_timer::sleep(Duration::from_millis(ms)).await;
///     name
/// }
///
/// weft_executor::run(async {
///     let winner = weft_executor::race([mirror("slow", 60_000), mirror("fast", 1)]).await;
///     assert_eq!(winner, Some("fast")); // the slow one was dropped
/// });
/// ```
#[doc(alias = "select")]
#[doc(alias = "select_all")]
#[doc(alias = "FIRST_COMPLETED")]
pub async fn race<I>(futs: I) -> Option<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future,
{
    let mut set = FutureSet::new(futs);
    let first = poll_fn(|cx| set.poll_next(cx)).await;
    set.clear();
    first.map(|(_, v)| v)
}

/// Yields the futures' outputs **in completion order**, as a [`Stream`] (asyncio's
/// `as_completed`, futures' `FuturesUnordered`).
///
/// The futures make progress only while the stream is polled. Dropping the stream drops
/// (cancels) the futures that have not completed. Use [`AsCompleted::with_index`] to learn
/// which future each output came from.
///
/// ```
/// use std::time::Duration;
/// use futures_lite::StreamExt;
/// weft_executor::run(async {
///     let delays = [30u64, 10, 20];
///     let mut s = weft_executor::as_completed(delays.map(|ms| async move {
///         weft_timer::sleep(Duration::from_millis(ms)).await;
///         ms
///     }));
///     let mut order = Vec::new();
///     while let Some(ms) = s.next().await {
///         order.push(ms);
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
pub fn as_completed<I>(futs: I) -> AsCompleted<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    AsCompleted {
        set: FutureSet::new(futs),
        with_index: false,
    }
}

/// The stream returned by [`as_completed`].
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F> {
    set: FutureSet<F>,
    with_index: bool,
}

impl<F: Future> AsCompleted<F> {
    /// Yields `(index, output)` instead, `index` being the future's position in the input.
    pub fn with_index(self) -> AsCompletedIndexed<F> {
        AsCompletedIndexed(AsCompleted {
            set: self.set,
            with_index: true,
        })
    }

    /// Number of futures that have not completed yet.
    pub fn remaining(&self) -> usize {
        self.set.remaining()
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        debug_assert!(!self.with_index);
        self.set.poll_next(cx).map(|o| o.map(|(_, v)| v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.set.remaining(), Some(self.set.remaining()))
    }
}

impl<F> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("total", &self.set.len())
            .field("remaining", &self.set.remaining())
            .finish()
    }
}

/// The stream returned by [`AsCompleted::with_index`]: `(index, output)` in completion order.
#[must_use = "streams do nothing unless polled"]
pub struct AsCompletedIndexed<F>(AsCompleted<F>);

impl<F: Future> Stream for AsCompletedIndexed<F> {
    type Item = (usize, F::Output);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.set.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<F> fmt::Debug for AsCompletedIndexed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AsCompletedIndexed").field(&self.0).finish()
    }
}

/// Helpers for the `gather!`/`try_gather!` macros. Not public API.
#[doc(hidden)]
pub mod __private {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A future, then its output, then nothing.
    pub enum MaybeDone<F: Future> {
        /// Still running.
        Running(Pin<Box<F>>),
        /// Completed; output not taken yet.
        Done(F::Output),
        /// Output taken.
        Gone,
    }

    impl<F: Future> MaybeDone<F> {
        /// Wraps a future.
        pub fn new(f: F) -> Self {
            MaybeDone::Running(Box::pin(f))
        }

        /// Polls if still running; true once done.
        pub fn poll_done(&mut self, cx: &mut Context<'_>) -> bool {
            if let MaybeDone::Running(f) = self {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *self = MaybeDone::Done(v),
                    Poll::Pending => return false,
                }
            }
            true
        }

        /// Takes the output.
        ///
        /// # Panics
        /// If not done (a bug in the macro).
        pub fn take(&mut self) -> F::Output {
            match std::mem::replace(self, MaybeDone::Gone) {
                MaybeDone::Done(v) => v,
                _ => unreachable!("weft gather!: output taken before completion"),
            }
        }
    }

    impl<T, E, F: Future<Output = Result<T, E>>> MaybeDone<F> {
        /// Takes the error if the output is an `Err`.
        pub fn take_err(&mut self) -> Option<E> {
            if let MaybeDone::Done(Err(_)) = self {
                match std::mem::replace(self, MaybeDone::Gone) {
                    MaybeDone::Done(Err(e)) => return Some(e),
                    _ => unreachable!(),
                }
            }
            None
        }

        /// Takes the `Ok` value.
        pub fn take_ok(&mut self) -> T {
            match self.take() {
                Ok(v) => v,
                Err(_) => unreachable!("weft try_gather!: error output taken as Ok"),
            }
        }
    }
}

/// Runs futures of **different types** concurrently in the current task and returns a tuple of
/// their outputs in argument order (asyncio's `gather(a, b, c)`). Evaluates to a future: write
/// `gather!(a, b).await`.
///
/// Dropping that future drops every future still running in it.
///
/// ```
/// weft_executor::run(async {
///     let (a, b, c) = weft_executor::gather!(async { 1 }, async { "two" }, async { 3.0 }).await;
///     assert_eq!((a, b, c), (1, "two", 3.0));
/// });
/// ```
#[macro_export]
macro_rules! gather {
    ($($fut:expr),+ $(,)?) => {
        $crate::__weft_gather_impl!(@munch gather [] $($fut,)+)
    };
}

/// Like [`gather!`](macro@crate::gather), for futures returning `Result<_, E>` with one error type: `Ok` with the
/// tuple of values, or the **first** `Err` as soon as it happens (the other futures are dropped).
///
/// ```
/// weft_executor::run(async {
///     let ok = weft_executor::try_gather!(async { Ok::<_, String>(1) }, async { Ok(true) }).await;
///     assert_eq!(ok, Ok((1, true)));
///     let err = weft_executor::try_gather!(
///         async { Err::<u8, _>("no".to_string()) },
///         std::future::pending::<Result<u8, String>>(), // dropped at the error
///     )
///     .await;
///     assert_eq!(err, Err("no".to_string()));
/// });
/// ```
#[macro_export]
macro_rules! try_gather {
    ($($fut:expr),+ $(,)?) => {
        $crate::__weft_gather_impl!(@munch try_gather [] $($fut,)+)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __weft_gather_impl {
    // Give each future its own (hygienic) binding `f`.
    (@munch $kind:ident [$($acc:tt)*] $head:expr, $($rest:expr,)*) => {
        $crate::__weft_gather_impl!(@munch $kind [$($acc)* (f $head)] $($rest,)*)
    };
    (@munch gather [$(($f:ident $e:expr))*]) => {{
        $( let mut $f = $crate::structured::__private::MaybeDone::new($e); )*
        ::core::future::poll_fn(move |cx: &mut ::core::task::Context<'_>| {
            let mut all = true;
            $( all &= $f.poll_done(cx); )*
            if all {
                ::core::task::Poll::Ready(($($f.take(),)*))
            } else {
                ::core::task::Poll::Pending
            }
        })
    }};
    (@munch try_gather [$(($f:ident $e:expr))*]) => {{
        $( let mut $f = $crate::structured::__private::MaybeDone::new($e); )*
        ::core::future::poll_fn(move |cx: &mut ::core::task::Context<'_>| {
            let mut all = true;
            $(
                all &= $f.poll_done(cx);
                if let ::core::option::Option::Some(e) = $f.take_err() {
                    return ::core::task::Poll::Ready(::core::result::Result::Err(e));
                }
            )*
            if all {
                ::core::task::Poll::Ready(::core::result::Result::Ok(($($f.take_ok(),)*)))
            } else {
                ::core::task::Poll::Pending
            }
        })
    }};
}
