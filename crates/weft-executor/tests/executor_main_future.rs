//! The main future of `block_on` / `run`: it is budgeted like a task, timed in debug mode, and
//! blocking on a runtime from inside a worker task is refused with a clear panic.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;

use common::{flag, within};
use weft_executor::{spawn_local, yield_now, LocalRuntime, Runtime};
use weft_timer::{Clock, Timers};

/// Thread-local real-time timers that only this thread's `block_on` drives (the no-op external
/// driver keeps the timer crate's fallback thread away from them).
fn timers_driven_only_by_this_thread() -> Timers {
    let timers = Timers::new(Clock::real());
    timers.set_driver(Arc::new(|| {}));
    timers
}

/// A main future that waits for a timer by spinning on `yield_now` (issue 14, defect 2). The
/// timer fires only if the driver gets back to `block_on`'s I/O-and-timer poll.
async fn spin_until_timer_fires() {
    let fired = flag();
    let f = fired.clone();
    let sleep = weft_timer::sleep(Duration::from_millis(1));
    spawn_local(async move {
        sleep.await;
        f.store(true, SeqCst);
    })
    .detach();
    while !fired.load(SeqCst) {
        yield_now().await;
    }
}

#[test]
fn self_waking_main_future_cannot_starve_timers_on_a_local_runtime() {
    within(30, || {
        let timers = timers_driven_only_by_this_thread();
        let _e = timers.enter();
        LocalRuntime::new()
            .unwrap()
            .block_on(spin_until_timer_fires());
    });
}

#[test]
fn self_waking_main_future_cannot_starve_timers_in_runtime_block_on() {
    within(30, || {
        let timers = timers_driven_only_by_this_thread();
        let _e = timers.enter();
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        rt.block_on(spin_until_timer_fires());
    });
}

/// Issue 14, defect 8: debug mode's slow-poll detection covers the main future too.
#[test]
fn debug_mode_reports_a_slow_poll_of_the_main_future() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let rt = Runtime::builder()
        .worker_threads(1)
        .debug(true)
        .slow_poll_threshold(Duration::from_millis(5))
        .on_slow_poll(move |p| s.lock().unwrap().push(p.clone()))
        .build()
        .unwrap();
    within(30, move || {
        rt.block_on(async { std::thread::sleep(Duration::from_millis(20)) });
    });
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].duration() >= Duration::from_millis(20));
    assert_eq!(seen[0].task().location().file(), file!(), "{:?}", seen[0]);
}

/// Issue 14, defect 3: `block_on(spawn(..))` inside a worker task left the child in the blocked
/// worker's LIFO slot, which nobody can steal: a deterministic deadlock. It now panics (in the
/// task, so awaiting it gives the message) instead.
#[test]
fn block_on_inside_a_worker_task_panics_with_a_clear_message() {
    within(30, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let out =
            rt.block_on(rt.spawn(async {
                weft_executor::block_on(weft_executor::spawn(async { 1 })).unwrap()
            }));
        let msg = out.unwrap_err().to_string();
        assert!(
            msg.contains("block_on called inside a task on a worker thread"),
            "{msg}"
        );
        for nested in [
            rt.spawn(async { Runtime::new().unwrap().block_on(async {}) }),
            rt.spawn(async { LocalRuntime::new().unwrap().block_on(async {}) }),
        ] {
            let msg = rt.block_on(nested).unwrap_err().to_string();
            assert!(msg.contains("block_on called inside a task"), "{msg}");
        }
    });
}
