//! TaskGroup semantics: the research §2.8 checklist (docs/asyncio.md, ARCHITECTURE "Semantics
//! that are decided" 2).

use std::future::pending;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

mod common;

use common::{flag, local, multi, paused, DropFlag};
use weft_executor::{task_group, GroupError, Runtime, SpawnError, TaskGroup};
use weft_sync::Event;

fn counting_runtime(n: usize) -> (common::Watched, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let rt = Runtime::builder()
        .worker_threads(n)
        .on_unhandled_error(move |e| s.lock().unwrap().push(e.to_string()))
        .build()
        .unwrap();
    (common::Watched::new(rt), seen)
}

// §2.8 item 1: all succeed, results in spawn order.
#[test]
fn all_succeed_results_in_spawn_order() {
    multi(2).block_on(async {
        let mut g = TaskGroup::new();
        for i in 0..20u64 {
            g.spawn(async move {
                // Later children finish first.
                weft_timer::sleep(Duration::from_millis(20 - i)).await;
                Ok::<_, String>(i)
            });
        }
        assert_eq!(g.join().await.unwrap(), (0..20).collect::<Vec<_>>());
    });
}

// Item 2: one child errors: siblings cancelled (destructors observed), every error reported, and
// join waits for the siblings' cleanup (a slow destructor on another thread).
#[test]
fn first_error_cancels_siblings_and_join_waits_for_their_cleanup() {
    multi(2).block_on(async {
        let cleaned = flag();
        let mut g = TaskGroup::new();
        struct SlowCleanup(Arc<AtomicBool>);
        impl Drop for SlowCleanup {
            fn drop(&mut self) {
                // A destructor that takes a while, on a worker thread.
                std::thread::sleep(Duration::from_millis(30));
                self.0.store(true, SeqCst);
            }
        }
        let c = SlowCleanup(cleaned.clone());
        g.spawn(async move {
            let _g = c;
            pending::<Result<(), &str>>().await
        });
        g.spawn(async {
            weft_timer::sleep(Duration::from_millis(2)).await;
            Err("boom")
        });
        let err = g.join().await.unwrap_err();
        assert!(
            cleaned.load(SeqCst),
            "join returned before the sibling's cleanup ran"
        );
        assert_eq!(err.len(), 1);
        assert_eq!(err.errors().collect::<Vec<_>>(), [&"boom"]);
        assert!(err.to_string().contains("boom"), "{err}");
    });
}

// Item 2 (body part) and item 5: the body of the scoped form is interrupted at its next await
// when a child fails; a body error cancels the children and is reported.
#[test]
fn scoped_body_interrupted_by_child_failure() {
    let rt = local();
    let body_dropped = flag();
    let after_await = flag();
    let (bd, aa) = (body_dropped.clone(), after_await.clone());
    let r: Result<Vec<()>, GroupError<String>> = rt.block_on(task_group(|g| async move {
        let _f = DropFlag(bd);
        g.spawn(async { Err("child failed".to_string()) });
        pending::<()>().await;
        aa.store(true, SeqCst);
        Ok(())
    }));
    let err = r.unwrap_err();
    assert!(body_dropped.load(SeqCst));
    assert!(!after_await.load(SeqCst));
    assert_eq!(
        err.errors().collect::<Vec<_>>(),
        [&"child failed".to_string()]
    );
}

#[test]
fn scoped_body_error_cancels_children_and_is_reported() {
    let rt = local();
    let child_dropped = flag();
    let cd = child_dropped.clone();
    let r: Result<Vec<u8>, GroupError<String>> = rt.block_on(task_group(|g| async move {
        g.spawn(async move {
            let _f = DropFlag(cd);
            pending().await
        });
        weft_executor::yield_now().await; // let the child start
        Err("body failed".to_string())
    }));
    let err = r.unwrap_err();
    assert!(child_dropped.load(SeqCst));
    assert_eq!(err.len(), 1);
    assert!(
        err.first().task().is_none(),
        "the body's failure has no task"
    );
    assert_eq!(err.first().error().unwrap(), "body failed");
}

