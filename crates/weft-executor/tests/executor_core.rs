//! Acceptance tests for the executor core (issue 3).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

mod common;

use common::{multi, run_as_child, within};
use weft_executor::task::{self, UnhandledError};
use weft_executor::{spawn, yield_now, JoinError, LocalRuntime, Runtime, Task};

/// A future that stays pending until `open` is called.
#[derive(Clone, Default)]
struct Gate(
    Arc<Mutex<(bool, Option<Waker>)>>,
    Arc<Mutex<Option<mpsc::Sender<()>>>>,
);

impl Gate {
    fn open(&self) {
        let w = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
    fn wait(&self) -> GateWait {
        GateWait(self.clone())
    }
}

struct GateWait(Gate);

impl Future for GateWait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = (self.0).0.lock().unwrap();
        if g.0 {
            Poll::Ready(())
        } else {
            g.1 = Some(cx.waker().clone());
            if let Some(tx) = (self.0).1.lock().unwrap().take() {
                let _ = tx.send(());
            }
            Poll::Pending
        }
    }
}

/// Sends on drop.
struct OnDrop(Option<mpsc::Sender<()>>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// Pending forever while holding `d` (so `d` reports when the task is cancelled).
async fn pending_holding(d: OnDrop) {
    let _d = d;
    std::future::pending::<()>().await
}

/// Yields until `stop` is set: a task that is always ready to run.
async fn yield_until(stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        yield_now().await;
    }
}

fn spawn_many(workers: usize, lifo: bool) {
    within(60, move || {
        const N: usize = 100_000;
        let rt = Runtime::builder()
            .worker_threads(workers)
            .lifo_slot(lifo)
            .build()
            .unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let total = rt.block_on(async move {
            // Half spawned from outside the workers (global queue) ...
            let mut tasks: Vec<Task<usize>> = (0..N / 2)
                .map(|i| {
                    let d = d.clone();
                    spawn(async move {
                        d.fetch_add(1, Ordering::Relaxed);
                        i
                    })
                })
                .collect();
            // ... and half from inside a task (the worker's local queue).
            let d2 = d.clone();
            let inner = spawn(async move {
                let ts: Vec<Task<usize>> = (N / 2..N)
                    .map(|i| {
                        let d = d2.clone();
                        spawn(async move {
                            d.fetch_add(1, Ordering::Relaxed);
                            i
                        })
                    })
                    .collect();
                let mut s = 0;
                for t in ts {
                    s += t.await.unwrap();
                }
                s
            });
            let mut s = inner.await.unwrap();
            for t in tasks.drain(..) {
                s += t.await.unwrap();
            }
            s
        });
        assert_eq!(done.load(Ordering::Relaxed), N);
        assert_eq!(total, (0..N).sum::<usize>());
        assert_eq!(rt.handle().alive_count(), 0);
    });
}

#[test]
fn spawn_100k_on_1_worker() {
    spawn_many(1, false);
}

#[test]
fn spawn_100k_on_2_workers() {
    spawn_many(2, false);
}

#[test]
fn spawn_100k_on_4_workers() {
    spawn_many(4, false);
}

#[test]
fn spawn_100k_on_2_workers_with_lifo_slot() {
    spawn_many(2, true);
}

/// Returns Pending once, after making sure another thread has woken it while it was running.
struct WokenWhileRunning {
    helper: mpsc::Sender<(Waker, Arc<AtomicBool>)>,
    polled: bool,
}

impl Future for WokenWhileRunning {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.polled {
            return Poll::Ready(());
        }
        self.polled = true;
        let flag = Arc::new(AtomicBool::new(false));
        self.helper
            .send((cx.waker().clone(), flag.clone()))
            .unwrap();
        // Stay inside poll until the other thread has called wake().
        let start = Instant::now();
        while !flag.load(Ordering::Acquire) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "helper never woke us"
            );
            std::hint::spin_loop();
        }
        Poll::Pending
    }
}

#[test]
fn woken_from_another_thread_while_running_is_repolled() {
    within(60, || {
        let (tx, rx) = mpsc::channel::<(Waker, Arc<AtomicBool>)>();
        let helper = std::thread::spawn(move || {
            for (w, flag) in rx {
                w.wake();
                flag.store(true, Ordering::Release);
            }
        });
        let rt = multi(2);
        let n = rt.block_on(async move {
            let t = spawn(async move {
                for _ in 0..10_000 {
                    WokenWhileRunning {
                        helper: tx.clone(),
                        polled: false,
                    }
                    .await;
                }
                10_000
            });
            t.await.unwrap()
        });
        assert_eq!(n, 10_000);
        drop(rt);
        helper.join().unwrap();
    });
}

