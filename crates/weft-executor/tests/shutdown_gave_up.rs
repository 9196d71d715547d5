//! Issue 14: a task that shutdown could not cancel (its first poll was stuck on a worker that
//! `shutdown_timeout` left behind) must not be leaked once that poll returns `Pending`: the
//! closed runtime drops it then (its destructors run, its allocation is freed). A drop counter
//! (here a channel) checks it, with a watchdog instead of a hang.

use std::sync::mpsc;
use std::time::Duration;

/// Blocks its first poll until `release` fires, then returns `Pending` without keeping the
/// waker (so only the runtime can ever drop it); reports its drop on `dropped`.
struct StuckOnce {
    started: Option<mpsc::Sender<()>>,
    release: mpsc::Receiver<()>,
    dropped: mpsc::Sender<()>,
}

impl std::future::Future for StuckOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if let Some(s) = self.started.take() {
            s.send(()).unwrap();
            // Watchdog: never block the worker forever.
            let _ = self.release.recv_timeout(Duration::from_secs(30));
        }
        std::task::Poll::Pending
    }
}

impl Drop for StuckOnce {
    fn drop(&mut self) {
        let _ = self.dropped.send(());
    }
}

fn stuck_task_is_dropped_after_shutdown_gave_up(debug: bool) {
    let rt = weft_executor::Runtime::builder()
        .worker_threads(1)
        .debug(debug)
        .build()
        .unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let (dropped_tx, dropped_rx) = mpsc::channel();
    rt.spawn(StuckOnce {
        started: Some(started_tx),
        release: release_rx,
        dropped: dropped_tx,
    })
    .detach();
    started_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("watchdog: the task never started");
    assert!(
        !rt.shutdown_timeout(Duration::from_millis(20)),
        "the worker is stuck in the task's poll"
    );
    release_tx.send(()).unwrap();
    dropped_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the task shutdown gave up on was leaked: its future was never dropped");
}

/// Outside debug mode the stuck task registers only when its poll returns, after shutdown's
/// cancellation rounds: `Registry::close` (the first step of `cancel_all`) makes it wake itself
/// then; without it the task leaked.
#[test]
fn a_stuck_task_is_dropped_once_its_poll_returns() {
    stuck_task_is_dropped_after_shutdown_gave_up(false);
}

/// In debug mode the task is registered from its spawn, so shutdown's wake-up reaches it while
/// it is stuck and async-task reschedules it (to be dropped) when the poll returns.
#[test]
fn a_stuck_task_is_dropped_once_its_poll_returns_in_debug_mode() {
    stuck_task_is_dropped_after_shutdown_gave_up(true);
}