// Item 3: two children failing at the same time (both mid-poll on two workers when the first
// failure is processed) are both reported; so are all failures of a supervisor.
#[test]
fn simultaneous_failures_are_all_reported() {
    multi(2).block_on(async {
        let arrived = Arc::new((Mutex::new(0usize), std::sync::Condvar::new()));
        let mut g = TaskGroup::new();
        for i in 0..2 {
            let a = arrived.clone();
            g.spawn(async move {
                // Rendezvous inside one poll, so neither can be cancelled before failing.
                let (m, cv) = &*a;
                let mut n = m.lock().unwrap();
                *n += 1;
                cv.notify_all();
                while *n < 2 {
                    let (g, t) = cv.wait_timeout(n, Duration::from_secs(10)).unwrap();
                    n = g;
                    assert!(
                        !t.timed_out(),
                        "the two children never ran at the same time"
                    );
                }
                Err::<(), _>(format!("child {i}"))
            });
        }
        let err = g.join().await.unwrap_err();
        let mut msgs: Vec<_> = err.errors().cloned().collect();
        msgs.sort();
        assert_eq!(msgs, ["child 0", "child 1"]);
    });
}

#[test]
fn supervisor_failures_do_not_cancel_siblings() {
    local().block_on(async {
        let mut g = TaskGroup::supervisor();
        g.spawn(async { Err("a") });
        g.spawn(async {
            weft_executor::yield_now().await;
            weft_executor::yield_now().await;
            Ok(2)
        });
        g.spawn(async {
            weft_executor::yield_now().await;
            Err("c")
        });
        let err = g.join().await.unwrap_err();
        // Completion order.
        assert_eq!(err.errors().collect::<Vec<_>>(), [&"a", &"c"]);
    });
}

// Item 4: a panic in a child is caught, siblings are cancelled, the panic is reported as a
// failure and can be re-raised.
#[test]
fn panic_in_child_cancels_siblings_and_is_reported() {
    let rt = local();
    let sibling = flag();
    let s = sibling.clone();
    let err = rt.block_on(async move {
        let mut g = TaskGroup::<(), String>::new();
        g.spawn(async move {
            let _f = DropFlag(s);
            pending().await
        });
        g.spawn(async {
            weft_executor::yield_now().await;
            panic!("child exploded")
        });
        g.join().await.unwrap_err()
    });
    assert!(sibling.load(SeqCst));
    assert_eq!(err.len(), 1);
    assert!(err.has_panic());
    assert!(err.to_string().contains("child exploded"), "{err}");
    let re = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| err.resume_panic()));
    let payload = re.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"child exploded"));
}

// Item 4 bis: a cancelled child is not a failure (g.cancel() is graceful).
#[test]
fn cancel_is_graceful_and_not_an_error() {
    local().block_on(async {
        let mut g = TaskGroup::<u32, String>::new();
        let done = g.spawn(async { Ok(1) });
        assert_eq!(done.await, Some(1)); // taken by the handle
        let dropped = flag();
        let d = DropFlag(dropped.clone());
        g.spawn(async move {
            let _f = d;
            pending().await
        });
        let three = g.spawn(async { Ok(3) });
        for _ in 0..100 {
            if three.is_finished() {
                break;
            }
            weft_executor::yield_now().await;
        }
        assert!(three.is_finished());
        drop(three); // stop observing: the value goes to join
        g.cancel();
        assert_eq!(
            g.try_spawn(async { Ok(4) }).unwrap_err(),
            SpawnError::Cancelled
        );
        let out = g.join().await.unwrap();
        assert!(dropped.load(SeqCst));
        assert_eq!(out, [3]);
    });
}

// Item 6: the parent is cancelled while waiting in join, and a child also failed: the external
// cancellation wins (the awaiting task ends Cancelled, nothing swallows it), the still-running
// children are cancelled, and the failure nobody will see goes to the unhandled-error hook once.
#[test]
fn external_cancel_during_join_propagates_and_reports_failures() {
    let (rt, seen) = counting_runtime(2);
    rt.block_on(async {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let mut g = TaskGroup::new();
        // The failure waits until the blocker exists: a blocker cancelled before its first poll
        // has no cleanup, and the join would finish before the external cancel arrives.
        let started = Arc::new(Event::new());
        let blocker_started = started.clone();
        let failing = g.spawn(async move {
            started.wait().await;
            Err::<(), _>("lost failure")
        });
        g.spawn(async move {
            struct Blocker(mpsc::Receiver<()>);
            impl Drop for Blocker {
                fn drop(&mut self) {
                    let _ = self.0.recv_timeout(Duration::from_secs(10));
                }
            }
            let _b = Blocker(release_rx);
            blocker_started.set();
            pending().await
        });
        let outer = weft_executor::spawn(g.join());
        assert_eq!(failing.await, None); // the failure happened; join is waiting for cleanup
        let r = outer.cancel().await;
        assert!(
            r.unwrap_err().is_cancelled(),
            "external cancellation was swallowed"
        );
        release_tx.send(()).unwrap();
    });
    drop(rt);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("lost failure"), "{seen:?}");
}

