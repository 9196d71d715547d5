//! When the last executor worker leaves the reactor (issue 13), the fallback thread takes it
//! over at once as the blocking driver, instead of noticing within its 50 µs–10 ms back-off,
//! for the `block_on_passive` threads that rely on someone driving. One test in its own binary.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::time::Duration;

use common::{wait_for, Flag, WATCHDOG};

#[test]
fn the_fallback_thread_takes_over_when_the_last_worker_leaves() {
    // A "worker": a block_on that drives the reactor through try_react until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let (drove_tx, drove_rx) = mpsc::channel();
    let s = stop.clone();
    let worker = std::thread::spawn(move || {
        let mut told = false;
        weft_reactor::block_on(std::future::poll_fn(|cx| {
            if weft_reactor::try_react(Some(Duration::ZERO)).is_some() && !told {
                told = true;
                drove_tx.send(()).unwrap();
            }
            if s.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }));
    });
    drove_rx
        .recv_timeout(WATCHDOG)
        .expect("watchdog: the worker drove");

    // A passive block_on that, once told to, waits for a timer: only a driver can fire it.
    let go = Arc::new(Flag::default());
    let (started_tx, started_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let g = go.clone();
    std::thread::spawn(move || {
        weft_reactor::block_on_passive(async {
            started_tx.send(()).unwrap();
            g.wait().await;
            weft_timer::sleep(Duration::from_millis(1)).await;
        });
        done_tx.send(()).unwrap();
    });
    started_rx
        .recv_timeout(WATCHDOG)
        .expect("watchdog: passive start");

    let before = weft_reactor::__fallback_takeovers();
    stop.store(true, Ordering::SeqCst);
    worker.join().unwrap();
    // The last worker left while a passive block_on runs: the fallback thread becomes the
    // blocking driver (counted once it holds the reactor lock for that).
    wait_for("the fallback thread took the reactor over", || {
        weft_reactor::__fallback_takeovers() > before
    });
    // And it drives: the passive thread's timer fires.
    go.complete();
    done_rx
        .recv_timeout(WATCHDOG)
        .expect("watchdog: the passive block_on's timer never fired");
}
