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

/// A one-shot flag completed from another thread, with a waker.
#[derive(Default)]
struct Flag {
    done: AtomicBool,
    waker: std::sync::Mutex<Option<std::task::Waker>>,
}

impl Flag {
    fn complete(&self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }

    async fn wait(&self) {
        futures_lite::future::poll_fn(|cx| {
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            if self.done.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

/// Fails the test (instead of hanging) if `rx` gets nothing within 30 s.
fn watchdog<T>(rx: &mpsc::Receiver<T>, what: &str) -> T {
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what}: nothing happened for 30 s"))
}

#[test]
fn timer_inserted_from_another_thread_wakes_the_parked_driver() {
    // The main thread parks in the poller with no deadline of its own. Another thread's 30 ms
    // sleep on the global timers can only fire if inserting it interrupted that wait (the
    // fallback thread cannot take the reactor lock from the parked main thread): without the
    // notification, the sleep never fires and the watchdog fails the test.
    let flag = Arc::new(Flag::default());
    let (tx, rx) = mpsc::channel();
    let f2 = flag.clone();
    let t = std::thread::spawn(move || {
        let start = Instant::now();
        futures_lite::future::block_on(weft_timer::sleep(Duration::from_millis(30)));
        tx.send(start.elapsed()).unwrap();
        f2.complete();
    });
    let (done_tx, done_rx) = mpsc::channel();
    let main = std::thread::spawn(move || {
        block_on(flag.wait());
        done_tx.send(()).unwrap();
    });
    let waited = watchdog(&rx, "the other thread's timer never fired");
    watchdog(&done_rx, "block_on was not woken");
    t.join().unwrap();
    main.join().unwrap();
    assert!(
        waited >= Duration::from_millis(30),
        "fired early: {waited:?}"
    );
}

#[test]
fn paused_clock_does_not_auto_advance_past_inhibited_work() {
    // `timeout(5 s, work)` under a paused clock, where the work runs on another thread (as on
    // a blocking pool) holding an auto-advance guard: the timeout must wait for the work
    // instead of jumping 5 s of virtual time at once (before: Elapsed immediately).
    let timers = Timers::new(Clock::paused());
    let _g = timers.enter();
    let flag = Arc::new(Flag::default());
    let guard = weft_timer::inhibit_auto_advance();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let f2 = flag.clone();
    let worker = std::thread::spawn(move || {
        go_rx.recv().unwrap(); // the work takes "a while": until the test says go
        f2.complete();
        drop(guard);
    });
    let (res_tx, res_rx) = mpsc::channel();
    let t0 = timers.now();
    let runner = {
        let timers = timers.clone();
        std::thread::spawn(move || {
            let _g = timers.enter();
            let r = block_on(weft_timer::timeout(Duration::from_secs(5), flag.wait()));
            res_tx.send(r.is_ok()).unwrap();
        })
    };
    // Give the runner every chance to (wrongly) auto-advance before the work completes.
    assert!(
        res_rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "timeout elapsed while the work was still running"
    );
    go_tx.send(()).unwrap();
    assert!(watchdog(&res_rx, "the timeout never completed"));
    assert_eq!(
        timers.now(),
        t0,
        "virtual time moved while work was in flight"
    );
    worker.join().unwrap();
    runner.join().unwrap();
}