// Item 7: a timeout wrapping a group whose body cancels it in the same tick as the deadline
// (asyncio gh-155433): the result is the timeout, not a silent success.
#[test]
fn timeout_wrapping_group_in_same_tick_as_group_cancel_is_elapsed() {
    let rt = paused();
    rt.block_on(async {
        let r = weft_timer::timeout(
            Duration::from_millis(10),
            task_group(|g| async move {
                g.spawn(async { pending::<Result<(), String>>().await });
                weft_timer::sleep(Duration::from_millis(10)).await;
                g.cancel();
                Ok(())
            }),
        )
        .await;
        assert!(r.is_err(), "timeout swallowed: {r:?}");
    });
}

// Item 7 bis: a child failing in the same tick as the deadline: the result is never a success.
#[test]
fn timeout_wrapping_group_in_same_tick_as_child_failure_is_never_ok() {
    let rt = paused();
    rt.block_on(async {
        let mut g = TaskGroup::<(), String>::new();
        g.spawn(async {
            weft_timer::sleep(Duration::from_millis(10)).await;
            Err("late".into())
        });
        g.spawn(async { pending().await });
        let r = weft_timer::timeout(Duration::from_millis(10), g.join()).await;
        match r {
            Err(_elapsed) => {}
            Ok(Err(e)) => assert_eq!(e.first().error().unwrap(), "late"),
            Ok(Ok(v)) => panic!("a failing group returned Ok({v:?})"),
        }
    });
}

// Item 9: cancel before start: the body never runs, captured values are dropped, no error.
#[test]
fn cancel_before_start_never_runs_the_body() {
    let (rt, seen) = counting_runtime(1);
    rt.block_on(async {
        let ran = flag();
        let captured = flag();
        let r = ran.clone();
        let c = DropFlag(captured.clone());
        // A limit of 1 and a blocker keep the second child from starting.
        let mut g = TaskGroup::<(), String>::with_limit(1);
        g.spawn(async { pending().await });
        let h = g.spawn(async move {
            let _c = c;
            r.store(true, SeqCst);
            Ok(())
        });
        weft_executor::yield_now().await;
        g.cancel();
        assert_eq!(h.await, None);
        assert!(g.join().await.unwrap().is_empty());
        assert!(!ran.load(SeqCst));
        assert!(captured.load(SeqCst));
    });
    drop(rt);
    assert!(seen.lock().unwrap().is_empty());
}

// Item 10: spawn after abort / after finish is refused, and the future never runs.
#[test]
fn spawn_after_abort_or_finish_is_refused_and_never_runs() {
    local().block_on(async {
        let mut g = TaskGroup::<(), &str>::new();
        let sp = g.spawner();
        assert_eq!(g.spawn(async { Err("x") }).await, None);
        let ran = flag();
        let dropped = flag();
        let (r, d) = (ran.clone(), DropFlag(dropped.clone()));
        let h = g.spawn(async move {
            let _d = d;
            r.store(true, SeqCst);
            Ok(())
        });
        assert!(h.info().is_none());
        assert_eq!(h.await, None);
        assert!(dropped.load(SeqCst) && !ran.load(SeqCst));
        assert_eq!(
            g.try_spawn(async { Ok(()) }).unwrap_err(),
            SpawnError::Aborting
        );
        assert!(g.join().await.is_err());
        let e = sp.try_spawn(async { Ok(()) }).unwrap_err();
        assert_eq!(e, SpawnError::Finished);
        assert!(e.to_string().contains("create a new group"));
    });
}

// Item 11: a handle dropped inside a group only stops observing: the child runs and is joined.
#[test]
fn dropped_handle_child_still_runs_and_is_joined() {
    multi(2).block_on(async {
        let mut g = TaskGroup::new();
        let ran = Arc::new(AtomicUsize::new(0));
        for i in 0..3 {
            let r = ran.clone();
            drop(g.spawn(async move {
                weft_timer::sleep(Duration::from_millis(2)).await;
                r.fetch_add(1, SeqCst);
                Ok::<_, String>(i)
            }));
        }
        assert_eq!(g.join().await.unwrap(), [0, 1, 2]);
        assert_eq!(ran.load(SeqCst), 3);
    });
}

