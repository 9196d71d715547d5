//! `call_later` / `call_at`: timer callbacks, like asyncio's `loop.call_later`.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::shards::Key as TimerId;
use crate::timers::{add_or_far, CallEntry, Entry, HANDLE_PENDING};
use crate::Timers;

/// Runs `f` once, `d` from now, on [`Timers::current()`]. Returns a handle that can cancel it.
///
/// The callback runs on the thread that drives the timers (the reactor, or the `weft-timer`
/// fallback thread) while other timers wait: keep it short and never block in it (spawn a task
/// or send on a channel instead). A panicking callback is caught and reported on stderr.
///
/// ```
/// use std::sync::mpsc;
/// use std::time::Duration;
///
/// let (tx, rx) = mpsc::channel();
/// let _handle = weft_timer::call_later(Duration::from_millis(1), move || tx.send(42).unwrap());
/// assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(42));
/// ```
pub fn call_later<F: FnOnce() + Send + 'static>(d: Duration, f: F) -> TimerHandle {
    let timers = Timers::current();
    let deadline = add_or_far(timers.now(), d);
    TimerHandle::new_in(timers, deadline, f)
}

/// Runs `f` once at `deadline` on [`Timers::current()`]; see [`call_later`].
pub fn call_at<F: FnOnce() + Send + 'static>(deadline: Instant, f: F) -> TimerHandle {
    TimerHandle::new_in(Timers::current(), deadline, f)
}

/// Handle to a callback scheduled with [`call_later`] / [`call_at`].
///
/// Dropping the handle does NOT cancel the callback (like asyncio's `TimerHandle`); call
/// [`cancel`](TimerHandle::cancel).
pub struct TimerHandle {
    timers: Timers,
    id: TimerId,
    deadline: Instant,
    state: Arc<AtomicU8>,
}

impl TimerHandle {
    /// Schedules `f` at `deadline` on explicit `timers`.
    pub fn new_in<F: FnOnce() + Send + 'static>(
        timers: Timers,
        deadline: Instant,
        f: F,
    ) -> TimerHandle {
        let state = Arc::new(AtomicU8::new(HANDLE_PENDING));
        let call = CallEntry {
            f: Box::new(f),
            state: state.clone(),
        };
        let id = timers.insert(deadline, Entry::Call(Box::new(call)));
        TimerHandle {
            timers,
            id,
            deadline,
            state,
        }
    }

    /// Cancels the callback. Returns true if it was cancelled before it started firing (it
    /// will then never run), false if it already fired, is running, or was cancelled before.
    pub fn cancel(&self) -> bool {
        self.timers.cancel(self.id)
    }

    /// Whether the callback has finished running or was cancelled.
    pub fn is_finished(&self) -> bool {
        self.state.load(Ordering::Acquire) != HANDLE_PENDING
    }

    /// Whether the callback was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.state.load(Ordering::Acquire) == crate::timers::HANDLE_CANCELLED
    }

    /// When the callback is scheduled to run.
    pub fn when(&self) -> Instant {
        self.deadline
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("when", &self.deadline)
            .field("finished", &self.is_finished())
            .finish()
    }
}