#[test]
fn dropping_a_task_cancels_it_before_its_next_poll() {
    within(30, || {
        let rt = multi(2);
        let gate = Gate::default();
        let after = Arc::new(AtomicBool::new(false));
        // Signalled once the task is suspended at its await.
        let (started_tx, started_rx) = mpsc::channel();
        *gate.1.lock().unwrap() = Some(started_tx);
        let (dropped_tx, dropped_rx) = mpsc::channel();
        let (g, a) = (gate.clone(), after.clone());
        let task = rt.spawn(async move {
            let _d = OnDrop(Some(dropped_tx));
            g.wait().await;
            a.store(true, Ordering::SeqCst);
        });
        started_rx.recv().unwrap();
        drop(task);
        gate.open();
        dropped_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(!after.load(Ordering::SeqCst), "the task ran past its await");
        drop(rt);
        assert!(!after.load(Ordering::SeqCst));
    });
}

#[test]
fn detached_task_keeps_running() {
    within(30, || {
        let rt = multi(2);
        let (tx, rx) = mpsc::channel();
        rt.spawn(async move {
            for _ in 0..10 {
                yield_now().await;
            }
            tx.send(42).unwrap();
        })
        .detach();
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 42);
    });
}

#[test]
fn panic_becomes_join_error_and_worker_survives() {
    within(30, || {
        let hook_calls = Arc::new(AtomicUsize::new(0));
        let h = hook_calls.clone();
        let rt = Runtime::builder()
            .worker_threads(1)
            .on_unhandled_error(move |_| {
                h.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        let err = rt.block_on(rt.spawn(async { panic!("boom") })).unwrap_err();
        assert!(err.is_panic() && !err.is_cancelled());
        assert_eq!(err.to_string(), "task panicked: boom");
        let payload = err.into_panic();
        assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "boom");
        // The single worker is still alive and runs more tasks.
        for i in 0..100 {
            assert_eq!(rt.block_on(rt.spawn(async move { i })).unwrap(), i);
        }
        drop(rt);
        assert_eq!(
            hook_calls.load(Ordering::SeqCst),
            0,
            "an awaited panic is observed"
        );
    });
}

#[test]
fn cancel_returns_output_or_cancelled() {
    within(30, || {
        let rt = multi(1);
        rt.block_on(async {
            let t = spawn(async { 5 });
            while !t.is_finished() {
                yield_now().await;
            }
            assert_eq!(t.cancel().await.unwrap(), 5);
            let t = spawn(std::future::pending::<()>());
            assert!(t.cancel().await.unwrap_err().is_cancelled());
        });
    });
}

/// `b` (one worker): a task that is always ready starves neither a timer nor a task injected
/// from outside. The timer belongs to timers only the worker drives and this thread waits on a
/// plain channel, so the timer fires only if the busy worker itself gets back to processing
/// timers (its loop returns to `block_on` at least every `WORKER_BUDGET` tasks).
fn starvation_on(b: weft_executor::RuntimeBuilder) {
    within(30, move || {
        let (rt, _timers) = common::with_worker_only_timers(b.worker_threads(1));
        let stop = Arc::new(AtomicBool::new(false));
        let spins = Arc::new(AtomicUsize::new(0));
        let (s, n) = (stop.clone(), spins.clone());
        let busy = rt.spawn(async move {
            while !s.load(Ordering::SeqCst) {
                n.fetch_add(1, Ordering::Relaxed);
                yield_now().await;
            }
        });
        // A timer must fire although the busy task never stops being ready...
        let s = stop.clone();
        let (fired_tx, fired_rx) = mpsc::channel();
        rt.spawn(async move {
            weft_timer::sleep(Duration::from_millis(20)).await;
            s.store(true, Ordering::SeqCst);
            fired_tx.send(()).unwrap();
        })
        .detach();
        // Not `block_on`: this thread must not drive anything for the worker.
        fired_rx.recv().unwrap();
        rt.block_on(busy).unwrap();
        assert!(spins.load(Ordering::Relaxed) > 0);
        // ... and a task injected from outside must run too (global queue checked every 61 ticks).
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let busy = rt.spawn(yield_until(s));
        let s = stop.clone();
        let other = rt.spawn(async move { s.store(true, Ordering::SeqCst) });
        rt.block_on(async {
            other.await.unwrap();
            busy.await.unwrap();
        });
    });
}

#[test]
fn busy_yielding_task_cannot_starve_timer_or_other_tasks() {
    starvation_on(Runtime::builder().lifo_slot(false));
}

#[test]
fn busy_yielding_task_cannot_starve_with_lifo_slot() {
    starvation_on(Runtime::builder().lifo_slot(true));
}

#[test]
fn lifo_slot_is_bounded_so_queued_tasks_run() {
    // Two tasks waking each other through the LIFO slot forever must not starve a third task
    // queued on the same worker (at most 3 LIFO picks in a row).
    within(30, || {
        let rt = Runtime::builder()
            .worker_threads(1)
            .lifo_slot(true)
            .build()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let mk = |stop: Arc<AtomicBool>, slot: Arc<Mutex<Option<Waker>>>| {
            std::future::poll_fn(move |cx| {
                if stop.load(Ordering::SeqCst) {
                    return Poll::Ready(());
                }
                // Wake the partner (a non-yield wake from a worker: LIFO) and park ourselves.
                let other = slot.lock().unwrap().replace(cx.waker().clone());
                if let Some(w) = other {
                    w.wake();
                }
                Poll::Pending
            })
        };
        let a = rt.spawn(mk(stop.clone(), slot.clone()));
        let b = rt.spawn(mk(stop.clone(), slot.clone()));
        let s = stop.clone();
        let c = rt.spawn(async move {
            yield_now().await;
            s.store(true, Ordering::SeqCst);
        });
        rt.block_on(async {
            c.await.unwrap();
            let w = slot.lock().unwrap().take();
            if let Some(w) = w {
                w.wake();
            }
            a.await.unwrap();
            b.await.unwrap();
        });
    });
}

#[test]
fn busy_yielding_task_cannot_starve_on_local_runtime() {
    within(30, || {
        let rt = LocalRuntime::new().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let busy = rt.spawn_local(yield_until(s));
        let s = stop.clone();
        rt.block_on(async move {
            let t = weft_executor::spawn(async move {
                weft_timer::sleep(Duration::from_millis(20)).await;
                s.store(true, Ordering::SeqCst);
            });
            t.await.unwrap();
            busy.await.unwrap();
        });
    });
}

#[test]
fn run_returns_value_and_leaves_no_task_running() {
    within(30, || {
        let (dropped_tx, dropped_rx) = mpsc::channel();
        let ticks = Arc::new(AtomicUsize::new(0));
        let t2 = ticks.clone();
        let d2 = dropped_tx.clone();
        let v = weft_executor::run(async move {
            // A detached task that would run forever.
            let d = OnDrop(Some(d2));
            spawn(async move {
                let _d = d;
                loop {
                    t2.fetch_add(1, Ordering::Relaxed);
                    yield_now().await;
                }
            })
            .detach();
            // A detached task waiting on something that never happens.
            spawn(pending_holding(OnDrop(Some(dropped_tx)))).detach();
            yield_now().await;
            "value"
        });
        assert_eq!(v, "value");
        // Both leftover tasks were cancelled (their futures dropped) before run returned.
        dropped_rx.try_recv().unwrap();
        dropped_rx.try_recv().unwrap();
        let n = ticks.load(Ordering::Relaxed);
        std::thread::yield_now();
        assert_eq!(ticks.load(Ordering::Relaxed), n);
    });
}

#[test]
fn debug_mode_warns_once_for_a_blocking_poll() {
    within(30, || {
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let w = warnings.clone();
        let rt = Runtime::builder()
            .worker_threads(2)
            .debug(true)
            .on_slow_poll(move |s| w.lock().unwrap().push(s.clone()))
            .build()
            .unwrap();
        rt.block_on(async {
            // Well-behaved tasks: no warnings.
            let ts: Vec<_> = (0..50)
                .map(|_| {
                    spawn(async {
                        for _ in 0..5 {
                            yield_now().await;
                        }
                    })
                })
                .collect();
            for t in ts {
                t.await.unwrap();
            }
            // No assertion that these produced no warning: a worker thread preempted for more
            // than the threshold (a loaded machine, valgrind) makes any poll slow. The claim
            // under test is about the task that blocks, named below.
            let bad = task::Builder::new().name("sleepy").spawn(async {
                yield_now().await;
                std::thread::sleep(Duration::from_millis(200)); // the bug under test
                yield_now().await;
            });
            bad.await.unwrap();
        });
        // The hook runs right after the slow poll returns; joining the workers orders it
        // before the checks below.
        drop(rt);
        let all = warnings.lock().unwrap();
        let w: Vec<_> = all
            .iter()
            .filter(|s| s.task().name() == Some("sleepy"))
            .collect();
        // One warning for the blocking poll; under a slow machine (valgrind) its two quick
        // polls may cross the threshold too, but a poll is reported at most once.
        assert!((1..=3).contains(&w.len()), "{all:?}");
        assert!(w[0].task().location().file().ends_with("executor_core.rs"));
        assert!(w.iter().any(|s| s.duration() >= Duration::from_millis(200)));
        assert!(w[0].to_string().contains("sleepy"));
    });
}

#[test]
fn debug_mode_off_reports_nothing() {
    within(30, || {
        let n = Arc::new(AtomicUsize::new(0));
        let c = n.clone();
        let rt = LocalRuntime::builder()
            .debug(false)
            .slow_poll_threshold(Duration::from_millis(1))
            .on_slow_poll(move |_| {
                c.fetch_add(1, Ordering::SeqCst);
            })
            .build_local()
            .unwrap();
        rt.block_on(rt.spawn_local(async { std::thread::sleep(Duration::from_millis(5)) }))
            .unwrap();
        assert_eq!(n.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn alive_tasks_are_listed_then_cancelled_at_shutdown() {
    within(30, || {
        let rt = multi(1);
        let (dropped_tx, dropped_rx) = mpsc::channel();
        let t = task::Builder::new()
            .name("stuck")
            .spawn(pending_holding(OnDrop(Some(dropped_tx))));
        // Outside a runtime, spawn goes to the global runtime; dropping the Task cancels it.
        drop(t);
        dropped_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let (dropped_tx, dropped_rx) = mpsc::channel();
        let h = rt.handle();
        let t = rt.block_on(async move {
            let t = task::Builder::new()
                .name("stuck")
                .spawn(pending_holding(OnDrop(Some(dropped_tx))));
            Some(t)
        });
        let t = t.unwrap();
        // Outside debug mode a task is listed once it waits (after its first poll).
        while h.alive_count() == 0 {
            std::thread::yield_now();
        }
        let alive = h.alive_tasks();
        assert_eq!(alive.len(), 1);
        assert_eq!(alive[0].name(), Some("stuck"));
        assert_eq!(alive[0].id(), t.id());
        drop(rt);
        dropped_rx.try_recv().unwrap();
        assert_eq!(h.alive_count(), 0);
        let err = weft_executor::block_on(t).unwrap_err();
        assert!(matches!(err, JoinError::Cancelled));
    });
}

#[test]
fn detached_panic_reaches_hook_exactly_once() {
    within(30, || {
        let (tx, rx) = mpsc::channel::<String>();
        let tx = Mutex::new(tx);
        let rt = Runtime::builder()
            .worker_threads(2)
            .on_unhandled_error(move |e: UnhandledError| {
                assert!(e.is_panic());
                let name = e.task().and_then(|t| t.name()).unwrap_or("?").to_string();
                tx.lock()
                    .unwrap()
                    .send(format!("{name}: {}", e.message()))
                    .unwrap();
            })
            .build()
            .unwrap();
        rt.block_on(async {
            task::Builder::new()
                .name("fire-and-forget")
                .spawn(async { panic!("oops") })
                .detach();
            // Detached after it already panicked: still reported once.
            let t = spawn(async { panic!("late") });
            while !t.is_finished() {
                yield_now().await;
            }
            t.detach();
        });
        let mut got = vec![
            rx.recv_timeout(Duration::from_secs(10)).unwrap(),
            rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        ];
        got.sort();
        assert_eq!(got, ["?: late", "fire-and-forget: oops"]);
        drop(rt);
        assert!(rx.try_recv().is_err(), "reported more than once");
    });
}

#[test]
fn detach_or_report_reports_err_once() {
    within(30, || {
        let (tx, rx) = mpsc::channel::<(bool, String)>();
        let tx = Mutex::new(tx);
        let rt = Runtime::builder()
            .worker_threads(1)
            .on_unhandled_error(move |e: UnhandledError| {
                tx.lock()
                    .unwrap()
                    .send((e.is_panic(), e.message().to_string()))
                    .unwrap();
            })
            .build()
            .unwrap();
        rt.block_on(async {
            spawn(async { Err::<(), _>("disk full") }).detach_or_report();
            spawn(async { Ok::<_, String>(1) }).detach_or_report();
        });
        let got = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(got, (false, "disk full".to_string()));
        drop(rt);
        assert!(rx.try_recv().is_err());
    });
}

#[test]
fn task_current_and_ids() {
    within(30, || {
        let rt = multi(2);
        rt.block_on(async {
            assert!(task::try_current().is_none());
            let t = task::Builder::new()
                .name("named")
                .spawn(async { task::try_current().map(|i| (i.id(), i.name().map(String::from))) });
            let id = t.id();
            assert_eq!(t.name(), Some("named"));
            let (cid, name) = t.await.unwrap().unwrap();
            assert_eq!(cid, id);
            assert_eq!(name.as_deref(), Some("named"));
            let a = spawn(async {});
            let b = spawn(async {});
            assert!(a.id() < b.id());
            assert_ne!(a.id().to_string(), b.id().to_string());
        });
    });
}

#[test]
fn thread_hooks_and_names() {
    within(30, || {
        let started = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));
        let (s1, s2) = (started.clone(), stopped.clone());
        let rt = Runtime::builder()
            .worker_threads(3)
            .thread_name("tw")
            .on_thread_start(move || {
                s1.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_stop(move || {
                s2.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        let name = rt
            .block_on(rt.spawn(async { std::thread::current().name().map(String::from) }))
            .unwrap()
            .unwrap();
        assert!(name.starts_with("tw-"), "{name}");
        drop(rt);
        assert_eq!(started.load(Ordering::SeqCst), 3);
        assert_eq!(stopped.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn builder_rejects_zero_threads() {
    let e = Runtime::builder().worker_threads(0).build().unwrap_err();
    assert!(e.to_string().contains("at least 1"));
}

#[test]
fn spawn_local_inside_run_and_block_on() {
    within(30, || {
        let v = weft_executor::run(async {
            let rc = std::rc::Rc::new(4);
            let r = rc.clone();
            weft_executor::spawn_local(async move { *r + 1 })
                .await
                .unwrap()
        });
        assert_eq!(v, 5);
    });
}

#[test]
fn shutdown_timeout_cancels_tasks() {
    within(30, || {
        let rt = multi(2);
        let (dropped_tx, dropped_rx) = mpsc::channel();
        rt.spawn(pending_holding(OnDrop(Some(dropped_tx)))).detach();
        assert!(rt.shutdown_timeout(Duration::from_secs(5)));
        dropped_rx.try_recv().unwrap();
    });
}

#[test]
fn spawn_after_shutdown_is_cancelled() {
    within(30, || {
        let rt = multi(1);
        let h = rt.handle();
        drop(rt);
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let t = h.spawn(async move { r.store(true, Ordering::SeqCst) });
        let err = weft_executor::block_on(t).unwrap_err();
        assert!(err.is_cancelled());
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(h.alive_count(), 0);
    });
}

#[test]
fn tasks_wake_each_other_across_workers() {
    ping_pong(false);
}

#[test]
fn tasks_wake_each_other_with_lifo_slot() {
    ping_pong(true);
}

fn ping_pong(lifo: bool) {
    // Ping-pong between two tasks: each hand-off wakes the other task (often on another worker)
    // and suspends; a lost wake-up would hang and time out.
    struct Shared {
        turn: usize,
        done: [usize; 2],
        wakers: [Option<Waker>; 2],
    }
    within(60, move || {
        let rt = Runtime::builder()
            .worker_threads(4)
            .lifo_slot(lifo)
            .build()
            .unwrap();
        let rounds = 5_000;
        let st = Arc::new(Mutex::new(Shared {
            turn: 0,
            done: [0, 0],
            wakers: [None, None],
        }));
        let mk = |me: usize| {
            let st = st.clone();
            std::future::poll_fn(move |cx| {
                let mut s = st.lock().unwrap();
                if s.done[me] == rounds {
                    return Poll::Ready(());
                }
                if s.turn == me {
                    s.done[me] += 1;
                    s.turn = 1 - me;
                    let w = s.wakers[1 - me].take();
                    drop(s);
                    if let Some(w) = w {
                        w.wake();
                    }
                    // Poll again to finish or to wait for the next turn.
                    cx.waker().wake_by_ref();
                } else {
                    s.wakers[me] = Some(cx.waker().clone());
                }
                Poll::Pending
            })
        };
        let t0 = rt.spawn(mk(0));
        let t1 = rt.spawn(mk(1));
        rt.block_on(async {
            t0.await.unwrap();
            t1.await.unwrap();
        });
        let s = st.lock().unwrap();
        assert_eq!(s.done, [rounds, rounds]);
    });
}

#[test]
fn local_runtime_run_until_inside_another_block_on() {
    within(30, || {
        let rt = LocalRuntime::new().unwrap();
        let v = weft_executor::block_on(rt.run_until(async {
            let rc = std::rc::Rc::new(20);
            let r = rc.clone();
            let a = weft_executor::spawn_local(async move { *r + 1 });
            let b = weft_executor::spawn(async { 21 });
            a.await.unwrap() + b.await.unwrap()
        }));
        assert_eq!(v, 42);
        assert_eq!(rt.alive_count(), 0);
    });
}

#[test]
#[should_panic(expected = "spawn_local called outside a local executor")]
fn spawn_local_outside_a_local_executor_panics() {
    let _t = weft_executor::spawn_local(async {});
}

#[test]
fn busy_yielding_task_cannot_starve_io() {
    within(30, || {
        let rt = multi(1);
        let listener = weft_reactor::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (spinning_tx, spinning_rx) = mpsc::channel();
        let s = stop.clone();
        let (accepted_tx, accepted_rx) = mpsc::channel();
        rt.spawn(async move {
            let (_conn, _) = listener.accept().await.unwrap();
            s.store(true, Ordering::SeqCst);
            accepted_tx.send(()).unwrap();
        })
        .detach();
        let s = stop.clone();
        let busy = rt.spawn(async move {
            let mut n = 0u64;
            while !s.load(Ordering::SeqCst) {
                n += 1;
                if n == 1000 {
                    // By now the acceptor has been polled and waits for readiness.
                    spinning_tx.send(()).unwrap();
                }
                yield_now().await;
            }
        });
        // Connect only once the busy task keeps the single worker busy.
        let client = std::thread::spawn(move || {
            spinning_rx.recv().unwrap();
            std::net::TcpStream::connect(addr).unwrap()
        });
        // Waiting on a plain channel, not in `block_on`: this thread drives no I/O, so the
        // readiness reaches the acceptor through the busy worker's own I/O polls (or, slower,
        // the reactor's fallback thread, which harvests events when nobody polled for a while:
        // this test cannot tell those two apart).
        accepted_rx.recv().unwrap();
        rt.block_on(busy).unwrap();
        drop(client.join().unwrap());
    });
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Runtime>();
    send_sync::<weft_executor::Handle>();
    send_sync::<weft_executor::task::TaskInfo>();
    send::<Task<u8>>();
    send::<JoinError>();
    send::<UnhandledError>();
}

#[test]
fn strict_mode_aborts_on_an_unhandled_panic() {
    const CHILD: &str = "WEFT_EXECUTOR_STRICT_CHILD";
    if std::env::var_os(CHILD).is_some() {
        // Child process: a detached panic must abort us.
        let rt = Runtime::builder()
            .worker_threads(1)
            .abort_on_unhandled_error(true)
            .build()
            .unwrap();
        rt.spawn(async { panic!("strict child boom") }).detach();
        rt.block_on(Gate::default().wait()); // never opens: only the abort ends this
        unreachable!();
    }
    let out = run_as_child("strict_mode_aborts_on_an_unhandled_panic", CHILD);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(6), "not SIGABRT: {stderr}");
    }
    assert!(stderr.contains("strict child boom"), "{stderr}");
    assert!(stderr.contains("aborting"), "{stderr}");
}
