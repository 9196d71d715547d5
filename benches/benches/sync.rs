//! Sync primitives (issue 4): weft-sync vs tokio::sync vs async-lock / async-channel / flume /
//! crossbeam-channel.
//!
//! Every workload runs on the SAME executor, a tokio multi-thread runtime with 2 workers
//! (`weft_benches::tokio_rt`), so only the primitive differs. weft-sync is runtime-agnostic, which
//! is what makes this possible.

use std::sync::Arc;

use criterion::Criterion;
use tokio::runtime::Runtime;
use weft_benches::{config, tokio_rt};

/// Contended mutex: 8 tasks × 1,000 lock/unlock on 2 workers.
const MUTEX_TASKS: usize = 8;
const MUTEX_OPS: usize = 1_000;

/// mpsc contention: 5 producers × 1,000 messages, one consumer (tokio's `sync_mpsc` parameters).
const PRODUCERS: usize = 5;
const PER_PRODUCER: usize = 1_000;
const TOTAL: usize = PRODUCERS * PER_PRODUCER;
/// "bounded": room for every message (never full). tokio's bench uses 1,000,000; channels that
/// preallocate their ring (async-channel, flume, crossbeam) would then spend the iteration on a
/// 16 MiB allocation, so the capacity is the total message count instead.
const CAP_ROOMY: usize = TOTAL;
/// "bounded_full": 100 slots, so producers hit backpressure (tokio's `bounded_full`).
const CAP_FULL: usize = 100;

/// bounded(1) ping-pong: round trips per iteration.
const ROUND_TRIPS: usize = 1_000;

// ---------------------------------------------------------------------------------------------
// Mutex

