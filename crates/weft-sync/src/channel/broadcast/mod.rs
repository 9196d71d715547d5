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

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::{Arc, Mutex, MutexGuard};
use crate::waitlist::{WaitList, WakeList};

mod ring;

use ring::Ring;

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
    let shared = Arc::new(Shared {
        ring: Ring::new(capacity),
        tail: Mutex::new(Tail {
            pos: 0,
            senders: 1,
            receivers: 1,
            waiters: WaitList::new(),
            closed_waiters: WaitList::new(),
        }),
    });
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

/// The channel. Lock order: `tail`, then a slot.
///
/// A receiver whose next message is in the ring reads it under that slot's lock only, so
/// receivers reading different messages, and the sender writing a newer one, do not contend.
/// The `tail` lock is taken only by senders, by receivers that found nothing new (to check for
/// a lag or the close, or to wait), and when receivers come and go.
struct Shared<T> {
    ring: Ring<T>,
    tail: Mutex<Tail>,
}

struct Tail {
    /// Sequence number of the next message sent.
    pos: u64,
    senders: usize,
    receivers: usize,
    /// Receivers that found nothing new, woken (all, FIFO) by the next send or the close.
    waiters: WaitList<()>,
    /// `Sender::closed` waiters, woken when the last receiver goes.
    closed_waiters: WaitList<()>,
}

impl<T> Shared<T> {
    /// Sequence number of the oldest message the ring can still hold, given the tail.
    fn oldest(&self, tail: &Tail) -> u64 {
        tail.pos.saturating_sub(self.ring.capacity() as u64)
    }

    fn lock_tail(&self) -> MutexGuard<'_, Tail> {
        self.tail.lock()
    }
}

impl<T: Clone> Shared<T> {
    /// Reads message `*next` if it is in the ring, under its slot's lock only. `None` when the
    /// slot holds another message (the receiver is caught up, or it lagged): then the caller
    /// decides under the tail lock.
    fn read_slot(&self, next: &mut u64) -> Option<T> {
        let mut slot = self.ring.get(*next)?.lock();
        if slot.pos != *next {
            return None;
        }
        let v = slot.read();
        drop(slot);
        *next += 1;
        Some(v)
    }

    /// The next message for a receiver at `*next`, decided under the tail lock: no message can
    /// be sent meanwhile.
    fn take_locked(&self, tail: &Tail, next: &mut u64) -> Result<T, TryRecvError> {
        let oldest = self.oldest(tail);
        if *next < oldest {
            let missed = oldest - *next;
            *next = oldest;
            return Err(TryRecvError::Lagged(missed));
        }
        if *next < tail.pos {
            // Sent, not overwritten (`next >= oldest`) and unread by this receiver.
            let mut slot = self
                .ring
                .get(*next)
                .expect("a sent message's slot exists")
                .lock();
            debug_assert_eq!(slot.pos, *next);
            let v = slot.read();
            drop(slot);
            *next += 1;
            return Ok(v);
        }
        if tail.senders == 0 {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }
}

value_error! {
    /// No receiver is alive; the message is returned.
    pub struct SendError<T>(pub T) => "broadcast has no receivers: subscribe before sending";
}

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
    shared: Arc<Shared<T>>,
}

