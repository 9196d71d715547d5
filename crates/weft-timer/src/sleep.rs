//! `sleep` and `sleep_until`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::shards::Key as TimerId;
use crate::timers::{add_or_far, Entry};
use crate::Timers;

/// Waits until `d` has passed on [`Timers::current()`]'s clock.
///
/// The deadline is rounded up to the wheel's tick (1 µs), so the future never completes
/// early; a driver waits for the tick itself, not a whole millisecond.
/// A duration too large to represent sleeps (practically) forever.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let start = Instant::now();
/// futures_lite::future::block_on(weft_timer::sleep(Duration::from_millis(5)));
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// ```
pub fn sleep(d: Duration) -> Sleep {
    let timers = Timers::current();
    let deadline = add_or_far(timers.now(), d);
    Sleep::new_in(timers, deadline)
}

/// Waits until `deadline` on [`Timers::current()`]'s clock. A deadline in the past completes at
/// the first poll.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let deadline = Instant::now() + Duration::from_millis(3);
/// futures_lite::future::block_on(weft_timer::sleep_until(deadline));
/// assert!(Instant::now() >= deadline);
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new_in(Timers::current(), deadline)
}

/// Future returned by [`sleep`] and [`sleep_until`]; completes when its deadline has passed.
///
/// It is `Unpin`. It registers with the timing wheel lazily on its first poll (an unpolled
/// `Sleep` costs nothing), re-polling with a new waker only swaps the waker, and dropping it
/// cancels the timer in O(1).
///
/// # Cancel safety
///
/// Cancel-safe: dropping it only removes the timer.
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    timers: Timers,
    deadline: Instant,
    id: Option<TimerId>,
}

impl Sleep {
    /// A sleep until `deadline` on an explicit `timers` (instead of [`Timers::current()`]).
    pub fn new_in(timers: Timers, deadline: Instant) -> Sleep {
        Sleep {
            timers,
            deadline,
            id: None,
        }
    }

    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        self.timers.now() >= self.deadline
    }

    /// The timers this sleep registers with.
    pub fn timers(&self) -> &Timers {
        &self.timers
    }

    /// Changes the deadline. If the sleep is registered, its timer moves to the new deadline and
    /// keeps its waker, so the waiting task is woken at the new time without a new poll.
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        if let Some(id) = self.id.take() {
            self.id = self.timers.reschedule(id, deadline);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let now = this.timers.now();
        if now >= this.deadline {
            if let Some(id) = this.id.take() {
                this.timers.cancel(id);
            }
            return Poll::Ready(());
        }
        if let Some(id) = this.id {
            if this.timers.update_waker(id, cx.waker()) {
                return Poll::Pending;
            }
        }
        this.id = Some(
            this.timers
                .insert_at(this.deadline, now, Entry::Wake(cx.waker().clone())),
        );
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.timers.cancel(id);
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.id.is_some())
            .finish()
    }
}
