//! Executor (issue 3): tokio's `rt_multi_threaded` workloads, same parameters, on weft's
//! `Runtime`, tokio's `multi_thread` runtime and smol (`async-executor` run by 2 threads), each
//! with 2 workers.
//!
//! Each workload is one criterion group with one function per runtime, so the report compares
//! them side by side. Every runtime uses its own spawn, yield and oneshot (smol has no oneshot:
//! `async_channel::bounded(1)`, the smol idiom). Tasks that tokio would let run unobserved are
//! `detach`ed on weft and smol (dropping their handle would cancel them).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use criterion::Criterion;
use weft_benches::{config, stall, tokio_rt, weft_rt, SmolRt, WORKERS};

/// Tasks spawned by the spawn_many_* workloads.
const NUM_SPAWN: usize = 10_000;
/// Background tasks keeping the workers busy in spawn_many_remote_busy1 (as in the brief: 8).
const BUSY_TASKS: usize = 8;
/// The busy tasks' CPU stall between yields.
const STALL_DUR: Duration = Duration::from_micros(10);
/// yield_many: tasks × yields each.
const YIELD_TASKS: usize = 200;
const NUM_YIELD: usize = 1_000;
/// ping_pong: pairs of tasks exchanging two oneshots.
const NUM_PINGS: usize = 1_000;
/// chained_spawn: length of the spawn chain.
const CHAIN: usize = 1_000;

// ---------------------------------------------------------------------------------------------
// spawn_many_local: the block_on future spawns 10,000 empty tasks; the last to run signals a
// std sync_channel that block_on waits on.

/// One spawn_many_local iteration: the `block_on` future spawns [`NUM_SPAWN`] empty tasks, each
/// given to `$spawn` as `$task`; the last of them to run signals `$tx`, which `$rx` waits on.
macro_rules! spawn_many_local_iter {
    ($rt:expr, $tx:expr, $rx:expr, $rem:expr, |$task:ident| $spawn:expr) => {{
        $rem.store(NUM_SPAWN, Relaxed);
        $rt.block_on(async {
            for _ in 0..NUM_SPAWN {
                let tx = $tx.clone();
                let rem = $rem.clone();
                let $task = async move {
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        tx.send(()).unwrap();
                    }
                };
                $spawn;
            }
            $rx.recv().unwrap();
        })
    }};
}

