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

use crate::loom::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire},
};
use crate::loom::{Arc, UnsafeCell};

/// Creates a oneshot channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_waker: UnsafeCell::new(None),
        tx_waker: UnsafeCell::new(None),
    });
    (
        Sender {
            inner: inner.clone(),
        },
        Receiver {
            inner,
            terminated: false,
        },
    )
}

// Lock-free: one atomic state word and three slots whose ownership the bits decide.
//
// * `value`: the sender writes it, then sets `VALUE` (only while `RX_CLOSED` is clear, by CAS);
//   from then on only the receiver touches it. If the CAS finds `RX_CLOSED`, the sender takes the
//   value back (the receiver never reads the slot without `VALUE`).
// * `rx_waker` (`tx_waker` mirrors it with `TX_WAKER` / `RX_CLOSED`): owned by the receiver while
//   `RX_WAKER` is clear. To (re)register, the receiver clears `RX_WAKER`, and writes the slot only
//   if that RMW shows the sender not yet done (`VALUE`/`TX_DONE` clear); then it sets `RX_WAKER`
//   and re-checks the completion bits that RMW returns (a sender that completed in between saw no
//   waker, so the receiver completes by itself). While `RX_WAKER` is set the slot is only read
//   (`will_wake`, `wake_by_ref`), by both sides; the sender reads it only after the RMW that
//   completed it returned `RX_WAKER` set. The slots are freed with the shared state.
const VALUE: usize = 1;
const TX_DONE: usize = 2;
const RX_CLOSED: usize = 4;
const RX_WAKER: usize = 8;
const TX_WAKER: usize = 16;

