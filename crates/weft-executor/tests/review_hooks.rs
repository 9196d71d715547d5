//! Review findings: user callbacks (unhandled-error, slow-poll, thread start/stop hooks) that
//! panic must not abort the process, kill or lose a worker, escape `block_on`, or hang shutdown.

use std::sync::mpsc;
use std::time::Duration;

mod common;

use common::{run_as_child, within};
use weft_executor::{spawn, LocalRuntime, Runtime};

/// Before the fix the hook ran inside `async-task`'s output drop, which aborts the whole process
/// when it unwinds.
#[test]
fn panicking_unhandled_error_hook_neither_aborts_nor_kills_a_worker() {
    within(30, || {
        let (tx, rx) = mpsc::channel::<String>();
        let tx = std::sync::Mutex::new(tx);
        let rt = Runtime::builder()
            .worker_threads(1)
            .on_unhandled_error(move |e| {
                tx.lock().unwrap().send(e.message().to_string()).unwrap();
                panic!("the hook itself panics");
            })
            .build()
            .unwrap();
        rt.spawn(async { panic!("detached boom") }).detach();
        let msg = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(msg, "detached boom");
        // The one worker is still alive and running tasks.
        assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
        // A second failure still reaches the hook.
        rt.spawn(async { panic!("second boom") }).detach();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)).unwrap(),
            "second boom"
        );
        assert_eq!(rt.block_on(rt.spawn(async { 8 })).unwrap(), 8);
    });
}

/// Before the fix a panicking slow-poll hook unwound out of the caller's `block_on`.
#[test]
fn panicking_slow_poll_hook_does_not_escape_local_block_on() {
    within(30, || {
        let rt = LocalRuntime::builder()
            .debug(true)
            .slow_poll_threshold(Duration::from_millis(1))
            .on_slow_poll(|_| panic!("slow-poll hook panics"))
            .build_local()
            .unwrap();
        let out = rt.block_on(rt.spawn_local(async {
            std::thread::sleep(Duration::from_millis(5)); // a slow poll, on purpose
            3
        }));
        assert_eq!(out.unwrap(), 3);
        assert_eq!(rt.block_on(rt.spawn_local(async { 4 })).unwrap(), 4);
    });
}

#[test]
fn panicking_slow_poll_hook_keeps_the_worker() {
    within(30, || {
        let (tx, rx) = mpsc::channel::<()>();
        let tx = std::sync::Mutex::new(tx);
        let rt = Runtime::builder()
            .worker_threads(1)
            .debug(true)
            .slow_poll_threshold(Duration::from_millis(1))
            .on_slow_poll(move |_| {
                let _ = tx.lock().unwrap().send(());
                panic!("slow-poll hook panics");
            })
            .build()
            .unwrap();
        let v = rt.block_on(async {
            let a = spawn(async {
                std::thread::sleep(Duration::from_millis(5)); // a slow poll, on purpose
                1
            });
            a.await.unwrap()
        });
        assert_eq!(v, 1);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(rt.block_on(rt.spawn(async { 2 })).unwrap(), 2);
    });
}

/// Before the fix the worker thread died before counting itself as exited: its tasks never ran
/// and dropping the runtime waited forever.
#[test]
fn panicking_thread_start_hook_does_not_lose_the_worker_or_hang_shutdown() {
    within(30, || {
        let rt = Runtime::builder()
            .worker_threads(1)
            .on_thread_start(|| panic!("start hook panics"))
            .build()
            .unwrap();
        assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
        drop(rt);
    });
}

#[test]
fn panicking_thread_stop_hook_does_not_hang_shutdown() {
    within(30, || {
        let rt = Runtime::builder()
            .worker_threads(2)
            .on_thread_stop(|| panic!("stop hook panics"))
            .build()
            .unwrap();
        assert_eq!(rt.block_on(rt.spawn(async { 6 })).unwrap(), 6);
        drop(rt);
    });
}

/// Strict mode still aborts by its own decision (with its message) when the user's hook panics,
/// instead of `async-task` aborting on the unwinding hook.
#[test]
fn strict_mode_aborts_even_if_the_hook_panics() {
    const CHILD: &str = "WEFT_EXECUTOR_REVIEW_STRICT_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let rt = Runtime::builder()
            .worker_threads(1)
            .abort_on_unhandled_error(true)
            .on_unhandled_error(|_| panic!("strict hook panics"))
            .build()
            .unwrap();
        rt.spawn(async { panic!("strict child boom") }).detach();
        // Only the abort ends this: the task below never completes.
        rt.block_on(std::future::pending::<()>());
        unreachable!();
    }
    let out = run_as_child("strict_mode_aborts_even_if_the_hook_panics", CHILD);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("strict hook panics"), "{stderr}");
    assert!(
        stderr.contains("aborting: unhandled error in strict mode"),
        "{stderr}"
    );
}

/// Panics when dropped.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("drop boom");
    }
}

/// A task pending forever while holding a value whose destructor panics.
async fn holds_panic_on_drop(started: mpsc::Sender<()>) {
    let _p = PanicOnDrop;
    started.send(()).unwrap();
    std::future::pending::<()>().await
}

/// Before the fix `async-task` aborted the process when a task's future panicked while being
/// dropped (cancellation, shutdown). Now the panic goes to the unhandled-error hook.
#[test]
fn panic_while_cancelling_a_task_reaches_the_hook_instead_of_aborting() {
    within(30, || {
        let (tx, rx) = mpsc::channel::<(String, bool)>();
        let tx = std::sync::Mutex::new(tx);
        let rt = Runtime::builder()
            .worker_threads(1)
            .on_unhandled_error(move |e| {
                let named = e.task().and_then(|t| t.name()) == Some("holder");
                let _ = tx.lock().unwrap().send((e.message().to_string(), named));
            })
            .build()
            .unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        // Spawned from inside the runtime, so the task is on `rt` (not the global runtime).
        let t = rt
            .block_on(async {
                Some(
                    weft_executor::task::Builder::new()
                        .name("holder")
                        .spawn(holds_panic_on_drop(started_tx)),
                )
            })
            .unwrap();
        started_rx.recv().unwrap();
        // Cancel: the future is dropped on the worker or here; either way no abort.
        assert!(rt.block_on(t.cancel()).unwrap_err().is_cancelled());
        let (msg, named) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(msg, "drop boom");
        assert!(named, "the report names the task");
        assert_eq!(rt.block_on(rt.spawn(async { 9 })).unwrap(), 9);
        // The same at shutdown, for a task nobody cancelled.
        let (started_tx, started_rx) = mpsc::channel();
        rt.spawn(holds_panic_on_drop(started_tx)).detach();
        started_rx.recv().unwrap();
        drop(rt);
        let (msg, _) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(msg, "drop boom");
    });
}

#[test]
fn panic_while_cancelling_a_local_task_reaches_the_hook_instead_of_aborting() {
    within(30, || {
        let (tx, rx) = mpsc::channel::<String>();
        let tx = std::sync::Mutex::new(tx);
        let rt = LocalRuntime::builder()
            .on_unhandled_error(move |e| {
                let _ = tx.lock().unwrap().send(e.message().to_string());
            })
            .build_local()
            .unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let t = rt.spawn_local(holds_panic_on_drop(started_tx));
        rt.block_on(async {
            while started_rx.try_recv().is_err() {
                weft_executor::yield_now().await;
            }
        });
        drop(t);
        assert_eq!(rt.block_on(rt.spawn_local(async { 1 })).unwrap(), 1);
        assert_eq!(rx.try_recv().unwrap(), "drop boom");
    });
}
