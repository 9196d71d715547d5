//! Behaviour tests for clocks, timers and the timer futures.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures_lite::future::{block_on, poll_once};
use weft_timer::{
    call_at, call_later, interval, interval_at, sleep, sleep_until, timeout, Clock,
    MissedTickBehavior, Timers,
};

const MS: Duration = Duration::from_millis(1);
const LONG: Duration = Duration::from_secs(20);

// ---------- a tiny join-all that re-polls only woken futures ----------

struct Shared {
    ready: Mutex<Vec<usize>>,
    parent: Mutex<Option<Waker>>,
}

struct Child {
    idx: usize,
    shared: Arc<Shared>,
}

impl Wake for Child {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.ready.lock().unwrap().push(self.idx);
        if let Some(w) = self.shared.parent.lock().unwrap().as_ref() {
            w.wake_by_ref();
        }
    }
}

/// Runs all futures concurrently on this thread. When nothing is ready, `idle` is called: it
/// returns true if it made progress possible (e.g. advanced virtual time), false to wait for a
/// wake-up.
fn join_all<F: Future<Output = ()> + Unpin>(futs: Vec<F>, mut idle: impl FnMut() -> bool) {
    let n = futs.len();
    let mut futs: Vec<Option<F>> = futs.into_iter().map(Some).collect();
    let shared = Arc::new(Shared {
        ready: Mutex::new((0..n).collect()),
        parent: Mutex::new(None),
    });
    let wakers: Vec<Waker> = (0..n)
        .map(|idx| {
            Waker::from(Arc::new(Child {
                idx,
                shared: shared.clone(),
            }))
        })
        .collect();
    let mut remaining = n;
    block_on(poll_fn(|cx| {
        *shared.parent.lock().unwrap() = Some(cx.waker().clone());
        loop {
            let batch = std::mem::take(&mut *shared.ready.lock().unwrap());
            if batch.is_empty() {
                if remaining == 0 {
                    return Poll::Ready(());
                }
                if idle() {
                    continue;
                }
                return Poll::Pending;
            }
            for i in batch {
                if let Some(f) = futs[i].as_mut() {
                    let mut ccx = Context::from_waker(&wakers[i]);
                    if Pin::new(f).poll(&mut ccx).is_ready() {
                        futs[i] = None;
                        remaining -= 1;
                    }
                }
            }
        }
    }));
}

fn paused() -> Timers {
    Timers::new(Clock::paused())
}

// ---------- never early, ordering, cancellation ----------

#[test]
fn never_fires_early_real_clock() {
    let timers = Timers::new(Clock::real());
    let _g = timers.enter();
    let futs: Vec<_> = (0..300u64)
        .map(|i| {
            // 0 .. 15 ms, mostly not whole milliseconds.
            let d = Duration::from_micros(i * 50 + i % 7);
            Box::pin(async move {
                let deadline = Instant::now() + d;
                sleep_until(deadline).await;
                assert!(Instant::now() >= deadline, "woke early for {d:?}");
            })
        })
        .collect();
    join_all(futs, || false);
    // The same for callbacks, which run on the fallback thread.
    let (tx, rx) = mpsc::channel();
    for i in 0..50u64 {
        let deadline = Instant::now() + Duration::from_micros(i * 97);
        let tx = tx.clone();
        let _ = call_at(deadline, move || {
            tx.send(Instant::now() >= deadline).unwrap()
        });
    }
    for _ in 0..50 {
        assert!(rx.recv_timeout(LONG).unwrap(), "callback ran early");
    }
}

#[test]
fn sleep_elapses_at_least_its_duration() {
    let start = Instant::now();
    block_on(sleep(Duration::from_micros(2_500)));
    assert!(start.elapsed() >= Duration::from_micros(2_500));
}

