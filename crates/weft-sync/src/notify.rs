//! tokio-style `Notify`: a wake-up with at most one stored permit.
//!
//! # Layout
//!
//! The waiter queue lives behind a mutex, as in every primitive of this crate; one atomic word
//! next to it holds two flags:
//!
//! * `PERMIT`: a `notify_one` is stored for the next `notified()`;
//! * `WAITERS`: the queue holds at least one waiter that was not notified yet.
//!
//! `WAITERS` only changes under the lock and is set exactly while the queue is non-empty; the two
//! flags are never set together (a permit is only stored while nobody waits, and a waiter only
//! queues after finding no permit, in one compare-and-swap). So while nobody waits, `notify_one`
//! is a single compare-and-swap that stores the permit, `notify_waiters` is one load, and a
//! `notified()` that finds the permit takes it with one compare-and-swap, none of them touching
//! the lock: a task that spins on `notify_one` no longer competes for the lock with the waiters
//! that re-register (tokio's fast path). Loom-checked in `tests/loom.rs` (`notify_*`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::{Mutex, MutexGuard};
use crate::waitlist::{WaitList, WaitState, WakeList};

/// A `notify_one` is stored (never set together with `WAITERS`).
const PERMIT: usize = 1;
/// The queue holds a waiter that was not notified yet (changes only under the lock).
const WAITERS: usize = 2;

/// Wakes one waiting task, or stores one permit for the next [`notified`](Notify::notified)
/// when nobody waits (tokio's `Notify`): `notify_one` before `notified().await` is not lost.
///
/// Unlike [`Event`](crate::Event) (a level-triggered flag), a permit is consumed by the one
/// task it wakes. Waiters are served FIFO; a waiter woken by `notify_one` and then dropped
/// passes the notification on (to the next waiter, or back into the permit).
///
/// ```
/// use weft_sync::Notify;
/// # futures_lite::future::block_on(async {
/// let n = Notify::new();
/// n.notify_one(); // nobody waits: stored
/// n.notified().await; // consumes the permit at once
/// n.notify_one();
/// n.notify_one(); // at most one permit is stored
/// n.notified().await;
/// assert!(futures_lite::future::poll_once(n.notified()).await.is_none());
/// # });
/// ```
pub struct Notify {
    /// `PERMIT` | `WAITERS`.
    state: AtomicUsize,
    /// Payload: `true` when woken by `notify_one` (to be passed on if dropped).
    waiters: Mutex<WaitList<bool>>,
}

