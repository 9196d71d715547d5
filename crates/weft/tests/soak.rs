//! Runtime soak: batches of tasks that sleep, time out, yield, exchange messages over a bounded
//! channel, run in task groups that fail and cancel siblings, or are cancelled by dropping their
//! `Task` or with `cancel().await`. After every batch: every message sent was received, every
//! joined task gave the right result, the runtime reports zero live tasks
//! (`Handle::alive_count`), and every task future was dropped (drop counters), so nothing leaks.
//!
//! `soak_runtime_short` (3 batches) runs in CI; the `#[ignore]`d
//! `soak_runtime_spawn_cancel_join` runs for `WEFT_SOAK_SECONDS` (default 300) under
//! `cargo xtask soak`.

use std::future::pending;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use weft::sync::channel;

/// Counts task futures created and dropped.
#[derive(Default)]
struct Counts {
    created: AtomicU64,
    dropped: AtomicU64,
    received: AtomicU64,
}

struct Guard(Arc<Counts>);

impl Guard {
    fn new(c: &Arc<Counts>) -> Guard {
        c.created.fetch_add(1, Ordering::Relaxed);
        Guard(c.clone())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// One batch of `n` tasks (plus consumers, and group children).
async fn batch(n: u64, c: &Arc<Counts>) {
    let (tx, rx) = channel::bounded::<u64>(16);
    let consumers: Vec<_> = (0..4)
        .map(|_| {
            let (rx, g) = (rx.clone(), Guard::new(c));
            weft::spawn(async move {
                let _g = g;
                let mut got = 0u64;
                while rx.recv().await.is_ok() {
                    got += 1;
                }
                got
            })
        })
        .collect();
    drop(rx);
    let mut joined = Vec::new();
    let mut sends = 0;
    for i in 0..n {
        let g = Guard::new(c);
        match i % 6 {
            0 => {
                sends += 1;
                let tx = tx.clone();
                joined.push(weft::spawn(async move {
                    let _g = g;
                    weft::sleep(Duration::from_micros(i % 3000)).await;
                    tx.send(i).await.expect("consumers are alive");
                    i
                }));
            }
            1 => {
                // Cancelled by dropping the handle (at its next await: the sleep).
                drop(weft::spawn(async move {
                    let _g = g;
                    weft::sleep(Duration::from_secs(3600)).await;
                    unreachable!("a dropped task ran on");
                }));
            }
            2 => {
                let t = weft::spawn(async move {
                    let _g = g;
                    pending::<u64>().await
                });
                assert!(t.cancel().await.is_err_and(|e| e.is_cancelled()));
            }
            3 => joined.push(weft::spawn(async move {
                let _g = g;
                let r = weft::timeout(Duration::from_millis(1), pending::<()>()).await;
                assert!(r.is_err(), "a pending future completed");
                i
            })),
            4 => joined.push(weft::spawn(async move {
                let _g = g;
                for _ in 0..(i % 7) {
                    weft::yield_now().await;
                }
                i
            })),
            _ => {
                // A group: one child fails, the sleepers are cancelled, join waits for all.
                let mut group: weft::TaskGroup<u64, &'static str> = weft::TaskGroup::new();
                for k in 0..3 {
                    let g = Guard::new(c);
                    group.spawn(async move {
                        let _g = g;
                        if k == 0 {
                            Err("boom")
                        } else {
                            weft::sleep(Duration::from_secs(3600)).await;
                            Ok(k)
                        }
                    });
                }
                joined.push(weft::spawn(async move {
                    let _g = g;
                    assert!(
                        group.join().await.is_err(),
                        "the failing child was not reported"
                    );
                    i
                }));
            }
        }
    }
    drop(tx);
    for (k, t) in joined.into_iter().enumerate() {
        let v = t
            .await
            .unwrap_or_else(|e| panic!("joined task {k} failed: {e:?}"));
        assert!(v < n);
    }
    let mut received = 0;
    for t in consumers {
        received += t.await.expect("consumer failed");
    }
    assert_eq!(received, sends, "messages lost or duplicated");
    c.received.fetch_add(received, Ordering::Relaxed);
}

/// Runs batches of `n` tasks until `budget` has passed and at least `min_batches` ran.
fn soak(budget: Duration, min_batches: u64, n: u64) {
    let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    let handle = rt.handle();
    let c = Arc::new(Counts::default());
    let start = Instant::now();
    let mut batches = 0;
    while batches < min_batches || start.elapsed() < budget {
        let watch = Duration::from_secs(120);
        rt.block_on(weft::timeout(watch, batch(n, &c)))
            .expect("watchdog: a batch did not finish in 120 s (lost wake-up?)");
        // Dropped handles cancel at the task's next poll; wait (bounded) for the runtime to
        // finish them.
        rt.block_on(async {
            let end = Instant::now() + Duration::from_secs(30);
            while handle.alive_count() > 0 {
                assert!(
                    Instant::now() < end,
                    "watchdog: {} tasks still alive 30 s after batch {batches}: {:?}",
                    handle.alive_count(),
                    handle.alive_tasks().iter().take(5).collect::<Vec<_>>()
                );
                weft::sleep(Duration::from_millis(1)).await;
            }
        });
        assert_eq!(
            c.created.load(Ordering::Relaxed),
            c.dropped.load(Ordering::Relaxed),
            "batch {batches}: task futures not dropped"
        );
        batches += 1;
    }
    assert_eq!(handle.alive_count(), 0);
    println!(
        "runtime soak: {batches} batches, {} tasks spawned, run or cancelled, and dropped; {} \
         messages; {:.1} s",
        c.created.load(Ordering::Relaxed),
        c.received.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64()
    );
}

/// The bounded CI variant: 5 batches of 2,000 tasks.
#[test]
fn soak_runtime_short() {
    soak(Duration::ZERO, 5, 2000);
}

/// The long soak: `WEFT_SOAK_SECONDS` (default 300), run by `cargo xtask soak`.
#[test]
#[ignore = "long soak; run by `cargo xtask soak`"]
fn soak_runtime_spawn_cancel_join() {
    let secs = std::env::var("WEFT_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    soak(Duration::from_secs(secs), 3, 20_000);
}
