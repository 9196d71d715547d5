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

// ---------------------------------------------------------------------------------------------
// Interleaved mode (issue 15): `WEFT_SYNC_ROUNDS=N cargo xtask bench --bench sync` runs the
// contended Mutex and the 5-producer MPMC workloads N rounds, every peer once per round in turn
// (so load on a shared machine hits all of them alike), and prints the median, the 10th/90th
// percentiles and min/max of each, plus weft's median ratio to each peer. A bimodal workload
// shows as a wide p10..p90 spread.

fn timed(f: impl FnOnce()) -> f64 {
    let t = std::time::Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1e6
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn interleaved(rounds: usize) {
    let rt = tokio_rt();
    type Case<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let groups: Vec<(&str, Vec<Case<'_>>)> = vec![
        (
            "mutex_contended (8 tasks x 1000)",
            vec![
                (
                    "weft",
                    Box::new(|| contended_mutex!(rt, weft_sync::Mutex::new(0usize))),
                ),
                (
                    "tokio",
                    Box::new(|| contended_mutex!(rt, tokio::sync::Mutex::new(0usize))),
                ),
                (
                    "async-lock",
                    Box::new(|| contended_mutex!(rt, async_lock::Mutex::new(0usize))),
                ),
            ],
        ),
        (
            "mpsc_bounded_full (5 producers, cap 100)",
            vec![
                ("weft", Box::new(|| mpsc_weft(&rt, Some(CAP_FULL)))),
                ("tokio", Box::new(|| mpsc_tokio(&rt, Some(CAP_FULL)))),
                (
                    "async-channel",
                    Box::new(|| mpsc_async_channel(&rt, Some(CAP_FULL))),
                ),
                ("flume", Box::new(|| mpsc_flume(&rt, Some(CAP_FULL)))),
            ],
        ),
        (
            "mpsc_bounded (5 producers, roomy)",
            vec![
                ("weft", Box::new(|| mpsc_weft(&rt, Some(CAP_ROOMY)))),
                ("tokio", Box::new(|| mpsc_tokio(&rt, Some(CAP_ROOMY)))),
                (
                    "async-channel",
                    Box::new(|| mpsc_async_channel(&rt, Some(CAP_ROOMY))),
                ),
                ("flume", Box::new(|| mpsc_flume(&rt, Some(CAP_ROOMY)))),
            ],
        ),
    ];
    // `WEFT_SYNC_FILTER=mutex` keeps the workloads whose name contains it.
    let filter = std::env::var("WEFT_SYNC_FILTER").unwrap_or_default();
    for (name, cases) in groups.iter().filter(|(n, _)| n.contains(filter.as_str())) {
        let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); cases.len()];
        for (_, f) in cases {
            f(); // warm-up
        }
        for _ in 0..rounds {
            for (i, (_, f)) in cases.iter().enumerate() {
                samples[i].push(timed(f));
            }
        }
        println!("{name}: {rounds} interleaved rounds, microseconds");
        let mut medians = Vec::new();
        for (i, (peer, _)) in cases.iter().enumerate() {
            let v = &mut samples[i];
            v.sort_by(f64::total_cmp);
            let med = quantile(v, 0.5);
            medians.push(med);
            println!(
                "  {peer:<14} median {med:>9.1}  p10 {:>9.1}  p25 {:>9.1}  p75 {:>9.1}  p90 {:>9.1}  \
                 min {:>9.1}  max {:>9.1}",
                quantile(v, 0.1),
                quantile(v, 0.25),
                quantile(v, 0.75),
                quantile(v, 0.9),
                v[0],
                v[v.len() - 1]
            );
        }
        for (i, (peer, _)) in cases.iter().enumerate().skip(1) {
            println!("  weft/{peer}: {:.2}", medians[0] / medians[i]);
        }
    }
}

fn main() {
    if let Some(rounds) = std::env::var("WEFT_SYNC_ROUNDS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        interleaved(rounds.max(1));
        return;
    }
    let mut c = config().configure_from_args();
    mutex(&mut c);
    semaphore(&mut c);
    mpsc(&mut c);
    pingpong(&mut c);
    c.final_summary();
}