// Item 11 bis: at top level a dropped Task is cancelled; a detached one runs.
#[test]
fn top_level_task_drop_cancels_detach_runs() {
    local().block_on(async {
        let dropped = flag();
        let d = DropFlag(dropped.clone());
        drop(weft_executor::spawn(async move {
            let _d = d;
            pending::<()>().await
        }));
        weft_executor::yield_now().await;
        assert!(dropped.load(SeqCst));
        let ev = Arc::new(Event::new());
        let e = ev.clone();
        weft_executor::spawn(async move { e.set() }).detach();
        ev.wait().await;
    });
}

// Item 12: failures never observed reach the hook exactly once; joined ones never do.
#[test]
fn unhandled_hook_fires_once_for_dropped_group_and_never_for_joined() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel::<()>();
    let (s, tx) = (seen.clone(), Mutex::new(tx));
    let rt = common::Watched::new(
        Runtime::builder()
            .worker_threads(1)
            .on_unhandled_error(move |e| {
                s.lock().unwrap().push(e.to_string());
                let _ = tx.lock().unwrap().send(());
            })
            .build()
            .unwrap(),
    );
    rt.block_on(async {
        let mut g = TaskGroup::<(), String>::new();
        g.spawn(async { Err("observed".into()) });
        assert!(g.join().await.is_err());

        let mut g = TaskGroup::<(), String>::supervisor();
        let h = g.spawn(async { Err("never observed".into()) });
        g.spawn(async { pending().await });
        assert_eq!(h.await, None);
        drop(g); // never joined: reported now, on this thread
        weft_executor::spawn(async { panic!("detached panic") }).detach();
    });
    // Two reports expected; wait for them (bounded), then make sure no third one comes.
    for _ in 0..2 {
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    drop(rt);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter().any(|s| s.contains("never observed")),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|s| s.contains("detached panic")),
        "{seen:?}"
    );
}

// Item 16: a child that fails at once (possibly before `spawn` returns, on another worker) is
// registered before its failure is processed: the group always sees it and cancels the rest.
#[test]
fn eager_failure_is_registered_before_it_is_processed() {
    let rt = multi(2);
    for _ in 0..200 {
        rt.block_on(async {
            let late_dropped = flag();
            let ld = DropFlag(late_dropped.clone());
            let mut g = TaskGroup::<(), &str>::new();
            g.spawn(async { Err("fast") });
            std::thread::yield_now(); // give a worker the chance to run it first
            let late = g.spawn(async move {
                let _d = ld;
                pending().await
            });
            let err = g.join().await.unwrap_err();
            assert_eq!(err.len(), 1);
            assert_eq!(late.await, None);
            assert!(late_dropped.load(SeqCst));
        });
    }
}

// with_limit (and .limit on a supervisor) never runs more than n children at once.
#[test]
fn with_limit_never_exceeds_n() {
    type G = TaskGroup<i32, std::convert::Infallible>;
    for make in [|| G::with_limit(3), || G::supervisor().limit(3)] {
        multi(2).block_on(async {
            let running = Arc::new(AtomicUsize::new(0));
            let max = Arc::new(AtomicUsize::new(0));
            let mut g = make();
            for i in 0..40 {
                let (r, m) = (running.clone(), max.clone());
                g.spawn_ok(async move {
                    let now = r.fetch_add(1, SeqCst) + 1;
                    m.fetch_max(now, SeqCst);
                    weft_timer::sleep(Duration::from_millis(1)).await;
                    weft_executor::yield_now().await;
                    r.fetch_sub(1, SeqCst);
                    i
                });
            }
            let out = g.join().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(out, (0..40).collect::<Vec<_>>());
            let m = max.load(SeqCst);
            assert!((1..=3).contains(&m), "max concurrency {m}");
        });
    }
}

// Children can spawn siblings through a GroupSpawner; names show up in failures.
#[test]
fn children_spawn_siblings_and_names_are_reported() {
    local().block_on(async {
        let mut g = TaskGroup::<u32, String>::new();
        let sp = g.spawner();
        g.spawn(async move {
            sp.spawn_named("grandchild", async { Err("deep".to_string()) });
            Ok(1)
        });
        let err = g.join().await.unwrap_err();
        assert_eq!(err.first().task().unwrap().name(), Some("grandchild"));
        assert!(err.to_string().contains("\"grandchild\""), "{err}");
    });
}