#[test]
fn fires_in_deadline_order_with_ties_in_insertion_order() {
    let timers = paused();
    let _g = timers.enter();
    let log = Arc::new(Mutex::new(Vec::new()));
    // Deadlines scattered over several wheel levels, with ties.
    let deadlines_ms = [5_000u64, 3, 70, 3, 4_100, 70, 0, 200_000, 64, 63, 5_000, 1];
    for (i, &d) in deadlines_ms.iter().enumerate() {
        let log = log.clone();
        let _ = call_later(Duration::from_millis(d), move || {
            log.lock().unwrap().push(i)
        });
    }
    timers.advance(Duration::from_secs(1_000));
    let mut expected: Vec<usize> = (0..deadlines_ms.len()).collect();
    expected.sort_by_key(|&i| (deadlines_ms[i], i));
    assert_eq!(*log.lock().unwrap(), expected);
}

#[test]
fn sleeps_wake_in_deadline_order() {
    let timers = paused();
    let _g = timers.enter();
    let order = Arc::new(Mutex::new(Vec::new()));
    let t0 = timers.now();
    let deadlines = [30u64, 10, 20, 10, 5];
    let futs: Vec<_> = deadlines
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let order = order.clone();
            let timers = timers.clone();
            Box::pin(async move {
                sleep(Duration::from_millis(d)).await;
                assert_eq!(
                    timers.now(),
                    t0 + Duration::from_millis(d),
                    "virtual time at wake"
                );
                order.lock().unwrap().push(i);
            })
        })
        .collect();
    join_all(futs, || timers.advance_to_next());
    assert_eq!(*order.lock().unwrap(), vec![4, 1, 3, 2, 0]);
}

