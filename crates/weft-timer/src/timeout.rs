//! `timeout` and `timeout_at`.

use std::error::Error;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use crate::timers::add_or_far;
use crate::{Sleep, Timers};

/// Runs `f` for at most `d`. Returns `Ok(output)` if it finishes in time, else `Err(Elapsed)`
/// (and `f` is dropped at that moment).
///
/// ```
/// use std::time::Duration;
/// use weft_timer::{sleep, timeout};
///
/// futures_lite::future::block_on(async {
///     assert_eq!(timeout(Duration::from_secs(5), async { 7 }).await, Ok(7));
///     let slow = sleep(Duration::from_secs(60));
///     assert!(timeout(Duration::from_millis(2), slow).await.is_err());
/// });
/// ```
pub fn timeout<F: IntoFuture>(d: Duration, f: F) -> Timeout<F::IntoFuture> {
    let timers = Timers::current();
    let deadline = add_or_far(timers.now(), d);
    // `now + d` is due at creation exactly when `d` is zero: no second clock read.
    Timeout::with_due(timers, deadline, d.is_zero(), f.into_future())
}

/// Runs `f` until `deadline`; see [`timeout`].
pub fn timeout_at<F: IntoFuture>(deadline: Instant, f: F) -> Timeout<F::IntoFuture> {
    Timeout::new_in(Timers::current(), deadline, f.into_future())
}

/// The error of a [`Timeout`]: the deadline passed before the future completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline elapsed before the operation completed (raise the timeout if it needs more time)")
    }
}

impl Error for Elapsed {}

pin_project! {
    /// Future returned by [`timeout`] and [`timeout_at`].
    ///
    /// The first poll polls the inner future first (a future that is ready at once wins),
    /// unless the deadline was already due when the `Timeout` was made: then, as asyncio's
    /// `timeout(0)`, the inner future is never started. Every later poll looks at the deadline
    /// first, so of two nested timeouts with the same deadline the outer one reports the
    /// expiry (asyncio's rule). On expiry the inner future is dropped in place and
    /// `Err(Elapsed)` is returned; polling again after that keeps returning `Err(Elapsed)`.
    ///
    /// # Cancel safety
    ///
    /// As cancel-safe as the inner future: dropping a `Timeout` drops the inner future.
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        inner: Option<F>,
        sleep: Sleep,
        // Whether a poll looks at the deadline before the inner future: after the first poll,
        // or from the start when the deadline was already due at creation.
        deadline_first: bool,
    }
}

impl<F> Timeout<F> {
    /// Wraps `f` with a deadline on explicit `timers`.
    pub fn new_in(timers: Timers, deadline: Instant, f: F) -> Timeout<F> {
        let due = timers.now() >= deadline;
        Timeout::with_due(timers, deadline, due, f)
    }

    /// `due`: whether the deadline was already due when the timeout was made.
    fn with_due(timers: Timers, deadline: Instant, due: bool, f: F) -> Timeout<F> {
        let deadline_first = due;
        Timeout {
            inner: Some(f),
            // Not due when made: the clock was read then, so the sleep's first poll need not.
            sleep: Sleep::later_than_made(timers, deadline, !due),
            deadline_first,
        }
    }

    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// The inner future, unless it was dropped on expiry.
    pub fn get_ref(&self) -> Option<&F> {
        self.inner.as_ref()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if *this.deadline_first && this.sleep.is_elapsed() {
            this.inner.set(None);
            return Poll::Ready(Err(Elapsed(())));
        }
        *this.deadline_first = true;
        match this.inner.as_mut().as_pin_mut() {
            Some(f) => {
                if let Poll::Ready(v) = f.poll(cx) {
                    return Poll::Ready(Ok(v));
                }
            }
            None => return Poll::Ready(Err(Elapsed(()))),
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => {
                this.inner.set(None);
                Poll::Ready(Err(Elapsed(())))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.sleep.deadline())
            .field("expired", &self.inner.is_none())
            .finish()
    }
}
