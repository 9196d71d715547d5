//! Single-threaded executors (issue 19): tokio's `rt_current_thread` workloads, same parameters
//! (1,000 spawns per iteration), on weft's `LocalRuntime`, tokio's `current_thread` runtime and
//! smol's `LocalExecutor` (run by `futures_lite::future::block_on(ex.run(..))`).
//!
//! - `spawn_many_local`: the `block_on` future spawns 1,000 empty tasks and awaits each handle.
//! - `spawn_many_remote_idle`: 1,000 spawns from outside `block_on`, then `block_on` awaits them.
//! - `spawn_many_remote_busy`: the same while a task that keeps respawning itself is alive.
//!
//! Each workload gets fresh runtimes; contenders interleave per round (`weft_benches::runner`).
//! A single-threaded runtime only runs inside its own `block_on`, so nothing of one contender
//! runs during another's turn.

use std::rc::Rc;

use async_executor::LocalExecutor;
use weft_benches::local_spawn;
use weft_benches::runner::Workload;
use weft_benches::{tokio_current, weft_local};

const GROUP: &str = "rt_current_thread";
const NUM_SPAWN: usize = 1_000;

fn weft_respawn() {
    weft_executor::spawn_local(async { weft_respawn() }).detach();
}

fn tokio_respawn() {
    tokio::spawn(async { tokio_respawn() });
}

fn smol_respawn(ex: Rc<LocalExecutor<'static>>) {
    let ex2 = ex.clone();
    ex.spawn(async move { smol_respawn(ex2) }).detach();
}

fn spawn_many_local() {
    let (w, t, s) = (weft_local(), tokio_current(), Rc::new(LocalExecutor::new()));
    let mut g = Workload::new(GROUP, "spawn_many_local");
    g.bench("weft", |b| {
        b.iter(|| local_spawn::weft_local(&w, NUM_SPAWN))
    });
    g.bench("tokio", |b| {
        b.iter(|| local_spawn::tokio_local(&t, NUM_SPAWN))
    });
    g.bench("smol", |b| {
        b.iter(|| local_spawn::smol_local(&s, NUM_SPAWN))
    });
    g.run();
}

/// `busy`: a self-respawning task is started first (tokio's `spawn_many_remote_busy`).
fn spawn_many_remote(busy: bool) {
    let (w, t, s) = (weft_local(), tokio_current(), Rc::new(LocalExecutor::new()));
    if busy {
        w.spawn_local(async { weft_respawn() }).detach();
        t.spawn(async { tokio_respawn() });
        let s2 = s.clone();
        s.spawn(async move { smol_respawn(s2) }).detach();
    }
    let name = if busy {
        "spawn_many_remote_busy"
    } else {
        "spawn_many_remote_idle"
    };
    let mut g = Workload::new(GROUP, name);
    g.bench("weft", |b| {
        b.iter(|| local_spawn::weft_remote(&w, NUM_SPAWN))
    });
    g.bench("tokio", |b| {
        b.iter(|| local_spawn::tokio_remote(&t, NUM_SPAWN))
    });
    g.bench("smol", |b| {
        b.iter(|| local_spawn::smol_remote(&s, NUM_SPAWN))
    });
    g.run();
}

fn main() {
    spawn_many_local();
    spawn_many_remote(false);
    spawn_many_remote(true);
}