#[test]
fn cancelled_timer_never_fires() {
    let timers = paused();
    let _g = timers.enter();
    let fired = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    let handle = call_later(10 * MS, move || {
        f.fetch_add(1, Ordering::SeqCst);
    });
    let f = fired.clone();
    let kept = call_later(10 * MS, move || {
        f.fetch_add(100, Ordering::SeqCst);
    });
    assert!(handle.cancel());
    assert!(!handle.cancel(), "second cancel reports false");
    assert!(handle.is_finished() && handle.is_cancelled());
    // A dropped (cancelled) sleep never wakes its task.
    let woken = Arc::new(CountWaker::default());
    let waker = Waker::from(woken.clone());
    let mut s = sleep(5 * MS);
    assert!(Pin::new(&mut s)
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    assert_eq!(timers.len(), 2);
    drop(s);
    assert_eq!(timers.len(), 1);
    timers.advance(Duration::from_secs(1));
    assert_eq!(fired.load(Ordering::SeqCst), 100);
    assert_eq!(woken.0.load(Ordering::SeqCst), 0);
    assert!(kept.is_finished() && !kept.is_cancelled());
    assert!(!kept.cancel(), "cancel after firing reports false");
}

#[derive(Default)]
struct CountWaker(AtomicUsize);
impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// ---------- scale ----------

#[test]
fn hundred_thousand_sleeps_virtual_time() {
    let timers = paused();
    let _g = timers.enter();
    let t0 = timers.now();
    let done = Arc::new(AtomicUsize::new(0));
    let futs: Vec<_> = (0..100_000u64)
        .map(|i| {
            let done = done.clone();
            let timers = timers.clone();
            // Spread over ~1.5 hours of virtual time: every wheel level up to 3 is used.
            let d = Duration::from_millis((i * 7_919) % 5_000_000);
            Box::pin(async move {
                sleep(d).await;
                assert!(timers.now() >= t0 + d);
                done.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    join_all(futs, || timers.advance_to_next());
    assert_eq!(done.load(Ordering::Relaxed), 100_000);
    assert!(timers.is_empty());
}

#[test]
fn hundred_thousand_sleeps_real_clock_fallback_thread() {
    let timers = Timers::new(Clock::real());
    let _g = timers.enter();
    let done = Arc::new(AtomicUsize::new(0));
    let futs: Vec<_> = (0..100_000u64)
        .map(|i| {
            let done = done.clone();
            let d = Duration::from_micros((i * 7_919) % 30_000);
            Box::pin(async move {
                let deadline = Instant::now() + d;
                sleep_until(deadline).await;
                assert!(Instant::now() >= deadline);
                done.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    join_all(futs, || false);
    assert_eq!(done.load(Ordering::Relaxed), 100_000);
}

// ---------- Interval ----------

fn ticks(behavior: MissedTickBehavior, stall_ms: u64, n: usize) -> Vec<u64> {
    let timers = paused();
    let _g = timers.enter();
    let t0 = timers.now();
    let mut iv = interval(10 * MS);
    iv.set_missed_tick_behavior(behavior);
    let mut out = Vec::new();
    block_on(async {
        out.push(iv.tick().await); // immediate
        timers.advance(Duration::from_millis(stall_ms)); // the consumer stalls
        while out.len() < n {
            let mut t = Box::pin(iv.tick());
            loop {
                if let Some(v) = poll_once(&mut t).await {
                    out.push(v);
                    break;
                }
                assert!(timers.advance_to_next(), "interval lost its timer");
            }
        }
    });
    out.iter().map(|t| (*t - t0).as_millis() as u64).collect()
}

#[test]
fn interval_burst() {
    // Stalled until 35 ms: ticks 10, 20, 30 fire at once, then the grid continues.
    assert_eq!(
        ticks(MissedTickBehavior::Burst, 35, 7),
        vec![0, 10, 20, 30, 40, 50, 60]
    );
}

#[test]
fn interval_delay() {
    // Tick 10 is delivered late at 35; the next one is a full period after that.
    assert_eq!(
        ticks(MissedTickBehavior::Delay, 35, 5),
        vec![0, 10, 45, 55, 65]
    );
}

#[test]
fn interval_skip() {
    // Tick 10 is delivered late at 35; 20 and 30 are skipped; back on the grid at 40.
    assert_eq!(
        ticks(MissedTickBehavior::Skip, 35, 5),
        vec![0, 10, 40, 50, 60]
    );
}

#[test]
fn interval_default_is_skip_and_on_time_ticks_stay_on_grid() {
    let timers = paused();
    let _g = timers.enter();
    let t0 = timers.now();
    let mut iv = interval_at(t0 + 5 * MS, 10 * MS);
    assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Skip);
    let mut got = Vec::new();
    for _ in 0..4 {
        let mut t = Box::pin(iv.tick());
        let v = block_on(async {
            loop {
                if let Some(v) = poll_once(&mut t).await {
                    break v;
                }
                assert!(timers.advance_to_next());
            }
        });
        got.push((v - t0).as_millis());
    }
    assert_eq!(got, vec![5, 15, 25, 35]);
    assert_eq!(
        interval(Duration::ZERO).period(),
        MS,
        "zero period is raised to 1 ms"
    );
}

// ---------- timeout ----------

struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn timeout_ok_when_inner_finishes_first() {
    let timers = paused();
    let _g = timers.enter();
    let fut = timeout(10 * MS, async {
        sleep(5 * MS).await;
        7
    });
    let mut fut = Box::pin(fut);
    assert!(block_on(poll_once(&mut fut)).is_none());
    timers.advance(5 * MS);
    assert_eq!(block_on(fut), Ok(7));
    assert!(timers.is_empty(), "the timeout's own timer is removed");
}

#[test]
fn timeout_err_and_inner_dropped_on_expiry() {
    let timers = paused();
    let _g = timers.enter();
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let mut fut = Box::pin(timeout(10 * MS, async move {
        let _flag = flag;
        sleep(Duration::from_secs(3600)).await;
    }));
    assert!(block_on(poll_once(&mut fut)).is_none());
    timers.advance(9 * MS);
    assert!(block_on(poll_once(&mut fut)).is_none());
    assert!(!dropped.load(Ordering::SeqCst));
    timers.advance(MS);
    let err = block_on(poll_once(&mut fut)).expect("expired").unwrap_err();
    assert!(dropped.load(Ordering::SeqCst), "inner dropped at expiry");
    assert!(err.to_string().contains("deadline elapsed"));
    assert!(timers.is_empty());
    // A deadline already due when the timeout is made never starts the inner future (asyncio's
    // `timeout(0)`), even a ready one; a deadline still ahead lets a ready inner win.
    timers.advance(MS);
    let late = timeout_at_past(&timers);
    assert!(block_on(late).is_err());
    assert_eq!(block_on(timeout(MS, std::future::ready(2))), Ok(2));
}

fn timeout_at_past(timers: &Timers) -> weft_timer::Timeout<std::future::Ready<i32>> {
    weft_timer::timeout_at(timers.now() - MS, std::future::ready(1))
}

// ---------- call_later, fallback, driver protocol ----------

#[test]
fn call_later_fires_exactly_once_on_fallback_thread() {
    let timers = Timers::new(Clock::real());
    let count = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let c = count.clone();
    let h = TimerHandleExt::spawn(&timers, 2 * MS, move || {
        c.fetch_add(1, Ordering::SeqCst);
        tx.send(std::thread::current().name().map(str::to_owned))
            .unwrap();
    });
    let name = rx
        .recv_timeout(LONG)
        .expect("fallback thread fired the callback");
    assert_eq!(name.as_deref(), Some("weft-timer"));
    // Wait until the handle reports completion (bounded).
    let start = Instant::now();
    while !h.is_finished() {
        assert!(start.elapsed() < LONG);
        std::thread::yield_now();
    }
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert!(!h.cancel());
}

struct TimerHandleExt;
impl TimerHandleExt {
    fn spawn(
        timers: &Timers,
        d: Duration,
        f: impl FnOnce() + Send + 'static,
    ) -> weft_timer::TimerHandle {
        weft_timer::TimerHandle::new_in(timers.clone(), timers.now() + d, f)
    }
}

#[test]
fn callback_sees_its_deadline_under_advance() {
    let timers = paused();
    let _g = timers.enter();
    let t0 = timers.now();
    let seen = Arc::new(Mutex::new(Vec::new()));
    for d in [30u64, 7, 500] {
        let seen = seen.clone();
        let t = timers.clone();
        let _ = call_later(Duration::from_millis(d), move || {
            seen.lock().unwrap().push(t.now() - t0)
        });
    }
    weft_timer::advance(Duration::from_secs(1));
    assert_eq!(*seen.lock().unwrap(), vec![7 * MS, 30 * MS, 500 * MS]);
    assert_eq!(weft_timer::now() - t0, Duration::from_secs(1));
}

#[test]
fn driver_is_unparked_for_earlier_deadlines_and_drives_alone() {
    let timers = Timers::new(Clock::real());
    let unparks = Arc::new(AtomicUsize::new(0));
    let u = unparks.clone();
    timers.set_driver(Arc::new(move || {
        u.fetch_add(1, Ordering::SeqCst);
    }));
    assert!(timers.has_driver());
    let fired = Arc::new(AtomicUsize::new(0));
    let now = timers.now();
    let mk = |d: Duration| {
        let f = fired.clone();
        weft_timer::TimerHandle::new_in(timers.clone(), now + d, move || {
            f.fetch_add(1, Ordering::SeqCst);
        })
    };
    let _a = mk(Duration::from_secs(10));
    assert_eq!(unparks.load(Ordering::SeqCst), 1);
    let _b = mk(Duration::from_secs(20)); // later: no unpark
    assert_eq!(unparks.load(Ordering::SeqCst), 1);
    let _c = mk(Duration::ZERO); // earlier, already due
    assert_eq!(unparks.load(Ordering::SeqCst), 2);
    assert_eq!(timers.next_timeout(), Some(Duration::ZERO));
    // Only the driver fires it: give the fallback thread a chance it must not take.
    std::thread::sleep(20 * MS);
    assert_eq!(fired.load(Ordering::SeqCst), 0, "fallback must not drive");
    assert_eq!(timers.process(), 1);
    assert_eq!(fired.load(Ordering::SeqCst), 1);
    let t = timers.next_timeout().unwrap();
    // A cascade point of the coarse wheel levels may come first; never later than 10 s.
    assert!(t > Duration::from_secs(4) && t <= Duration::from_secs(10));
    // Without the driver, the fallback thread takes over.
    let (tx, rx) = mpsc::channel();
    timers.clear_driver();
    let _d =
        weft_timer::TimerHandle::new_in(timers.clone(), timers.now(), move || tx.send(()).unwrap());
    rx.recv_timeout(LONG)
        .expect("fallback drives after clear_driver");
}

#[test]
fn paused_timers_have_no_real_timeout() {
    let timers = paused();
    assert_eq!(timers.next_timeout(), None);
    let _h = weft_timer::TimerHandle::new_in(timers.clone(), timers.now() + MS, || {});
    assert_eq!(
        timers.next_timeout(),
        None,
        "waiting never makes virtual timers due"
    );
    assert_eq!(timers.next_deadline(), Some(timers.now() + MS));
    timers.clock().advance(MS);
    assert_eq!(timers.next_timeout(), Some(Duration::ZERO));
    assert!(!timers.advance_to_next() || timers.is_empty());
}

// ---------- Sleep details, clocks, enter ----------

#[test]
fn sleep_reset_keeps_waker_and_repoll_swaps_waker() {
    let timers = paused();
    let _g = timers.enter();
    let w1 = Arc::new(CountWaker::default());
    let w2 = Arc::new(CountWaker::default());
    let mut s = sleep(10 * MS);
    let t0 = timers.now();
    assert!(Pin::new(&mut s)
        .poll(&mut Context::from_waker(&Waker::from(w1.clone())))
        .is_pending());
    assert!(Pin::new(&mut s)
        .poll(&mut Context::from_waker(&Waker::from(w2.clone())))
        .is_pending());
    assert_eq!(timers.len(), 1, "re-poll does not re-insert");
    s.reset(t0 + 50 * MS);
    assert_eq!(s.deadline(), t0 + 50 * MS);
    timers.advance(10 * MS);
    assert_eq!(w2.0.load(Ordering::SeqCst), 0, "moved to the new deadline");
    timers.advance(40 * MS);
    assert_eq!(w1.0.load(Ordering::SeqCst), 0, "old waker replaced");
    assert_eq!(w2.0.load(Ordering::SeqCst), 1);
    assert!(s.is_elapsed());
    assert!(Pin::new(&mut s)
        .poll(&mut Context::from_waker(&Waker::from(w2.clone())))
        .is_ready());
}

#[test]
fn unpolled_sleep_registers_nothing() {
    let timers = paused();
    let _g = timers.enter();
    let s = sleep(Duration::from_secs(1));
    assert!(timers.is_empty());
    drop(s);
}

#[test]
fn clock_pause_resume_is_continuous() {
    let clock = Clock::real();
    assert!(!clock.is_paused());
    clock.pause();
    let frozen = clock.now();
    assert_eq!(clock.now(), frozen);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(clock.now(), frozen + Duration::from_secs(3600));
    clock.resume();
    assert!(!clock.is_paused());
    let after = clock.now();
    assert!(after >= frozen + Duration::from_secs(3600));
    assert!(after < frozen + Duration::from_secs(3600) + Duration::from_secs(5));
}

#[test]
fn enter_nests_and_restores() {
    let a = paused();
    let b = paused();
    assert!(Timers::current().ptr_eq(Timers::global()));
    {
        let _ga = a.enter();
        assert!(Timers::current().ptr_eq(&a));
        {
            let _gb = b.enter();
            assert!(Timers::current().ptr_eq(&b));
            assert!(sleep(MS).timers().ptr_eq(&b));
        }
        assert!(Timers::current().ptr_eq(&a));
    }
    assert!(Timers::current().ptr_eq(Timers::global()));
    // Other threads are unaffected by this thread's entered timers.
    let _ga = a.enter();
    std::thread::spawn(|| assert!(Timers::current().ptr_eq(Timers::global())))
        .join()
        .unwrap();
}

#[test]
fn debug_impls_do_not_block() {
    let timers = paused();
    let _g = timers.enter();
    let s = format!(
        "{:?} {:?} {:?} {:?}",
        timers,
        sleep(MS),
        interval(MS),
        timeout(MS, std::future::ready(()))
    );
    assert!(s.contains("Timers") && s.contains("Sleep") && s.contains("Interval"));
}

#[test]
fn panicking_callback_does_not_stop_the_driver() {
    let timers = paused();
    let _g = timers.enter();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let bad = call_later(MS, || panic!("callback panic (expected by this test)"));
    let good = call_later(2 * MS, move || r.store(true, Ordering::SeqCst));
    timers.advance(5 * MS);
    assert!(bad.is_finished() && !bad.is_cancelled());
    assert!(good.is_finished());
    assert!(ran.load(Ordering::SeqCst));
}

#[test]
fn interval_is_a_stream() {
    use futures_lite::StreamExt;
    let timers = paused();
    let _g = timers.enter();
    let t0 = timers.now();
    let mut iv = interval(10 * MS);
    let first = block_on(iv.next());
    assert_eq!(first, Some(t0));
    let mut next = iv.next();
    assert!(block_on(poll_once(&mut next)).is_none());
    timers.advance(10 * MS);
    assert_eq!(block_on(next), Some(t0 + 10 * MS));
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Timers>();
    check::<Clock>();
    check::<weft_timer::Sleep>();
    check::<weft_timer::Interval>();
    check::<weft_timer::TimerHandle>();
    check::<weft_timer::Timeout<std::future::Ready<()>>>();
    check::<weft_timer::Elapsed>();
}

#[test]
fn driver_is_unparked_after_cancel_emptied_what_it_saw() {
    // The driver sees no timer (after a cancel); a later insert must unpark it even though
    // the insert is later than the cancelled one.
    let timers = paused();
    let unparks = Arc::new(AtomicUsize::new(0));
    let u = unparks.clone();
    timers.set_driver(Arc::new(move || {
        u.fetch_add(1, Ordering::SeqCst);
    }));
    let now = timers.now();
    let a = weft_timer::TimerHandle::new_in(timers.clone(), now + 10 * MS, || {});
    assert_eq!(unparks.load(Ordering::SeqCst), 1);
    assert_eq!(timers.process(), 0);
    assert!(a.cancel());
    assert_eq!(timers.next_deadline(), None); // the driver will now sleep indefinitely
    let _b = weft_timer::TimerHandle::new_in(timers.clone(), now + 20 * MS, || {});
    assert_eq!(unparks.load(Ordering::SeqCst), 2, "driver must be unparked");
}

#[test]
fn resumed_clock_is_driven_by_the_fallback_thread() {
    let timers = paused();
    let (tx, rx) = mpsc::channel();
    let _h = weft_timer::TimerHandle::new_in(timers.clone(), timers.now() + 2 * MS, move || {
        tx.send(()).unwrap()
    });
    // While paused, nothing fires on its own (and the fallback thread leaves it alone).
    assert!(rx.try_recv().is_err());
    timers.resume();
    rx.recv_timeout(LONG)
        .expect("fallback thread fires timers once the clock runs");
}

/// A waker that panics when woken.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("waker panic (expected by this test)");
    }
}

/// A waker that counts its wake-ups.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn panicking_waker_does_not_skip_the_rest_of_the_batch() {
    // Three sleeps due at the same instant; the first one's waker panics. `process` must still
    // wake the other two and must not unwind into its caller (the driver).
    let timers = paused();
    let deadline = timers.now() + 5 * MS;
    let bad = Waker::from(Arc::new(PanickingWaker));
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let good = Waker::from(counter.clone());
    let mut sleeps: Vec<_> = (0..3)
        .map(|_| Box::pin(weft_timer::Sleep::new_in(timers.clone(), deadline)))
        .collect();
    assert!(sleeps[0]
        .as_mut()
        .poll(&mut Context::from_waker(&bad))
        .is_pending());
    for s in &mut sleeps[1..] {
        assert!(s
            .as_mut()
            .poll(&mut Context::from_waker(&good))
            .is_pending());
    }
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| timers.advance(5 * MS)));
    assert!(res.is_ok(), "a waker's panic escaped Timers::process");
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        2,
        "the batch was cut short"
    );
    assert!(timers.is_empty());
}

#[test]
fn auto_advance_waits_for_inhibit_guards() {
    let timers = paused();
    let _g = timers.enter();
    let t0 = timers.now();
    let mut s = Box::pin(sleep(Duration::from_secs(5)));
    assert!(block_on(poll_once(&mut s)).is_none());

    let a = weft_timer::inhibit_auto_advance(); // captures the entered (paused) timers
    let b = timers.inhibit_auto_advance();
    assert!(timers.is_auto_advance_inhibited());
    assert!(!timers.auto_advance(), "auto-advanced while inhibited");
    assert_eq!(timers.now(), t0);
    drop(a);
    assert!(!timers.auto_advance(), "one guard is still alive");
    // The guard is Send: the work it stands for may finish on another thread.
    std::thread::spawn(move || drop(b)).join().unwrap();
    assert!(!timers.is_auto_advance_inhibited());
    assert!(timers.auto_advance());
    assert_eq!(timers.now() - t0, Duration::from_secs(5));
    block_on(s);
    // Explicit advance is never inhibited.
    let _c = timers.inhibit_auto_advance();
    timers.advance(MS);
    assert_eq!(timers.now() - t0, Duration::from_secs(5) + MS);
}

#[test]
fn auto_advance_is_a_no_op_on_a_running_clock() {
    let timers = Timers::new(Clock::real());
    assert!(!timers.auto_advance());
}

#[test]
fn auto_advance_guard_is_send() {
    fn check<T: Send + Sync>() {}
    check::<weft_timer::AutoAdvanceGuard>();
}

#[test]
fn timers_from_many_threads_fire_in_global_order_and_cancel_from_anywhere() {
    // Each thread registers into its own shard of the wheels; firing must still follow the
    // deadline order across shards (equal deadlines in insertion order), and a timer must be
    // cancellable from a thread other than the one that registered it.
    let timers = paused();
    let t0 = timers.now();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    // Registered one thread after another, so insertion order is known: thread i registers
    // deadlines 10 - i ms and 20 ms (a tie across all threads).
    for i in 0..4u64 {
        let (timers, order) = (timers.clone(), order.clone());
        let hs = std::thread::spawn(move || {
            let _g = timers.enter();
            let o = order.clone();
            let a = call_at(t0 + MS * (10 - i) as u32, move || {
                o.lock().unwrap().push((10 - i, i))
            });
            let o = order.clone();
            let b = call_at(t0 + 20 * MS, move || o.lock().unwrap().push((20, i)));
            (a, b)
        })
        .join()
        .unwrap();
        handles.push(hs);
    }
    // Cancel thread 2's tie timer from this thread.
    assert!(handles[2].1.cancel());
    timers.advance(30 * MS);
    assert_eq!(
        *order.lock().unwrap(),
        vec![(7, 3), (8, 2), (9, 1), (10, 0), (20, 0), (20, 1), (20, 3)]
    );
    assert!(timers.is_empty());
}
