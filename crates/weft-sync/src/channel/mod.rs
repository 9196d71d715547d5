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
use crate::qcore::{Core, GetState, PutState, ReserveState, TryGet, TryPut};

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
#[doc(alias = "mpsc")]
#[doc(alias = "channel")]
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    assert!(cap > 0, "channel capacity must be at least 1");
    new_chan(cap)
}

/// Creates an unbounded MPMC channel: `send` never waits.
#[doc(alias = "unbounded_channel")]
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
            stream: GetState::new_stream(),
        },
    )
}

value_error! {
    /// The channel is closed; the unsent message is returned.
    pub struct SendError<T>(pub T) =>
        "sending on a closed channel (every receiver is gone or it was closed)";
}

value_error_enum! {
    /// Why [`Sender::try_send`] failed; the message is returned.
    pub enum TrySendError<T> {
        /// The channel is full.
        Full(T) => "channel is full: await `send` to wait for room",
        /// The channel is closed.
        Closed(T) => "sending on a closed channel",
    }
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

fn try_put_err(e: TryPut<()>) -> TrySendError<()> {
    match e {
        TryPut::Full(()) => TrySendError::Full(()),
        TryPut::Closed(()) => TrySendError::Closed(()),
    }
}

value_error_enum! {
    /// Why [`Sender::send_timeout`] failed; the message is returned.
    pub enum SendTimeoutError<T> {
        /// The deadline passed while the channel was full.
        Timeout(T) => "send timed out: the channel stayed full until the deadline",
        /// The channel is closed.
        Closed(T) => "sending on a closed channel",
    }
}

impl<T> SendTimeoutError<T> {
    /// The message that could not be sent.
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(t) | SendTimeoutError::Closed(t) => t,
        }
    }
}

/// Waits for `n` reserved slots (the future behind `reserve*`); gives them back if dropped
/// after they were granted.
struct ReserveRaw<'a, T> {
    chan: &'a Chan<T>,
    st: ReserveState,
}

impl<'a, T> ReserveRaw<'a, T> {
    fn new(chan: &'a Chan<T>, n: usize) -> Self {
        ReserveRaw {
            chan,
            st: ReserveState::new(n),
        }
    }
}

impl<T> Future for ReserveRaw<'_, T> {
    type Output = Result<(), SendError<()>>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.st
            .poll(&this.chan.core, cx)
            .map_err(|()| SendError(()))
    }
}

impl<T> Drop for ReserveRaw<'_, T> {
    fn drop(&mut self) {
        self.st.cancel(&self.chan.core);
    }
}

/// One reserved slot, from [`Sender::reserve`]: [`send`](Permit::send) never waits. Dropping
/// it unused gives the slot back.
#[must_use = "the reserved slot is given back as soon as the permit is dropped"]
pub struct Permit<'a, T> {
    chan: &'a Chan<T>,
}

impl<T> Permit<'_, T> {
    /// Sends `msg` into the reserved slot. If the channel was closed meanwhile, `msg` is
    /// dropped (as in tokio).
    pub fn send(self, msg: T) {
        let chan = self.chan;
        std::mem::forget(self);
        drop(chan.core.put_reserved(msg));
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.chan.core.release_reserved(1);
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// `n` reserved slots, from [`Sender::reserve_many`]; yields one [`Permit`] per slot. The
/// slots not taken are given back when it is dropped.
#[must_use = "the reserved slots are given back as soon as this is dropped"]
pub struct PermitIterator<'a, T> {
    chan: &'a Chan<T>,
    n: usize,
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;
    fn next(&mut self) -> Option<Permit<'a, T>> {
        self.n = self.n.checked_sub(1)?;
        Some(Permit { chan: self.chan })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.n, Some(self.n))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        self.chan.core.release_reserved(self.n);
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermitIterator")
            .field("remaining", &self.n)
            .finish()
    }
}

/// One reserved slot that owns its [`Sender`], from [`Sender::reserve_owned`].
#[must_use = "the reserved slot is given back as soon as the permit is dropped"]
pub struct OwnedPermit<T> {
    sender: Option<Sender<T>>,
}