impl Notify {
    /// A new `Notify` without a stored permit.
    pub fn new() -> Self {
        Notify {
            state: AtomicUsize::new(0),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// Wakes the longest-waiting task, or stores a permit if none waits (at most one is kept).
    pub fn notify_one(&self) {
        let mut s = self.state.load(SeqCst);
        while s & WAITERS == 0 {
            // Nobody waits: store the permit (a read-modify-write even if one is stored, so the
            // task that takes it sees what this caller did before).
            match self
                .state
                .compare_exchange_weak(s, s | PERMIT, SeqCst, SeqCst)
            {
                Ok(_) => return,
                Err(now) => s = now,
            }
        }
        let mut wakes = WakeList::new();
        let mut waiters = self.waiters.lock();
        self.notify_one_locked(&mut waiters, &mut wakes);
    }

    /// `notify_one` with the lock held: hands the notification to the front waiter, or stores
    /// the permit if the queue is empty.
    fn notify_one_locked(&self, waiters: &mut WaitList<bool>, wakes: &mut WakeList) {
        if waiters.notify_front(wakes, |one| *one = true) {
            self.sync_waiters(waiters);
        } else {
            // `WAITERS` is clear (the queue is empty), so this cannot set both flags.
            self.state.fetch_or(PERMIT, SeqCst);
        }
    }

    /// Clears `WAITERS` once the queue is empty (call with the lock held, after removing or
    /// notifying a waiter).
    fn sync_waiters(&self, waiters: &WaitList<bool>) {
        if waiters.is_empty() {
            self.state.fetch_and(!WAITERS, SeqCst);
        }
    }

    /// Wakes every task waiting now; stores no permit.
    pub fn notify_waiters(&self) {
        if self.state.load(SeqCst) & WAITERS == 0 {
            return; // nobody waits now
        }
        let mut wakes = WakeList::new();
        let mut waiters = self.waiters.lock();
        waiters.notify_all(&mut wakes, |one| *one = false);
        self.sync_waiters(&waiters);
    }

    /// Takes the stored permit if there is one (lock-free).
    fn take_permit(&self) -> bool {
        let mut s = self.state.load(SeqCst);
        while s & PERMIT != 0 {
            match self
                .state
                .compare_exchange_weak(s, s & !PERMIT, SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
        false
    }

    /// With the lock held: takes the permit, or else sets `WAITERS` (the caller then queues),
    /// in one compare-and-swap so that a concurrent lock-free `notify_one` either stored its
    /// permit before (taken here) or sees `WAITERS` and takes the lock (and finds the waiter).
    ///
    /// If `WAITERS` is already set (others are queued), there is nothing to write: no permit can
    /// be stored while it is set, and it cannot be cleared while the caller holds the lock, so
    /// a registration behind other waiters costs a load instead of a compare-and-swap on the
    /// word every notifier reads.
    fn take_permit_or_announce(&self, _held: &MutexGuard<'_, WaitList<bool>>) -> bool {
        let mut s = self.state.load(SeqCst);
        if s & WAITERS != 0 {
            debug_assert_eq!(s & PERMIT, 0, "PERMIT and WAITERS are never set together");
            return false;
        }
        loop {
            let (next, took) = if s & PERMIT != 0 {
                (s & !PERMIT, true)
            } else {
                (s | WAITERS, false)
            };
            match self.state.compare_exchange_weak(s, next, SeqCst, SeqCst) {
                Ok(_) => return took,
                Err(now) => s = now,
            }
        }
    }

    /// Waits for a notification (completes at once, consuming it, if a permit is stored). The
    /// future registers itself on its first poll.
    ///
    /// # Cancel safety
    /// Cancel-safe: a `notify_one` taken by a dropped future is passed on.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            key: None,
        }
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Notify");
        d.field("permit", &(self.state.load(SeqCst) & PERMIT != 0));
        match self.waiters.try_lock() {
            Some(waiters) => d.field("waiters", &waiters.len()).finish(),
            None => d.finish_non_exhaustive(),
        }
    }
}

/// Future returned by [`Notify::notified`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Notified<'a> {
    notify: &'a Notify,
    key: Option<usize>,
}

impl Future for Notified<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let notify = this.notify;
        if this.key.is_none() && notify.take_permit() {
            return Poll::Ready(());
        }
        let mut wakes = WakeList::new();
        let mut waiters = notify.waiters.lock();
        if std::task::ready!(waiters.poll_waiter(&mut this.key, cx.waker(), &mut wakes)).is_some() {
            return Poll::Ready(());
        }
        if notify.take_permit_or_announce(&waiters) {
            return Poll::Ready(());
        }
        this.key = Some(waiters.push_back(false, cx.waker()));
        Poll::Pending
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            let notify = self.notify;
            let mut waiters = notify.waiters.lock();
            match waiters.remove(key, &mut wakes) {
                (WaitState::Notified, true) => notify.notify_one_locked(&mut waiters, &mut wakes),
                (WaitState::Waiting, _) => notify.sync_waiters(&waiters),
                (WaitState::Notified, false) => {}
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// While nobody waits, `notify_one`, `notify_waiters` and taking the stored permit must not
    /// touch the waiter lock (issue 19: a task spinning on `notify_one` used to compete for it
    /// with every waiter re-registering). Holding the lock here would block them otherwise; the
    /// bound only turns such a block into a failure and is generous for a loaded machine.
    #[test]
    fn no_waiter_paths_do_not_take_the_lock() {
        let n = std::sync::Arc::new(Notify::new());
        let held = n.waiters.lock();
        let (tx, rx) = mpsc::channel();
        let n2 = n.clone();
        std::thread::spawn(move || {
            n2.notify_one();
            n2.notify_one(); // coalesces into the one permit
            n2.notify_waiters();
            let took =
                futures_lite::future::block_on(futures_lite::future::poll_once(n2.notified()));
            let _ = tx.send(took.is_some());
        });
        let took = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a no-waiter Notify path blocked on the waiter lock");
        assert!(took, "the stored permit was not taken");
        drop(held);
        assert_eq!(n.state.load(SeqCst), 0, "one permit stored, one taken");
    }
}
