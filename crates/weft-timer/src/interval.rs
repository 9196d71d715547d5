//! `Interval`: periodic ticks.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::timers::add_or_far;
use crate::{Sleep, Timers};

const MIN_PERIOD: Duration = Duration::from_millis(1);

/// What an [`Interval`] does when ticks were missed (the consumer fell a whole period or more
/// behind schedule).
///
/// While the consumer is less than one period late, every behaviour schedules the next tick at
/// `previous tick + period`. The default is [`Skip`](MissedTickBehavior::Skip): it never bursts
/// and keeps ticks on the original grid (tokio's default, `Burst`, is a known footgun: after a
/// stall it fires all missed ticks back to back).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MissedTickBehavior {
    /// Fire every missed tick as fast as possible, then continue on the original grid.
    Burst,
    /// Fire one tick now, then the next one a full period after *now* (the grid shifts).
    Delay,
    /// Fire one tick now, drop the other missed ticks, continue at the next grid point after
    /// now.
    #[default]
    Skip,
}

/// Creates an [`Interval`] ticking every `period`, the first tick completing immediately.
/// A zero period is raised to 1 ms (the timer resolution) instead of busy-looping.
///
/// ```
/// use std::time::Duration;
///
/// futures_lite::future::block_on(async {
///     let mut iv = weft_timer::interval(Duration::from_millis(2));
///     let first = iv.tick().await; // immediate
///     let second = iv.tick().await;
///     assert!(second >= first + Duration::from_millis(2));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    let timers = Timers::current();
    let start = timers.now();
    Interval::new_in(timers, start, period)
}

/// Creates an [`Interval`] whose first tick is at `start`, then every `period` after it.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    Interval::new_in(Timers::current(), start, period)
}

/// Yields ticks at a fixed period; see [`interval`]. Missed ticks follow
/// [`MissedTickBehavior`] (default `Skip`).
pub struct Interval {
    sleep: Sleep,
    period: Duration,
    behavior: MissedTickBehavior,
}

impl Interval {
    /// An interval on explicit `timers`, first tick at `start`.
    pub fn new_in(timers: Timers, start: Instant, period: Duration) -> Interval {
        Interval {
            sleep: Sleep::new_in(timers, start),
            period: period.max(MIN_PERIOD),
            behavior: MissedTickBehavior::default(),
        }
    }

    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a tick is consumed only when this future completes.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; returns its scheduled instant when due.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let tick = self.sleep.deadline();
        let now = self.sleep.timers().now();
        let on_grid = add_or_far(tick, self.period);
        let next = if now < on_grid {
            on_grid
        } else {
            match self.behavior {
                MissedTickBehavior::Burst => on_grid,
                MissedTickBehavior::Delay => add_or_far(now, self.period),
                MissedTickBehavior::Skip => {
                    let behind = now - tick;
                    let rem = behind.as_nanos() % self.period.as_nanos();
                    // rem < period, so it fits in u64 nanoseconds whenever period does.
                    let rem = Duration::from_nanos(u64::try_from(rem).unwrap_or(u64::MAX));
                    add_or_far(now, self.period.saturating_sub(rem))
                }
            }
        };
        self.sleep.reset(next);
        Poll::Ready(tick)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        let now = self.sleep.timers().now();
        self.sleep.reset(add_or_far(now, self.period));
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The instant of the next tick.
    pub fn next_tick(&self) -> Instant {
        self.sleep.deadline()
    }

    /// The current missed-tick behaviour.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.behavior
    }

    /// Sets what happens when ticks are missed.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.behavior = behavior;
    }
}

/// An `Interval` is an endless stream of tick instants (same as calling
/// [`poll_tick`](Interval::poll_tick)); cancel-safe.
impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next_tick", &self.sleep.deadline())
            .field("period", &self.period)
            .field("behavior", &self.behavior)
            .finish()
    }
}
