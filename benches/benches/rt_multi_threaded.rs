//! Executor (issue 3): tokio's `rt_multi_threaded` workloads, same parameters, on weft's
//! `Runtime`, tokio's `multi_thread` runtime and smol (`async-executor` run by 2 threads), each
//! with 2 workers.
//!
//! Each workload runs the three runtimes in interleaved rounds (`weft_benches::runner`), group
//! `rt_multi_threaded`. All three runtimes exist for the whole file; between turns they are idle. Every runtime uses its own spawn, yield and oneshot (smol has no oneshot:
//! `async_channel::bounded(1)`, the smol idiom). Tasks that tokio would let run unobserved are
//! `detach`ed on weft and smol (dropping their handle would cancel them).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use weft_benches::runner::Workload;
use weft_benches::{stall, tokio_rt, weft_rt, SmolRt, WORKERS};

const GROUP: &str = "rt_multi_threaded";

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

fn spawn_many_local(rts: &Rts) {
    let (tx, rx) = mpsc::sync_channel::<()>(1000);
    let rem = Arc::new(AtomicUsize::new(0));
    let Rts { weft, tokio, smol } = rts;
    let mut g = Workload::new(GROUP, "spawn_many_local");
    g.bench("weft", |b| {
        b.iter(|| spawn_many_local_iter!(weft, tx, rx, rem, |t| weft_executor::spawn(t).detach()))
    });
    g.bench("tokio", |b| {
        b.iter(|| spawn_many_local_iter!(tokio, tx, rx, rem, |t| tokio::spawn(t)))
    });
    g.bench("smol", |b| {
        b.iter(|| spawn_many_local_iter!(smol, tx, rx, rem, |t| smol.spawn(t).detach()))
    });
    g.run();
}

// ---------------------------------------------------------------------------------------------
// spawn_many_remote_idle / _busy1: 10,000 spawns from outside the runtime, then block_on awaits
// every handle. busy1 first starts 8 tasks that loop yield_now + a 10 µs stall.

/// spawn_many_remote on one runtime `$rt`, contender `$id`: each turn starts `$busy_tasks` tasks
/// (each given to `$spawn` as `$task`) that loop `$yield_now` + [`stall`], then times: spawn
/// [`NUM_SPAWN`] empty tasks from outside and join each handle `$h` with `$join` in `block_on`.
/// The busy tasks are told to stop at the end of the turn.
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
        let mut handles = Vec::with_capacity(NUM_SPAWN);
        $g.bench($id, move |b| {
            // The busy tasks run during this contender's turn only.
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
            b.iter(|| {
                for _ in 0..NUM_SPAWN {
                    handles.push($rt.spawn(async {}));
                }
                $rt.block_on(async {
                    for $h in handles.drain(..) {
                        $join;
                    }
                })
            });
            flag.store(false, Relaxed);
        });
    }};
}

fn spawn_many_remote(rts: &Rts, busy: bool) {
    let name = if busy {
        "spawn_many_remote_busy1"
    } else {
        "spawn_many_remote_idle"
    };
    let busy_tasks = if busy { BUSY_TASKS } else { 0 };
    let Rts {
        weft: rt_w,
        tokio: rt_t,
        smol: rt_s,
    } = rts;
    let mut g = Workload::new(GROUP, name);
    {
        let rt = rt_w;
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
        let rt = rt_t;
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
        let rt = rt_s;
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
    g.run();
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

fn yield_many(rts: &Rts) {
    let (tx, rx) = mpsc::sync_channel::<()>(YIELD_TASKS);

    let mut g = Workload::new(GROUP, "yield_many");
    {
        let rt = &rts.weft;
        g.bench("weft", |b| {
            b.iter(|| yield_many_iter!(tx, rx, weft_executor::yield_now, |t| rt.spawn(t).detach()))
        });
    }
    {
        let rt = &rts.tokio;
        g.bench("tokio", |b| {
            b.iter(|| yield_many_iter!(tx, rx, tokio::task::yield_now, |t| rt.spawn(t)))
        });
    }
    {
        let rt = &rts.smol;
        g.bench("smol", |b| {
            b.iter(|| {
                yield_many_iter!(tx, rx, futures_lite::future::yield_now, |t| rt
                    .spawn(t)
                    .detach())
            })
        });
    }
    g.run();
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

fn ping_pong(rts: &Rts) {
    let (done_tx, done_rx) = mpsc::sync_channel::<()>(1000);
    let rem = Arc::new(AtomicUsize::new(0));

    let mut g = Workload::new(GROUP, "ping_pong");
    {
        let rt = &rts.weft;
        g.bench("weft", |b| {
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
        let rt = &rts.tokio;
        g.bench("tokio", |b| {
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
        let rt = &rts.smol;
        g.bench("smol", |b| {
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
    g.run();
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

fn chained_spawn(rts: &Rts) {
    let (done_tx, done_rx) = mpsc::sync_channel::<()>(1000);

    let mut g = Workload::new(GROUP, "chained_spawn");
    {
        let rt = &rts.weft;
        g.bench("weft", |b| {
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
        let rt = &rts.tokio;
        g.bench("tokio", |b| {
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
        let rt = &rts.smol;
        g.bench("smol", |b| {
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
    g.run();
}

/// The three runtimes, alive for the whole file (idle outside their own turns).
struct Rts {
    weft: weft_executor::Runtime,
    tokio: tokio::runtime::Runtime,
    smol: SmolRt,
}

fn main() {
    let rts = Rts {
        weft: weft_rt(),
        tokio: tokio_rt(),
        smol: SmolRt::new(WORKERS),
    };
    spawn_many_local(&rts);
    spawn_many_remote(&rts, false);
    spawn_many_remote(&rts, true);
    yield_many(&rts);
    ping_pong(&rts);
    chained_spawn(&rts);
}
