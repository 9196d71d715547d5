//! [`stream`]: write a `Stream` as straight-line async code with yield points (an async
//! generator, `async def ...: yield x`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_lite::Stream;

use crate::lock::lock;

/// The sending side given to a [`stream`] generator: `y.yield_(v).await` hands `v` to the
/// consumer and resumes when the consumer asks for the next item.
///
/// Use it only inside the generator future it was given to (moving it into another task makes
/// that task wait forever).
pub struct Yielder<T> {
    slot: Arc<Mutex<Option<T>>>,
}

impl<T> Yielder<T> {
    /// Yields one item. Completes once the consumer has taken it and polls again.
    ///
    /// Cancel-safety: if the stream is dropped, the generator (and this future) is dropped with
    /// it; an item not yet taken is dropped.
    pub fn yield_(&self, value: T) -> YieldItem<'_, T> {
        YieldItem {
            slot: &self.slot,
            value: Some(value),
        }
    }
}

impl<T> fmt::Debug for Yielder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Yielder").finish_non_exhaustive()
    }
}

/// The future returned by [`Yielder::yield_`].
#[must_use = "yield_ does nothing unless awaited"]
pub struct YieldItem<'a, T> {
    slot: &'a Mutex<Option<T>>,
    value: Option<T>,
}

/// Former name of [`YieldItem`] (it clashed with [`crate::task::YieldNow`], the future of
/// [`crate::yield_now`]).
pub type YieldNow<'a, T> = YieldItem<'a, T>;

impl<T> Unpin for YieldItem<'_, T> {}

impl<T> Future for YieldItem<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        match self.value.take() {
            Some(v) => {
                // Hand the item over and suspend; the stream returns it from `poll_next`
                // and polls the generator again only when the next item is wanted.
                *lock(self.slot) = Some(v);
                Poll::Pending
            }
            None => {
                if lock(self.slot).is_some() {
                    // Not taken yet (polled again by something other than the stream).
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            }
        }
    }
}

impl<T> fmt::Debug for YieldItem<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("YieldItem")
            .field("sent", &self.value.is_none())
            .finish()
    }
}

/// Builds a [`Stream`] from an async generator: `gen` gets a [`Yielder`] and yields items with
/// `y.yield_(item).await`; the stream ends when the generator's future completes.
///
/// The generator runs inside the consumer's `poll_next` (no task, no channel): it runs only
/// when an item is wanted, one item is buffered at most, and the whole thing costs two
/// allocations however many items flow. **Dropping the stream drops the generator** at its
/// current `.await` (cancel-safe: nothing keeps running in the background).
///
/// ```
/// use futures_lite::StreamExt;
///
/// weft_executor::run(async {
///     let pages = weft_executor::stream(|y| async move {
///         for page in 1..=3 {
///             // e.g. let items = fetch_page(page).await;
///             for item in 0..2 {
///                 y.yield_(page * 10 + item).await;
///             }
///         }
///     });
///     let all: Vec<i32> = pages.collect().await;
///     assert_eq!(all, [10, 11, 20, 21, 30, 31]);
/// });
/// ```
#[doc(alias = "generator")]
#[doc(alias = "async_stream")]
pub fn stream<T, G, Fut>(gen: G) -> Generator<T, Fut>
where
    G: FnOnce(Yielder<T>) -> Fut,
    Fut: Future<Output = ()>,
{
    let slot = Arc::new(Mutex::new(None));
    let fut = gen(Yielder { slot: slot.clone() });
    Generator {
        slot,
        fut: Some(Box::pin(fut)),
    }
}

/// The stream returned by [`stream`].
#[must_use = "streams do nothing unless polled"]
pub struct Generator<T, Fut> {
    slot: Arc<Mutex<Option<T>>>,
    fut: Option<Pin<Box<Fut>>>,
}

impl<T, Fut> Unpin for Generator<T, Fut> {}

impl<T, Fut: Future<Output = ()>> Stream for Generator<T, Fut> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        let Some(fut) = this.fut.as_mut() else {
            return Poll::Ready(None);
        };
        let done = fut.as_mut().poll(cx).is_ready();
        if let Some(v) = lock(&this.slot).take() {
            if done {
                this.fut = None;
            }
            return Poll::Ready(Some(v));
        }
        if done {
            this.fut = None;
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

impl<T, Fut> fmt::Debug for Generator<T, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("finished", &self.fut.is_none())
            .finish()
    }
}
