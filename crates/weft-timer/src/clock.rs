//! Real and virtual clocks.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A source of time: real ([`Instant::now`]) or virtual (paused, moved only by `advance`).
///
/// A clock can switch between the two at any time: [`pause`](Clock::pause) freezes it at its
/// current reading, [`resume`](Clock::resume) lets it run again *from the frozen reading* (a
/// virtual clock never jumps backwards or skips the time it was paused). Cheap to clone: clones
/// share the same time.
///
/// ```
/// use std::time::Duration;
/// use weft_timer::Clock;
///
/// let clock = Clock::paused();
/// let t0 = clock.now();
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now() - t0, Duration::from_secs(5));
/// ```
#[derive(Clone)]
pub struct Clock {
    inner: Arc<ClockInner>,
}

struct ClockInner {
    /// True while this clock reads exactly `Instant::now()` (never paused or advanced).
    identity: AtomicBool,
    state: Mutex<ClockState>,
}

struct ClockState {
    paused: bool,
    /// Virtual reading at `base_real` (or the frozen reading while paused).
    base_virtual: Instant,
    base_real: Instant,
}

impl ClockState {
    fn now(&self) -> Instant {
        if self.paused {
            self.base_virtual
        } else {
            self.base_virtual + self.base_real.elapsed()
        }
    }
}

impl Clock {
    /// A clock that reads [`Instant::now`].
    pub fn real() -> Clock {
        let now = Instant::now();
        Clock {
            inner: Arc::new(ClockInner {
                identity: AtomicBool::new(true),
                state: Mutex::new(ClockState {
                    paused: false,
                    base_virtual: now,
                    base_real: now,
                }),
            }),
        }
    }

    /// A virtual clock, paused at `Instant::now()`. Time moves only through
    /// [`advance`](Clock::advance) (or [`Timers::advance`](crate::Timers::advance), which also
    /// fires timers) until [`resume`](Clock::resume) is called.
    pub fn paused() -> Clock {
        let clock = Clock::real();
        clock.pause();
        clock
    }

    fn state(&self) -> MutexGuard<'_, ClockState> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The current time of this clock.
    pub fn now(&self) -> Instant {
        #[cfg(test)]
        READS.with(|r| r.set(r.get() + 1));
        if self.inner.identity.load(Ordering::Acquire) {
            return Instant::now();
        }
        self.state().now()
    }

    /// Whether the clock is paused (virtual).
    pub fn is_paused(&self) -> bool {
        self.state().paused
    }

    /// Freezes the clock at its current reading. No effect if already paused.
    pub fn pause(&self) {
        let mut st = self.state();
        if !st.paused {
            st.base_virtual = st.now();
            st.paused = true;
            self.inner.identity.store(false, Ordering::Release);
        }
    }

    /// Lets a paused clock run again in real time, continuing from its frozen reading.
    /// No effect if not paused.
    pub fn resume(&self) {
        {
            let mut st = self.state();
            if st.paused {
                st.base_real = Instant::now();
                st.paused = false;
            }
        }
        crate::timers::wake_fallback();
    }

    /// Moves the clock forward by `d` (paused or not). This does not fire timers by itself; use
    /// [`Timers::advance`](crate::Timers::advance) to fire them in order as time passes them.
    pub fn advance(&self, d: Duration) {
        {
            let mut st = self.state();
            if let Some(t) = st.base_virtual.checked_add(d) {
                st.base_virtual = t;
            }
            self.inner.identity.store(false, Ordering::Release);
        }
        // A running clock that jumped forward may have made timers due.
        if !self.is_paused() {
            crate::timers::wake_fallback();
        }
    }

    /// Moves the clock forward to `t` if it reads earlier than `t`.
    pub(crate) fn advance_to(&self, t: Instant) {
        let now = self.now();
        if t > now {
            self.advance(t - now);
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Clock");
        match self.inner.state.try_lock() {
            Ok(st) => d.field("paused", &st.paused).field("now", &st.now()),
            Err(_) => d.field("state", &"<locked>"),
        };
        d.finish()
    }
}

#[cfg(test)]
thread_local! {
    /// Clock reads on this thread (unit tests count them per operation).
    pub(crate) static READS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}
