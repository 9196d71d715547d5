//! Issue 14: a task that yields is rescheduled as its poll returns, so it is not registered in
//! the live-task registry for that (it stays reachable through the queues, like a task not
//! polled yet); a task that waits for something else is; shutdown cancels both.

use std::cell::Cell;
use std::rc::Rc;

use weft_executor::{yield_now, LocalRuntime, RuntimeBuilder};

fn local() -> LocalRuntime {
    RuntimeBuilder::new().debug(false).build_local().unwrap()
}

#[test]
fn a_yielding_task_is_not_registered_but_a_waiting_one_is() {
    let rt = local();
    let yielder = rt.spawn_local(async {
        for _ in 0..5 {
            yield_now().await;
        }
    });
    rt.block_on(async {
        let mut most = 0;
        for _ in 0..100 {
            if yielder.is_finished() {
                break;
            }
            most = most.max(rt.alive_count());
            yield_now().await;
        }
        assert!(yielder.is_finished(), "the yielding task finished");
        assert_eq!(most, 0, "a yielding task is queued, not registered");
    });
    let waiter = rt.spawn_local(std::future::pending::<()>());
    rt.block_on(async {
        for _ in 0..4 {
            yield_now().await;
        }
    });
    assert_eq!(rt.alive_count(), 1, "a waiting task is registered");
    drop(waiter);
}

/// Dropped when its future is.
struct Flag(Rc<Cell<bool>>);

impl Drop for Flag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn shutdown_cancels_a_task_that_keeps_yielding() {
    let rt = local();
    let dropped = Rc::new(Cell::new(false));
    let flag = Flag(dropped.clone());
    rt.spawn_local(async move {
        let _flag = flag;
        loop {
            yield_now().await;
        }
    })
    .detach();
    rt.block_on(async {
        for _ in 0..4 {
            yield_now().await;
        }
    });
    assert!(!dropped.get());
    drop(rt);
    assert!(dropped.get(), "shutdown dropped the yielding task's future");
}

#[test]
fn a_multi_threaded_shutdown_cancels_tasks_that_keep_yielding() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let rt = weft_executor::Runtime::builder()
        .worker_threads(2)
        .build()
        .unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    for _ in 0..8 {
        let c = Count(dropped.clone());
        rt.spawn(async move {
            let _c = c;
            loop {
                yield_now().await;
            }
        })
        .detach();
    }
    // Shutdown waits for the workers' current polls (a yield returns at once), then cancels;
    // on a thread of its own, under a watchdog.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(rt);
        done_tx.send(()).unwrap();
    });
    done_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("watchdog: the runtime's shutdown hung");
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        8,
        "every yielding task was dropped"
    );
}
