//! `Task::wait_for` (asyncio's `wait_for` on a task) and `Task::abort_handle` (issue 14,
//! defects 5 and 7), on the multi-threaded runtime.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

mod common;

use common::{flag, multi, within};

/// Sets its flag when dropped, after a slow destructor (running on a worker thread).
struct SlowCleanup(Arc<AtomicBool>);

impl Drop for SlowCleanup {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(20));
        self.0.store(true, SeqCst);
    }
}

fn slow_cleanup_task(cleaned: &Arc<AtomicBool>) -> weft_executor::Task<()> {
    let c = SlowCleanup(cleaned.clone());
    weft_executor::spawn(async move {
        let _c = c;
        std::future::pending::<()>().await
    })
}

// Defect 5: `wait_for` returns only after the cancelled task's cleanup ran (CPython's
// `test_wait_for_cancellation_race_condition` shape), every time.
#[test]
fn wait_for_waits_for_the_cancelled_tasks_cleanup() {
    within(60, || {
        let rt = multi(2);
        rt.block_on(async {
            for _ in 0..20 {
                let cleaned = flag();
                let t = slow_cleanup_task(&cleaned);
                weft_executor::yield_now().await;
                assert!(t.wait_for(Duration::from_millis(1)).await.is_err());
                assert!(
                    cleaned.load(SeqCst),
                    "wait_for returned before the task's cleanup ran"
                );
            }
        });
    });
}

#[test]
fn wait_for_returns_the_result_of_a_task_that_finishes_in_time() {
    within(60, || {
        let rt = multi(2);
        rt.block_on(async {
            let t = weft_executor::spawn(async { 5 });
            assert_eq!(
                t.wait_for(Duration::from_secs(30)).await.unwrap().unwrap(),
                5
            );
            let p = weft_executor::spawn(async { panic!("inside") });
            let r = p.wait_for(Duration::from_secs(30)).await.unwrap();
            assert!(r.unwrap_err().is_panic());
        });
    });
}

// Defect 7: an abort handle cancels a task from another thread while the task is awaited.
#[test]
fn abort_handle_cancels_an_awaited_task_from_another_thread() {
    within(60, || {
        let rt = multi(2);
        rt.block_on(async {
            let cleaned = flag();
            let t = slow_cleanup_task(&cleaned);
            let a = t.abort_handle();
            let a2 = a.clone();
            assert_eq!(a2.id(), t.id());
            let th = std::thread::spawn(move || a2.abort());
            let r = t.await;
            th.join().unwrap();
            assert!(r.unwrap_err().is_cancelled());
            assert!(
                cleaned.load(SeqCst),
                "the Task resolved before the future was dropped"
            );
            a.abort(); // aborting a finished task does nothing
        });
    });
}

#[test]
fn abort_after_completion_keeps_the_value() {
    within(60, || {
        let rt = multi(2);
        rt.block_on(async {
            let t = weft_executor::spawn(async { 9 });
            while !t.is_finished() {
                weft_executor::yield_now().await;
            }
            t.abort_handle().abort();
            assert_eq!(t.await.unwrap(), 9);
        });
    });
}

#[test]
fn abort_works_for_local_tasks_and_running_tasks() {
    within(60, || {
        let rt = weft_executor::LocalRuntime::new().unwrap();
        rt.block_on(async {
            let t = weft_executor::spawn_local(async {
                loop {
                    weft_executor::yield_now().await;
                }
            });
            let a = t.abort_handle();
            weft_executor::spawn_local(async move { a.abort() }).detach();
            assert!(t.await.unwrap_err().is_cancelled());
        });
    });
}