impl<T: Clone> Sender<T> {
    /// Sends `msg` to every current receiver; returns how many there are. Fails (returning the
    /// message) when there is none. Never waits: a full ring drops its oldest message.
    pub fn send(&self, msg: T) -> Result<usize, SendError<T>> {
        let mut wakes = WakeList::new();
        let mut tail = self.shared.lock_tail();
        if tail.receivers == 0 {
            return Err(SendError(msg));
        }
        let rem = tail.receivers;
        let pos = tail.pos;
        tail.pos += 1;
        let old = {
            let mut slot = self.shared.ring.get_or_alloc(pos).lock();
            slot.pos = pos;
            slot.rem = rem;
            slot.value.replace(msg)
        };
        tail.waiters.notify_all(&mut wakes, |_| {});
        drop(tail);
        drop(old);
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
        self.shared.lock_tail().receivers
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
        let tail = self.shared.lock_tail();
        // The kept messages are the newest ones (see `Slot`): count back from the tail.
        let mut pos = tail.pos;
        let oldest = self.shared.oldest(&tail);
        while pos > oldest {
            let kept = self.shared.ring.get(pos - 1).is_some_and(|s| {
                let s = s.lock();
                s.pos == pos - 1 && s.rem > 0
            });
            if !kept {
                break;
            }
            pos -= 1;
        }
        (tail.pos - pos) as usize
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
        self.shared.lock_tail().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut wakes = WakeList::new();
        let mut tail = self.shared.lock_tail();
        tail.senders -= 1;
        if tail.senders == 0 {
            tail.waiters.notify_all(&mut wakes, |_| {});
        }
        drop(tail);
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
    shared: &'a Arc<Shared<T>>,
    key: Option<usize>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut wakes = WakeList::new();
        let tail = &mut *this.shared.lock_tail();
        tail.closed_waiters
            .poll_until(&mut this.key, cx.waker(), &mut wakes, || {
                tail.receivers == 0
            })
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            self.shared
                .lock_tail()
                .closed_waiters
                .remove(key, &mut wakes);
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
    shared: Arc<Shared<T>>,
    next: u64,
}

impl<T: Clone> Receiver<T> {
    /// Takes the next message if there is one now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if let Some(v) = self.shared.read_slot(&mut self.next) {
            return Ok(v);
        }
        let tail = self.shared.lock_tail();
        self.shared.take_locked(&tail, &mut self.next)
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
    fn new_at_tail(shared: &Arc<Shared<T>>) -> Receiver<T> {
        let mut tail = shared.lock_tail();
        tail.receivers += 1;
        let next = tail.pos;
        drop(tail);
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
        let tail = self.shared.lock_tail();
        (tail.pos - self.next.max(self.shared.oldest(&tail))) as usize
    }

    /// `true` when this receiver has read every kept message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.lock_tail().receivers
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        let mut tail = self.shared.lock_tail();
        tail.receivers += 1;
        // The clone has to read what `self` has not: count it in. Holding the tail lock keeps
        // senders out, and `self` cannot read meanwhile (`&self`).
        for pos in self.next.max(self.shared.oldest(&tail))..tail.pos {
            if let Some(slot) = self.shared.ring.get(pos) {
                let mut slot = slot.lock();
                if slot.pos == pos {
                    slot.rem += 1;
                }
            }
        }
        drop(tail);
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
        let mut tail = self.shared.lock_tail();
        tail.receivers -= 1;
        if tail.receivers == 0 {
            tail.closed_waiters.notify_all(&mut wakes, |_| {});
        }
        // Messages sent from now on do not count this receiver; the ones it has not read stop
        // counting it (the tail lock keeps senders from overwriting them meanwhile).
        for pos in self.next.max(self.shared.oldest(&tail))..tail.pos {
            if let Some(v) = self
                .shared
                .ring
                .get(pos)
                .and_then(|slot| slot.lock().forget(pos))
            {
                dropped.push(v);
            }
        }
        drop(tail);
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
        let rx = &mut *this.rx;
        if this.key.is_none() {
            if let Some(v) = rx.shared.read_slot(&mut rx.next) {
                return Poll::Ready(Ok(v));
            }
        }
        // Only the slow path needs one (its drop is not free): declared before the guard, so
        // replaced wakers are dropped after the lock is released.
        let mut wakes = WakeList::new();
        let mut tail = rx.shared.lock_tail();
        if tail
            .waiters
            .poll_waiter(&mut this.key, cx.waker(), &mut wakes)
            .is_pending()
        {
            return Poll::Pending;
        }
        Poll::Ready(match rx.shared.take_locked(&tail, &mut rx.next) {
            Ok(v) => Ok(v),
            Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
            Err(TryRecvError::Empty) => {
                this.key = Some(tail.waiters.push_back((), cx.waker()));
                return Poll::Pending;
            }
        })
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            self.rx.shared.lock_tail().waiters.remove(key, &mut wakes);
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Recv").finish_non_exhaustive()
    }
}
