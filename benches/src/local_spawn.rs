//! The spawn shapes of tokio's `rt_current_thread` suite on each single-threaded executor, one
//! iteration each: timed by `benches/rt_current_thread.rs`, counted under callgrind by
//! `benches/spawn_cost.rs` (`current`, `current_remote`), so both measure the same code.
//!
//! - `*_local`: the `block_on` future spawns `n` empty tasks and awaits each handle.
//! - `*_remote`: `n` spawns from outside `block_on`, then `block_on` awaits them.

use async_executor::LocalExecutor;
use futures_lite::future::block_on;

/// `spawn_many_local` on weft's `LocalRuntime`.
pub fn weft_local(w: &weft_executor::LocalRuntime, n: usize) {
    w.block_on(async {
        let hs: Vec<_> = (0..n)
            .map(|_| weft_executor::spawn_local(async {}))
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    })
}

/// `spawn_many_remote_*` on weft's `LocalRuntime`.
pub fn weft_remote(w: &weft_executor::LocalRuntime, n: usize) {
    let hs: Vec<_> = (0..n).map(|_| w.spawn_local(async {})).collect();
    w.block_on(async {
        for h in hs {
            h.await.unwrap();
        }
    })
}

/// `spawn_many_local` on tokio's current-thread runtime.
pub fn tokio_local(t: &tokio::runtime::Runtime, n: usize) {
    t.block_on(async {
        let hs: Vec<_> = (0..n).map(|_| tokio::spawn(async {})).collect();
        for h in hs {
            h.await.unwrap();
        }
    })
}

/// `spawn_many_remote_*` on tokio's current-thread runtime.
pub fn tokio_remote(t: &tokio::runtime::Runtime, n: usize) {
    let hs: Vec<_> = (0..n).map(|_| t.spawn(async {})).collect();
    t.block_on(async {
        for h in hs {
            h.await.unwrap();
        }
    })
}

/// `spawn_many_local` on smol's `LocalExecutor` (run by `block_on(ex.run(..))`).
pub fn smol_local(ex: &LocalExecutor<'_>, n: usize) {
    block_on(ex.run(async {
        let hs: Vec<_> = (0..n).map(|_| ex.spawn(async {})).collect();
        for h in hs {
            h.await;
        }
    }))
}

/// `spawn_many_remote_*` on smol's `LocalExecutor`.
pub fn smol_remote(ex: &LocalExecutor<'_>, n: usize) {
    let hs: Vec<_> = (0..n).map(|_| ex.spawn(async {})).collect();
    block_on(ex.run(async {
        for h in hs {
            h.await;
        }
    }))
}
