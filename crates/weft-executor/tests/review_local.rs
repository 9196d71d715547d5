//! Review finding: a `LocalRuntime` driven re-entrantly (its `run_until` awaited inside its own
//! `block_on`, or its `block_on` called from one of its tasks) left the inner driver's waker
//! registered after the inner drive returned, so the outer `block_on` was never woken again.

use std::rc::Rc;
use std::time::Duration;

mod common;

use common::within;
use weft_executor::LocalRuntime;

#[test]
fn run_until_nested_in_block_on_of_the_same_runtime_does_not_lose_wakes() {
    within(30, || {
        let rt = LocalRuntime::new().unwrap();
        let v = rt.block_on(async {
            assert_eq!(rt.run_until(async { 1 }).await, 1);
            // The outer driver goes idle and is woken by the timer: before the fix the wake went
            // to the waker the inner drive had left behind, and this never returned.
            weft_timer::sleep(Duration::from_millis(1)).await;
            2
        });
        assert_eq!(v, 2);
    });
}

#[test]
fn block_on_nested_in_a_task_of_the_same_runtime_does_not_lose_wakes() {
    within(30, || {
        let rt = Rc::new(LocalRuntime::new().unwrap());
        let inner = rt.clone();
        let t = rt.spawn_local(async move { inner.block_on(async { 3 }) });
        let v = rt.block_on(async {
            let a = t.await.unwrap();
            weft_timer::sleep(Duration::from_millis(1)).await;
            a + 1
        });
        assert_eq!(v, 4);
    });
}

/// Issue 14 (spawn cost): a task registers itself in the live-task registry only when it first
/// waits. A task spawned and never polled is still cancelled when its runtime is dropped (it is
/// in a run queue, which shutdown drains), and one that completes in its first poll never
/// shows up in the registry.
#[test]
fn never_polled_tasks_are_cancelled_and_only_waiting_tasks_are_registered() {
    let rt = weft_executor::LocalRuntime::new().unwrap();
    let done_at_once = rt.spawn_local(async { 1 });
    let waiting = rt.spawn_local(std::future::pending::<()>());
    assert_eq!(rt.alive_count(), 0, "registered before its first poll");
    rt.block_on(async {
        for _ in 0..10 {
            weft_executor::yield_now().await;
        }
    });
    assert_eq!(rt.alive_count(), 1, "only the waiting task is registered");
    let dropped = common::flag();
    let d = common::DropFlag(dropped.clone());
    let never_polled = rt.spawn_local(async move {
        let _d = d;
    });
    drop(rt);
    assert!(dropped.load(std::sync::atomic::Ordering::SeqCst));
    assert!(weft_reactor::block_on(never_polled)
        .unwrap_err()
        .is_cancelled());
    assert!(weft_reactor::block_on(waiting).unwrap_err().is_cancelled());
    assert_eq!(weft_reactor::block_on(done_at_once).unwrap(), 1);
}
