//! Stress tests of the uncounted copy of its waker that every task keeps in its metadata
//! (issue 14, bytes per task: the `Task` handle and the registry entry hold no waker; abort
//! handles and shutdown clone that copy). Abort handles are made and used from other threads
//! while the tasks finish on the workers, and while the runtime shuts down (which wakes every
//! waiting task through clones of that copy): a clone made after the task was freed would be a
//! use after free, a copy that owned a reference would leak the task's allocation (and the
//! runtime it keeps alive), and one dropped as a waker would free it early.

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
/// (shutdown wakes every registered task through a clone of the waker in its metadata): every
/// future is dropped once, and abort handles made afterwards do nothing.
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
        // registry and the waker copy in its metadata.
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

/// Every task's allocation is freed once its handles are gone: the waker copy in its metadata
/// owns no reference (else the allocation, and the runtime its schedule function owns, would
/// leak), and the handles' clones keep it alive until they go. Observed through the unhandled-error hook, holding an `Arc` marker: the
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

/// A waiting task nothing else references (detached, its waker stored nowhere) stays alive
/// through the reference its registry entry owns, and shutdown drops its future: without that
/// reference async-task would free the task (without dropping its future) as soon as its poll
/// returned, leaving the registry pointing at freed memory.
#[test]
fn an_unreferenced_waiting_task_lives_until_shutdown() {
    within(60, || {
        for local in [true, false] {
            let drops = Arc::new(AtomicUsize::new(0));
            let d = Dropped(drops.clone());
            let fut = async move {
                let _d = d;
                std::future::pending::<()>().await
            };
            if local {
                let rt = weft_executor::LocalRuntime::new().unwrap();
                rt.spawn_local(fut).detach();
                rt.block_on(async {
                    for _ in 0..8 {
                        weft_executor::yield_now().await;
                    }
                });
                assert_eq!(drops.load(SeqCst), 0);
                drop(rt);
            } else {
                let rt = multi(2);
                rt.spawn(fut).detach();
                rt.block_on(async {
                    for _ in 0..64 {
                        weft_executor::yield_now().await;
                    }
                });
                drop(rt);
            }
            assert_eq!(
                drops.load(SeqCst),
                1,
                "local {local}: shutdown drops the future once"
            );
        }
    });
}
