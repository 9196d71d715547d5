//! tokio-style `Notify`: a wake-up with at most one stored permit.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::Mutex;
use crate::waitlist::{WaitList, WaitState, WakeList};

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
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    permit: bool,
    /// Payload: `true` when woken by `notify_one` (to be passed on if dropped).
    waiters: WaitList<bool>,
}

impl Notify {
    /// A new `Notify` without a stored permit.
    pub fn new() -> Self {
        Notify {
            state: Mutex::new(State {
                permit: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Wakes the longest-waiting task, or stores a permit if none waits (at most one is kept).
    pub fn notify_one(&self) {
        let mut wakes = WakeList::new();
        let mut st = self.state.lock();
        Self::notify_one_locked(&mut st, &mut wakes);
    }

    fn notify_one_locked(st: &mut State, wakes: &mut WakeList) {
        if !st.waiters.notify_front(wakes, |one| *one = true) {
            st.permit = true;
        }
    }

    /// Wakes every task waiting now; stores no permit.
    pub fn notify_waiters(&self) {
        let mut wakes = WakeList::new();
        self.state
            .lock()
            .waiters
            .notify_all(&mut wakes, |one| *one = false);
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
        match self.state.try_lock() {
            Some(st) => d
                .field("permit", &st.permit)
                .field("waiters", &st.waiters.len())
                .finish(),
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
        let mut wakes = WakeList::new();
        let mut st = this.notify.state.lock();
        if std::task::ready!(st
            .waiters
            .poll_waiter(&mut this.key, cx.waker(), &mut wakes))
        .is_some()
        {
            return Poll::Ready(());
        }
        if std::mem::take(&mut st.permit) {
            return Poll::Ready(());
        }
        this.key = Some(st.waiters.push_back(false, cx.waker()));
        Poll::Pending
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            let mut st = self.notify.state.lock();
            if let (WaitState::Notified, true) = st.waiters.remove(key, &mut wakes) {
                Notify::notify_one_locked(&mut st, &mut wakes);
            }
        }
    }
}
