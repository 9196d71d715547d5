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
/// A duration too large to represent sleeps (practically) forever. First polled after its
/// deadline has passed, it completes at the timers' next turn rather than in that poll (it
/// already read the clock once, when made); `sleep(Duration::ZERO)` completes in its first poll.
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
    Sleep::later_than_made(timers, deadline, !d.is_zero())
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
    reg: Reg,
}

/// Where a [`Sleep`] stands with the wheel; as small as `Option<TimerId>` (the flag sits beside
/// the id's niche), so a sleeping task does not grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reg {
    /// Not in the wheel. `true`: the deadline was later than the clock when the sleep was made
    /// (`sleep(d)` and `timeout(d, ..)` with `d > 0` read it then), so the first poll registers
    /// without reading the clock again; had the deadline passed meanwhile, the wheel fires it
    /// at its next turn (it never fires early either way). A clock read is ~25 ns on a VM, a
    /// good part of a timer's cost (tokio reads it once per timeout, too).
    Unregistered(bool),
    Registered(TimerId),
}

impl Reg {
    fn take(&mut self) -> Option<TimerId> {
        match std::mem::replace(self, Reg::Unregistered(false)) {
            Reg::Registered(id) => Some(id),
            Reg::Unregistered(_) => None,
        }
    }
}

impl From<Option<TimerId>> for Reg {
    fn from(id: Option<TimerId>) -> Reg {
        id.map_or(Reg::Unregistered(false), Reg::Registered)
    }
}

impl Sleep {
    /// A sleep until `deadline` on an explicit `timers` (instead of [`Timers::current()`]).
    pub fn new_in(timers: Timers, deadline: Instant) -> Sleep {
        Sleep::later_than_made(timers, deadline, false)
    }

    /// [`Sleep::new_in`]; `later`: the caller read the clock and `deadline` is later (see
    /// [`Reg::Unregistered`]).
    pub(crate) fn later_than_made(timers: Timers, deadline: Instant, later: bool) -> Sleep {
        Sleep {
            timers,
            deadline,
            reg: Reg::Unregistered(later),
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
        // Unregistered: the new deadline may have passed, so the first poll reads the clock.
        self.reg = self
            .reg
            .take()
            .and_then(|id| self.timers.reschedule(id, deadline))
            .into();
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.reg == Reg::Unregistered(true) {
            // The deadline is later than the clock read when this sleep was made: register
            // without another read.
            let id = this
                .timers
                .insert_later(this.deadline, Entry::Wake(cx.waker().clone()));
            this.reg = Reg::Registered(id);
            return Poll::Pending;
        }
        let now = this.timers.now();
        if now >= this.deadline {
            if let Some(id) = this.reg.take() {
                this.timers.cancel(id);
            }
            return Poll::Ready(());
        }
        if let Reg::Registered(id) = this.reg {
            if this.timers.update_waker(id, cx.waker()) {
                return Poll::Pending;
            }
        }
        this.reg = Reg::Registered(this.timers.insert_at(
            this.deadline,
            now,
            Entry::Wake(cx.waker().clone()),
        ));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(id) = self.reg.take() {
            self.timers.cancel(id);
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &matches!(self.reg, Reg::Registered(_)))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::future::{pending, Future};
    use std::pin::pin;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    use std::time::Duration;

    use super::{sleep, Reg, TimerId};
    use crate::clock::READS;
    use crate::{timeout, Clock, Timers};

    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// Runs `test` with `clock`'s timers entered and a context whose waker sets the flag.
    fn with_timers(clock: Clock, test: impl FnOnce(&Timers, &Flag, &mut Context<'_>)) {
        let timers = Timers::new(clock);
        let _g = timers.enter();
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        test(&timers, &flag, &mut Context::from_waker(&waker));
    }

    fn reads() -> u64 {
        READS.with(|r| r.get())
    }

    #[test]
    fn the_registration_state_is_no_larger_than_an_optional_id() {
        assert_eq!(
            std::mem::size_of::<Reg>(),
            std::mem::size_of::<Option<TimerId>>()
        );
    }

    /// Issue 13 (`timers/create_cancel_1m` 1.38x tokio on an AMD VM, where a clock read is
    /// ~25 ns and was 30 % of the run's samples): a timeout read the clock when made and again
    /// at its first poll. The deadline of `timeout(d)` / `sleep(d)` with `d > 0` is later than
    /// the first read, so the first poll registers without a second one.
    #[test]
    fn a_timeout_reads_the_clock_once_until_it_is_registered() {
        with_timers(Clock::real(), |timers, _, cx| {
            let before = reads();
            let mut t = pin!(timeout(Duration::from_secs(1), pending::<()>()));
            assert!(t.as_mut().poll(cx).is_pending());
            assert_eq!(reads() - before, 1, "clock reads for one timeout");
            let before = reads();
            let mut s = pin!(sleep(Duration::from_secs(1)));
            assert!(s.as_mut().poll(cx).is_pending());
            assert_eq!(reads() - before, 1, "clock reads for one sleep");
            assert_eq!(timers.len(), 2, "both registered");
        });
    }

    /// Without the second read, a `sleep(d)` first polled after its deadline is registered in
    /// the past; the wheel fires it at its next turn (never early, never lost), and a
    /// `sleep(0)` still completes in its first poll.
    #[test]
    fn a_sleep_first_polled_after_its_deadline_fires_at_the_next_turn() {
        with_timers(Clock::paused(), |timers, woken, cx| {
            let mut s = pin!(sleep(Duration::from_millis(10)));
            timers.advance(Duration::from_millis(20));
            assert!(s.as_mut().poll(cx).is_pending());
            assert_eq!(timers.process(), 1, "the past timer fires at the next turn");
            assert!(woken.0.load(Ordering::SeqCst));
            assert_eq!(s.as_mut().poll(cx), Poll::Ready(()));
            assert_eq!(timers.len(), 0);
            let mut zero = pin!(sleep(Duration::ZERO));
            assert_eq!(zero.as_mut().poll(cx), Poll::Ready(()));
            assert_eq!(timers.len(), 0, "a zero sleep never registers");
        });
    }

    /// `reset` on a sleep not registered yet: the new deadline may have passed, so the first
    /// poll reads the clock again and completes at once.
    #[test]
    fn a_reset_before_the_first_poll_checks_the_clock_again() {
        with_timers(Clock::paused(), |timers, _, cx| {
            let mut s = pin!(sleep(Duration::from_secs(10)));
            let past = timers.now();
            timers.advance(Duration::from_millis(1));
            s.as_mut().reset(past);
            assert_eq!(s.as_mut().poll(cx), Poll::Ready(()));
        });
    }
}
