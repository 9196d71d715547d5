//! Fairness between tasks that are always ready and tasks injected from outside.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

mod common;

use common::multi;
use weft_executor::yield_now;

/// tokio's `spawn_many_remote_busy1` shape: while 8 tasks loop on `yield_now` (so no worker's local
/// queue ever empties), 1,000 tasks spawned from outside must not wait ~61 picks each. Counting the
/// busy tasks' yields makes this deterministic: a worker that takes one injected task per 61 picks
/// needs about 61,000 picks (nearly all of them yields) to run 1,000 tasks; taking a batch needs a
/// small fraction of that (measured: a few hundred to a few thousand).
#[test]
fn remote_spawns_are_not_starved_by_yielding_tasks() {
    let rt = multi(2);
    let stop = Arc::new(AtomicBool::new(false));
    let yields = Arc::new(AtomicU64::new(0));
    let busy: Vec<_> = (0..8)
        .map(|_| {
            let (stop, yields) = (stop.clone(), yields.clone());
            rt.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    yields.fetch_add(1, Ordering::Relaxed);
                    // A little work per turn (tokio's bench stalls 10 µs), so that spawning the
                    // 1,000 tasks below is fast compared with the busy tasks' turns.
                    for _ in 0..2_000 {
                        std::hint::spin_loop();
                    }
                    yield_now().await;
                }
            })
        })
        .collect();
    // Let the busy tasks get going first, so local queues are non-empty.
    while yields.load(Ordering::Relaxed) < 1_000 {
        std::thread::yield_now();
    }
    let before = yields.load(Ordering::Relaxed);
    let tasks: Vec<_> = (0..1_000u64).map(|i| rt.spawn(async move { i })).collect();
    let sum = rt.block_on(async {
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        sum
    });
    let during = yields.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    rt.block_on(async {
        for t in busy {
            t.await.unwrap();
        }
    });
    assert_eq!(sum, 999 * 1_000 / 2);
    assert!(
        during < 10_000,
        "the busy tasks yielded {during} times while 1,000 remote tasks ran: the global queue is \
         being starved by local work"
    );
}
