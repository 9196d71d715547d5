//! Glue between the reactor and `weft-timer`: the reactor drives the global timers and the
//! calling thread's current ones.

#[cfg(test)]
use std::future::Future;
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft_timer::Timers;

use crate::reactor::Reactor;

/// Makes the reactor the driver of the global timers. `weft-timer` calls the hook only for a
/// timer earlier than the earliest deadline the driver was last told about (its `cached_next`,
/// refreshed whenever a driver computes its timeout), and the hook writes the notifier only if
/// a thread is waiting in the poller (`in_wait`, set before that thread read the timers): a
/// later timer, or one inserted while nobody waits (the next wait computes its timeout afresh),
/// costs no syscall.
pub(crate) fn install_driver(r: &'static Reactor) {
    Timers::global().set_driver(Arc::new(move || {
        fence(Ordering::SeqCst);
        if r.in_wait.load(Ordering::SeqCst) {
            r.timer_notifies.fetch_add(1, Ordering::Relaxed);
            r.notify();
        }
    }));
    // Another thread may have got the reactor (and be waiting in the poller with a timeout
    // computed without it) between its creation and this call, and a timer inserted meanwhile
    // called no driver. The notification is sticky, so whoever waits in the poller now or next
    // recomputes its timeout with every timer inserted so far.
    r.notify();
}

/// The current timers if they are not the global ones.
fn current_non_global() -> Option<Timers> {
    let c = Timers::current();
    (!c.ptr_eq(Timers::global())).then_some(c)
}

/// Fires due timers on the global timers and on this thread's current timers.
pub(crate) fn process_timers() -> usize {
    let mut n = Timers::global().process();
    if let Some(c) = current_non_global() {
        n += c.process();
    }
    n
}

fn min_opt(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Bounds a poller timeout by the next timer deadlines, exactly: the poller waits with
/// nanosecond precision (`epoll_pwait2`, else rounding up to whole milliseconds), and no wait
/// returns before its timeout, so a timer is never processed before it is due.
pub(crate) fn timer_bounded_timeout(t: Option<Duration>) -> Option<Duration> {
    let mut t = min_opt(t, Timers::global().next_timeout());
    if let Some(c) = current_non_global() {
        t = min_opt(t, c.next_timeout());
    }
    t
}

/// Processes this thread's current timers when they are not the global ones.
pub(crate) fn process_current_only() {
    if let Some(c) = current_non_global() {
        c.process();
    }
}

/// How long a thread parked outside the reactor may sleep for its own current timers.
pub(crate) fn current_only_timeout() -> Option<Duration> {
    current_non_global().and_then(|c| c.next_timeout())
}

/// Whether this thread's current timers run on a paused (virtual) clock.
pub(crate) fn current_is_paused() -> bool {
    Timers::current().clock().is_paused()
}

/// Auto-advance: jumps the paused clock to the next deadline; false if no timer waits or
/// auto-advance is inhibited (blocking work in flight, see `weft_timer::inhibit_auto_advance`).
pub(crate) fn advance_current() -> bool {
    Timers::current().auto_advance()
}

/// Whether this thread's current timers' auto-advance is inhibited.
pub(crate) fn current_is_inhibited() -> bool {
    Timers::current().is_auto_advance_inhibited()
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_timer::Clock;

    #[test]
    fn the_poller_timeout_is_the_timer_deadline_not_the_next_millisecond() {
        let timers = Timers::new(Clock::real());
        let _g = timers.enter();
        let d = Duration::from_micros(10_300);
        let mut s = Box::pin(weft_timer::sleep(d));
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(s.as_mut().poll(&mut cx).is_pending());
        let t = timer_bounded_timeout(None).expect("a timer waits");
        // At most the sleep plus the wheel's tick (1 µs); it used to be 11 ms.
        assert!(t <= d + Duration::from_micros(1), "timeout {t:?} for {d:?}");
        let t = timer_bounded_timeout(Some(Duration::from_micros(1))).unwrap();
        assert!(t <= Duration::from_micros(1));
    }
}
