//! gather / try_gather / gather_settled / race / wait / as_completed, and the macros.

use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::time::Duration;

mod common;

use common::{flag, multi, paused, DropFlag};
use futures_lite::StreamExt;
use weft_executor::{as_completed, gather, gather_settled, race, try_gather, wait, ReturnWhen};

type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

fn after<T: Send + 'static>(ms: u64, v: T) -> BoxFut<T> {
    Box::pin(async move {
        weft_timer::sleep(Duration::from_millis(ms)).await;
        v
    })
}

#[test]
fn gather_returns_argument_order_and_borrows() {
    paused().block_on(async {
        let out = gather([after(30, 'a'), after(10, 'b'), after(20, 'c')]).await;
        assert_eq!(out, ['a', 'b', 'c']);
        // Same-task concurrency: futures may borrow locals and need not be Send.
        let words = ["x".to_string(), "yy".to_string()];
        let lens = gather(words.iter().map(|w| async move { w.len() })).await;
        assert_eq!(lens, [1, 2]);
        let rc = std::rc::Rc::new(5);
        let (a, b) = weft_executor::gather!(async { *rc + 1 }, async { "b" }).await;
        assert_eq!((a, b), (6, "b"));
        assert!(gather(Vec::<BoxFut<u8>>::new()).await.is_empty());
    });
}

#[test]
fn gather_runs_concurrently() {
    paused().block_on(async {
        let t0 = weft_timer::now();
        gather((0..50).map(|_| after(100, ()))).await;
        assert_eq!(weft_timer::now() - t0, Duration::from_millis(100));
    });
}

#[test]
fn gather_settled_turns_panics_into_values_and_keeps_going() {
    paused().block_on(async {
        let out = gather_settled([
            after(5, 1),
            Box::pin(async { panic!("one bad apple") }),
            after(10, 3),
        ])
        .await;
        assert_eq!(out.len(), 3);
        assert_eq!(*out[0].as_ref().unwrap(), 1);
        assert!(out[1].as_ref().unwrap_err().is_panic());
        assert_eq!(*out[2].as_ref().unwrap(), 3);
        // Errors of fallible futures are values too (return_exceptions=True).
        let out = gather([after(1, Ok(1)), after(2, Err("e"))]).await;
        assert_eq!(out, [Ok(1), Err("e")]);
    });
}

#[test]
fn try_gather_short_circuits_and_cancels_the_rest() {
    paused().block_on(async {
        let dropped = flag();
        let d = DropFlag(dropped.clone());
        let t0 = weft_timer::now();
        let r: Result<Vec<i32>, &str> = try_gather([
            after(5, Ok(1)),
            after(10, Err("first")),
            after(20, Err("second")),
            Box::pin(async move {
                let _d = d;
                pending().await
            }),
        ])
        .await;
        assert_eq!(r, Err("first"));
        assert_eq!(weft_timer::now() - t0, Duration::from_millis(10));
        assert!(dropped.load(SeqCst));
        let ok: Result<Vec<i32>, &str> = try_gather([after(3, Ok(1)), after(1, Ok(2))]).await;
        assert_eq!(ok, Ok(vec![1, 2]));
        // Macro form.
        let dropped2 = flag();
        let d2 = DropFlag(dropped2.clone());
        let r = weft_executor::try_gather!(after(1, Err::<u8, _>("m")), async move {
            let _d = d2;
            pending::<Result<&str, &str>>().await
        })
        .await;
        assert_eq!(r, Err("m"));
        assert!(dropped2.load(SeqCst));
    });
}

#[test]
fn race_first_wins_and_losers_are_dropped() {
    paused().block_on(async {
        let dropped = flag();
        let d = DropFlag(dropped.clone());
        let w = race([
            after(50, "slow"),
            after(5, "fast"),
            Box::pin(async move {
                let _d = d;
                pending().await
            }),
        ])
        .await;
        assert_eq!(w, Some("fast"));
        assert!(dropped.load(SeqCst));
        assert_eq!(race(Vec::<BoxFut<u8>>::new()).await, None);
    });
}

#[test]
fn as_completed_yields_in_completion_order() {
    paused().block_on(async {
        let s = as_completed([after(30, 3), after(10, 1), after(20, 2)]);
        assert_eq!(s.collect::<Vec<_>>().await, [1, 2, 3]);
        let s = as_completed([after(30, 'a'), after(10, 'b')]).with_index();
        assert_eq!(s.collect::<Vec<_>>().await, [(1, 'b'), (0, 'a')]);
        // Dropping the stream drops what has not completed.
        let dropped = flag();
        let d = DropFlag(dropped.clone());
        let mut s = as_completed([
            after(1, 1),
            Box::pin(async move {
                let _d = d;
                pending().await
            }),
        ]);
        assert_eq!(s.next().await, Some(1));
        assert_eq!(s.remaining(), 1);
        drop(s);
        assert!(dropped.load(SeqCst));
    });
}

