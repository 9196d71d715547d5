//! asyncio-style `Event`: a level-triggered flag tasks can wait on.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::Mutex;
use crate::waitlist::{WaitList, WakeList};

/// A level-triggered flag (asyncio's `Event`): [`wait`](Event::wait) completes at once while the
/// flag is set, and [`set`](Event::set) wakes every task waiting for it.
///
/// Unlike [`Notify`](crate::Notify), no "permit" is stored: the flag itself is the state, and a
/// task woken by `set` completes even if the flag is cleared again before it runs.
///
/// ```
/// use weft_sync::Event;
/// # futures_lite::future::block_on(async {
/// let ev = Event::new();
/// assert!(!ev.is_set());
/// ev.set();
/// ev.wait().await; // completes at once while set
/// ev.clear();
/// assert!(!ev.is_set());
/// # });
/// ```
pub struct Event {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    set: bool,
    waiters: WaitList<()>,
}

impl Event {
    /// A new event with the flag clear.
    pub fn new() -> Self {
        Event {
            state: Mutex::new(State {
                set: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Sets the flag and wakes every waiting task.
    pub fn set(&self) {
        let mut wakes = WakeList::new();
        let mut st = self.state.lock();
        st.set = true;
        st.waiters.notify_all(&mut wakes, |_| {});
        drop(st);
        wakes.wake_all();
    }

    /// Clears the flag; later `wait`s block until the next `set`.
    pub fn clear(&self) {
        self.state.lock().set = false;
    }

    /// `true` while the flag is set.
    pub fn is_set(&self) -> bool {
        self.state.lock().set
    }

    /// Waits until the flag is set (completes at once if it already is).
    ///
    /// # Cancel safety
    /// Cancel-safe: `set` wakes every waiter, so a dropped waiter takes nothing from the others.
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            key: None,
        }
    }

    /// Blocks the current thread until the flag is set. For threads outside the runtime.
    pub fn wait_blocking(&self) {
        crate::block::block_on(self.wait())
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Event");
        match self.state.try_lock() {
            Some(st) => d
                .field("set", &st.set)
                .field("waiters", &st.waiters.len())
                .finish(),
            None => d.finish_non_exhaustive(),
        }
    }
}

/// Future returned by [`Event::wait`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct EventWait<'a> {
    event: &'a Event,
    key: Option<usize>,
}

impl Future for EventWait<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut wakes = WakeList::new();
        let st = &mut *this.event.state.lock();
        st.waiters
            .poll_until(&mut this.key, cx.waker(), &mut wakes, || st.set)
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            self.event.state.lock().waiters.remove(key, &mut wakes);
        }
    }
}
