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

/// Creates a broadcast channel keeping the last `capacity` messages.
///
/// # Panics
/// If `capacity == 0`.
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast capacity must be at least 1");
    let shared = Arc::new(Mutex::new(State {
        buf: VecDeque::with_capacity(capacity.min(1024)),
        head: 0,
        cap: capacity,
        senders: 1,
        receivers: 1,
        waiters: WaitList::new(),
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, next: 0 },
    )
}

struct State<T> {
    buf: VecDeque<T>,
    /// Sequence number of `buf[0]`.
    head: u64,
    cap: usize,
    senders: usize,
    receivers: usize,
    waiters: WaitList<()>,
}

impl<T> State<T> {
    fn tail(&self) -> u64 {
        self.head + self.buf.len() as u64
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
        st.buf.push_back(msg);
        let dropped = if st.buf.len() > st.cap {
            st.head += 1;
            st.buf.pop_front()
        } else {
            None
        };
        st.waiters.notify_all(&mut wakes, |_| {});
        let n = st.receivers;
        drop(st);
        drop(dropped);
        wakes.wake_all();
        Ok(n)
    }

    /// A new receiver that sees messages sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver::new_at_tail(&self.shared)
    }

    /// Number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().receivers
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

/// Receives every message sent after it was created. Cloning gives a receiver at the same
/// position.
pub struct Receiver<T> {
    shared: Arc<Mutex<State<T>>>,
    next: u64,
}

impl<T: Clone> Receiver<T> {
    fn try_take(&mut self, st: &State<T>) -> Result<T, TryRecvError> {
        if self.next < st.head {
            let missed = st.head - self.next;
            self.next = st.head;
            return Err(TryRecvError::Lagged(missed));
        }
        if self.next < st.tail() {
            let idx = (self.next - st.head) as usize;
            self.next += 1;
            return Ok(st.buf[idx].clone());
        }
        if st.senders == 0 {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Takes the next message if there is one now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let shared = self.shared.clone();
        let st = shared.lock();
        self.try_take(&st)
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
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.lock().receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            next: self.next,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.lock().receivers -= 1;
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
        let shared = this.rx.shared.clone();
        let mut st = shared.lock();
        ready!(st.waiters.poll_waiter(&mut this.key, cx.waker()));
        match this.rx.try_take(&st) {
            Ok(v) => Poll::Ready(Ok(v)),
            Err(TryRecvError::Lagged(n)) => Poll::Ready(Err(RecvError::Lagged(n))),
            Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError::Closed)),
            Err(TryRecvError::Empty) => {
                this.key = Some(st.waiters.push_back((), cx.waker()));
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.rx.shared.lock().waiters.remove(key);
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Recv").finish_non_exhaustive()
    }
}