/// [`MUTEX_TASKS`] spawned tasks each lock `$mutex` (a `Mutex<usize>` of any of the crates)
/// [`MUTEX_OPS`] times to increment it; the `block_on` future joins them and checks the count.
macro_rules! contended_mutex {
    ($rt:expr, $mutex:expr) => {
        $rt.block_on(async {
            let m = Arc::new($mutex);
            let hs: Vec<_> = (0..MUTEX_TASKS)
                .map(|_| {
                    let m = m.clone();
                    tokio::spawn(async move {
                        for _ in 0..MUTEX_OPS {
                            *m.lock().await += 1;
                        }
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
            assert_eq!(*m.lock().await, MUTEX_TASKS * MUTEX_OPS);
        })
    };
}

fn mutex(c: &mut Criterion) {
    let rt = tokio_rt();
    let mut g = c.benchmark_group("sync_mutex_contended");

    g.bench_function("weft", |b| {
        b.iter(|| contended_mutex!(rt, weft_sync::Mutex::new(0usize)))
    });
    g.bench_function("tokio", |b| {
        b.iter(|| contended_mutex!(rt, tokio::sync::Mutex::new(0usize)))
    });
    g.bench_function("async-lock", |b| {
        b.iter(|| contended_mutex!(rt, async_lock::Mutex::new(0usize)))
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Semaphore (tokio's sync_semaphore: uncontended/multi, uncontended/concurrent_multi,
// contention/concurrent_multi)

/// Spawns 6 tasks that each acquire and release one permit, and waits for all of them.
macro_rules! six_tasks {
    ($s:expr, |$sem:ident| $acquire:expr) => {{
        let hs: Vec<_> = (0..6)
            .map(|_| {
                let $sem = $s.clone();
                tokio::spawn(async move {
                    let permit = $acquire;
                    drop(permit);
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    }};
}

/// Acquires and releases one permit 6 times in turn, in the calling task.
macro_rules! six_in_turn {
    ($acquire:expr) => {
        for _ in 0..6 {
            drop($acquire);
        }
    };
}

fn semaphore(c: &mut Criterion) {
    let rt = tokio_rt();

    let mut g = c.benchmark_group("sync_semaphore_uncontended_multi");
    {
        let s = weft_sync::Semaphore::new(10);
        g.bench_function("weft", |b| {
            b.iter(|| rt.block_on(async { six_in_turn!(s.acquire().await.unwrap()) }))
        });
        let s = tokio::sync::Semaphore::new(10);
        g.bench_function("tokio", |b| {
            b.iter(|| rt.block_on(async { six_in_turn!(s.acquire().await.unwrap()) }))
        });
        let s = async_lock::Semaphore::new(10);
        g.bench_function("async-lock", |b| {
            b.iter(|| rt.block_on(async { six_in_turn!(s.acquire().await) }))
        });
    }
    g.finish();

    for (group, permits) in [
        ("sync_semaphore_uncontended_concurrent_multi", 10),
        ("sync_semaphore_contention_concurrent_multi", 5),
    ] {
        let mut g = c.benchmark_group(group);
        let s = Arc::new(weft_sync::Semaphore::new(permits));
        g.bench_function("weft", |b| {
            b.iter(|| rt.block_on(async { six_tasks!(s, |s| s.acquire().await.unwrap()) }))
        });
        let s = Arc::new(tokio::sync::Semaphore::new(permits));
        g.bench_function("tokio", |b| {
            b.iter(|| rt.block_on(async { six_tasks!(s, |s| s.acquire().await.unwrap()) }))
        });
        let s = Arc::new(async_lock::Semaphore::new(permits));
        g.bench_function("async-lock", |b| {
            b.iter(|| rt.block_on(async { six_tasks!(s, |s| s.acquire().await) }))
        });
        g.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// mpsc contention: 5 spawned producers × 1,000 sends, the block_on future receives 5,000.

/// The mpsc workload on `$chan` (a `(sender, receiver)` pair): [`PRODUCERS`] spawned producers
/// each send `0..PER_PRODUCER` through `$send`, and the calling task receives [`TOTAL`] messages
/// through `$recv`.
macro_rules! mpsc_workload {
    ($chan:expr, |$tx:ident, $i:ident| $send:expr, |$rx:ident| $recv:expr) => {{
        #[allow(unused_mut)]
        let (tx, mut $rx) = $chan;
        for _ in 0..PRODUCERS {
            let $tx = tx.clone();
            tokio::spawn(async move {
                for $i in 0..PER_PRODUCER {
                    $send;
                }
            });
        }
        for _ in 0..TOTAL {
            $recv;
        }
    }};
}

fn mpsc_weft(rt: &Runtime, cap: Option<usize>) {
    rt.block_on(async {
        mpsc_workload!(
            match cap {
                Some(n) => weft_sync::channel::bounded::<usize>(n),
                None => weft_sync::channel::unbounded::<usize>(),
            },
            |tx, i| tx.send(i).await.unwrap(),
            |rx| rx.recv().await.unwrap()
        )
    })
}

fn mpsc_tokio(rt: &Runtime, cap: Option<usize>) {
    rt.block_on(async {
        match cap {
            Some(n) => mpsc_workload!(
                tokio::sync::mpsc::channel::<usize>(n),
                |tx, i| tx.send(i).await.unwrap(),
                |rx| rx.recv().await.unwrap()
            ),
            None => mpsc_workload!(
                tokio::sync::mpsc::unbounded_channel::<usize>(),
                |tx, i| tx.send(i).unwrap(),
                |rx| rx.recv().await.unwrap()
            ),
        }
    })
}

fn mpsc_async_channel(rt: &Runtime, cap: Option<usize>) {
    rt.block_on(async {
        mpsc_workload!(
            match cap {
                Some(n) => async_channel::bounded::<usize>(n),
                None => async_channel::unbounded::<usize>(),
            },
            |tx, i| tx.send(i).await.unwrap(),
            |rx| rx.recv().await.unwrap()
        )
    })
}

fn mpsc_flume(rt: &Runtime, cap: Option<usize>) {
    rt.block_on(async {
        mpsc_workload!(
            match cap {
                Some(n) => flume::bounded::<usize>(n),
                None => flume::unbounded::<usize>(),
            },
            |tx, i| tx.send_async(i).await.unwrap(),
            |rx| rx.recv_async().await.unwrap()
        )
    })
}

/// crossbeam-channel is a blocking channel: it only fits where a send never blocks (unbounded, or
/// a capacity that holds every message). The consumer blocks the `block_on` thread, which is not
/// a worker, so that is legal here.
fn mpsc_crossbeam(rt: &Runtime, cap: Option<usize>) {
    rt.block_on(async {
        mpsc_workload!(
            match cap {
                Some(n) => crossbeam_channel::bounded::<usize>(n),
                None => crossbeam_channel::unbounded::<usize>(),
            },
            |tx, i| tx.send(i).unwrap(),
            |rx| rx.recv().unwrap()
        )
    })
}

fn mpsc(c: &mut Criterion) {
    let rt = tokio_rt();
    for (group, cap, crossbeam_fits) in [
        ("sync_mpsc_bounded", Some(CAP_ROOMY), true),
        ("sync_mpsc_bounded_full", Some(CAP_FULL), false),
        ("sync_mpsc_unbounded", None, true),
    ] {
        let mut g = c.benchmark_group(group);
        g.bench_function("weft", |b| b.iter(|| mpsc_weft(&rt, cap)));
        g.bench_function("tokio", |b| b.iter(|| mpsc_tokio(&rt, cap)));
        g.bench_function("async-channel", |b| b.iter(|| mpsc_async_channel(&rt, cap)));
        g.bench_function("flume", |b| b.iter(|| mpsc_flume(&rt, cap)));
        if crossbeam_fits {
            g.bench_function("crossbeam", |b| b.iter(|| mpsc_crossbeam(&rt, cap)));
        }
        g.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// bounded(1) ping-pong: two spawned tasks bounce a counter 1,000 times over two bounded(1)
// channels.

macro_rules! ping_pong {
    ($rt:expr, $chan:expr, |$rx:ident| $recv:expr, |$tx:ident, $v:ident| $send:expr) => {
        $rt.block_on(async {
            let (ping_tx, ping_rx) = $chan;
            let (pong_tx, pong_rx) = $chan;
            let echo = tokio::spawn(async move {
                #[allow(unused_mut)]
                let mut $rx = ping_rx;
                let $tx = pong_tx;
                // Option<usize>: None once the driver has dropped its sender.
                while let Some($v) = $recv {
                    let $v = $v + 1;
                    if !$send {
                        break;
                    }
                }
            });
            let driver = tokio::spawn(async move {
                #[allow(unused_mut)]
                let mut $rx = pong_rx;
                let $tx = ping_tx;
                let mut last = 0usize;
                for _ in 0..ROUND_TRIPS {
                    let $v = last;
                    assert!($send);
                    last = $recv.unwrap();
                }
                last
            });
            assert_eq!(driver.await.unwrap(), ROUND_TRIPS);
            echo.await.unwrap();
        })
    };
}

fn pingpong(c: &mut Criterion) {
    let rt = tokio_rt();
    let mut g = c.benchmark_group("sync_pingpong_bounded1");
    g.bench_function("weft", |b| {
        b.iter(|| {
            ping_pong!(
                rt,
                weft_sync::channel::bounded::<usize>(1),
                |rx| rx.recv().await.ok(),
                |tx, v| tx.send(v).await.is_ok()
            )
        })
    });
    g.bench_function("tokio", |b| {
        b.iter(|| {
            ping_pong!(
                rt,
                tokio::sync::mpsc::channel::<usize>(1),
                |rx| rx.recv().await,
                |tx, v| tx.send(v).await.is_ok()
            )
        })
    });
    g.bench_function("async-channel", |b| {
        b.iter(|| {
            ping_pong!(
                rt,
                async_channel::bounded::<usize>(1),
                |rx| rx.recv().await.ok(),
                |tx, v| tx.send(v).await.is_ok()
            )
        })
    });
    g.bench_function("flume", |b| {
        b.iter(|| {
            ping_pong!(
                rt,
                flume::bounded::<usize>(1),
                |rx| rx.recv_async().await.ok(),
                |tx, v| tx.send_async(v).await.is_ok()
            )
        })
    });
    g.finish();
}

fn main() {
    let mut c = config().configure_from_args();
    mutex(&mut c);
    semaphore(&mut c);
    mpsc(&mut c);
    pingpong(&mut c);
    c.final_summary();
}
