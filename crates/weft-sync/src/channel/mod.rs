//! Channels: MPMC [`bounded`] / [`unbounded`], plus [`oneshot`], [`broadcast`] and [`watch`].
//!
//! The MPMC channels deliver each message to exactly **one** receiver (use [`broadcast`] for
//! fan-out). They close when every [`Sender`] or every [`Receiver`] is dropped, or on
//! [`Sender::close`] / [`Receiver::close`]; messages already sent can still be received after the
//! senders are gone. Waiting senders and receivers are served FIFO with hand-off (see
//! `docs/sync.md`): a message sent while a receiver waits goes straight to the longest-waiting
//! receiver.
//!
//! ```
//! use weft_sync::channel;
//! # futures_lite::future::block_on(async {
//! let (tx, rx) = channel::bounded(8);
//! let tx2 = tx.clone();
//! tx.send(1).await.unwrap();
//! tx2.try_send(2).unwrap();
//! drop((tx, tx2)); // closes the channel; queued messages are still delivered
//! assert_eq!(rx.recv().await, Ok(1));
//! assert_eq!(rx.recv().await, Ok(2));
//! assert_eq!(rx.recv().await, Err(channel::RecvError));
//! # });
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::Arc;
use crate::qcore::{Core, GetState, PutState, TryGet, TryPut};

pub mod broadcast;
#[allow(unsafe_code)]
pub mod oneshot;
pub mod watch;

struct Chan<T> {
    core: Core<T, VecDeque<T>>,
    senders: AtomicUsize,
    receivers: AtomicUsize,
}

/// Creates a bounded MPMC channel holding at most `cap` messages.
///
/// # Panics
/// If `cap == 0` (there is no rendezvous channel; use `bounded(1)`).
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    assert!(cap > 0, "channel capacity must be at least 1");
    new_chan(cap)
}

/// Creates an unbounded MPMC channel: `send` never waits.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    new_chan(usize::MAX)
}

fn new_chan<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan {
        core: Core::new(cap),
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
    });
    (
        Sender { chan: chan.clone() },
        Receiver {
            chan,
            stream: GetState::new(),
        },
    )
}

/// The channel is closed; the unsent message is returned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The message that could not be sent.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel (every receiver is gone or it was closed)")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Sender::try_send`] failed; the message is returned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full.
    Full(T),
    /// The channel is closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The message that could not be sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(t) | TrySendError::Closed(t) => t,
        }
    }

    /// `true` for [`TrySendError::Full`].
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// `true` for [`TrySendError::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("channel is full: await `send` to wait for room"),
            TrySendError::Closed(_) => f.write_str("sending on a closed channel"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// The channel is closed and empty: no message will ever arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on a closed and empty channel (every sender is gone)")
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No message right now.
    Empty,
    /// The channel is closed and empty.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("channel is empty: await `recv` to wait"),
            TryRecvError::Closed => f.write_str("receiving on a closed and empty channel"),
        }
    }
}

impl std::error::Error for TryRecvError {}

/// The sending half of an MPMC channel. Clone it for more producers.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `msg`, waiting while the channel is full.
    ///
    /// # Cancel safety
    /// Cancel-safe: if dropped before completing, the message was not sent (it is dropped with
    /// the future) and a slot already reserved for it passes to the next sender.
    pub fn send(&self, msg: T) -> Send<'_, T> {
        Send {
            chan: &self.chan,
            st: PutState::new(msg),
        }
    }

    /// Sends `msg` if there is room now.
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        self.chan.core.try_put(msg).map_err(|e| match e {
            TryPut::Full(t) => TrySendError::Full(t),
            TryPut::Closed(t) => TrySendError::Closed(t),
        })
    }

    /// Blocking version of [`send`](Sender::send), for threads outside the runtime.
    pub fn send_blocking(&self, msg: T) -> Result<(), SendError<T>> {
        crate::block::block_on(self.send(msg))
    }

    /// Closes the channel; returns `true` if this call closed it.
    pub fn close(&self) -> bool {
        self.chan.core.close(false).0
    }

    /// `true` once the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.chan.core.is_closed()
    }

    /// Number of queued messages.
    pub fn len(&self) -> usize {
        self.chan.core.len()
    }

    /// `true` when no message is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` when `send` would wait.
    pub fn is_full(&self) -> bool {
        self.chan.core.is_full()
    }

    /// The capacity, `None` if unbounded.
    pub fn capacity(&self) -> Option<usize> {
        self.chan.core.capacity()
    }

    /// Number of live senders.
    pub fn sender_count(&self) -> usize {
        self.chan.senders.load(Ordering::SeqCst)
    }

    /// Number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.chan.receivers.load(Ordering::SeqCst)
    }

    /// `true` if both handles belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.senders.fetch_add(1, Ordering::SeqCst);
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.chan.senders.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.chan.core.close(false);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Sender");
        self.chan.core.debug_fields(&mut d);
        d.finish()
    }
}