// A single child can be cancelled through its handle; that is not a failure.
#[test]
fn handle_cancel_cancels_one_child() {
    local().block_on(async {
        let mut g = TaskGroup::<u32, String>::new();
        let h = g.spawn(async { pending().await });
        g.spawn(async { Ok(7) });
        for _ in 0..10 {
            weft_executor::yield_now().await;
        }
        assert_eq!(
            g.live(),
            1,
            "the second child finished, the first still runs"
        );
        h.cancel();
        for _ in 0..10 {
            weft_executor::yield_now().await;
        }
        assert!(h.is_finished(), "the cancelled child is still running");
        assert_eq!(g.live(), 0);
        assert_eq!(g.join().await.unwrap(), [7]);
        assert_eq!(h.await, None);
    });
}

// A child that fails after its group was dropped (it was mid-poll on a worker, so the
// cancellation could not stop it) reports to the hook: nothing is lost silently.
#[test]
fn failure_after_group_was_dropped_reaches_the_hook() {
    let (rt, seen) = counting_runtime(2);
    rt.block_on(async {
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let mut g = TaskGroup::<(), String>::new();
        g.spawn(async move {
            started_tx.send(()).unwrap();
            // Blocks inside one poll, so dropping the group cannot interrupt it.
            let _ = go_rx.recv_timeout(Duration::from_secs(10));
            Err("failed after drop".to_string())
        });
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        drop(g);
        go_tx.send(()).unwrap();
    });
    drop(rt); // waits for the workers, so for the child's poll to end
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("failed after drop"), "{seen:?}");
}

// A panic in the scoped body itself unwinds (it is not a child), and the children are
// cancelled on the way out.
#[test]
fn panic_in_scoped_body_unwinds_and_cancels_children() {
    let rt = local();
    let child_dropped = flag();
    let cd = DropFlag(child_dropped.clone());
    let task = rt.spawn_local(task_group(|g| async move {
        g.spawn(async move {
            let _d = cd;
            pending::<Result<(), String>>().await
        });
        weft_executor::yield_now().await;
        panic!("body exploded");
    }));
    let err = rt.block_on(task).unwrap_err();
    assert!(err.is_panic());
    // The cancelled child's future is dropped when the runtime next runs it.
    rt.block_on(async {
        for _ in 0..100 {
            if child_dropped.load(SeqCst) {
                break;
            }
            weft_executor::yield_now().await;
        }
    });
    assert!(child_dropped.load(SeqCst));
    assert_eq!(rt.alive_count(), 0);
}

// Item 8 and item 3 ("one erroring during cancellation cleanup"): with a grace period, the
// group's token is cancelled first; a child that honours it runs async cleanup (and its error
// during cleanup is reported too); a child that ignores it is dropped when the grace period
// ends, so the group still terminates.
#[test]
fn grace_period_allows_async_cleanup_then_hard_cancels() {
    let rt = paused();
    rt.block_on(async {
        let grace = Duration::from_secs(1);
        let mut g = TaskGroup::<(), String>::new().grace_period(grace);
        let token = g.token();
        let cleaned = flag();
        let c = cleaned.clone();
        g.spawn(async move {
            token.cancelled().await;
            weft_timer::sleep(Duration::from_millis(10)).await; // async cleanup
            c.store(true, SeqCst);
            Err("cleanup failed".into())
        });
        let stubborn = flag();
        let s = DropFlag(stubborn.clone());
        g.spawn(async move {
            let _s = s;
            pending().await // ignores the token
        });
        g.spawn(async {
            weft_timer::sleep(Duration::from_millis(5)).await;
            Err("first".into())
        });
        let t0 = weft_timer::now();
        let err = g.join().await.unwrap_err();
        let waited = weft_timer::now() - t0;
        assert_eq!(
            err.errors().collect::<Vec<_>>(),
            [&"first".to_string(), &"cleanup failed".to_string()]
        );
        assert!(cleaned.load(SeqCst));
        assert!(stubborn.load(SeqCst));
        assert!(waited >= grace && waited < grace * 2, "{waited:?}");
    });
}

// Without a grace period the token still fires, and children are dropped at once.
#[test]
fn token_fires_on_cancel_without_grace() {
    local().block_on(async {
        let g = TaskGroup::<(), String>::new();
        let token = g.token();
        assert!(!token.is_cancelled());
        g.cancel();
        assert!(token.is_cancelled());
        assert!(g.join().await.unwrap().is_empty());
    });
}

