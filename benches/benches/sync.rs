//! Sync primitives (issue 4): weft-sync vs tokio::sync vs async-lock / async-channel / flume /
//! crossbeam-channel.
//!
//! Every workload runs on the SAME executor, a tokio multi-thread runtime with 2 workers
//! (`weft_benches::tokio_rt`), so only the primitive differs. weft-sync is runtime-agnostic, which
//! is what makes this possible.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tokio::runtime::Runtime;
use weft_benches::runner::{Bencher, Workload};
use weft_benches::tokio_rt;

const GROUP: &str = "sync";

/// Contended mutex: 8 tasks × 1,000 lock/unlock on 2 workers.
const MUTEX_TASKS: usize = 8;
const MUTEX_OPS: usize = 1_000;

/// mpsc contention: 5 producers × 1,000 messages, one consumer (tokio's `sync_mpsc` parameters).
const PRODUCERS: usize = 5;
const PER_PRODUCER: usize = 1_000;
const TOTAL: usize = PRODUCERS * PER_PRODUCER;
/// "bounded": room for every message (never full). tokio's bench uses 1,000,000; channels that
/// preallocate their ring (async-channel, flume, crossbeam) would then spend the iteration on a
/// 16 MiB allocation, so the capacity is the total message count instead.
const CAP_ROOMY: usize = TOTAL;
/// "bounded_full": 100 slots, so producers hit backpressure (tokio's `bounded_full`).
const CAP_FULL: usize = 100;

/// bounded(1) ping-pong: round trips per iteration.
const ROUND_TRIPS: usize = 1_000;

// ---------------------------------------------------------------------------------------------
// Profiling hooks (issue 19): `WEFT_SYNC_CONTENDER=weft` registers only that contender (and
// starts only its background tasks); `WEFT_SYNC_WORKLOAD=sync/<name>` only that workload;
// `WEFT_SYNC_ITERS=n` fixes the iterations per turn. With `--test` (one turn),
// `valgrind --tool=callgrind` then counts one contender's instructions for `n` iterations; two
// runs with different `n` give the cost of one iteration without the process's start-up
// (docs/bench-notes/sync.md).

/// `true` if `contender` of `g` is to be registered (see `WEFT_SYNC_CONTENDER` and
/// `WEFT_SYNC_WORKLOAD`, an exact workload name, where a filter argument matches by substring).
fn wanted(g: &Workload<'_>, contender: &str) -> bool {
    let is = |var, value: &str| std::env::var(var).map_or(true, |v| v == value);
    is("WEFT_SYNC_CONTENDER", contender) && is("WEFT_SYNC_WORKLOAD", &g.id())
}

/// A workload of this group, with `WEFT_SYNC_ITERS` applied.
fn workload<'a>(name: &str) -> Workload<'a> {
    let mut g = Workload::new(GROUP, name);
    if let Some(n) = std::env::var("WEFT_SYNC_ITERS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        g.iters(n);
    }
    g
}

/// Adds `contender` to `g` unless `WEFT_SYNC_CONTENDER` names another one.
fn bench<'a>(g: &mut Workload<'a>, contender: &str, f: impl FnMut(&mut Bencher) + 'a) {
    if wanted(g, contender) {
        g.bench(contender, f);
    }
}

// ---------------------------------------------------------------------------------------------
// Mutex

