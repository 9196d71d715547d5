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

use crate::loom::{Arc, Mutex, RwLock, RwLockReadGuard};
use crate::waitlist::{WaitList, WakeList};

/// Creates a watch channel holding `init`.
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        state: Mutex::new(State {
            version: 0,
            closed: false,
            receivers: 1,
            waiters: WaitList::new(),
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, seen: 0 },
    )
}

struct Shared<T> {
    value: RwLock<T>,
    state: Mutex<State>,
}

struct State {
    version: u64,
    closed: bool,
    receivers: usize,
    waiters: WaitList<()>,
}

impl<T> Shared<T> {
    /// Publishes a new version and wakes every waiting receiver.
    fn bump(&self) {
        let mut wakes = WakeList::new();
        let mut st = self.state.lock();
        st.version += 1;
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
    guard: RwLockReadGuard<'a, T>,
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// No receiver is alive; the value is returned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watch has no receivers: the value was not stored")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// The sender is gone: the value will not change again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watch sender dropped: the value will not change again")
    }
}

impl std::error::Error for RecvError {}

/// Publishes new values.
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
        let old = std::mem::replace(&mut *self.shared.value.write(), value);
        self.shared.bump();
        old
    }

    /// Modifies the value in place and notifies receivers. `f` runs under the write lock: keep
    /// it short and do not touch this channel from it.
    pub fn send_modify(&self, f: impl FnOnce(&mut T)) {
        f(&mut self.shared.value.write());
        self.shared.bump();
    }

    /// Borrows the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        self.shared.borrow()
    }

    /// A new receiver; the current value counts as seen.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut st = self.shared.state.lock();
        st.receivers += 1;
        let seen = st.version;
        drop(st);
        Receiver {
            shared: self.shared.clone(),
            seen,
        }
    }

    /// Number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.state.lock().receivers
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut wakes = WakeList::new();
        let mut st = self.shared.state.lock();
        st.closed = true;
        st.waiters.notify_all(&mut wakes, |_| {});
        drop(st);
        wakes.wake_all();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender").finish_non_exhaustive()
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

    /// Borrows the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        self.seen = self.shared.state.lock().version;
        self.shared.borrow()
    }

    /// `true` if a value was published since this receiver last marked one seen.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let st = self.shared.state.lock();
        if st.version != self.seen {
            Ok(true)
        } else if st.closed {
            Err(RecvError)
        } else {
            Ok(false)
        }
    }

    /// Waits for a value newer than the last one seen and marks it seen. Fails when the sender
    /// is gone and nothing new is left to see.
    ///
    /// # Cancel safety
    /// Cancel-safe: the seen version only changes when the future completes.
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed {
            rx: self,
            key: None,
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
        self.shared.state.lock().receivers -= 1;
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
    rx: &'a mut Receiver<T>,
    key: Option<usize>,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut st = this.rx.shared.state.lock();
        ready!(st.waiters.poll_waiter(&mut this.key, cx.waker()));
        if st.version != this.rx.seen {
            this.rx.seen = st.version;
            return Poll::Ready(Ok(()));
        }
        if st.closed {
            return Poll::Ready(Err(RecvError));
        }
        this.key = Some(st.waiters.push_back((), cx.waker()));
        Poll::Pending
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.rx.shared.state.lock().waiters.remove(key);
        }
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Changed").finish_non_exhaustive()
    }
}
