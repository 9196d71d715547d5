//! `#[weft::main]` and `#[weft::test]` (issue 3).

use std::time::{Duration, Instant};

#[weft::test(start_paused = true)]
async fn start_paused_makes_an_hour_pass_instantly() {
    let real = Instant::now();
    let virt = weft::time::now();
    weft::sleep(Duration::from_secs(3600)).await;
    assert!(weft::time::now() - virt >= Duration::from_secs(3600));
    assert!(real.elapsed() < Duration::from_secs(30), "slept for real");
}

#[weft::test(start_paused = true)]
async fn paused_time_with_spawned_tasks() {
    let t = weft::spawn(async {
        weft::sleep(Duration::from_secs(60)).await;
        1
    });
    let u = weft::spawn_local(async {
        weft::sleep(Duration::from_secs(120)).await;
        2
    });
    assert_eq!(t.await.unwrap() + u.await.unwrap(), 3);
}

#[weft::test]
async fn default_test_is_single_threaded() {
    let here = std::thread::current().id();
    let there = weft::spawn(async { std::thread::current().id() })
        .await
        .unwrap();
    assert_eq!(here, there);
}

#[weft::test(worker_threads = 2)]
async fn multi_threaded_test() {
    let ts: Vec<_> = (0..100).map(|i| weft::spawn(async move { i })).collect();
    let mut s = 0;
    for t in ts {
        s += t.await.unwrap();
    }
    assert_eq!(s, 4950);
}

#[weft::test]
async fn test_may_return_result() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "7".parse()?;
    assert_eq!(n, 7);
    Ok(())
}

#[weft::test(crate = "weft")]
async fn crate_option() {
    weft::yield_now().await;
}

#[weft::main]
async fn main_like() -> u32 {
    let t = weft::spawn(async { 40 });
    t.await.unwrap() + 2
}

#[weft::main(worker_threads = 2)]
async fn main_like_two_workers() -> usize {
    weft::spawn(async { 7 }).await.unwrap()
}

#[test]
fn main_macro_runs_the_body() {
    assert_eq!(main_like(), 42);
    assert_eq!(main_like_two_workers(), 7);
}
