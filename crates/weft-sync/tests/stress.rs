//! Stress tests on a multi-threaded executor (async-executor with 4 worker threads). The
//! workloads live in `common` and take a `spawn` function, so other executors can reuse them.

#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use common::{channel_mpmc, mutex_counter, with_async_executor, within};
use weft_sync::channel::broadcast;
use weft_sync::{Notify, Semaphore};

#[test]
fn mutex_8_tasks_x_100k_keeps_counter_exact() {
    with_async_executor(4, |spawn| async move {
        assert_eq!(mutex_counter(spawn, 8, 100_000).await, 800_000);
    });
}

#[test]
fn bounded_channel_4x4_delivers_every_item_exactly_once() {
    with_async_executor(4, |spawn| async move {
        let per = 25_000;
        let mut got = channel_mpmc(spawn, 4, 4, per, 16).await;
        got.sort_unstable();
        assert_eq!(got, (0..4 * per).collect::<Vec<_>>());
    });
}

#[test]
fn acquire_many_mixed_sizes_does_not_starve_large_requests() {
    with_async_executor(4, |spawn| async move {
        const PERMITS: usize = 8;
        const LARGE_ROUNDS: usize = 200;
        const SMALL_CAP: usize = 200_000; // bound; a starving semaphore would hit it
        let sem = Arc::new(Semaphore::new(PERMITS));
        let done = Arc::new(AtomicBool::new(false));
        let small_iters = Arc::new(AtomicUsize::new(0));
        // Each small task reports whether it stopped because the large one finished (`true`)
        // or because it ran out of iterations (`false`: the large request was starved until
        // the small ones gave up).
        let stopped_by_done = Arc::new(AtomicUsize::new(0));
        let mut joins = Vec::new();
        for size in [1, 1, 2, 3, 1, 2] {
            let (sem, done, small_iters) = (sem.clone(), done.clone(), small_iters.clone());
            let stopped_by_done = stopped_by_done.clone();
            joins.push(spawn(Box::pin(async move {
                for _ in 0..SMALL_CAP {
                    if done.load(Ordering::SeqCst) {
                        stopped_by_done.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    let p = sem.acquire_many(size).await.unwrap();
                    futures_lite::future::yield_now().await;
                    drop(p);
                    small_iters.fetch_add(1, Ordering::SeqCst);
                }
            })));
        }
        let (sem2, done2) = (sem.clone(), done.clone());
        let large = spawn(Box::pin(async move {
            for _ in 0..LARGE_ROUNDS {
                let p = sem2.acquire_many(PERMITS).await.unwrap();
                futures_lite::future::yield_now().await;
                drop(p);
            }
            done2.store(true, Ordering::SeqCst);
        }));
        for j in joins {
            j.await;
        }
        large.await;
        assert_eq!(
            stopped_by_done.load(Ordering::SeqCst),
            6,
            "the large request was starved: small tasks ran {} iterations before it finished",
            small_iters.load(Ordering::SeqCst)
        );
        assert_eq!(sem.available_permits(), PERMITS);
    });
}

#[test]
fn queue_workers_with_join() {
    with_async_executor(4, |spawn| async move {
        let q = weft_sync::Queue::<usize>::bounded(8);
        let sum = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::new();
        for _ in 0..4 {
            let (q, sum) = (q.clone(), sum.clone());
            workers.push(spawn(Box::pin(async move {
                while let Ok(v) = q.get().await {
                    sum.fetch_add(v, Ordering::SeqCst);
                    q.task_done().unwrap();
                }
            })));
        }
        for i in 0..10_000 {
            q.put(i).await.unwrap();
        }
        q.join().await;
        assert_eq!(sum.load(Ordering::SeqCst), (0..10_000).sum::<usize>());
        q.shutdown(false);
        for w in workers {
            w.await;
        }
    });
}

#[test]
fn broadcast_fan_out_with_wrap_and_lag_accounts_for_every_message() {
    // 8 receiver tasks on 4 workers, a small ring that wraps many times: each receiver gets the
    // messages in order, and what it did not get it was told it missed (`Lagged(n)`).
    const RECEIVERS: usize = 8;
    const MESSAGES: usize = 20_000;
    within("broadcast fan-out", || {
        with_async_executor(4, |spawn| async move {
            let (tx, rx) = broadcast::channel::<usize>(16);
            let tally = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..RECEIVERS)
                .map(|_| {
                    let mut rx = rx.clone();
                    let tally = tally.clone();
                    spawn(Box::pin(async move {
                        let (mut accounted, mut last) = (0usize, None);
                        loop {
                            match rx.recv().await {
                                Ok(v) => {
                                    assert!(last < Some(v), "out of order: {v} after {last:?}");
                                    last = Some(v);
                                    accounted += 1;
                                }
                                Err(broadcast::RecvError::Lagged(n)) => accounted += n as usize,
                                Err(broadcast::RecvError::Closed) => break,
                            }
                        }
                        assert_eq!(
                            last,
                            Some(MESSAGES - 1),
                            "the newest message is never missed"
                        );
                        assert_eq!(accounted, MESSAGES, "every message read or reported missed");
                        tally.fetch_add(1, Ordering::SeqCst);
                    }))
                })
                .collect();
            drop(rx);
            for i in 0..MESSAGES {
                tx.send(i).unwrap();
                if i % 64 == 0 {
                    futures_lite::future::yield_now().await;
                }
            }
            drop(tx);
            for h in handles {
                h.await;
            }
            assert_eq!(tally.load(Ordering::SeqCst), RECEIVERS);
        });
    });
}

#[test]
fn notify_ping_pong_loses_no_wake_up() {
    // Two tasks take turns through two `Notify`s: each notification is consumed before the next
    // one is sent, so none coalesce, and a lost wake-up (the lock-free `notify_one` storing a
    // permit while a waiter queues) would stop the game: the watchdog fails the test instead.
    within("notify ping-pong", || {
        with_async_executor(4, |spawn| async move {
            const ROUNDS: usize = 20_000;
            let (ping, pong) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
            let (ping2, pong2) = (ping.clone(), pong.clone());
            let echo = spawn(Box::pin(async move {
                for _ in 0..ROUNDS {
                    ping2.notified().await;
                    pong2.notify_one();
                }
            }));
            for _ in 0..ROUNDS {
                ping.notify_one();
                pong.notified().await;
            }
            echo.await;
            // Every notification was consumed: nothing is stored.
            assert!(futures_lite::future::poll_once(ping.notified())
                .await
                .is_none());
            assert!(futures_lite::future::poll_once(pong.notified())
                .await
                .is_none());
        })
    });
}
