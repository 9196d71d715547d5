//! weft-sync's stress workloads on weft's own multi-threaded runtime (weft-sync's tests run the
//! same shapes under tokio and async-executor).

use std::sync::Arc;

use weft::sync::{channel, Mutex, Semaphore};

fn runtime() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(4).build().unwrap()
}

#[test]
fn mutex_keeps_counter_exact_8_tasks_x_100k() {
    let rt = runtime();
    let total = rt.block_on(async {
        let m = Arc::new(Mutex::new(0u64));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let m = m.clone();
                weft::spawn(async move {
                    for _ in 0..100_000 {
                        *m.lock().await += 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let n = *m.lock().await;
        n
    });
    assert_eq!(total, 800_000);
}

#[test]
fn bounded_channel_4x4_delivers_every_item_once() {
    const PER_PRODUCER: u64 = 10_000;
    let rt = runtime();
    let mut got = rt.block_on(async {
        let (tx, rx) = channel::bounded::<u64>(8);
        let producers: Vec<_> = (0..4u64)
            .map(|p| {
                let tx = tx.clone();
                weft::spawn(async move {
                    for i in 0..PER_PRODUCER {
                        tx.send(p * PER_PRODUCER + i).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                weft::spawn(async move {
                    let mut seen = Vec::new();
                    while let Ok(v) = rx.recv().await {
                        seen.push(v);
                    }
                    seen
                })
            })
            .collect();
        for p in producers {
            p.await.unwrap();
        }
        let mut all = Vec::new();
        for c in consumers {
            all.extend(c.await.unwrap());
        }
        all
    });
    got.sort_unstable();
    assert_eq!(got, (0..4 * PER_PRODUCER).collect::<Vec<_>>());
}

#[test]
fn semaphore_mixed_sizes_all_finish() {
    let rt = runtime();
    let done = rt.block_on(async {
        let sem = Arc::new(Semaphore::new(4));
        let tasks: Vec<_> = (1..=4usize)
            .map(|n| {
                let sem = sem.clone();
                weft::spawn(async move {
                    for _ in 0..500 {
                        let _p = sem.acquire_many(n).await.unwrap();
                        weft::yield_now().await;
                    }
                    n
                })
            })
            .collect();
        let mut done = Vec::new();
        for t in tasks {
            done.push(t.await.unwrap());
        }
        assert_eq!(sem.available_permits(), 4);
        done
    });
    assert_eq!(done, vec![1, 2, 3, 4]);
}