// §2.8 item 14: wait returns (done, pending) and never cancels the pending ones.
#[test]
fn wait_never_cancels_pending_tasks() {
    let rt = multi(2);
    rt.block_on(async {
        let gate = Arc::new(weft_sync::Event::new());
        let gated = |r: Result<u64, String>| {
            let g = gate.clone();
            weft_executor::spawn(async move {
                g.wait().await;
                r
            })
        };
        let flatten =
            |r: Result<Result<u64, String>, weft_executor::JoinError>| r.expect("task failed");

        // FirstCompleted.
        let tasks = vec![gated(Ok(1)), weft_executor::spawn(async { Ok(2) })];
        let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted, None).await;
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].0, 1);
        assert_eq!(pending.len(), 1);
        let (idx, t) = pending.into_iter().next().unwrap();
        assert_eq!(idx, 0);
        assert!(!t.is_finished());

        // Timeout: nothing is cancelled, everything unfinished is pending.
        let tasks = vec![t, gated(Ok(3))];
        let (done, pending) = wait(
            tasks,
            ReturnWhen::AllCompleted,
            Some(Duration::from_millis(1)),
        )
        .await;
        assert!(done.is_empty());
        assert_eq!(pending.len(), 2);
        gate.set();
        let mut outs = Vec::new();
        for (_, t) in pending {
            outs.push(flatten(t.await));
        }
        assert_eq!(outs, [Ok(1), Ok(3)], "a pending task was cancelled");

        // AllCompleted.
        let tasks = vec![gated(Ok(4)), gated(Ok(5))];
        let (done, pending) = wait(tasks, ReturnWhen::AllCompleted, None).await;
        assert_eq!(done.len(), 2);
        assert!(pending.is_empty());
    });
}

#[test]
fn wait_first_error_stops_at_an_err() {
    paused().block_on(async {
        let futs = vec![
            after(1, Ok::<u8, &str>(1)),
            after(5, Err("bad")),
            after(50, Ok(3)),
        ];
        let (done, pending) = wait(futs, ReturnWhen::FirstError, None).await;
        assert_eq!(
            done.iter().map(|(i, r)| (*i, *r)).collect::<Vec<_>>(),
            [(0, Ok(1)), (1, Err("bad"))]
        );
        assert_eq!(pending.len(), 1);
        // The pending future is intact: it can still be awaited.
        let (i, f) = pending.into_iter().next().unwrap();
        assert_eq!((i, f.await), (2, Ok(3)));
    });
}

// asyncio FIRST_EXCEPTION over tasks that return `Result`: `Task::flatten` makes the task's own
// `Err` a failure for `wait`, which still cancels nothing.
#[test]
fn wait_first_error_sees_a_flattened_tasks_own_err() {
    use weft_executor::{spawn, wait, ReturnWhen, TaskError};
    let rt = multi(2);
    rt.block_on(async {
        let failing = spawn(async {
            weft_executor::yield_now().await;
            Err::<u32, &str>("bad")
        })
        .flatten();
        let stuck = spawn(std::future::pending::<Result<u32, &str>>()).flatten();
        let (done, pending) = wait(vec![failing, stuck], ReturnWhen::FirstError, None).await;
        assert_eq!(done.len(), 1);
        assert!(matches!(done[0], (0, Err(TaskError::Failed("bad")))));
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].0, 1);
        // The pending task was not cancelled; cancelling it now reports Cancelled.
        let (_, stuck) = pending.into_iter().next().unwrap();
        let err = stuck.into_task().cancel().await.unwrap_err();
        assert!(err.is_cancelled());
        // A panicking task shows up as a join failure.
        let panicked = spawn(async { panic!("boom") as Result<u32, &str> })
            .flatten()
            .await;
        assert!(matches!(panicked, Err(TaskError::Join(ref e)) if e.is_panic()));
    });
}

/// Tasks that finish (setting `done`) only once `gate` is set.
fn gated_tasks(
    n: usize,
    gate: &Arc<weft_sync::Event>,
    done: &Arc<std::sync::atomic::AtomicUsize>,
) -> Vec<weft_executor::Task<Result<(), ()>>> {
    (0..n)
        .map(|_| {
            let (gate, done) = (gate.clone(), done.clone());
            weft_executor::spawn(async move {
                gate.wait().await;
                done.fetch_add(1, SeqCst);
                Ok(())
            })
        })
        .collect()
}

// Issue 14, defect 4: dropping the `wait` future (a timeout around it) used to drop, so cancel,
// every task it held. It detaches them now: they run to completion.
#[test]
fn dropping_wait_does_not_cancel_owned_tasks() {
    common::within(60, || {
        multi(2).block_on(async {
            let gate = Arc::new(weft_sync::Event::new());
            let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let tasks = gated_tasks(3, &gate, &done);
            let r = weft_timer::timeout(
                Duration::from_millis(1),
                wait(tasks, ReturnWhen::AllCompleted, None),
            )
            .await;
            assert!(r.is_err(), "the tasks cannot finish before the gate opens");
            gate.set();
            while done.load(SeqCst) < 3 {
                weft_executor::yield_now().await;
            }
        });
    });
}

// Lent tasks stay reachable: after the dropped `wait`, the caller still awaits every one.
#[test]
fn dropping_wait_on_borrowed_tasks_leaves_them_reachable() {
    common::within(60, || {
        multi(2).block_on(async {
            let gate = Arc::new(weft_sync::Event::new());
            let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut tasks = gated_tasks(3, &gate, &done);
            let waiter = wait(tasks.iter_mut(), ReturnWhen::FirstCompleted, None);
            let r = weft_timer::timeout(Duration::from_millis(1), waiter).await;
            assert!(r.is_err());
            gate.set();
            for t in tasks {
                assert_eq!(t.await.unwrap(), Ok(()));
            }
            assert_eq!(done.load(SeqCst), 3);
        });
    });
}