// Issue 14, defect 1: a finished child's handle kept the group's slot index for its task, and a
// later child reused that index, so `a.cancel()` after `a` finished cancelled `b`.
#[test]
fn cancelling_a_finished_child_never_cancels_a_later_one() {
    local().block_on(async {
        let mut g = TaskGroup::<u32, String>::new();
        let a = g.spawn(async { Ok(1) });
        for _ in 0..100 {
            weft_executor::yield_now().await;
        }
        assert!(a.is_finished());
        let b_dropped = flag();
        let d = DropFlag(b_dropped.clone());
        let b = g.spawn(async move {
            let _d = d;
            pending::<Result<u32, String>>().await
        });
        weft_executor::yield_now().await;
        a.cancel();
        for _ in 0..10 {
            weft_executor::yield_now().await;
        }
        assert!(
            !b_dropped.load(SeqCst) && !b.is_finished(),
            "cancelling the finished child `a` cancelled the later child `b`"
        );
        g.cancel();
        assert_eq!(g.join().await.unwrap(), [1]);
        assert!(b_dropped.load(SeqCst));
    });
}

// Issue 14, defect 1 (racy variant): a child that completes after `handle.cancel()` (it was
// mid-poll, so the cancel could not stop it) used to detach whichever sibling had reused its
// slot; that sibling then escaped fail-fast cancellation and `join` never returned.
#[test]
fn a_child_finishing_after_its_cancel_does_not_detach_a_sibling() {
    common::within(60, || {
        let rt = multi(2);
        rt.block_on(async {
            let (started_tx, started_rx) = mpsc::channel::<()>();
            let (go_tx, go_rx) = mpsc::channel::<()>();
            let mut g = TaskGroup::<(), String>::new();
            let a = g.spawn(async move {
                started_tx.send(()).unwrap();
                // Blocks inside one poll, so `a.cancel()` cannot stop it.
                let _ = go_rx.recv_timeout(Duration::from_secs(20));
                Ok(())
            });
            started_rx.recv_timeout(Duration::from_secs(20)).unwrap();
            a.cancel();
            let b_dropped = flag();
            let d = DropFlag(b_dropped.clone());
            let _b = g.spawn(async move {
                let _d = d;
                pending::<Result<(), String>>().await
            });
            go_tx.send(()).unwrap();
            while g.live() > 1 {
                weft_executor::yield_now().await;
            }
            g.spawn(async { Err("fail".to_string()) });
            let err = g.join().await.unwrap_err();
            assert_eq!(err.errors().collect::<Vec<_>>(), [&"fail".to_string()]);
            assert!(
                b_dropped.load(SeqCst),
                "the sibling escaped fail-fast cancellation"
            );
        });
    });
}

/// A child whose cleanup is slow and runs on a worker thread.
fn slow_cleanup_child(g: &mut TaskGroup<(), String>, cleaned: &Arc<AtomicUsize>) {
    struct Slow(Arc<AtomicUsize>);
    impl Drop for Slow {
        fn drop(&mut self) {
            std::thread::sleep(Duration::from_millis(10));
            self.0.fetch_add(1, SeqCst);
        }
    }
    let s = Slow(cleaned.clone());
    g.spawn(async move {
        let _s = s;
        pending::<Result<(), String>>().await
    });
}

// Issue 14, defect 6: the awaitable forms guarantee the children's cleanup ran, every time.
#[test]
fn cancel_and_join_waits_for_every_childs_cleanup() {
    common::within(60, || {
        multi(2).block_on(async {
            for _ in 0..10 {
                let cleaned = Arc::new(AtomicUsize::new(0));
                let mut g = TaskGroup::<(), String>::new();
                for _ in 0..3 {
                    slow_cleanup_child(&mut g, &cleaned);
                }
                weft_executor::yield_now().await;
                assert!(g.cancel_and_join().await.unwrap().is_empty());
                assert_eq!(
                    cleaned.load(SeqCst),
                    3,
                    "cancel_and_join returned before cleanup"
                );
            }
        });
    });
}

#[test]
fn cancelling_a_runners_group_from_outside_lets_its_join_wait_for_cleanup() {
    common::within(60, || {
        multi(2).block_on(async {
            for _ in 0..10 {
                let cleaned = Arc::new(AtomicUsize::new(0));
                let mut g = TaskGroup::<(), String>::new();
                for _ in 0..3 {
                    slow_cleanup_child(&mut g, &cleaned);
                }
                let spawner = g.spawner();
                let runner = weft_executor::spawn(g.join());
                weft_executor::yield_now().await;
                spawner.cancel();
                assert!(runner.await.unwrap().unwrap().is_empty());
                assert_eq!(
                    cleaned.load(SeqCst),
                    3,
                    "the runner resolved before cleanup"
                );
            }
        });
    });
}
