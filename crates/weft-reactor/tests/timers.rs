//! Timer integration: the reactor drives weft-timer, auto-advances paused time, and keeps
//! processing timers under a busy future.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::time::{Duration, Instant};

use weft_reactor::block_on;
use weft_timer::{Clock, Timers};

#[test]
fn sleep_completes_after_its_duration() {
    for ms in [1u64, 20] {
        let start = Instant::now();
        block_on(weft_timer::sleep(Duration::from_millis(ms)));
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(ms),
            "slept {took:?} < {ms} ms"
        );
        assert!(
            took < Duration::from_secs(5),
            "slept far too long: {took:?}"
        );
    }
}

#[test]
fn sleeps_fire_in_order_under_block_on() {
    // A paused clock: with real time, a thread descheduled past both deadlines sees both sleeps
    // ready in one poll and `zip` then records them in polling order, not deadline order.
    let timers = Timers::new(Clock::paused());
    let _g = timers.enter();
    let order = std::cell::RefCell::new(Vec::new());
    block_on(async {
        let a = async {
            weft_timer::sleep(Duration::from_millis(30)).await;
            order.borrow_mut().push(30);
        };
        let b = async {
            weft_timer::sleep(Duration::from_millis(10)).await;
            order.borrow_mut().push(10);
        };
        futures_lite::future::zip(a, b).await;
    });
    assert_eq!(*order.borrow(), vec![10, 30]);
}

#[test]
fn paused_timers_auto_advance() {
    let timers = Timers::new(Clock::paused());
    let _g = timers.enter();
    let virtual_start = timers.now();
    let real_start = Instant::now();
    block_on(weft_timer::sleep(Duration::from_secs(3600)));
    assert!(real_start.elapsed() < Duration::from_secs(5));
    assert!(timers.now() - virtual_start >= Duration::from_secs(3600));
    // Several sleeps in sequence: time advances deadline by deadline.
    let t0 = timers.now();
    block_on(async {
        weft_timer::sleep(Duration::from_secs(10)).await;
        assert_eq!(weft_timer::now() - t0, Duration::from_secs(10));
        weft_timer::sleep(Duration::from_secs(5)).await;
        assert_eq!(weft_timer::now() - t0, Duration::from_secs(15));
    });
}

#[test]
fn timeout_under_block_on() {
    let r = block_on(weft_timer::timeout(
        Duration::from_millis(5),
        std::future::pending::<()>(),
    ));
    assert!(r.is_err());
    let r = block_on(weft_timer::timeout(Duration::from_secs(5), async { 3 }));
    assert_eq!(r.unwrap(), 3);
}

#[test]
fn busy_future_cannot_starve_timers() {
    // This thread's own real-clock timers, with a no-op external driver so that only this
    // block_on processes them. A future that always wakes itself must still see a timer callback
    // fire (callbacks run only from `process()`), because block_on processes timers every
    // IO_POLL_BUDGET self-wakes.
    let timers = Timers::new(Clock::real());
    timers.set_driver(Arc::new(|| {}));
    let _g = timers.enter();
    let fired = Arc::new(AtomicBool::new(false));
    let f2 = fired.clone();
    let _h = weft_timer::call_later(Duration::from_millis(2), move || {
        f2.store(true, Ordering::SeqCst)
    });
    let polls = AtomicUsize::new(0);
    block_on(futures_lite::future::poll_fn(|cx| {
        let n = polls.fetch_add(1, Ordering::Relaxed);
        assert!(n < 20_000_000, "timers starved by a busy future");
        if fired.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }));
    assert!(polls.load(Ordering::Relaxed) > 1);
}

#[test]
fn timer_inserted_from_another_thread_wakes_the_parked_driver() {
    // The main thread parks in the reactor (nothing else to do); another thread's sleep on the
    // global timers must still fire on time.
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        let start = Instant::now();
        futures_lite::future::block_on(weft_timer::sleep(Duration::from_millis(30)));
        tx.send(start.elapsed()).unwrap();
    });
    let waited = block_on(async {
        loop {
            if let Ok(d) = rx.try_recv() {
                return d;
            }
            weft_timer::sleep(Duration::from_millis(500)).await;
        }
    });
    t.join().unwrap();
    assert!(waited >= Duration::from_millis(30));
    assert!(
        waited < Duration::from_millis(450),
        "other thread's timer fired late: {waited:?}"
    );
}
