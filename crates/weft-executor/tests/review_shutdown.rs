//! Review findings on shutdown: every task of a runtime that is gone is cancelled, so a `Task`
//! awaited afterwards resolves instead of hanging.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::mpsc;

mod common;

use common::{flag, multi, within, DropFlag};
use weft_executor::{spawn_local, yield_now};

/// Before the fix, `Runtime::block_on` (and so `run` and `#[weft::test]`) cancelled its local
/// tasks only when the future returned: a panic leaked them (a reference cycle through the
/// registry), with everything they held, and their `Task`s never resolved.
#[test]
fn local_tasks_are_cancelled_when_the_block_on_future_panics() {
    within(30, || {
        let rt = multi(1);
        let dropped = flag();
        let d = dropped.clone();
        let (tx, rx) = mpsc::channel();
        let r = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async move {
                let flag = DropFlag(d);
                let t = spawn_local(async move {
                    let _flag = flag;
                    std::future::pending::<()>().await
                });
                yield_now().await;
                tx.send(t).unwrap();
                panic!("the block_on future fails");
            })
        }));
        assert!(r.is_err());
        assert!(
            dropped.load(Ordering::SeqCst),
            "the local task's future was leaked"
        );
        let t = rx.recv().unwrap();
        assert!(weft_reactor::block_on(t).unwrap_err().is_cancelled());
    });
}

/// A task awaited on another thread while its runtime is dropped resolves as cancelled.
#[test]
fn task_awaited_across_runtime_drop_resolves() {
    within(30, || {
        let rt = multi(2);
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let t = rt.spawn(async move {
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await
        });
        started_rx.recv().unwrap();
        let waiter = std::thread::spawn(move || weft_reactor::block_on(t));
        drop(rt);
        assert!(waiter.join().unwrap().unwrap_err().is_cancelled());
    });
}

/// Issue 14, defect 8: a task that cannot be cancelled at shutdown (its poll is stuck on a worker
/// `shutdown_timeout` left behind) used to be leaked silently; it is said on stderr, and named
/// in debug mode.
#[test]
fn tasks_that_cannot_be_cancelled_at_shutdown_are_reported() {
    const TEST: &str = "tasks_that_cannot_be_cancelled_at_shutdown_are_reported";
    if std::env::var_os("WEFT_TEST_CHILD").is_some() {
        let rt = weft_executor::Runtime::builder()
            .worker_threads(1)
            .debug(true)
            .build()
            .unwrap();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let (_never_tx, never_rx) = mpsc::channel::<()>();
        rt.block_on(async {
            weft_executor::task::Builder::new()
                .name("stuck-in-poll")
                .spawn(async move {
                    started_tx.send(()).unwrap();
                    let _ = never_rx.recv();
                })
                .detach();
        });
        started_rx.recv().unwrap();
        assert!(!rt.shutdown_timeout(std::time::Duration::from_millis(20)));
        std::mem::forget(_never_tx);
        return;
    }
    let out = common::run_as_child(TEST, "WEFT_TEST_CHILD");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("1 task(s) could not be cancelled at shutdown")
            && err.contains("stuck-in-poll"),
        "{err}"
    );
}