struct Inner<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    rx_waker: UnsafeCell<Option<Waker>>,
    tx_waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the slots are accessed following the protocol above (exclusive writes, shared reads
// only of `Waker`s, which are `Sync`); `T` crosses threads, so it must be `Send`.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    /// Wakes the waker in `slot`, whose bit the caller's RMW found set.
    fn wake_slot(slot: &UnsafeCell<Option<Waker>>) {
        slot.with(|p| {
            // SAFETY: the bit guarding `slot` is set, so its owner only reads it until it sees
            // the completion bit this thread has just set, after which it never writes it again.
            let w = unsafe { &*p };
            if let Some(w) = w {
                w.wake_by_ref();
            }
        });
    }

    /// One registration step of the waker protocol for the side whose slot is `slot` (guarded by
    /// `bit`), which waits for any bit of `done`. Returns the state word in which the wait ended
    /// (some `done` bit set), or `None` when the waker is registered.
    fn register(
        &self,
        slot: &UnsafeCell<Option<Waker>>,
        bit: usize,
        done: usize,
        waker: &Waker,
    ) -> Option<usize> {
        let mut s = self.state.load(Acquire);
        if s & done != 0 {
            return Some(s);
        }
        if s & bit != 0 {
            // SAFETY: `bit` is set, so the slot is only read (see the protocol above).
            let same = slot.with(|p| unsafe { &*p }.as_ref().is_some_and(|w| w.will_wake(waker)));
            if same {
                return None;
            }
            s = self.state.fetch_and(!bit, AcqRel);
            if s & done != 0 {
                // The other side may be reading the slot: leave it alone.
                return Some(s);
            }
        }
        // SAFETY: `bit` is clear and the other side has not completed, so it will not read the
        // slot before it sees `bit` set again (by the RMW below, which publishes this write).
        slot.with_mut(|p| unsafe { *p = Some(waker.clone()) });
        s = self.state.fetch_or(bit, AcqRel);
        (s & done != 0).then_some(s)
    }

    /// Takes the value after `VALUE` was observed (`None` if it was already taken).
    fn take_value(&self) -> Option<T> {
        // SAFETY: `VALUE` is set, so the sender no longer touches the slot, and the only caller
        // is the receiver, through `&mut self`.
        self.value.with_mut(|p| unsafe { (*p).take() })
    }
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
    inner: Arc<Inner<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`. Fails, returning it, if the receiver was dropped or closed.
    pub fn send(self, value: T) -> Result<(), T> {
        let inner = &self.inner;
        let mut s = inner.state.load(Acquire);
        if s & RX_CLOSED != 0 {
            return Err(value);
        }
        // SAFETY: `VALUE` is clear, so the receiver does not touch the slot; the `Release` half of
        // the CAS below publishes this write.
        inner.value.with_mut(|p| unsafe { *p = Some(value) });
        loop {
            if s & RX_CLOSED != 0 {
                // SAFETY: `VALUE` was never set, so the slot is still the sender's.
                let value = inner.value.with_mut(|p| unsafe { (*p).take() });
                return Err(value.expect("oneshot value vanished"));
            }
            match inner
                .state
                .compare_exchange_weak(s, s | VALUE, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        if s & RX_WAKER != 0 {
            Inner::<T>::wake_slot(&inner.rx_waker);
        }
        Ok(())
        // `self` drops here and sets `TX_DONE`; it does not wake again (`VALUE` is set).
    }

    /// `true` if the receiver was dropped or closed (a send would fail).
    pub fn is_closed(&self) -> bool {
        self.inner.state.load(Acquire) & RX_CLOSED != 0
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
        let s = self.inner.state.fetch_or(TX_DONE, AcqRel);
        if s & (RX_WAKER | VALUE) == RX_WAKER {
            Inner::<T>::wake_slot(&self.inner.rx_waker);
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
        let inner = &self.tx.inner;
        match inner.register(&inner.tx_waker, TX_WAKER, RX_CLOSED, cx.waker()) {
            Some(_) => Poll::Ready(()),
            None => Poll::Pending,
        }
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
    inner: Arc<Inner<T>>,
    /// The value or the error was returned (by `poll` or `try_recv`).
    terminated: bool,
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent. After [`close`](Receiver::close) it returns the
    /// value sent before the close, else [`TryRecvError::Closed`].
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let s = self.inner.state.load(Acquire);
        let r = if s & VALUE != 0 {
            self.inner.take_value().ok_or(TryRecvError::Closed)
        } else if s & (TX_DONE | RX_CLOSED) != 0 {
            // After `RX_CLOSED` the sender can no longer set `VALUE`.
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        };
        if !matches!(r, Err(TryRecvError::Empty)) {
            self.terminated = true;
        }
        r
    }

    /// Prevents the sender from sending (its `send` fails); a value already sent can still be
    /// taken with `try_recv` or by awaiting; otherwise both report the channel closed.
    ///
    /// ```
    /// use weft_sync::channel::oneshot;
    /// # futures_lite::future::block_on(async {
    /// let (tx, mut rx) = oneshot::channel::<u8>();
    /// rx.close();
    /// assert!(tx.send(1).is_err());
    /// assert_eq!(rx.await, Err(oneshot::RecvError));
    /// # });
    /// ```
    pub fn close(&mut self) {
        self.close_inner();
    }

    /// `true` once awaiting or `try_recv` has returned the value or the closed error: the
    /// receiver must not be polled again (`futures::FusedFuture` semantics).
    ///
    /// ```
    /// use weft_sync::channel::oneshot;
    /// # futures_lite::future::block_on(async {
    /// let (tx, mut rx) = oneshot::channel();
    /// assert!(rx.is_empty() && !rx.is_terminated());
    /// tx.send(1).unwrap();
    /// assert!(!rx.is_empty());
    /// assert_eq!((&mut rx).await, Ok(1));
    /// assert!(rx.is_terminated() && rx.is_empty());
    /// # });
    /// ```
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    /// `true` when no value is waiting to be received (not sent yet, already taken, or never
    /// coming).
    pub fn is_empty(&self) -> bool {
        self.terminated || self.inner.state.load(Acquire) & VALUE == 0
    }

    /// Sets `RX_CLOSED`, wakes a waiting `Sender::closed`; returns the previous state.
    fn close_inner(&self) -> usize {
        let s = self.inner.state.fetch_or(RX_CLOSED, AcqRel);
        if s & (RX_CLOSED | TX_WAKER) == TX_WAKER {
            Inner::<T>::wake_slot(&self.inner.tx_waker);
        }
        s
    }

    /// Blocks the current thread until the value arrives. For threads outside the runtime.
    #[doc(alias = "blocking_recv")]
    pub fn recv_blocking(self) -> Result<T, RecvError> {
        crate::block::block_on(self)
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = &this.inner;
        // `RX_CLOSED` is our own bit: once set, `VALUE` can no longer change, so a closed
        // receiver without a value resolves to the error instead of waiting forever.
        let s = inner.state.load(Acquire);
        let done = if s & RX_CLOSED != 0 {
            Some(s)
        } else {
            inner.register(&inner.rx_waker, RX_WAKER, VALUE | TX_DONE, cx.waker())
        };
        let r = match done {
            None => return Poll::Pending,
            Some(s) if s & VALUE != 0 => inner.take_value().ok_or(RecvError),
            Some(_) => Err(RecvError),
        };
        this.terminated = true;
        Poll::Ready(r)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.close_inner() & VALUE != 0 {
            // Drop an unreceived value now rather than with the last handle.
            drop(self.inner.take_value());
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}
