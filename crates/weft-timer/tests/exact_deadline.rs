//! Sub-millisecond deadlines: the wheel's tick is 1 µs and the timeout a driver is told is
//! exact, so a short sleep is not pushed to the next whole millisecond; and no timer ever fires
//! before its deadline, on a paused or a real clock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use futures_lite::future::{block_on, poll_once};
use weft_timer::{call_at, sleep, Clock, Timers};

/// The wheel's tick.
const TICK: Duration = Duration::from_micros(1);
/// Bounds every wait on another thread so a lost wake-up fails instead of hanging.
const WATCHDOG: Duration = Duration::from_secs(20);

#[test]
fn the_next_deadline_of_a_sub_millisecond_sleep_is_within_a_tick_of_it() {
    let timers = Timers::new(Clock::paused());
    let _g = timers.enter();
    let t0 = timers.now();
    for us in [1u64, 300, 999, 1_001, 1_300, 2_750] {
        let d = Duration::from_micros(us);
        let mut s = Box::pin(sleep(d));
        assert!(block_on(poll_once(&mut s)).is_none());
        let next = timers.next_deadline().expect("a timer waits");
        assert!(
            next >= t0 + d,
            "{us} µs: next deadline {next:?} before the sleep's"
        );
        assert!(
            next - (t0 + d) < TICK,
            "{us} µs: the driver would wait {:?} past the deadline (rounded to a ms?)",
            next - (t0 + d)
        );
        let timeout = timers.next_timeout();
        assert_eq!(timeout, None, "a paused clock needs no timed wait");
    }
}

#[test]
fn a_real_clock_timeout_is_not_rounded_up_to_a_millisecond() {
    let timers = Timers::new(Clock::real());
    let _g = timers.enter();
    let d = Duration::from_micros(10_300);
    let mut s = Box::pin(sleep(d));
    assert!(block_on(poll_once(&mut s)).is_none());
    let t = timers.next_timeout().expect("a timer waits");
    // Read after the sleep was created: at most `d` plus the tick it is rounded up to.
    assert!(t <= d + TICK, "timeout {t:?} for a {d:?} sleep");
}

#[test]
fn a_paused_timer_fires_within_a_tick_of_its_deadline_never_before() {
    let timers = Timers::new(Clock::paused());
    let _g = timers.enter();
    let t0 = timers.now();
    let (tx, rx) = mpsc::channel();
    for i in 0..200u64 {
        // 0 .. 4 ms in steps that are mostly not whole ticks.
        let deadline = t0 + Duration::from_nanos(i * 19_937 + i % 3);
        let tx = tx.clone();
        let t = timers.clone();
        let _ = call_at(deadline, move || tx.send((deadline, t.now())).unwrap());
    }
    drop(tx);
    while timers.advance_to_next() {}
    let mut n = 0;
    while let Ok((deadline, fired_at)) = rx.recv_timeout(WATCHDOG) {
        assert!(
            fired_at >= deadline,
            "fired {:?} early",
            deadline - fired_at
        );
        assert!(
            fired_at - deadline < TICK,
            "fired {:?} late",
            fired_at - deadline
        );
        n += 1;
    }
    assert_eq!(n, 200);
}

#[test]
fn whole_millisecond_sleeps_fire_on_advance_by_exactly_that() {
    let timers = Timers::new(Clock::paused());
    let _g = timers.enter();
    for ms in [1u64, 3, 64, 1_000] {
        let fired = Arc::new(AtomicBool::new(false));
        let f = fired.clone();
        let deadline = timers.now() + Duration::from_millis(ms);
        let _h = call_at(deadline, move || f.store(true, Ordering::SeqCst));
        timers.advance(Duration::from_millis(ms) - Duration::from_nanos(1));
        assert!(!fired.load(Ordering::SeqCst), "{ms} ms fired early");
        timers.advance(Duration::from_nanos(1));
        assert!(
            fired.load(Ordering::SeqCst),
            "{ms} ms did not fire at its deadline"
        );
    }
}

#[test]
fn real_clock_sub_millisecond_sleeps_never_complete_early() {
    let timers = Timers::new(Clock::real());
    let _g = timers.enter();
    for i in 0..40u64 {
        let d = Duration::from_nanos(i * 37_111);
        let start = Instant::now();
        block_on(sleep(d));
        assert!(start.elapsed() >= d, "sleep({d:?}) completed early");
    }
}
