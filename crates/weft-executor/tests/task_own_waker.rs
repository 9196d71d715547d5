//! Stress tests of a task's own waker, kept in its metadata from spawn until its future is
//! dropped (issue 14, bytes per task: the `Task` handle and the registry entry hold no waker).
//! Abort handles are made and used from other threads while the tasks finish on the workers,
//! and while the runtime shuts down (which wakes every waiting task through that same waker):
//! a read of the waker racing its take would be a use after free or a double drop, and a task
//! whose waker is never taken would leak its allocation (and the runtime it keeps alive).
//! The protocol itself is also a loom model (`tests/loom.rs`).

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Weak};

mod common;

use common::{multi, within};

/// Counts its drops.
struct Dropped(Arc<AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

const TASKS: usize = 2_000;

/// Tasks finish (some after a few yields) on two workers while another thread makes an abort
/// handle of every task, over and over, and aborts every third: every future is dropped
/// exactly once, every task resolves, and the aborted ones that had not finished are
/// `Cancelled`.
#[test]
fn abort_handles_made_while_tasks_finish() {
    within(120, || {
        let rt = multi(2);
        let drops = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let d = Dropped(drops.clone());
                rt.spawn(async move {
                    let _d = d;
                    for _ in 0..i % 4 {
                        weft_executor::yield_now().await;
                    }
                    i
                })
            })
            .collect();
        std::thread::scope(|s| {
            s.spawn(|| {
                for round in 0..3 {
                    for (i, t) in tasks.iter().enumerate() {
                        let h = t.abort_handle();
                        assert_eq!(h.id(), t.id());
                        if round == 0 && i % 3 == 0 {
                            h.clone().abort();
                        }
                    }
                }
            });
        });
        let results = rt.block_on(async move {
            let mut v = Vec::new();
            for t in tasks {
                v.push(t.await);
            }
            v
        });
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(v) => assert_eq!(v, i),
                Err(e) => assert!(e.is_cancelled() && i % 3 == 0, "task {i}: {e:?}"),
            }
        }
        assert_eq!(
            drops.load(SeqCst),
            TASKS,
            "every future is dropped exactly once"
        );
    });
}

/// Waiting tasks, their abort handles used from another thread while the runtime shuts down
/// (shutdown wakes every registered task through the waker in its metadata, and each future's
/// drop takes it): every future is dropped once, and abort handles made afterwards do nothing.
#[test]
fn abort_handles_used_while_the_runtime_shuts_down() {
    within(120, || {
        let rt = multi(2);
        let drops = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let d = Dropped(drops.clone());
                rt.spawn(async move {
                    let _d = d;
                    std::future::pending::<()>().await
                })
            })
            .collect();
        // Every task has waited once (registered), so shutdown reaches it only through the
        // registry and the waker in its metadata.
        rt.block_on(async {
            for _ in 0..64 {
                weft_executor::yield_now().await;
            }
        });
        let handles: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
        std::thread::scope(|s| {
            s.spawn(|| {
                for (i, h) in handles.iter().enumerate() {
                    if i % 2 == 0 {
                        h.abort();
                    }
                    drop(h.clone());
                }
            });
            drop(rt);
        });
        assert_eq!(
            drops.load(SeqCst),
            TASKS,
            "every future is dropped exactly once"
        );
        // After shutdown the futures are gone, so new abort handles do nothing.
        for t in &tasks {
            t.abort_handle().abort();
        }
        drop(handles);
        drop(tasks);
    });
}

/// Every task's allocation is freed once its handles are gone: the waker each keeps for itself
/// goes with its future (else the allocation, and the runtime its schedule function owns,
/// would leak). Observed through the unhandled-error hook, holding an `Arc` marker: the
/// registry owns it, and every task's schedule function owns the registry's executor.
/// On a `LocalRuntime`, which is gone when its drop returns (a multi-threaded runtime's workers
/// may still be exiting then).
#[test]
fn no_task_allocation_outlives_its_handles() {
    within(60, || {
        let marker = Arc::new(());
        let weak: Weak<()> = Arc::downgrade(&marker);
        let rt = weft_executor::Runtime::builder()
            .on_unhandled_error(move |_| drop(marker.clone()))
            .build_local()
            .unwrap();
        let done = rt.spawn_local(async { 1 });
        let waiting = rt.spawn_local(std::future::pending::<()>());
        let aborted = rt.spawn_local(std::future::pending::<()>());
        let handles = [done.abort_handle(), waiting.abort_handle()];
        rt.block_on(async {
            weft_executor::yield_now().await;
            aborted.abort_handle().abort();
            assert!(aborted.await.unwrap_err().is_cancelled());
            assert_eq!(done.await.unwrap(), 1);
        });
        waiting.detach();
        drop(rt);
        assert!(
            weak.upgrade().is_some(),
            "the abort handles keep two tasks alive"
        );
        drop(handles);
        assert!(
            weak.upgrade().is_none(),
            "a task's allocation outlived its handles and its runtime"
        );
    });
}
