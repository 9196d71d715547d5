//! The facade's own glue: `run` waits for blocking jobs, `spawn_blocking` is a `Task`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn run_waits_for_running_blocking_jobs() {
    let done = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let d = done.clone();
    weft::run(async move {
        weft::spawn_blocking(move || {
            started_tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(50)); // simulated work, not a wait
            d.store(true, Ordering::SeqCst);
        })
        .detach();
        // Make sure the job is running (not just queued) before the future returns.
        weft::unblock(move || started_rx.recv().unwrap()).await;
    });
    assert!(
        done.load(Ordering::SeqCst),
        "run returned before the blocking job finished"
    );
}

#[test]
fn spawn_blocking_panic_is_a_join_error() {
    weft::run(async {
        let err = weft::spawn_blocking(|| -> u32 { panic!("boom") })
            .await
            .unwrap_err();
        assert!(err.is_panic());
        // The pool still works.
        assert_eq!(weft::spawn_blocking(|| 7).await.unwrap(), 7);
    });
}

#[test]
fn dropped_spawn_blocking_before_start_never_runs() {
    let pool = weft::BlockingPool::builder().max_threads(1).build();
    let ran = Arc::new(AtomicBool::new(false));
    weft::run(async {
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let busy = weft::spawn(pool.run(move || gate_rx.recv().unwrap()));
        let r = ran.clone();
        let queued = weft::spawn(pool.run(move || r.store(true, Ordering::SeqCst)));
        // Cancelled while queued behind the busy job; `cancel().await` returns once the task's
        // future (and with it the queued job) is gone.
        assert!(queued.cancel().await.unwrap_err().is_cancelled());
        gate_tx.send(()).unwrap();
        busy.await.unwrap();
        // One more job on the single thread proves the queue was drained past the dropped one.
        weft::spawn(pool.run(|| ())).await.unwrap();
    });
    assert!(!ran.load(Ordering::SeqCst));
}
