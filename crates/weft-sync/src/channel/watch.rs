//! A single-value channel: receivers see the latest value and can wait for changes.
//!
//! ```
//! use weft_sync::channel::watch;
//! # futures_lite::future::block_on(async {
//! let (tx, mut rx) = watch::channel("starting");
//! tx.send("ready").unwrap();
//! rx.changed().await.unwrap();
//! assert_eq!(*rx.borrow_and_update(), "ready");
//! tx.send_modify(|v| *v = "stopping");
//! assert_eq!(*rx.borrow(), "stopping");
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{Arc, Mutex, RwLock, RwLockReadGuard};
use crate::waitlist::{WaitList, WakeList};

/// Creates a watch channel holding `init`.
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(Value {
            value: init,
            version: 0,
            closed: false,
        }),
        senders: AtomicUsize::new(1),
        state: Mutex::new(State {
            receivers: 1,
            waiters: WaitList::new(),
            closed_waiters: WaitList::new(),
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, seen: 0 },
    )
}

/// `seen` value meaning "marked changed": never equal to a real version.
const MARKED_CHANGED: u64 = u64::MAX;

struct Shared<T> {
    /// The value with its version and the closed flag, under one lock: a reader that marks a
    /// value seen records exactly that value's version.
    value: RwLock<Value<T>>,
    senders: AtomicUsize,
    /// Lock order: `value` (if taken) before `state`, never the other way round.
    state: Mutex<State>,
}

struct Value<T> {
    value: T,
    version: u64,
    /// Every sender is gone.
    closed: bool,
}

struct State {
    receivers: usize,
    waiters: WaitList<()>,
    /// `Sender::closed` waiters, woken when the last receiver goes.
    closed_waiters: WaitList<()>,
}

impl<T> Shared<T> {
    /// Wakes every waiting receiver (after a new version or close was published).
    fn notify(&self) {
        let mut wakes = WakeList::new();
        let mut st = self.state.lock();
        st.waiters.notify_all(&mut wakes, |_| {});
        drop(st);
        wakes.wake_all();
    }

    /// Borrows the current value.
    fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.value.read(),
        }
    }
}

/// A borrow of the current value. Holds a read lock: do not keep it across an `.await`.
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, Value<T>>,
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

value_error! {
    /// No receiver is alive; the value is returned.
    pub struct SendError<T>(pub T) => "watch has no receivers: the value was not stored";
}

/// The sender is gone: the value will not change again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watch sender dropped: the value will not change again")
    }
}

impl std::error::Error for RecvError {}

/// Publishes new values. Clone for more publishers; receivers see the channel closed when the
/// last one is dropped.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Replaces the value and notifies receivers. Fails (returning the value, which is not
    /// stored) when no receiver is alive.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.state.lock().receivers == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value even with no receivers, notifies them, and returns the old value.
    pub fn send_replace(&self, value: T) -> T {
        let mut v = self.shared.value.write();
        let old = std::mem::replace(&mut v.value, value);
        v.version += 1;
        drop(v);
        self.shared.notify();
        old
    }

    /// Modifies the value in place and notifies receivers. `f` runs under the write lock: keep
    /// it short and do not touch this channel from it.
    pub fn send_modify(&self, f: impl FnOnce(&mut T)) {
        let mut v = self.shared.value.write();
        f(&mut v.value);
        v.version += 1;
        drop(v);
        self.shared.notify();
    }

    /// Borrows the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        self.shared.borrow()
    }

    /// A new receiver; the current value counts as seen.
    pub fn subscribe(&self) -> Receiver<T> {
        // `value` before `state` (the lock order).
        let seen = self.shared.value.read().version;
        self.shared.state.lock().receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen,
        }
    }

    /// Number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.state.lock().receivers
    }

    /// Number of live senders.
    pub fn sender_count(&self) -> usize {
        self.shared.senders.load(Ordering::SeqCst)
    }

    /// `true` when every receiver is gone (`send` would fail).
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone.
    ///
    /// # Cancel safety
    /// Cancel-safe: it only observes.
    ///
    /// ```
    /// use weft_sync::channel::watch;
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = watch::channel(0);
    /// let tx2 = tx.clone();
    /// drop(rx);
    /// tx2.closed().await;
    /// assert!(tx.send(1).is_err());
    /// # });
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            shared: &self.shared,
            key: None,
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::SeqCst);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.value.write().closed = true;
            self.shared.notify();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender").finish_non_exhaustive()
    }
}

