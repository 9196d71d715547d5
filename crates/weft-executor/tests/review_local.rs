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