/// [`MUTEX_TASKS`] spawned tasks each lock `$mutex` (a `Mutex<usize>` of any of the crates)
/// [`MUTEX_OPS`] times to increment it; the `block_on` future joins them and checks the count.
macro_rules! contended_mutex {
    ($rt:expr, $mutex:expr) => {
        $rt.block_on(async {
            let m = Arc::new($mutex);
            let hs: Vec<_> = (0..MUTEX_TASKS)
                .map(|_| {
                    let m = m.clone();
                    tokio::spawn(async move {
                        for _ in 0..MUTEX_OPS {
                            *m.lock().await += 1;
                        }
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
            assert_eq!(*m.lock().await, MUTEX_TASKS * MUTEX_OPS);
        })
    };
}

fn mutex(rt: &Runtime) {
    let mut g = workload("mutex_contended");

    bench(&mut g, "weft", |b| {
        b.iter(|| contended_mutex!(rt, weft_sync::Mutex::new(0usize)))
    });
    bench(&mut g, "tokio", |b| {
        b.iter(|| contended_mutex!(rt, tokio::sync::Mutex::new(0usize)))
    });
    bench(&mut g, "async-lock", |b| {
        b.iter(|| contended_mutex!(rt, async_lock::Mutex::new(0usize)))
    });
    g.run();
}

// ---------------------------------------------------------------------------------------------
// Semaphore (tokio's sync_semaphore: uncontended/multi, uncontended/concurrent_multi,
// contention/concurrent_multi)

/// Spawns 6 tasks that each acquire and release one permit, and waits for all of them.
macro_rules! six_tasks {
    ($s:expr, |$sem:ident| $acquire:expr) => {{
        let hs: Vec<_> = (0..6)
            .map(|_| {
                let $sem = $s.clone();
                tokio::spawn(async move {
                    let permit = $acquire;
                    drop(permit);
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    }};
}

/// Acquires and releases one permit 6 times in turn, in the calling task.
macro_rules! six_in_turn {
    ($acquire:expr) => {
        for _ in 0..6 {
            drop($acquire);
        }
    };
}

fn semaphore(rt: &Runtime) {
    let (sw, st, sa) = (
        weft_sync::Semaphore::new(10),
        tokio::sync::Semaphore::new(10),
        async_lock::Semaphore::new(10),
    );
    let mut g = workload("semaphore_uncontended_multi");
    bench(&mut g, "weft", |b| {
        b.iter(|| rt.block_on(async { six_in_turn!(sw.acquire().await.unwrap()) }))
    });
    bench(&mut g, "tokio", |b| {
        b.iter(|| rt.block_on(async { six_in_turn!(st.acquire().await.unwrap()) }))
    });
    bench(&mut g, "async-lock", |b| {
        b.iter(|| rt.block_on(async { six_in_turn!(sa.acquire().await) }))
    });
    g.run();

    for (name, permits) in [
        ("semaphore_uncontended_concurrent_multi", 10),
        ("semaphore_contention_concurrent_multi", 5),
    ] {
        let sw = Arc::new(weft_sync::Semaphore::new(permits));
        let st = Arc::new(tokio::sync::Semaphore::new(permits));
        let sa = Arc::new(async_lock::Semaphore::new(permits));
        let mut g = workload(name);
        bench(&mut g, "weft", |b| {
            b.iter(|| rt.block_on(async { six_tasks!(sw, |s| s.acquire().await.unwrap()) }))
        });
        bench(&mut g, "tokio", |b| {
            b.iter(|| rt.block_on(async { six_tasks!(st, |s| s.acquire().await.unwrap()) }))
        });
        bench(&mut g, "async-lock", |b| {
            b.iter(|| rt.block_on(async { six_tasks!(sa, |s| s.acquire().await) }))
        });
        g.run();
    }
}

// ---------------------------------------------------------------------------------------------
// mpsc contention: 5 spawned producers × 1,000 sends, the block_on future receives 5,000.

/// The mpsc workload on `$chan` (a `(sender, receiver)` pair): [`PRODUCERS`] spawned producers
/// each send `0..PER_PRODUCER` through `$send`, and the calling task receives [`TOTAL`] messages
/// through `$recv`.
macro_rules! mpsc_workload {
    ($chan:expr, |$tx:ident, $i:ident| $send:expr, |$rx:ident| $recv:expr) => {{
        #[allow(unused_mut)]
        let (tx, mut $rx) = $chan;
        for _ in 0..PRODUCERS {
            let $tx = tx.clone();
            tokio::spawn(async move {
                for $i in 0..PER_PRODUCER {
                    $send;
                }
            });
        }
        for _ in 0..TOTAL {
            $recv;
        }
    }};
}

fn mpsc_weft(rt: &Runtime, cap: Option<usize>) {
    rt.block_on(async {
        mpsc_workload!(
            match cap {
                Some(n) => weft_sync::channel::bounded::<usize>(n),
                None => weft_sync::channel::unbounded::<usize>(),
            },
            |tx, i| tx.send(i).await.unwrap(),
            |rx| rx.recv().await.unwrap()
        )
    })
}

fn mpsc_tokio(rt: &Runtime, cap: Option<usize>) {
    rt.block_on(async {
        match cap {
            Some(n) => mpsc_workload!(
                tokio::sync::mpsc::channel::<usize>(n),
                |tx, i| tx.send(i).await.unwrap(),
                |rx| rx.recv().await.unwrap()
            ),
            None => mpsc_workload!(
                tokio::sync::mpsc::unbounded_channel::<usize>(),
                |tx, i| tx.send(i).unwrap(),
                |rx| rx.recv().await.unwrap()
            ),
        }
    })
}

fn mpsc_async_channel(rt: &Runtime, cap: Option<usize>) {
    rt.block_on(async {
        mpsc_workload!(
            match cap {
                Some(n) => async_channel::bounded::<usize>(n),
                None => async_channel::unbounded::<usize>(),
            },
            |tx, i| tx.send(i).await.unwrap(),
            |rx| rx.recv().await.unwrap()
        )
    })
}

fn mpsc_flume(rt: &Runtime, cap: Option<usize>) {
    rt.block_on(async {
        mpsc_workload!(
            match cap {
                Some(n) => flume::bounded::<usize>(n),
                None => flume::unbounded::<usize>(),
            },
            |tx, i| tx.send_async(i).await.unwrap(),
            |rx| rx.recv_async().await.unwrap()
        )
    })
}

/// crossbeam-channel is a blocking channel: it only fits where a send never blocks (unbounded, or
/// a capacity that holds every message). The consumer blocks the `block_on` thread, which is not
/// a worker, so that is legal here.
fn mpsc_crossbeam(rt: &Runtime, cap: Option<usize>) {
    rt.block_on(async {
        mpsc_workload!(
            match cap {
                Some(n) => crossbeam_channel::bounded::<usize>(n),
                None => crossbeam_channel::unbounded::<usize>(),
            },
            |tx, i| tx.send(i).unwrap(),
            |rx| rx.recv().unwrap()
        )
    })
}

fn mpsc(rt: &Runtime) {
    for (name, cap, crossbeam_fits) in [
        ("mpsc_bounded", Some(CAP_ROOMY), true),
        ("mpsc_bounded_full", Some(CAP_FULL), false),
        ("mpsc_unbounded", None, true),
    ] {
        let mut g = workload(name);
        bench(&mut g, "weft", |b| b.iter(|| mpsc_weft(rt, cap)));
        bench(&mut g, "tokio", |b| b.iter(|| mpsc_tokio(rt, cap)));
        bench(&mut g, "async-channel", |b| {
            b.iter(|| mpsc_async_channel(rt, cap))
        });
        bench(&mut g, "flume", |b| b.iter(|| mpsc_flume(rt, cap)));
        if crossbeam_fits {
            bench(&mut g, "crossbeam", |b| b.iter(|| mpsc_crossbeam(rt, cap)));
        }
        g.run();
    }
}

// ---------------------------------------------------------------------------------------------
// bounded(1) ping-pong: two spawned tasks bounce a counter 1,000 times over two bounded(1)
// channels.

macro_rules! ping_pong {
    ($rt:expr, $chan:expr, |$rx:ident| $recv:expr, |$tx:ident, $v:ident| $send:expr) => {
        $rt.block_on(async {
            let (ping_tx, ping_rx) = $chan;
            let (pong_tx, pong_rx) = $chan;
            let echo = tokio::spawn(async move {
                #[allow(unused_mut)]
                let mut $rx = ping_rx;
                let $tx = pong_tx;
                // Option<usize>: None once the driver has dropped its sender.
                while let Some($v) = $recv {
                    let $v = $v + 1;
                    if !$send {
                        break;
                    }
                }
            });
            let driver = tokio::spawn(async move {
                #[allow(unused_mut)]
                let mut $rx = pong_rx;
                let $tx = ping_tx;
                let mut last = 0usize;
                for _ in 0..ROUND_TRIPS {
                    let $v = last;
                    assert!($send);
                    last = $recv.unwrap();
                }
                last
            });
            assert_eq!(driver.await.unwrap(), ROUND_TRIPS);
            echo.await.unwrap();
        })
    };
}

fn pingpong(rt: &Runtime) {
    let mut g = workload("pingpong_bounded1");
    bench(&mut g, "weft", |b| {
        b.iter(|| {
            ping_pong!(
                rt,
                weft_sync::channel::bounded::<usize>(1),
                |rx| rx.recv().await.ok(),
                |tx, v| tx.send(v).await.is_ok()
            )
        })
    });
    bench(&mut g, "tokio", |b| {
        b.iter(|| {
            ping_pong!(
                rt,
                tokio::sync::mpsc::channel::<usize>(1),
                |rx| rx.recv().await,
                |tx, v| tx.send(v).await.is_ok()
            )
        })
    });
    bench(&mut g, "async-channel", |b| {
        b.iter(|| {
            ping_pong!(
                rt,
                async_channel::bounded::<usize>(1),
                |rx| rx.recv().await.ok(),
                |tx, v| tx.send(v).await.is_ok()
            )
        })
    });
    bench(&mut g, "flume", |b| {
        b.iter(|| {
            ping_pong!(
                rt,
                flume::bounded::<usize>(1),
                |rx| rx.recv_async().await.ok(),
                |tx, v| tx.send_async(v).await.is_ok()
            )
        })
    });
    g.run();
}

fn main() {
    let rt = tokio_rt();
    mutex(&rt);
    semaphore(&rt);
    mpsc(&rt);
    pingpong(&rt);
    rwlock(&rt);
    notify(&rt);
    broadcast(&rt);
}

// ---------------------------------------------------------------------------------------------
// RwLock: tokio's sync_rwlock cases (`read_uncontended`, `read_concurrent_uncontended_multi`,
// `read_concurrent_contended_multi`), 2 workers instead of tokio's 6.

/// tokio's three multi-thread RwLock cases on one lock type: `$lock` makes an
/// `Arc<RwLock<()>>`, `$read`/`$write` take a guard from `$l`.
macro_rules! rwlock_cases {
    ($rt:expr, $g:expr, $name:expr, $case:expr, $lock:expr, |$l:ident| $read:expr, $write:expr) => {{
        let lock = $lock;
        bench(&mut $g, $name, move |b| {
            b.iter(|| {
                $rt.block_on(async {
                    match $case {
                        RwCase::Uncontended => {
                            for _ in 0..6 {
                                let $l = &lock;
                                drop($read);
                            }
                        }
                        RwCase::ConcurrentUncontended | RwCase::ConcurrentContended => {
                            let held = if matches!($case, RwCase::ConcurrentContended) {
                                let $l = &lock;
                                Some($write)
                            } else {
                                None
                            };
                            let n = if held.is_some() { 5 } else { 6 };
                            let hs: Vec<_> = (0..n)
                                .map(|_| {
                                    let lock = lock.clone();
                                    tokio::spawn(async move {
                                        let $l = &lock;
                                        drop($read);
                                    })
                                })
                                .collect();
                            drop(held);
                            for h in hs {
                                h.await.unwrap();
                            }
                        }
                    }
                })
            })
        });
    }};
}

#[derive(Clone, Copy)]
enum RwCase {
    Uncontended,
    ConcurrentUncontended,
    ConcurrentContended,
}

fn rwlock(rt: &Runtime) {
    for (name, case) in [
        ("rwlock_read_uncontended", RwCase::Uncontended),
        (
            "rwlock_read_concurrent_uncontended_multi",
            RwCase::ConcurrentUncontended,
        ),
        (
            "rwlock_read_concurrent_contended_multi",
            RwCase::ConcurrentContended,
        ),
    ] {
        let mut g = workload(name);
        rwlock_cases!(
            rt,
            g,
            "weft",
            case,
            Arc::new(weft_sync::RwLock::new(())),
            |l| l.read().await,
            l.write().await
        );
        rwlock_cases!(
            rt,
            g,
            "tokio",
            case,
            Arc::new(tokio::sync::RwLock::new(())),
            |l| l.read().await,
            l.write().await
        );
        rwlock_cases!(
            rt,
            g,
            "async-lock",
            case,
            Arc::new(async_lock::RwLock::new(())),
            |l| l.read().await,
            l.write().await
        );
        g.run();
    }
}

// ---------------------------------------------------------------------------------------------
// Notify: tokio's sync_notify: N waiter tasks loop on `notified().await` + a counter; one
// iteration notifies (one / all waiters) in a loop until 500 wake-ups were counted. N = 10 and
// 100 (tokio runs 10..500). event-listener's `Event` is the smol-side equivalent.

const NOTIFY_ITERS: usize = 500;

/// Spawns `$n` waiters on `$rt` (`$wait` waits on `$ev`, then the counter is bumped), then adds
/// contender `$name`: each iteration resets the counter and calls `$notify` until it reaches
/// [`NOTIFY_ITERS`].
macro_rules! notify_case {
    ($rt:expr, $g:expr, $name:expr, $n:expr, $ev:expr, |$e:ident| $wait:expr, $notify:expr) => {{
        // Not selected (`WEFT_SYNC_CONTENDER`): no waiter tasks either.
        if wanted(&$g, $name) {
        let ev = Arc::new($ev);
        let counter = Arc::new(AtomicUsize::new(0));
        for _ in 0..$n {
            let (ev, counter) = (ev.clone(), counter.clone());
            $rt.spawn(async move {
                loop {
                    let $e = &ev;
                    $wait;
                    counter.fetch_add(1, Relaxed);
                }
            });
        }
        bench(&mut $g, $name, move |b| {
            b.iter(|| {
                counter.store(0, Relaxed);
                while counter.load(Relaxed) < NOTIFY_ITERS {
                    let $e = &ev;
                    $notify;
                }
            })
        });
        }
    }};
}

fn notify(rt: &Runtime) {
    for waiters in [10usize, 100] {
        for all in [false, true] {
            let kind = if all { "notify_waiters" } else { "notify_one" };
            let mut g = workload(&format!("{kind}/{waiters}"));
            notify_case!(
                rt,
                g,
                "weft",
                waiters,
                weft_sync::Notify::new(),
                |e| e.notified().await,
                if all {
                    e.notify_waiters()
                } else {
                    e.notify_one()
                }
            );
            notify_case!(
                rt,
                g,
                "tokio",
                waiters,
                tokio::sync::Notify::new(),
                |e| e.notified().await,
                if all {
                    e.notify_waiters()
                } else {
                    e.notify_one()
                }
            );
            notify_case!(
                rt,
                g,
                "event-listener",
                waiters,
                event_listener::Event::new(),
                |e| e.listen().await,
                e.notify(if all { usize::MAX } else { 1 })
            );
            g.run();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Broadcast fan-out: 16 receiver tasks, the `block_on` future sends 1,000 messages (capacity
// 1,024: nobody lags), every receiver gets all of them.

const FAN_OUT: usize = 16;
const BROADCASTS: usize = 1_000;
const BROADCAST_CAP: usize = 1_024;

/// One fan-out iteration: `$chan` makes `(tx, rx)`, `$sub` another receiver from `$tx`/`$rx0`,
/// `$recv` receives one message (`Option`), `$send` sends `$v`.
macro_rules! fan_out {
    ($rt:expr, $chan:expr, |$t:ident, $r0:ident| $sub:expr, |$r:ident| $recv:expr, |$v:ident| $send:expr) => {
        $rt.block_on(async {
            let ($t, $r0) = $chan;
            let hs: Vec<_> = (0..FAN_OUT)
                .map(|_| {
                    #[allow(unused_mut)]
                    let mut $r = $sub;
                    tokio::spawn(async move {
                        let mut got = 0usize;
                        while got < BROADCASTS {
                            if $recv.is_some() {
                                got += 1;
                            }
                        }
                        got
                    })
                })
                .collect();
            drop($r0);
            for $v in 0..BROADCASTS {
                $send;
            }
            for h in hs {
                assert_eq!(h.await.unwrap(), BROADCASTS);
            }
        })
    };
}

fn broadcast(rt: &Runtime) {
    let mut g = workload("broadcast_fan_out_16");
    bench(&mut g, "weft", |b| {
        b.iter(|| {
            fan_out!(
                rt,
                weft_sync::channel::broadcast::channel::<usize>(BROADCAST_CAP),
                |tx, rx0| tx.subscribe(),
                |rx| rx.recv().await.ok(),
                |v| tx.send(v).unwrap()
            )
        })
    });
    bench(&mut g, "tokio", |b| {
        b.iter(|| {
            fan_out!(
                rt,
                tokio::sync::broadcast::channel::<usize>(BROADCAST_CAP),
                |tx, rx0| tx.subscribe(),
                |rx| rx.recv().await.ok(),
                |v| tx.send(v).unwrap()
            )
        })
    });
    bench(&mut g, "async-broadcast", |b| {
        b.iter(|| {
            fan_out!(
                rt,
                async_broadcast::broadcast::<usize>(BROADCAST_CAP),
                |tx, rx0| rx0.clone(),
                |rx| rx.recv().await.ok(),
                |v| tx.broadcast(v).await.unwrap()
            )
        })
    });
    g.run();
}