/// Future returned by [`Sender::closed`].
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    shared: &'a Shared<T>,
    key: Option<usize>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut wakes = WakeList::new();
        let st = &mut *this.shared.state.lock();
        st.closed_waiters
            .poll_until(&mut this.key, cx.waker(), &mut wakes, || st.receivers == 0)
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            self.shared
                .state
                .lock()
                .closed_waiters
                .remove(key, &mut wakes);
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Closed").finish_non_exhaustive()
    }
}

/// Observes the value. Clone for more observers (the clone has the same "seen" version).
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    seen: u64,
}

impl<T> Receiver<T> {
    /// Borrows the current value without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        self.shared.borrow()
    }

    /// Borrows the current value and marks it seen (the version recorded is the one of the
    /// value returned: both are read under one lock).
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.value.read();
        self.seen = guard.version;
        Ref { guard }
    }

    /// `true` if a value was published since this receiver last marked one seen; fails once
    /// every sender is gone (as tokio's `has_changed`), even if that last value was not seen.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let v = self.shared.value.read();
        if v.closed {
            Err(RecvError)
        } else {
            Ok(v.version != self.seen)
        }
    }

    /// Marks the current value as not seen: the next [`changed`](Receiver::changed) completes
    /// at once.
    ///
    /// ```
    /// use weft_sync::channel::watch;
    /// let (_tx, mut rx) = watch::channel(1);
    /// assert!(!rx.has_changed().unwrap());
    /// rx.mark_changed();
    /// assert!(rx.has_changed().unwrap());
    /// rx.mark_unchanged();
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn mark_changed(&mut self) {
        self.seen = MARKED_CHANGED;
    }

    /// Marks the current value as seen without borrowing it.
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.value.read().version;
    }

    /// Waits for a value newer than the last one seen and marks it seen. Fails when the sender
    /// is gone and nothing new is left to see.
    ///
    /// # Cancel safety
    /// Cancel-safe: the seen version only changes when the future completes.
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed {
            shared: &self.shared,
            seen: &mut self.seen,
            key: None,
        }
    }

    /// Waits until the value satisfies `f` (checking the current value first), marks it seen
    /// and returns a borrow of it. Fails when every sender is gone and the last value does not
    /// satisfy `f`.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping it only leaves later values marked seen, as `changed` would.
    ///
    /// ```
    /// use weft_sync::channel::watch;
    /// # futures_lite::future::block_on(async {
    /// let (tx, mut rx) = watch::channel(0);
    /// let waiter = async { *rx.wait_for(|v| *v >= 2).await.unwrap() };
    /// let sender = async {
    ///     for i in 1..=3 {
    ///         tx.send(i).unwrap();
    ///         futures_lite::future::yield_now().await;
    ///     }
    /// };
    /// let (seen, ()) = futures_lite::future::zip(waiter, sender).await;
    /// assert!(seen >= 2);
    /// # });
    /// ```
    pub async fn wait_for(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let Receiver { shared, seen } = self;
        let shared: &Shared<T> = shared;
        loop {
            let closed = {
                let guard = shared.value.read();
                *seen = guard.version;
                if f(&guard.value) {
                    return Ok(Ref { guard });
                }
                guard.closed
            };
            if closed {
                return Err(RecvError);
            }
            Changed {
                shared,
                seen: &mut *seen,
                key: None,
            }
            .await?;
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.state.lock().receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut wakes = WakeList::new();
        let mut st = self.shared.state.lock();
        st.receivers -= 1;
        if st.receivers == 0 {
            st.closed_waiters.notify_all(&mut wakes, |_| {});
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

/// Future returned by [`Receiver::changed`].
#[must_use = "futures do nothing unless polled"]
pub struct Changed<'a, T> {
    shared: &'a Shared<T>,
    seen: &'a mut u64,
    key: Option<usize>,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut wakes = WakeList::new();
        // `value` before `state`; holding the read lock while registering means no sender can
        // publish between the check and the registration.
        let v = this.shared.value.read();
        let mut st = this.shared.state.lock();
        ready!(st
            .waiters
            .poll_waiter(&mut this.key, cx.waker(), &mut wakes));
        if v.version != *this.seen {
            *this.seen = v.version;
            return Poll::Ready(Ok(()));
        }
        if v.closed {
            return Poll::Ready(Err(RecvError));
        }
        this.key = Some(st.waiters.push_back((), cx.waker()));
        Poll::Pending
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            self.shared.state.lock().waiters.remove(key, &mut wakes);
        }
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Changed").finish_non_exhaustive()
    }
}
