//! A single-use channel: one value, from one sender to one receiver.
//!
//! ```
//! use weft_sync::channel::oneshot;
//! # futures_lite::future::block_on(async {
//! let (tx, rx) = oneshot::channel();
//! tx.send("done").unwrap();
//! assert_eq!(rx.await, Ok("done"));
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::loom::{Arc, Mutex};

/// Creates a oneshot channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Mutex::new(State {
        value: None,
        tx_alive: true,
        rx_alive: true,
        rx_waker: None,
        tx_waker: None,
    }));
    (
        Sender {
            inner: inner.clone(),
        },
        Receiver { inner },
    )
}

// A oneshot has at most one waiter on each side, so it keeps one waker slot per side instead of a
// full `WaitList`.
struct State<T> {
    value: Option<T>,
    tx_alive: bool,
    rx_alive: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

/// The sender was dropped without sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot sender dropped without sending a value")
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value yet; the sender is still alive.
    Empty,
    /// The sender was dropped without sending (or the value was already taken).
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no value yet: await the receiver"),
            TryRecvError::Closed => f.write_str("oneshot sender dropped without sending a value"),
        }
    }
}

impl std::error::Error for TryRecvError {}

/// Sends the one value.
pub struct Sender<T> {
    inner: Arc<Mutex<State<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`. Fails, returning it, if the receiver was dropped or closed.
    pub fn send(self, value: T) -> Result<(), T> {
        let mut st = self.inner.lock();
        if !st.rx_alive {
            return Err(value);
        }
        st.value = Some(value);
        let w = st.rx_waker.take();
        drop(st);
        if let Some(w) = w {
            w.wake();
        }
        Ok(())
    }

    /// `true` if the receiver was dropped or closed (a send would fail).
    pub fn is_closed(&self) -> bool {
        !self.inner.lock().rx_alive
    }

    /// Waits until the receiver is dropped or closed (useful to abandon work nobody awaits).
    ///
    /// # Cancel safety
    /// Cancel-safe: it only observes the state.
    pub fn closed(&mut self) -> Closed<'_, T> {
        Closed { tx: self }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut st = self.inner.lock();
        st.tx_alive = false;
        st.tx_waker = None;
        let w = st.rx_waker.take();
        drop(st);
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender").finish_non_exhaustive()
    }
}

/// Future returned by [`Sender::closed`].
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    tx: &'a mut Sender<T>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.tx.inner.lock();
        if !st.rx_alive {
            return Poll::Ready(());
        }
        st.tx_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Closed").finish_non_exhaustive()
    }
}

/// Receives the one value; await it directly.
///
/// # Cancel safety
/// Awaiting `&mut receiver` is cancel-safe: a value sent while a poll was pending stays in the
/// channel for the next poll or `try_recv`.
pub struct Receiver<T> {
    inner: Arc<Mutex<State<T>>>,
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut st = self.inner.lock();
        match st.value.take() {
            Some(v) => Ok(v),
            None if st.tx_alive => Err(TryRecvError::Empty),
            None => Err(TryRecvError::Closed),
        }
    }

    /// Prevents the sender from sending (its `send` fails); a value already sent can still be
    /// taken with `try_recv`.
    pub fn close(&mut self) {
        let mut st = self.inner.lock();
        st.rx_alive = false;
        let w = st.tx_waker.take();
        drop(st);
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Blocks the current thread until the value arrives. For threads outside the runtime.
    pub fn recv_blocking(self) -> Result<T, RecvError> {
        crate::block::block_on(self)
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.inner.lock();
        if let Some(v) = st.value.take() {
            return Poll::Ready(Ok(v));
        }
        if !st.tx_alive {
            return Poll::Ready(Err(RecvError));
        }
        match &st.rx_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.rx_waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut st = self.inner.lock();
        st.rx_alive = false;
        st.rx_waker = None;
        let value = st.value.take();
        let w = st.tx_waker.take();
        drop(st);
        drop(value);
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}
