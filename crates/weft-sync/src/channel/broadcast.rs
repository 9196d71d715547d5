//! A multi-producer, multi-consumer broadcast channel: every receiver sees every message.
//!
//! The channel keeps the last `capacity` messages in a ring. A receiver that falls further behind
//! than that gets [`RecvError::Lagged`] with the number of messages it missed, and then continues
//! from the oldest message still kept.
//!
//! ```
//! use weft_sync::channel::broadcast;
//! # futures_lite::future::block_on(async {
//! let (tx, mut rx1) = broadcast::channel(16);
//! let mut rx2 = tx.subscribe();
//! tx.send(7).unwrap();
//! assert_eq!(rx1.recv().await, Ok(7));
//! assert_eq!(rx2.recv().await, Ok(7));
//! # });
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::loom::{Arc, Mutex};
use crate::waitlist::{WaitList, WakeList};

/// The largest capacity [`channel`] accepts.
pub const MAX_CAPACITY: usize = usize::MAX / 2;

/// Creates a broadcast channel keeping the last `capacity` messages.
///
/// # Panics
/// If `capacity == 0` or `capacity > MAX_CAPACITY`; [`try_channel`] returns an error instead.
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    match try_channel(capacity) {
        Ok(pair) => pair,
        Err(e) => panic!("broadcast::channel: {e}"),
    }
}

/// Creates a broadcast channel keeping the last `capacity` messages; fails if `capacity` is `0`
/// or above [`MAX_CAPACITY`].
///
/// ```
/// use weft_sync::channel::broadcast;
/// assert!(broadcast::try_channel::<u8>(0).is_err());
/// assert!(broadcast::try_channel::<u8>(usize::MAX).is_err());
/// let (tx, _rx) = broadcast::try_channel::<u8>(4).unwrap();
/// assert_eq!(tx.receiver_count(), 1);
/// ```
pub fn try_channel<T: Clone>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), CapacityError> {
    if capacity == 0 || capacity > MAX_CAPACITY {
        return Err(CapacityError(capacity));
    }
    let shared = Arc::new(Mutex::new(State {
        buf: VecDeque::with_capacity(capacity.min(1024)),
        head: 0,
        cap: capacity,
        senders: 1,
        receivers: 1,
        waiters: WaitList::new(),
        closed_waiters: WaitList::new(),
    }));
    Ok((
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, next: 0 },
    ))
}

/// [`try_channel`] got a capacity of `0` or above [`MAX_CAPACITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityError(usize);

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "broadcast capacity {} is invalid: pass 1..={MAX_CAPACITY}",
            self.0
        )
    }
}

impl std::error::Error for CapacityError {}

/// One kept message and how many live receivers have yet to read it. Along the ring the count
/// never decreases (every receiver that still has to read slot `i` also has to read `i + 1`), so
/// fully read messages are always at the front, where they are dropped at once.
struct Slot<T> {
    value: Option<T>,
    rem: usize,
}

struct State<T> {
    buf: VecDeque<Slot<T>>,
    /// Sequence number of `buf[0]`.
    head: u64,
    cap: usize,
    senders: usize,
    receivers: usize,
    waiters: WaitList<()>,
    /// `Sender::closed` waiters, woken when the last receiver goes.
    closed_waiters: WaitList<()>,
}

impl<T> State<T> {
    fn tail(&self) -> u64 {
        self.head + self.buf.len() as u64
    }

    /// Pops fully read messages off the front into `dropped` (to be dropped after the lock).
    fn reclaim(&mut self, dropped: &mut Vec<T>) {
        while self.buf.front().is_some_and(|s| s.rem == 0) {
            if let Some(v) = self.buf.pop_front().and_then(|s| s.value) {
                dropped.push(v);
            }
            self.head += 1;
        }
    }

    /// A receiver positioned at `next` leaves: it no longer has to read anything.
    fn leave(&mut self, next: u64, dropped: &mut Vec<T>, wakes: &mut WakeList) {
        let from = next.saturating_sub(self.head) as usize;
        for slot in self.buf.iter_mut().skip(from) {
            slot.rem -= 1;
        }
        self.receivers -= 1;
        self.reclaim(dropped);
        if self.receivers == 0 {
            self.closed_waiters.notify_all(wakes, |_| {});
        }
    }
}

