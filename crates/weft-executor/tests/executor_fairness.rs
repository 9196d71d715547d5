//! Fairness between tasks that are always ready and tasks injected from outside.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

mod common;

use common::{multi, within};
use weft_executor::yield_now;

const INJECTED: usize = 1_000;

/// tokio's `spawn_many_remote_busy1` shape: while 8 tasks loop on `yield_now` (so no worker's
/// local queue ever empties), 1,000 tasks spawned from outside must not wait ~61 picks each.
///
/// Measured in picks, not time: the busy tasks count their turns, and the window is from "all
/// 1,000 are queued" (so a spawning thread descheduled by a loaded machine adds nothing) to
/// "the last one has run" (recorded by that task itself).
/// A worker that takes one injected task per 61 picks needs about 61,000 busy turns to run
/// them all; taking a batch of `len / workers + 1` needs a few dozen (measured: 20-100;
/// without the batch: 9,000-30,000).
#[test]
fn remote_spawns_are_not_starved_by_yielding_tasks() {
    within(120, || {
        let rt = multi(2);
        let stop = Arc::new(AtomicBool::new(false));
        let turns = Arc::new(AtomicU64::new(0));
        let busy: Vec<_> = (0..8)
            .map(|_| {
                let (stop, turns) = (stop.clone(), turns.clone());
                rt.spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        turns.fetch_add(1, Ordering::Relaxed);
                        // A little work per turn (tokio's bench stalls 10 µs), so that few
                        // injected tasks run while they are still being spawned.
                        for _ in 0..1_000 {
                            std::hint::spin_loop();
                        }
                        yield_now().await;
                    }
                })
            })
            .collect();
        // Let the busy tasks get going first, so local queues are non-empty.
        while turns.load(Ordering::Relaxed) < 1_000 {
            std::thread::yield_now();
        }
        let ran = Arc::new(AtomicUsize::new(0));
        let (last_tx, last_rx) = mpsc::channel::<u64>();
        let tasks: Vec<_> = (0..INJECTED)
            .map(|_| {
                let (ran, turns, last_tx) = (ran.clone(), turns.clone(), last_tx.clone());
                rt.spawn(async move {
                    if ran.fetch_add(1, Ordering::AcqRel) + 1 == INJECTED {
                        let _ = last_tx.send(turns.load(Ordering::Relaxed));
                    }
                })
            })
            .collect();
        // Tasks that ran while this thread was still spawning only shorten the window.
        let start = turns.load(Ordering::Relaxed);
        let during = last_rx.recv().unwrap().saturating_sub(start);
        stop.store(true, Ordering::Relaxed);
        rt.block_on(async {
            for t in tasks.into_iter().chain(busy) {
                t.await.unwrap();
            }
        });
        assert!(
            during < 5_000,
            "the busy tasks took {during} turns while {INJECTED} remote tasks ran: the global \
             queue is being starved by local work"
        );
    });
}
