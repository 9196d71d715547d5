//! asyncio-style `Condition` used together with weft's [`Mutex`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::Mutex as StdMutex;
use crate::mutex::{Mutex, MutexGuard};
use crate::waitlist::{WaitList, WaitState, WakeList};

/// A condition variable for async code (asyncio's `Condition`), used with a weft [`Mutex`].
///
/// `wait(guard)` atomically enqueues the task and releases the lock, waits for a
/// [`notify`](Condition::notify), then re-locks and returns the guard. Waiters are woken in FIFO
/// order; a notification taken by a waiter that is then dropped is passed to the next waiter, so
/// `notify(n)` always wakes `n` live waiters if there are that many. Notifications are not stored:
/// `notify` with nobody waiting does nothing (change the protected state under the lock, and wait
/// with [`wait_for`](Condition::wait_for), to never miss one).
///
/// One `Condition` may be used with any number of mutexes, but the usual pattern is one pair.
///
/// ```
/// use std::sync::Arc;
/// use weft_sync::{Condition, Mutex};
/// # futures_lite::future::block_on(async {
/// let pair = Arc::new((Mutex::new(false), Condition::new()));
/// let p2 = pair.clone();
/// let waiter = async move {
///     let (lock, cond) = &*p2;
///     let ready = cond.wait_for(lock.lock().await, |ready| *ready).await;
///     assert!(*ready);
/// };
/// let notifier = async {
///     let (lock, cond) = &*pair;
///     *lock.lock().await = true;
///     cond.notify_all();
/// };
/// futures_lite::future::zip(waiter, notifier).await;
/// # });
/// ```
#[doc(alias = "Condvar")]
pub struct Condition {
    waiters: StdMutex<WaitList<()>>,
}

impl Condition {
    /// A new condition with no waiters.
    pub fn new() -> Self {
        Condition {
            waiters: StdMutex::new(WaitList::new()),
        }
    }

    /// Wakes up to `n` waiting tasks (FIFO). Returns how many were woken.
    pub fn notify(&self, n: usize) -> usize {
        let mut wakes = WakeList::new();
        let mut list = self.waiters.lock();
        let mut woken = 0;
        while woken < n && list.notify_front(&mut wakes, |_| {}) {
            woken += 1;
        }
        drop(list);
        wakes.wake_all();
        woken
    }

    /// Wakes one waiting task. Returns whether one was woken.
    pub fn notify_one(&self) -> bool {
        self.notify(1) == 1
    }

    /// Wakes every waiting task. Returns how many were woken.
    pub fn notify_all(&self) -> usize {
        self.notify(usize::MAX)
    }

    /// Releases the lock held by `guard`, waits for a notification, then re-locks and returns the
    /// new guard. Wake-ups can be spurious with respect to your predicate: loop, or use
    /// [`wait_for`](Condition::wait_for).
    ///
    /// # Cancel safety
    /// Cancel-safe in that no notification is lost: a notification already taken by a dropped
    /// `wait` is passed to the next waiter. The lock stays released if the future is dropped (the
    /// guard was moved into it).
    pub async fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex: &'a Mutex<T> = MutexGuard::mutex(&guard);
        // Enqueue while the lock is still held, so a notifier that changes the state under the
        // lock cannot notify before we are in the queue.
        let waiter = CondWait {
            cond: self,
            key: Some(self.waiters.lock().push_back((), std::task::Waker::noop())),
        };
        drop(guard);
        waiter.await;
        // Notified. If this future is dropped while re-acquiring the lock, the notification
        // must not die with it: pass it on to the next waiter (asyncio does the same).
        let pass_on = PassOn(self);
        let guard = mutex.lock().await;
        std::mem::forget(pass_on);
        guard
    }

    /// Waits until `predicate` returns `true` for the protected value, re-checking after every
    /// notification. Returns the guard with the predicate satisfied.
    ///
    /// # Cancel safety
    /// As [`wait`](Condition::wait).
    pub async fn wait_for<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut predicate: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        loop {
            if predicate(&mut guard) {
                return guard;
            }
            guard = self.wait(guard).await;
        }
    }
}

impl Default for Condition {
    fn default() -> Self {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Condition");
        match self.waiters.try_lock() {
            Some(l) => d.field("waiters", &l.len()).finish(),
            None => d.finish_non_exhaustive(),
        }
    }
}

/// Passes one notification on if dropped (a notified `wait` cancelled while re-locking).
struct PassOn<'a>(&'a Condition);

impl Drop for PassOn<'_> {
    fn drop(&mut self) {
        self.0.notify(1);
    }
}

/// The "wait for a notification" part of [`Condition::wait`].
struct CondWait<'a> {
    cond: &'a Condition,
    key: Option<usize>,
}

impl Future for CondWait<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.key.is_none() {
            return Poll::Ready(());
        }
        let mut wakes = WakeList::new();
        let mut list = this.cond.waiters.lock();
        list.poll_waiter(&mut this.key, cx.waker(), &mut wakes)
            .map(|_| ())
    }
}

impl Drop for CondWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            let mut list = self.cond.waiters.lock();
            if list.remove(key, &mut wakes).0 == WaitState::Notified {
                // Pass the notification on.
                list.notify_front(&mut wakes, |_| {});
            }
            drop(list);
            wakes.wake_all();
        }
    }
}