/// The receiving half of an MPMC channel. Clone it for more consumers (each message goes to one
/// of them). Also a [`Stream`](futures_core::Stream) that ends when the channel is closed and
/// drained.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
    stream: GetState,
}

impl<T> Receiver<T> {
    /// Receives the next message, waiting while the channel is empty. Fails once the channel is
    /// closed and drained.
    ///
    /// # Cancel safety
    /// Cancel-safe: a message handed to a dropped `recv` goes back to the head of the channel
    /// (or to the next waiting receiver); no message is lost.
    pub fn recv(&self) -> Recv<'_, T> {
        Recv {
            chan: &self.chan,
            st: GetState::new(),
        }
    }

    /// Receives a message if one is queued now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.core.try_get().map_err(|e| match e {
            TryGet::Empty => TryRecvError::Empty,
            TryGet::Closed => TryRecvError::Closed,
        })
    }

    /// Blocking version of [`recv`](Receiver::recv), for threads outside the runtime.
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        crate::block::block_on(self.recv())
    }

    /// Closes the channel; returns `true` if this call closed it. Queued messages can still be
    /// received.
    pub fn close(&self) -> bool {
        self.chan.core.close(false).0
    }

    /// `true` once the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.chan.core.is_closed()
    }

    /// Number of queued messages.
    pub fn len(&self) -> usize {
        self.chan.core.len()
    }

    /// `true` when no message is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` when the channel is full.
    pub fn is_full(&self) -> bool {
        self.chan.core.is_full()
    }

    /// The capacity, `None` if unbounded.
    pub fn capacity(&self) -> Option<usize> {
        self.chan.core.capacity()
    }

    /// Number of live senders.
    pub fn sender_count(&self) -> usize {
        self.chan.senders.load(Ordering::SeqCst)
    }

    /// Number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.chan.receivers.load(Ordering::SeqCst)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.receivers.fetch_add(1, Ordering::SeqCst);
        Receiver {
            chan: self.chan.clone(),
            stream: GetState::new(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.stream.cancel(&self.chan.core);
        if self.chan.receivers.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.chan.core.close(false);
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Receiver");
        self.chan.core.debug_fields(&mut d);
        d.finish()
    }
}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    /// Cancel-safe like [`Receiver::recv`]: a message handed to this receiver while it was
    /// waiting stays reserved for the next `poll_next`, or is passed on if the receiver is dropped.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.stream.poll(&this.chan.core, cx).map(Result::ok)
    }
}

/// Future returned by [`Sender::send`].
#[must_use = "futures do nothing unless polled"]
pub struct Send<'a, T> {
    chan: &'a Chan<T>,
    st: PutState<T>,
}

impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.st.poll(&this.chan.core, cx).map_err(SendError)
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        self.st.cancel(&self.chan.core);
    }
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send").finish_non_exhaustive()
    }
}

/// Future returned by [`Receiver::recv`].
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    chan: &'a Chan<T>,
    st: GetState,
}

impl<T> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.st.poll(&this.chan.core, cx).map_err(|()| RecvError)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.st.cancel(&self.chan.core);
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}
