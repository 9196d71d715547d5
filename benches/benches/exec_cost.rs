//! Fixed-work versions of two `async_executor` workloads for instruction counting (issue 14):
//! `valgrind --tool=callgrind` on `exec_cost <weft|smol|tokio> <batch|yield> <iterations>`.
//! `batch` is `spawn_batch` (250 `yield_now` tasks spawned from the `block_on` thread, then
//! awaited), `yield` is `yield_now` (300 tasks yielding 300 times each). Run it for two
//! iteration counts and divide the difference by the extra tasks (batch) or yields (yield).

use weft_benches::exec::{yield_workload, Exec, Spawner, SPAWN_BATCH};
use weft_benches::{tokio_rt, weft_rt, SmolRt, WORKERS};

fn batch<E: Exec>(e: &E) {
    let s = e.spawner();
    let hs: Vec<_> = (0..SPAWN_BATCH)
        .map(|_| s.spawn(E::Spawner::yield_now()))
        .collect();
    e.block_on(async {
        for h in hs {
            h.await;
        }
    });
}

fn run<E: Exec>(e: &E, shape: &str, iters: usize) {
    for _ in 0..iters {
        match shape {
            "batch" => batch(e),
            "yield" => yield_workload(e),
            other => panic!("unknown shape {other}"),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` runs every bench binary with flags: this one only runs with its three
    // positional arguments.
    if args.len() != 4 || args[3].parse::<usize>().is_err() {
        println!(
            "exec_cost: skipped (usage: exec_cost <weft|smol|tokio> <batch|yield> <iterations>)"
        );
        return;
    }
    let (shape, iters) = (args[2].as_str(), args[3].parse::<usize>().unwrap());
    match args[1].as_str() {
        "weft" => run(&weft_rt(), shape, iters),
        "tokio" => run(&tokio_rt(), shape, iters),
        "smol" => run(&SmolRt::new(WORKERS), shape, iters),
        other => panic!("unknown runtime {other}"),
    }
}