/// No receiver is alive; the message is returned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcast has no receivers: subscribe before sending")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Receiver::recv`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// Every sender is gone and this receiver has seen every message.
    Closed,
    /// The receiver fell behind and this many messages were dropped before it saw them. The next
    /// `recv` returns the oldest message still kept.
    Lagged(u64),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("broadcast closed: every sender is gone"),
            RecvError::Lagged(n) => write!(
                f,
                "receiver lagged and missed {n} messages: receive faster or raise the capacity"
            ),
        }
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No new message right now.
    Empty,
    /// Every sender is gone and every message was seen.
    Closed,
    /// The receiver missed this many messages (see [`RecvError::Lagged`]).
    Lagged(u64),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no new message: await `recv` to wait"),
            TryRecvError::Closed => f.write_str("broadcast closed: every sender is gone"),
            TryRecvError::Lagged(n) => write!(f, "receiver lagged and missed {n} messages"),
        }
    }
}

impl std::error::Error for TryRecvError {}

/// Sends to every receiver. Clone for more producers.
pub struct Sender<T> {
    shared: Arc<Mutex<State<T>>>,
}

impl<T: Clone> Sender<T> {
    /// Sends `msg` to every current receiver; returns how many there are. Fails (returning the
    /// message) when there is none. Never waits: a full ring drops its oldest message.
    pub fn send(&self, msg: T) -> Result<usize, SendError<T>> {
        let mut wakes = WakeList::new();
        let mut st = self.shared.lock();
        if st.receivers == 0 {
            return Err(SendError(msg));
        }
        let rem = st.receivers;
        st.buf.push_back(Slot {
            value: Some(msg),
            rem,
        });
        let dropped = if st.buf.len() > st.cap {
            st.head += 1;
            st.buf.pop_front()
        } else {
            None
        };
        st.waiters.notify_all(&mut wakes, |_| {});
        drop(st);
        drop(dropped);
        wakes.wake_all();
        Ok(rem)
    }

    /// A new receiver that sees messages sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver::new_at_tail(&self.shared)
    }
}

impl<T> Sender<T> {
    /// Number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().receivers
    }

    /// Number of messages kept: sent, and not yet read by every receiver alive at the time
    /// (nor pushed out by newer ones).
    ///
    /// ```
    /// use weft_sync::channel::broadcast;
    /// let (tx, mut rx) = broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// assert_eq!(rx.len(), 1);
    /// rx.try_recv().unwrap();
    /// assert!(tx.is_empty()); // read by every receiver: dropped at once
    /// ```
    pub fn len(&self) -> usize {
        self.shared.lock().buf.len()
    }

    /// `true` when no message is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until every receiver is gone (sends would fail).
    ///
    /// # Cancel safety
    /// Cancel-safe: it only observes.
    ///
    /// ```
    /// use weft_sync::channel::broadcast;
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = broadcast::channel::<u8>(4);
    /// drop(rx);
    /// tx.closed().await;
    /// # });
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            shared: &self.shared,
            key: None,
        }
    }

    /// `true` if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut wakes = WakeList::new();
        let mut st = self.shared.lock();
        st.senders -= 1;
        if st.senders == 0 {
            st.waiters.notify_all(&mut wakes, |_| {});
        }
        drop(st);
        wakes.wake_all();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender").finish_non_exhaustive()
    }
}

/// Future returned by [`Sender::closed`].
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    shared: &'a Arc<Mutex<State<T>>>,
    key: Option<usize>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut wakes = WakeList::new();
        let st = &mut *this.shared.lock();
        st.closed_waiters
            .poll_until(&mut this.key, cx.waker(), &mut wakes, || st.receivers == 0)
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            self.shared.lock().closed_waiters.remove(key, &mut wakes);
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Closed").finish_non_exhaustive()
    }
}

/// Receives every message sent after it was created. Cloning gives a receiver at the same
/// position.
pub struct Receiver<T> {
    shared: Arc<Mutex<State<T>>>,
    next: u64,
}

