//! async-executor's own benchmarks (`benches/executor.rs` of smol-rs/async-executor, its
//! `multi_thread` group), same parameters, written once over `weft_benches::exec` and run on
//! weft's `Runtime`, tokio's `multi_thread` runtime and smol's `async-executor` pool, 2 workers
//! each (async-executor runs one thread per core: 2 on the reference machine).
//!
//! Tasks are spawned from the `block_on` thread through the runtime's handle (async-executor:
//! `EX.spawn` from `future::block_on`), inner spawns through the same handle. `channels` and
//! `web_server` use `async_channel` for every runtime, as the original does, so only the
//! executor differs; `yield_now` is each runtime's own.

use std::hint::black_box;
use std::time::Instant;

use weft_benches::bench_rts;
use weft_benches::exec::{yield_workload, Exec, Rts, Spawner, SPAWN_BATCH};
use weft_benches::runner::Workload;

const GROUP: &str = "async_executor";
/// async-executor's `TASKS` and `STEPS`.
const TASKS: usize = 300;
const STEPS: usize = 300;
/// async-executor's `LIGHT_TASKS` (its `spawn_many_local`).
const LIGHT_TASKS: usize = 25_000;

fn spawn_one<E: Exec>(e: &E) {
    let s = e.spawner();
    e.block_on(async { s.spawn(async {}).await });
}

/// Times only the spawning of [`SPAWN_BATCH`] `yield_now` tasks (async-executor's `spawn_many`); the
/// batch is awaited afterwards, untimed, so no task outlives the turn.
fn spawn_batch<E: Exec>(e: &E, iters: u64) -> std::time::Duration {
    let s = e.spawner();
    let mut total = std::time::Duration::ZERO;
    let mut handles = Vec::with_capacity(SPAWN_BATCH);
    for _ in 0..iters {
        let start = Instant::now();
        for _ in 0..SPAWN_BATCH {
            handles.push(s.spawn(E::Spawner::yield_now()));
        }
        total += start.elapsed();
        e.block_on(async {
            for h in handles.drain(..) {
                h.await;
            }
        });
    }
    total
}

fn spawn_many<E: Exec>(e: &E) {
    let s = e.spawner();
    e.block_on(async {
        let hs: Vec<_> = (0..LIGHT_TASKS).map(|_| s.spawn(async {})).collect();
        for h in hs {
            h.await;
        }
    });
}

fn go<S: Spawner>(
    s: S,
    i: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(async move {
        if i != 0 {
            let s2 = s.clone();
            s.spawn(async move { go(s2, i - 1).await }).await;
        }
    })
}

fn spawn_recursively<E: Exec>(e: &E) {
    let s = e.spawner();
    e.block_on(async {
        let hs: Vec<_> = (0..TASKS).map(|_| s.spawn(go(s.clone(), STEPS))).collect();
        for h in hs {
            h.await;
        }
    });
}

fn channels<E: Exec>(e: &E) {
    let s = e.spawner();
    e.block_on(async {
        let mut tasks = Vec::with_capacity(TASKS);
        let (first_send, first_recv) = async_channel::bounded::<()>(1);
        let mut current_recv = first_recv;
        for _ in 0..TASKS {
            let (next_send, next_recv) = async_channel::bounded::<()>(1);
            let recv = std::mem::replace(&mut current_recv, next_recv);
            tasks.push(s.spawn(async move {
                for _ in 0..STEPS {
                    recv.recv().await.unwrap();
                    next_send.send(()).await.unwrap();
                }
            }));
        }
        for _ in 0..STEPS {
            first_send.send(()).await.unwrap();
            current_recv.recv().await.unwrap();
        }
        for t in tasks {
            t.await;
        }
    });
}

/// async-executor's web-server simulation: a "database" task answering requests after 0-9
/// yields, and a server task spawning [`TASKS`] connection tasks, half of them served from
/// "cache" (one yield), the others making 150-299 database round trips; same seeded RNG.
fn web_server<E: Exec>(e: &E) {
    let s = e.spawner();
    e.block_on(async {
        let (db_send, db_recv) = async_channel::bounded::<async_channel::Sender<usize>>(TASKS / 5);
        let mut db_rng = fastrand::Rng::with_seed(0x12345678);
        let mut web_rng = db_rng.fork();
        let db_task = s.spawn(async move {
            while let Ok(incoming) = db_recv.recv().await {
                for _ in 0..db_rng.usize(..10) {
                    E::Spawner::yield_now().await;
                }
                incoming.send(db_rng.usize(..)).await.ok();
            }
        });
        let s2 = s.clone();
        let server_task = s.spawn(async move {
            for i in 0..TASKS {
                if web_rng.usize(..=16) == 16 {
                    E::Spawner::yield_now().await;
                }
                let mut web_rng = web_rng.fork();
                let db_send = db_send.clone();
                let task = s2.spawn(async move {
                    if web_rng.bool() {
                        E::Spawner::yield_now().await;
                        return;
                    }
                    for _ in 0..web_rng.usize(STEPS / 2..STEPS) {
                        let (resp_send, resp_recv) = async_channel::bounded(1);
                        db_send.send(resp_send).await.unwrap();
                        black_box(resp_recv.recv().await.unwrap());
                    }
                    for _ in 0..web_rng.usize(3..16) {
                        E::Spawner::yield_now().await;
                    }
                });
                E::Spawner::detach(task);
                if i & 16 == 0 {
                    E::Spawner::yield_now().await;
                }
            }
        });
        server_task.await;
        db_task.await;
    });
}

fn main() {
    let rts = Rts::new();
    let rts = &rts;
    let mut g = Workload::new(GROUP, "spawn_one");
    bench_rts!(g, rts, |b, e| b.iter(|| spawn_one(e)));
    g.run();
    let mut g = Workload::new(GROUP, "spawn_batch");
    bench_rts!(g, rts, |b, e| b.iter_custom(|n| spawn_batch(e, n)));
    g.run();
    let mut g = Workload::new(GROUP, "spawn_many_local");
    bench_rts!(g, rts, |b, e| b.iter(|| spawn_many(e)));
    g.run();
    let mut g = Workload::new(GROUP, "spawn_recursively");
    bench_rts!(g, rts, |b, e| b.iter(|| spawn_recursively(e)));
    g.run();
    let mut g = Workload::new(GROUP, "yield_now");
    bench_rts!(g, rts, |b, e| b.iter(|| yield_workload(e)));
    g.run();
    let mut g = Workload::new(GROUP, "channels");
    bench_rts!(g, rts, |b, e| b.iter(|| channels(e)));
    g.run();
    let mut g = Workload::new(GROUP, "web_server");
    bench_rts!(g, rts, |b, e| b.iter(|| web_server(e)));
    g.run();
}
