//! `hyper::rt::Timer` on weft's timers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use weft_timer::Timers;

/// hyper's [`Timer`](::hyper::rt::Timer) on weft's timing wheel.
///
/// Sleeps are [`weft_timer::Sleep`]s (1 ms resolution, never early, O(1) cancel on drop) on the
/// [`Timers`] current when the sleep is created, so a runtime started with a paused clock
/// drives hyper's timeouts with virtual time too. [`reset`](::hyper::rt::Timer::reset) moves a
/// registered sleep in place instead of allocating a new one. [`now`](::hyper::rt::Timer::now) reads
/// the same clock.
///
/// ```
/// use std::time::{Duration, Instant};
/// use hyper::rt::Timer;
/// use weft_compat::hyper::WeftTimer;
///
/// let start = Instant::now();
/// weft_executor::run(WeftTimer::new().sleep(Duration::from_millis(2)));
/// assert!(start.elapsed() >= Duration::from_millis(2));
/// ```
#[derive(Clone, Copy, Default)]
pub struct WeftTimer {
    _priv: (),
}

impl WeftTimer {
    /// The timer; sleeps use [`Timers::current()`] at the time they are created.
    pub fn new() -> WeftTimer {
        WeftTimer { _priv: () }
    }
}

impl ::hyper::rt::Timer for WeftTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(WeftSleep(weft_timer::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(WeftSleep(weft_timer::sleep_until(deadline)))
    }

    fn now(&self) -> Instant {
        Timers::current().now()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<WeftSleep>() {
            Some(mut s) => s.0.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

impl fmt::Debug for WeftTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeftTimer")
    }
}

/// The sleep [`WeftTimer`] hands to hyper: a [`weft_timer::Sleep`] implementing
/// [`hyper::rt::Sleep`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct WeftSleep(pub weft_timer::Sleep);

impl Future for WeftSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl ::hyper::rt::Sleep for WeftSleep {}