fn spawn_many_local(c: &mut Criterion) {
    let mut g = c.benchmark_group("rt_spawn_many_local");
    let (tx, rx) = mpsc::sync_channel::<()>(1000);
    let rem = Arc::new(AtomicUsize::new(0));

    {
        let rt = weft_rt();
        g.bench_function("weft", |b| {
            b.iter(|| spawn_many_local_iter!(rt, tx, rx, rem, |t| weft_executor::spawn(t).detach()))
        });
    }
    {
        let rt = tokio_rt();
        g.bench_function("tokio", |b| {
            b.iter(|| spawn_many_local_iter!(rt, tx, rx, rem, |t| tokio::spawn(t)))
        });
    }
    {
        let rt = SmolRt::new(WORKERS);
        g.bench_function("smol", |b| {
            b.iter(|| spawn_many_local_iter!(rt, tx, rx, rem, |t| rt.spawn(t).detach()))
        });
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// spawn_many_remote_idle / _busy1: 10,000 spawns from outside the runtime, then block_on awaits
// every handle. busy1 first starts 8 tasks that loop yield_now + a 10 µs stall.

/// spawn_many_remote on one runtime `$rt`: starts `$busy_tasks` tasks (each given to `$spawn` as
/// `$task`) that loop `$yield_now` + [`stall`], then benchmarks as `$id`: spawn [`NUM_SPAWN`]
/// empty tasks from outside and join each handle `$h` with `$join` in `block_on`. The busy tasks
/// are told to stop afterwards.
macro_rules! spawn_many_remote_on {
    (
        $g:expr,
        $id:expr,
        $rt:ident,
        $busy_tasks:expr,
        $yield_now:path,
        |$task:ident| $spawn:expr,
        |$h:ident| $join:expr
    ) => {{
        let flag = Arc::new(AtomicBool::new(true));
        for _ in 0..$busy_tasks {
            let flag = flag.clone();
            let $task = async move {
                while flag.load(Relaxed) {
                    $yield_now().await;
                    stall(STALL_DUR);
                }
            };
            $spawn;
        }
        let mut handles = Vec::with_capacity(NUM_SPAWN);
        $g.bench_function($id, |b| {
            b.iter(|| {
                for _ in 0..NUM_SPAWN {
                    handles.push($rt.spawn(async {}));
                }
                $rt.block_on(async {
                    for $h in handles.drain(..) {
                        $join;
                    }
                })
            })
        });
        flag.store(false, Relaxed);
    }};
}

fn spawn_many_remote(c: &mut Criterion, busy: bool) {
    let name = if busy {
        "rt_spawn_many_remote_busy1"
    } else {
        "rt_spawn_many_remote_idle"
    };
    let mut g = c.benchmark_group(name);
    let busy_tasks = if busy { BUSY_TASKS } else { 0 };

    {
        let rt = weft_rt();
        spawn_many_remote_on!(
            g,
            "weft",
            rt,
            busy_tasks,
            weft_executor::yield_now,
            |t| rt.spawn(t).detach(),
            |h| h.await.unwrap()
        );
    }
    {
        let rt = tokio_rt();
        spawn_many_remote_on!(
            g,
            "tokio",
            rt,
            busy_tasks,
            tokio::task::yield_now,
            |t| rt.spawn(t),
            |h| h.await.unwrap()
        );
    }
    {
        let rt = SmolRt::new(WORKERS);
        spawn_many_remote_on!(
            g,
            "smol",
            rt,
            busy_tasks,
            futures_lite::future::yield_now,
            |t| rt.spawn(t).detach(),
            |h| h.await
        );
    }
    g.finish();
}

fn spawn_many_remote_idle(c: &mut Criterion) {
    spawn_many_remote(c, false);
}

fn spawn_many_remote_busy1(c: &mut Criterion) {
    spawn_many_remote(c, true);
}

// ---------------------------------------------------------------------------------------------
// yield_many: 200 tasks spawned from outside, each yields 1,000 times then signals; the main
// thread blocks on 200 receives.

/// One yield_many iteration: [`YIELD_TASKS`] tasks (each given to `$spawn` as `$task`) each call
/// `$yield_now` [`NUM_YIELD`] times, then signal `$tx`; the calling thread receives them on `$rx`.
macro_rules! yield_many_iter {
    ($tx:expr, $rx:expr, $yield_now:path, |$task:ident| $spawn:expr) => {{
        for _ in 0..YIELD_TASKS {
            let tx = $tx.clone();
            let $task = async move {
                for _ in 0..NUM_YIELD {
                    $yield_now().await;
                }
                tx.send(()).unwrap();
            };
            $spawn;
        }
        for _ in 0..YIELD_TASKS {
            $rx.recv().unwrap();
        }
    }};
}

fn yield_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("rt_yield_many");
    let (tx, rx) = mpsc::sync_channel::<()>(YIELD_TASKS);

    {
        let rt = weft_rt();
        g.bench_function("weft", |b| {
            b.iter(|| yield_many_iter!(tx, rx, weft_executor::yield_now, |t| rt.spawn(t).detach()))
        });
    }
    {
        let rt = tokio_rt();
        g.bench_function("tokio", |b| {
            b.iter(|| yield_many_iter!(tx, rx, tokio::task::yield_now, |t| rt.spawn(t)))
        });
    }
    {
        let rt = SmolRt::new(WORKERS);
        g.bench_function("smol", |b| {
            b.iter(|| {
                yield_many_iter!(tx, rx, futures_lite::future::yield_now, |t| rt
                    .spawn(t)
                    .detach())
            })
        });
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// ping_pong: one task spawns 1,000 tasks; each makes two oneshots, spawns a partner that awaits
// the first and answers on the second; the last to finish signals block_on.

/// One ping_pong iteration for a runtime with an ambient spawn (`$spawn`, given each task as
/// `$task`) and a oneshot channel (`$oneshot` makes one): see the comment above.
macro_rules! ping_pong_iter {
    ($rt:expr, $done_tx:expr, $done_rx:expr, $rem:expr, $oneshot:expr, |$task:ident| $spawn:expr) => {{
        let done_tx = $done_tx.clone();
        let rem = $rem.clone();
        rem.store(NUM_PINGS, Relaxed);
        $rt.block_on(async {
            let $task = async move {
                for _ in 0..NUM_PINGS {
                    let rem = rem.clone();
                    let done_tx = done_tx.clone();
                    let $task = async move {
                        let (tx1, rx1) = $oneshot;
                        let (tx2, rx2) = $oneshot;
                        let $task = async move {
                            rx1.await.unwrap();
                            tx2.send(()).unwrap();
                        };
                        $spawn;
                        tx1.send(()).unwrap();
                        rx2.await.unwrap();
                        if rem.fetch_sub(1, Relaxed) == 1 {
                            done_tx.send(()).unwrap();
                        }
                    };
                    $spawn;
                }
            };
            $spawn;
            $done_rx.recv().unwrap();
        })
    }};
}

fn ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("rt_ping_pong");
    let (done_tx, done_rx) = mpsc::sync_channel::<()>(1000);
    let rem = Arc::new(AtomicUsize::new(0));

    {
        let rt = weft_rt();
        g.bench_function("weft", |b| {
            b.iter(|| {
                ping_pong_iter!(
                    rt,
                    done_tx,
                    done_rx,
                    rem,
                    weft_sync::channel::oneshot::channel::<()>(),
                    |t| weft_executor::spawn(t).detach()
                )
            })
        });
    }
    {
        let rt = tokio_rt();
        g.bench_function("tokio", |b| {
            b.iter(|| {
                ping_pong_iter!(
                    rt,
                    done_tx,
                    done_rx,
                    rem,
                    tokio::sync::oneshot::channel::<()>(),
                    |t| tokio::spawn(t)
                )
            })
        });
    }
    {
        let rt = SmolRt::new(WORKERS);
        g.bench_function("smol", |b| {
            b.iter(|| {
                let done_tx = done_tx.clone();
                let rem = rem.clone();
                rem.store(NUM_PINGS, Relaxed);
                let ex = rt.executor().clone();
                rt.block_on(async {
                    let ex2 = ex.clone();
                    ex.spawn(async move {
                        for _ in 0..NUM_PINGS {
                            let rem = rem.clone();
                            let done_tx = done_tx.clone();
                            let ex3 = ex2.clone();
                            ex2.spawn(async move {
                                let (tx1, rx1) = async_channel::bounded::<()>(1);
                                let (tx2, rx2) = async_channel::bounded::<()>(1);
                                ex3.spawn(async move {
                                    rx1.recv().await.unwrap();
                                    tx2.try_send(()).unwrap();
                                })
                                .detach();
                                tx1.try_send(()).unwrap();
                                rx2.recv().await.unwrap();
                                if rem.fetch_sub(1, Relaxed) == 1 {
                                    done_tx.send(()).unwrap();
                                }
                            })
                            .detach();
                        }
                    })
                    .detach();
                    done_rx.recv().unwrap();
                })
            })
        });
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// chained_spawn: a chain of 1,000 spawns, each task spawning the next; the last signals.

fn weft_chain(done_tx: mpsc::SyncSender<()>, n: usize) {
    if n == 0 {
        done_tx.send(()).unwrap();
    } else {
        weft_executor::spawn(async move { weft_chain(done_tx, n - 1) }).detach();
    }
}

fn tokio_chain(done_tx: mpsc::SyncSender<()>, n: usize) {
    if n == 0 {
        done_tx.send(()).unwrap();
    } else {
        tokio::spawn(async move { tokio_chain(done_tx, n - 1) });
    }
}

fn smol_chain(ex: Arc<async_executor::Executor<'static>>, done_tx: mpsc::SyncSender<()>, n: usize) {
    if n == 0 {
        done_tx.send(()).unwrap();
    } else {
        let ex2 = ex.clone();
        ex.spawn(async move { smol_chain(ex2, done_tx, n - 1) })
            .detach();
    }
}

fn chained_spawn(c: &mut Criterion) {
    let mut g = c.benchmark_group("rt_chained_spawn");
    let (done_tx, done_rx) = mpsc::sync_channel::<()>(1000);

    {
        let rt = weft_rt();
        g.bench_function("weft", |b| {
            b.iter(|| {
                let done_tx = done_tx.clone();
                rt.block_on(async {
                    weft_executor::spawn(async move { weft_chain(done_tx, CHAIN) }).detach();
                    done_rx.recv().unwrap();
                })
            })
        });
    }
    {
        let rt = tokio_rt();
        g.bench_function("tokio", |b| {
            b.iter(|| {
                let done_tx = done_tx.clone();
                rt.block_on(async {
                    tokio::spawn(async move { tokio_chain(done_tx, CHAIN) });
                    done_rx.recv().unwrap();
                })
            })
        });
    }
    {
        let rt = SmolRt::new(WORKERS);
        g.bench_function("smol", |b| {
            b.iter(|| {
                let done_tx = done_tx.clone();
                let ex = rt.executor().clone();
                rt.block_on(async {
                    let ex2 = ex.clone();
                    ex.spawn(async move { smol_chain(ex2, done_tx, CHAIN) })
                        .detach();
                    done_rx.recv().unwrap();
                })
            })
        });
    }
    g.finish();
}

fn main() {
    let mut c = config().configure_from_args();
    spawn_many_local(&mut c);
    spawn_many_remote_idle(&mut c);
    spawn_many_remote_busy1(&mut c);
    yield_many(&mut c);
    ping_pong(&mut c);
    chained_spawn(&mut c);
    c.final_summary();
}
