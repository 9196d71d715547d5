//! Timers for weft: a hierarchical timing wheel, real and virtual clocks, [`sleep`],
//! [`Interval`], [`timeout`] and [`call_later`].
//!
//! # Model
//!
//! * A [`Clock`] reads real time or a virtual (paused) time that tests move with `advance`.
//! * A [`Timers`] is a timing [`wheel`] per registering-thread shard (so registration and
//!   cancellation on different threads take different locks) plus its clock. Every future here captures
//!   [`Timers::current()`] when created: the `Timers` this thread [entered](Timers::enter), else
//!   the process-wide [`Timers::global()`] (real clock). A test runtime enters its own `Timers`
//!   with a paused clock, so tests running in parallel threads do not disturb each other.
//!   **Pausing or advancing the global timers (e.g. [`pause()`] on a thread that entered no
//!   `Timers`) affects every such thread.**
//! * The reactor drives a `Timers` ([`Timers::set_driver`], [`Timers::process`],
//!   [`Timers::next_timeout`]). When nobody drives it, a lazily started thread named
//!   `weft-timer` does, so timers fire even with no weft reactor running.
//!
//! # Resolution
//!
//! 1 µs. Deadlines are rounded **up** to the next tick and compared against the
//! clock, so no timer ever completes early; [`Timers::next_timeout`] is exact to the
//! nanosecond, so a driver that waits with a fine timeout (the reactor: `epoll_pwait2`) fires a
//! `sleep(1 ms)` within a tick plus the OS's wake-up latency of its deadline. Whole-millisecond
//! deadlines are whole ticks. Timers fire in deadline order; equal deadlines (same tick)
//! registered on one thread in insertion order, on different threads in an unspecified but
//! stable order.
//!
//! # Virtual time
//!
//! ```
//! use std::time::Duration;
//! use weft_timer::{Clock, Timers};
//!
//! let timers = Timers::new(Clock::paused());
//! let _g = timers.enter();
//! let t0 = weft_timer::now();
//! let mut iv = weft_timer::interval(Duration::from_secs(10));
//! futures_lite::future::block_on(async {
//!     assert_eq!(iv.tick().await, t0); // first tick is immediate
//!     let mut next = Box::pin(iv.tick());
//!     assert!(futures_lite::future::poll_once(&mut next).await.is_none());
//!     weft_timer::advance(Duration::from_secs(10)); // sync: fires the timer, returns at once
//!     assert_eq!(next.await, t0 + Duration::from_secs(10));
//! });
//! ```
//!
//! # Cancel safety
//!
//! | item | cancel-safe |
//! |---|---|
//! | [`Sleep`] | yes (drop removes the timer) |
//! | [`Interval::tick`] | yes (a tick is consumed only on completion) |
//! | [`Timeout`] | as cancel-safe as the inner future (it is dropped with the `Timeout`) |
#![forbid(unsafe_code)]

mod call;
mod clock;
mod interval;
mod shards;
mod sleep;
mod sync;
mod timeout;
mod timers;
pub mod wheel;

use std::time::{Duration, Instant};

pub use call::{call_at, call_later, TimerHandle};
pub use clock::Clock;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};
pub use timers::{AutoAdvanceGuard, EnterGuard, Timers};

/// The current time of [`Timers::current()`]'s clock (virtual if paused).
pub fn now() -> Instant {
    Timers::current().now()
}

/// Pauses the clock of [`Timers::current()`]. On a thread that entered no `Timers` this pauses
/// the global clock, for every thread.
pub fn pause() {
    Timers::current().pause();
}

/// Resumes the clock of [`Timers::current()`]; see [`Clock::resume`].
pub fn resume() {
    Timers::current().resume();
}

/// Moves [`Timers::current()`]'s clock forward by `d`, firing timers in order as it passes them
/// (see [`Timers::advance`]). Synchronous: it returns once time has moved; the woken tasks run
/// when their executor next polls them.
pub fn advance(d: Duration) {
    Timers::current().advance(d);
}

/// Keeps [`Timers::current()`]'s paused clock from auto-advancing until the guard drops (see
/// [`Timers::inhibit_auto_advance`]).
///
/// Call it on the thread that starts work the timers cannot see (a blocking-pool job, a thread),
/// *synchronously* when the work is submitted, and move the guard into the work so it drops
/// when the work ends: a `timeout(5s, blocking_read)` under a paused clock then waits for the
/// read instead of returning `Elapsed` at once. Cheap (one atomic add) and a no-op in effect
/// under a real clock.
pub fn inhibit_auto_advance() -> AutoAdvanceGuard {
    Timers::current().inhibit_auto_advance()
}
