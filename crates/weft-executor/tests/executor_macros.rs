//! The attribute macros used directly on weft-executor (`crate = "weft_executor"`).

use std::time::Duration;

#[weft_macros::test(crate = "weft_executor", start_paused = true)]
async fn paused_sleep_is_instant() {
    let start = weft_timer::now();
    let real = std::time::Instant::now();
    weft_timer::sleep(Duration::from_secs(24 * 3600)).await;
    assert!(weft_timer::now() - start >= Duration::from_secs(24 * 3600));
    assert!(real.elapsed() < Duration::from_secs(30));
}

#[weft_macros::test(crate = "weft_executor", worker_threads = 2)]
async fn handle_try_current_inside_multi_threaded_test() {
    assert!(weft_executor::Handle::try_current().is_some());
    let inner = weft_executor::spawn(async { weft_executor::Handle::try_current().is_some() });
    assert!(inner.await.unwrap());
}

#[weft_macros::test(crate = "weft_executor")]
async fn local_test_has_no_multi_handle() {
    assert!(weft_executor::Handle::try_current().is_none());
    assert!(weft_executor::task::try_current().is_none());
}
