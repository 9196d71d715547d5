//! weft-sync is runtime-agnostic: the same workloads under tokio's multi-threaded runtime and
//! under async-executor.

#![cfg(not(loom))]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use common::{channel_mpmc, mutex_counter, with_async_executor, Spawn};

fn tokio_spawn(rt: &tokio::runtime::Runtime) -> Spawn {
    let handle = rt.handle().clone();
    Arc::new(move |fut: Pin<Box<dyn Future<Output = ()> + Send>>| {
        let h = handle.spawn(fut);
        Box::pin(async move { h.await.unwrap() })
    })
}

#[test]
fn works_under_tokio() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let spawn = tokio_spawn(&rt);
    rt.block_on(async move {
        assert_eq!(mutex_counter(spawn.clone(), 8, 10_000).await, 80_000);
        let mut got = channel_mpmc(spawn.clone(), 4, 4, 5_000, 8).await;
        got.sort_unstable();
        assert_eq!(got, (0..20_000).collect::<Vec<_>>());

        // Cross-task notification primitives.
        let token = weft_sync::CancellationToken::new();
        let t2 = token.child_token();
        let waiter = tokio::spawn(async move { t2.cancelled().await });
        token.cancel();
        waiter.await.unwrap();

        let (tx, rx) = weft_sync::channel::oneshot::channel();
        tokio::spawn(async move { tx.send(42).unwrap() });
        assert_eq!(rx.await, Ok(42));
    });
}

#[test]
fn works_under_async_executor() {
    with_async_executor(2, |spawn| async move {
        assert_eq!(mutex_counter(spawn.clone(), 8, 10_000).await, 80_000);
        let ev = Arc::new(weft_sync::Event::new());
        let ev2 = ev.clone();
        let w = spawn(Box::pin(async move { ev2.wait().await }));
        ev.set();
        w.await;
    });
}