impl<T: Clone> Receiver<T> {
    /// Reads the next message for this receiver; the last reader of a message takes it without
    /// cloning, and it is dropped from the ring (`dropped` collects what to drop after the lock).
    fn try_take(&mut self, st: &mut State<T>, dropped: &mut Vec<T>) -> Result<T, TryRecvError> {
        if self.next < st.head {
            let missed = st.head - self.next;
            self.next = st.head;
            return Err(TryRecvError::Lagged(missed));
        }
        if self.next < st.tail() {
            let idx = (self.next - st.head) as usize;
            self.next += 1;
            let slot = &mut st.buf[idx];
            slot.rem -= 1;
            let v = if slot.rem == 0 {
                // By the monotone counts, a slot nobody else needs is the front one.
                slot.value.take()
            } else {
                slot.value.clone()
            };
            st.reclaim(dropped);
            return Ok(v.expect("a kept broadcast slot holds its value until its last reader"));
        }
        if st.senders == 0 {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Takes the next message if there is one now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut dropped = Vec::new();
        let shared = self.shared.clone();
        let mut st = shared.lock();
        let r = self.try_take(&mut st, &mut dropped);
        drop(st);
        drop(dropped);
        r
    }

    /// Waits for the next message.
    ///
    /// # Cancel safety
    /// Cancel-safe: the receiver's position only advances when a message is returned.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            rx: self,
            key: None,
        }
    }

    /// Blocking version of [`recv`](Receiver::recv), for threads outside the runtime.
    #[doc(alias = "blocking_recv")]
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        crate::block::block_on(self.recv())
    }

    /// A new receiver that sees messages sent from now on.
    pub fn resubscribe(&self) -> Receiver<T> {
        Receiver::new_at_tail(&self.shared)
    }
}

impl<T> Receiver<T> {
    /// Registers a new receiver positioned after the last message sent so far.
    fn new_at_tail(shared: &Arc<Mutex<State<T>>>) -> Receiver<T> {
        let mut st = shared.lock();
        st.receivers += 1;
        let next = st.tail();
        drop(st);
        Receiver {
            shared: shared.clone(),
            next,
        }
    }

    /// Number of kept messages this receiver has not read yet.
    ///
    /// ```
    /// use weft_sync::channel::broadcast;
    /// let (tx, rx) = broadcast::channel(2);
    /// assert!(rx.is_empty());
    /// for i in 0..3 {
    ///     tx.send(i).unwrap();
    /// }
    /// assert_eq!(rx.len(), 2); // one was pushed out: the next recv reports Lagged(1)
    /// ```
    pub fn len(&self) -> usize {
        let st = self.shared.lock();
        (st.tail() - self.next.max(st.head)) as usize
    }

    /// `true` when this receiver has read every kept message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().receivers
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        let mut st = self.shared.lock();
        st.receivers += 1;
        let from = self.next.saturating_sub(st.head) as usize;
        for slot in st.buf.iter_mut().skip(from) {
            slot.rem += 1;
        }
        drop(st);
        Receiver {
            shared: self.shared.clone(),
            next: self.next,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut wakes = WakeList::new();
        let mut dropped = Vec::new();
        let mut st = self.shared.lock();
        st.leave(self.next, &mut dropped, &mut wakes);
        drop(st);
        crate::qcore::drop_items(dropped);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// Future returned by [`Receiver::recv`].
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
    key: Option<usize>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut wakes = WakeList::new();
        let mut dropped = Vec::new();
        let shared = this.rx.shared.clone();
        let mut st = shared.lock();
        ready!(st
            .waiters
            .poll_waiter(&mut this.key, cx.waker(), &mut wakes));
        let r = match this.rx.try_take(&mut st, &mut dropped) {
            Ok(v) => Ok(v),
            Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
            Err(TryRecvError::Empty) => {
                this.key = Some(st.waiters.push_back((), cx.waker()));
                return Poll::Pending;
            }
        };
        drop(st);
        drop(dropped);
        Poll::Ready(r)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            self.rx.shared.lock().waiters.remove(key, &mut wakes);
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Recv").finish_non_exhaustive()
    }
}
