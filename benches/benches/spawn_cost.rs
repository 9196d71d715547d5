//! Fixed-work spawn workloads for instruction counting (issue 14): `valgrind --tool=callgrind`
//! on `spawn_cost <weft|smol|tokio> <local|remote> <iterations>` counts the instructions of
//! `iterations` rounds of 10,000 spawns (tokio's `spawn_many_local` / `spawn_many_remote_idle`
//! shape, 2 workers). Run it for two iteration counts and divide the difference by the extra
//! tasks to get instructions per task, independent of a loaded machine's timing noise.
//!
//! Shapes `current` and `current_remote` are `rt_current_thread`'s `spawn_many_local` and
//! `spawn_many_remote_idle` (one thread: weft's `LocalRuntime`, async-executor's
//! `LocalExecutor`): `NUM_SPAWN` empty tasks spawned from inside `block_on` (or before it), then
//! awaited one by one.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{mpsc, Arc};

use weft_benches::{tokio_rt, weft_rt, SmolRt, WORKERS};

const NUM_SPAWN: usize = 10_000;

/// One round: `spawn` is called `NUM_SPAWN` times with a task; the last task to run signals.
fn round(
    rem: &Arc<AtomicUsize>,
    tx: &mpsc::SyncSender<()>,
    rx: &mpsc::Receiver<()>,
    mut spawn: impl FnMut(Box<dyn FnOnce() + Send>),
) {
    rem.store(NUM_SPAWN, Relaxed);
    for _ in 0..NUM_SPAWN {
        let (rem, tx) = (rem.clone(), tx.clone());
        spawn(Box::new(move || {
            if rem.fetch_sub(1, Relaxed) == 1 {
                tx.send(()).unwrap();
            }
        }));
    }
    rx.recv().unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` / `cargo xtask bench` run every bench binary with flags (`--bench`,
    // `--quick`): this one is a callgrind workload, not a timed benchmark, so it only runs
    // with its three positional arguments.
    if args.len() != 4 || args[3].parse::<usize>().is_err() {
        println!(
            "spawn_cost: skipped (usage: spawn_cost <weft|smol|tokio> <local|remote> <iterations>)"
        );
        return;
    }
    let (rt, shape, iters) = (
        args[1].as_str(),
        args[2].as_str(),
        args[3].parse::<usize>().unwrap(),
    );
    if let Some(remote) = match shape {
        "current" => Some(false),
        "current_remote" => Some(true),
        _ => None,
    } {
        current_thread(rt, remote, iters);
        return;
    }
    let local = shape == "local";
    let rem = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::sync_channel::<()>(1);
    match rt {
        "weft" => {
            let r = weft_rt();
            for _ in 0..iters {
                if local {
                    // Spawned from inside a task: the worker's local queue.
                    let (rem, tx) = (rem.clone(), tx.clone());
                    r.spawn(async move {
                        rem.store(NUM_SPAWN, Relaxed);
                        for _ in 0..NUM_SPAWN {
                            let (rem, tx) = (rem.clone(), tx.clone());
                            weft_executor::spawn(async move {
                                if rem.fetch_sub(1, Relaxed) == 1 {
                                    tx.send(()).unwrap();
                                }
                            })
                            .detach();
                        }
                    })
                    .detach();
                    rx.recv().unwrap();
                } else {
                    round(&rem, &tx, &rx, |f| r.spawn(async move { f() }).detach());
                }
            }
        }
        "smol" => {
            let r = SmolRt::new(WORKERS);
            for _ in 0..iters {
                if local {
                    let (rem, tx, ex) = (rem.clone(), tx.clone(), r.executor().clone());
                    r.spawn(async move {
                        rem.store(NUM_SPAWN, Relaxed);
                        for _ in 0..NUM_SPAWN {
                            let (rem, tx) = (rem.clone(), tx.clone());
                            ex.spawn(async move {
                                if rem.fetch_sub(1, Relaxed) == 1 {
                                    tx.send(()).unwrap();
                                }
                            })
                            .detach();
                        }
                    })
                    .detach();
                    rx.recv().unwrap();
                } else {
                    round(&rem, &tx, &rx, |f| r.spawn(async move { f() }).detach());
                }
            }
        }
        "tokio" => {
            let r = tokio_rt();
            for _ in 0..iters {
                if local {
                    let (rem, tx) = (rem.clone(), tx.clone());
                    r.spawn(async move {
                        rem.store(NUM_SPAWN, Relaxed);
                        for _ in 0..NUM_SPAWN {
                            let (rem, tx) = (rem.clone(), tx.clone());
                            tokio::spawn(async move {
                                if rem.fetch_sub(1, Relaxed) == 1 {
                                    tx.send(()).unwrap();
                                }
                            });
                        }
                    });
                    rx.recv().unwrap();
                } else {
                    round(&rem, &tx, &rx, |f| {
                        r.spawn(async move { f() });
                    });
                }
            }
        }
        other => panic!("unknown runtime {other}"),
    }
}

/// `rt_current_thread`'s spawn shapes (`weft_benches::local_spawn`), `iters` rounds of
/// `NUM_SPAWN` tasks.
fn current_thread(rt: &str, remote: bool, iters: usize) {
    use weft_benches::local_spawn;
    match rt {
        "weft" => {
            let w = weft_benches::weft_local();
            for _ in 0..iters {
                if remote {
                    local_spawn::weft_remote(&w, NUM_SPAWN);
                } else {
                    local_spawn::weft_local(&w, NUM_SPAWN);
                }
            }
        }
        "smol" => {
            let ex = async_executor::LocalExecutor::new();
            for _ in 0..iters {
                if remote {
                    local_spawn::smol_remote(&ex, NUM_SPAWN);
                } else {
                    local_spawn::smol_local(&ex, NUM_SPAWN);
                }
            }
        }
        other => panic!("unknown runtime {other} for a current-thread shape (weft, smol)"),
    }
}