impl<T> OwnedPermit<T> {
    /// Sends `msg` into the reserved slot (dropped if the channel closed meanwhile) and returns
    /// the sender.
    pub fn send(mut self, msg: T) -> Sender<T> {
        let sender = self.sender.take().expect("present until consumed");
        drop(sender.chan.core.put_reserved(msg));
        sender
    }

    /// Gives the slot back unused and returns the sender.
    pub fn release(mut self) -> Sender<T> {
        let sender = self.sender.take().expect("present until consumed");
        sender.chan.core.release_reserved(1);
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.chan.core.release_reserved(1);
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}

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

    /// Waits for a free slot and reserves it: the returned [`Permit`] sends one message
    /// without waiting (or gives the slot back when dropped). Fails if the channel is closed.
    ///
    /// # Cancel safety
    /// Cancel-safe: a slot reserved for a dropped `reserve` passes to the next sender.
    ///
    /// ```
    /// use weft_sync::channel;
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = channel::bounded(1);
    /// let permit = tx.reserve().await.unwrap();
    /// assert!(tx.try_send(1).unwrap_err().is_full()); // the slot is taken
    /// permit.send(2);
    /// assert_eq!(rx.recv().await, Ok(2));
    /// # });
    /// ```
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        ReserveRaw::new(&self.chan, 1).await?;
        Ok(Permit { chan: &self.chan })
    }

    /// Reserves a slot if one is free now (and no sender is queued).
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.chan.core.try_reserve(1).map_err(try_put_err)?;
        Ok(Permit { chan: &self.chan })
    }

    /// Waits for `n` free slots at once and reserves them (FIFO: a large request is not
    /// overtaken by smaller ones). Fails if the channel is closed or `n` exceeds the bound.
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`reserve`](Sender::reserve).
    ///
    /// ```
    /// use weft_sync::channel;
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = channel::bounded(3);
    /// for (i, permit) in tx.reserve_many(2).await.unwrap().enumerate() {
    ///     permit.send(i);
    /// }
    /// assert!(tx.reserve_many(4).await.is_err()); // more than the bound
    /// assert_eq!(rx.len(), 2);
    /// # });
    /// ```
    pub async fn reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, SendError<()>> {
        if self.chan.core.capacity().is_some_and(|cap| n > cap) {
            return Err(SendError(()));
        }
        if n > 0 {
            ReserveRaw::new(&self.chan, n).await?;
        }
        Ok(PermitIterator {
            chan: &self.chan,
            n,
        })
    }

    /// Owned version of [`reserve`](Sender::reserve): the permit keeps the sender (returned by
    /// [`OwnedPermit::send`]), so it can move into another task.
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`reserve`](Sender::reserve) (the sender is dropped with the future).
    ///
    /// ```
    /// use weft_sync::channel;
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = channel::bounded(1);
    /// let permit = tx.reserve_owned().await.unwrap();
    /// let tx = permit.send(5);
    /// assert_eq!(rx.recv().await, Ok(5));
    /// assert!(tx.try_reserve_owned().is_ok());
    /// # });
    /// ```
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        ReserveRaw::new(&self.chan, 1).await?;
        Ok(OwnedPermit { sender: Some(self) })
    }

    /// Owned version of [`try_reserve`](Sender::try_reserve); on failure the sender comes back
    /// inside the error.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.chan.core.try_reserve(1) {
            Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
            Err(TryPut::Full(())) => Err(TrySendError::Full(self)),
            Err(TryPut::Closed(())) => Err(TrySendError::Closed(self)),
        }
    }

    /// Sends `msg`, waiting while the channel is full, but gives up when `deadline` completes
    /// first. weft-sync has no timer of its own: pass any future, e.g. `weft::sleep(d)`.
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`send`](Sender::send).
    ///
    /// ```
    /// use weft_sync::channel::{self, SendTimeoutError};
    /// # futures_lite::future::block_on(async {
    /// let (tx, _rx) = channel::bounded(1);
    /// tx.try_send(1).unwrap();
    /// // A deadline that has already passed:
    /// let r = tx.send_timeout(2, std::future::ready(())).await;
    /// assert_eq!(r, Err(SendTimeoutError::Timeout(2)));
    /// # });
    /// ```
    pub async fn send_timeout<F: Future>(
        &self,
        msg: T,
        deadline: F,
    ) -> Result<(), SendTimeoutError<T>> {
        let mut send = self.send(msg);
        let mut deadline = std::pin::pin!(deadline);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(r) = Pin::new(&mut send).poll(cx) {
                return Poll::Ready(r.map_err(|SendError(m)| SendTimeoutError::Closed(m)));
            }
            if deadline.as_mut().poll(cx).is_ready() {
                send.st.cancel(&send.chan.core);
                let msg = send
                    .st
                    .take_item()
                    .expect("a pending send holds its message");
                return Poll::Ready(Err(SendTimeoutError::Timeout(msg)));
            }
            Poll::Pending
        })
        .await
    }

    /// Blocking version of [`send`](Sender::send), for threads outside the runtime.
    #[doc(alias = "blocking_send")]
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

    /// Free slots now: how many messages can be sent before `send` waits (as tokio's
    /// `capacity`); `None` if unbounded. Queued, reserved and handed-over messages count as
    /// used. (This used to return the bound; that
    /// is now [`max_capacity`](Sender::max_capacity).)
    ///
    /// ```
    /// use weft_sync::channel;
    /// let (tx, _rx) = channel::bounded(4);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.capacity(), Some(3));
    /// assert_eq!(tx.max_capacity(), Some(4));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.chan.core.free()
    }

    /// The bound given to [`bounded`]; `None` if unbounded.
    pub fn max_capacity(&self) -> Option<usize> {
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
    #[doc(alias = "blocking_recv")]
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

    /// Free slots now (see [`Sender::capacity`]); `None` if unbounded.
    pub fn capacity(&self) -> Option<usize> {
        self.chan.core.free()
    }

    /// The bound given to [`bounded`]; `None` if unbounded.
    pub fn max_capacity(&self) -> Option<usize> {
        self.chan.core.capacity()
    }

    /// Waits for at least one message, then takes up to `limit` queued messages into `buf`
    /// (appending); returns how many. Returns `0` when the channel is closed and drained, or
    /// when `limit == 0`.
    ///
    /// # Cancel safety
    /// Cancel-safe: it waits only for the first message, like [`recv`](Receiver::recv).
    ///
    /// ```
    /// use weft_sync::channel;
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = channel::unbounded();
    /// for i in 0..5 {
    ///     tx.try_send(i).unwrap();
    /// }
    /// let mut buf = Vec::new();
    /// assert_eq!(rx.recv_many(&mut buf, 3).await, 3);
    /// assert_eq!(rx.recv_many(&mut buf, 10).await, 2);
    /// assert_eq!(buf, [0, 1, 2, 3, 4]);
    /// drop(tx);
    /// assert_eq!(rx.recv_many(&mut buf, 10).await, 0);
    /// # });
    /// ```
    pub async fn recv_many(&self, buf: &mut Vec<T>, limit: usize) -> usize {
        if limit == 0 {
            return 0;
        }
        match self.recv().await {
            Ok(first) => buf.push(first),
            Err(RecvError) => return 0,
        }
        1 + self.chan.core.try_get_many(buf, limit - 1)
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
            stream: GetState::new_stream(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.stream.cancel(&self.chan.core);
        if self.chan.receivers.fetch_sub(1, Ordering::SeqCst) == 1 {
            // Nothing can receive the queued messages any more: drop them now (outside the
            // lock, one by one, so a panicking destructor does not leak or abort the rest).
            let (_, queued) = self.chan.core.close(true);
            crate::qcore::drop_items(queued);
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

    /// Cancel-safe: a pending `poll_next` is woken when a message arrives but is never handed
    /// one (so dropping a `next()` future, or never polling the stream again, hides nothing):
    /// the message stays in the channel, in order, for whichever receiver takes it first.
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
