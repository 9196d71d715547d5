//! [`yield_now`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields once: the task is rescheduled behind the other ready tasks.
///
/// Cancel-safe (it holds nothing).
///
/// ```
/// let rt = weft_executor::LocalRuntime::new().unwrap();
/// rt.block_on(async { weft_executor::yield_now().await });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow(false)
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            super::current::note_yield(cx.waker());
            Poll::Pending
        }
    }
}
