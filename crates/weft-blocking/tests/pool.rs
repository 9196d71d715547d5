//! Pool behaviour: limits, growth, idle exit, cancellation, panics, shutdown.

mod common;
use common::within;

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use weft_blocking::{unblock, BlockingPool, PoolError, Unblock};

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// A barrier with a deadline: `wait` returns false instead of hanging forever.
struct Gate {
    n: usize,
    count: Mutex<usize>,
    cv: Condvar,
}

impl Gate {
    fn new(n: usize) -> Arc<Gate> {
        Arc::new(Gate {
            n,
            count: Mutex::new(0),
            cv: Condvar::new(),
        })
    }
    fn wait(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut c = self.count.lock().unwrap();
        *c += 1;
        self.cv.notify_all();
        while *c < self.n {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            c = self.cv.wait_timeout(c, deadline - now).unwrap().0;
        }
        true
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `n` jobs on `pool` that all have to be running at the same time to finish (so the pool
/// must start `n` threads), and waits for them.
fn run_n_at_once(pool: &BlockingPool, n: usize) {
    let gate = Gate::new(n);
    let futs: Vec<_> = (0..n)
        .map(|_| {
            let g = gate.clone();
            pool.run(move || g.wait())
        })
        .collect();
    for f in futs {
        assert!(block_on(f), "{n} jobs never ran at the same time");
    }
}

/// Occupies one thread of `pool` with a job that runs until `release` sends (or is dropped), and
/// returns once that job is running. The job's future resolves to whether it was released.
fn hold_busy(pool: &BlockingPool) -> (mpsc::Sender<()>, weft_blocking::Unblocked<bool>) {
    let (release, gate) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let busy = pool.run(move || {
        started_tx.send(()).unwrap();
        gate.recv_timeout(Duration::from_secs(10)).is_ok()
    });
    started.recv_timeout(Duration::from_secs(10)).unwrap();
    (release, busy)
}

#[test]
fn ten_thousand_jobs_never_exceed_limit() {
    const LIMIT: usize = 8;
    const JOBS: usize = 10_000;
    let pool = BlockingPool::builder()
        .max_threads(LIMIT)
        .name("t10k")
        .build();
    let cur = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let max_threads_seen = Arc::new(AtomicUsize::new(0));
    // The first LIMIT jobs meet at a gate: this only passes if the pool grows to its limit.
    let gate = Gate::new(LIMIT);
    let futs: Vec<_> = (0..JOBS)
        .map(|i| {
            let (cur, max_seen, mts, gate, p) = (
                cur.clone(),
                max_seen.clone(),
                max_threads_seen.clone(),
                gate.clone(),
                pool.clone(),
            );
            pool.run(move || {
                let now = cur.fetch_add(1, SeqCst) + 1;
                max_seen.fetch_max(now, SeqCst);
                mts.fetch_max(p.metrics().threads, SeqCst);
                let met = if i < LIMIT { gate.wait() } else { true };
                cur.fetch_sub(1, SeqCst);
                (i, met)
            })
        })
        .collect();
    let results: Vec<_> = block_on(async {
        let mut out = Vec::with_capacity(JOBS);
        for f in futs {
            out.push(f.await);
        }
        out
    });
    for (i, (j, met)) in results.into_iter().enumerate() {
        assert_eq!(i, j);
        assert!(
            met,
            "job {i} did not meet the other gated jobs: the pool did not grow"
        );
    }
    assert!(
        max_seen.load(SeqCst) <= LIMIT,
        "concurrency {}",
        max_seen.load(SeqCst)
    );
    assert_eq!(max_seen.load(SeqCst), LIMIT);
    assert!(max_threads_seen.load(SeqCst) <= LIMIT);
    let m = pool.metrics();
    assert!(m.threads <= LIMIT && m.threads_started >= LIMIT as u64);
    assert_eq!(m.queued_jobs, 0);
    // A job's result can reach its awaiter just before the worker bumps the counter.
    wait_until("the completed counter", || {
        pool.metrics().completed_jobs == JOBS as u64
    });
}

#[test]
fn idle_threads_exit_after_timeout() {
    let pool = BlockingPool::builder()
        .max_threads(4)
        .idle_timeout(Duration::from_millis(50))
        .build();
    run_n_at_once(&pool, 4);
    assert_eq!(pool.metrics().threads_started, 4);
    wait_until("idle threads to exit", || pool.metrics().threads == 0);
    let m = pool.metrics();
    assert_eq!((m.threads, m.idle_threads), (0, 0));
    // The pool starts threads again on demand.
    assert_eq!(block_on(pool.run(|| 7)), 7);
}

#[test]
fn cancelled_job_never_runs() {
    let pool = BlockingPool::builder().max_threads(1).build();
    let (release, busy) = hold_busy(&pool);
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let victim = pool.run(move || r.store(true, SeqCst));
    assert_eq!(pool.metrics().queued_jobs, 1);
    drop(victim);
    release.send(()).unwrap();
    assert!(block_on(busy));
    // FIFO on one thread: this job runs after the victim would have.
    block_on(pool.run(|| ()));
    assert!(!ran.load(SeqCst), "a cancelled job ran");
}

#[test]
fn panic_does_not_kill_the_pool() {
    let pool = BlockingPool::builder().max_threads(1).build();
    let res = catch_unwind(AssertUnwindSafe(|| {
        block_on(pool.run(|| -> u32 { std::panic::panic_any("boom") }))
    }));
    let payload = res.expect_err("the panic must reach the awaiter");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(block_on(pool.run(|| 5)), 5);
    let m = pool.metrics();
    assert_eq!(m.panicked_jobs, 1);
    assert_eq!(m.threads_started, 1, "the panicking thread must survive");
}

#[test]
fn shutdown_cancels_queued_and_reports_abandoned() {
    let pool = BlockingPool::builder().max_threads(1).build();
    let (release, busy) = hold_busy(&pool);
    let ran = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..2)
        .map(|_| {
            let r = ran.clone();
            pool.run(move || r.fetch_add(1, SeqCst))
        })
        .collect();
    let report = pool.shutdown(Duration::from_millis(20));
    assert_eq!((report.cancelled, report.abandoned), (2, 1));
    assert!(report.to_string().contains("1 running job(s) abandoned"));
    release.send(()).unwrap();
    assert!(block_on(busy), "a running job completes after shutdown");
    for q in queued {
        let err = catch_unwind(AssertUnwindSafe(|| block_on(q))).unwrap_err();
        let msg = panic_message(&*err);
        assert!(msg.contains("shut down"), "{msg}");
    }
    assert_eq!(ran.load(SeqCst), 0);
    // Jobs submitted after shutdown are cancelled too.
    assert!(catch_unwind(AssertUnwindSafe(|| block_on(pool.run(|| 1)))).is_err());
    wait_until("threads to exit after shutdown", || {
        pool.metrics().threads == 0
    });
}

#[test]
fn shutdown_waits_for_running_jobs() {
    let pool = BlockingPool::builder().max_threads(2).build();
    let (started_tx, started) = mpsc::channel::<()>();
    let (release, gate) = mpsc::channel::<()>();
    let job = pool.run(move || {
        started_tx.send(()).unwrap();
        gate.recv_timeout(Duration::from_secs(10)).unwrap();
        1
    });
    started.recv_timeout(Duration::from_secs(10)).unwrap();
    let p = pool.clone();
    let waiter = std::thread::spawn(move || p.shutdown(Duration::from_secs(10)));
    // Release the job only once shutdown has begun, so shutdown has to wait for it.
    wait_until("shutdown to start", || pool.is_shutdown());
    release.send(()).unwrap();
    let report = waiter.join().unwrap();
    assert_eq!((report.cancelled, report.abandoned), (0, 0));
    assert_eq!(block_on(job), 1);
}

#[test]
fn lowering_the_limit_retires_threads() {
    let pool = BlockingPool::builder().max_threads(4).build();
    run_n_at_once(&pool, 4);
    pool.set_max_threads(1);
    wait_until("threads above the new limit to exit", || {
        pool.metrics().threads <= 1
    });
    assert_eq!(pool.metrics().max_threads, 1);
    assert_eq!(block_on(pool.run(|| 3)), 3);
}

#[test]
fn detach_runs_to_completion_and_global_works() {
    let (tx, rx) = mpsc::channel();
    unblock(move || tx.send(9).unwrap()).detach();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 9);
    let f = unblock(|| 1);
    assert_eq!(block_on(f), 1);
    assert!(BlockingPool::global().metrics().max_threads >= 1);
    let dbg = format!("{:?}", BlockingPool::global());
    assert!(dbg.contains("BlockingPool"));
}

#[test]
fn unblocked_is_send_and_static() {
    fn check<F: std::future::Future + Send + 'static>(_: &F) {}
    let f = unblock(|| 1u8);
    check(&f);
    assert_eq!(block_on(f), 1);
}

#[test]
fn no_job_is_stranded_while_threads_retire() {
    // Threads time out constantly (1 ms) while four producers submit: a job queued just as the
    // last thread retires must still run. A watchdog bounds the test instead of hanging.
    let pool = BlockingPool::builder()
        .max_threads(2)
        .idle_timeout(Duration::from_millis(1))
        .build();
    let (done_tx, done_rx) = mpsc::channel();
    for t in 0..4u64 {
        let (pool, done_tx) = (pool.clone(), done_tx.clone());
        std::thread::spawn(move || {
            let mut sum = 0;
            for i in 0..300u64 {
                sum += block_on(pool.run(move || i));
                if (i + t) % 7 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            done_tx.send(sum).unwrap();
        });
    }
    for _ in 0..4 {
        let sum = done_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("a job was stranded in the queue");
        assert_eq!(sum, (0..300).sum::<u64>());
    }
    assert!(pool.metrics().threads <= 2);
}

#[test]
fn drain_waits_for_queued_and_running_jobs_and_keeps_the_pool_open() {
    let pool = BlockingPool::builder().max_threads(1).build();
    let (release, busy) = hold_busy(&pool);
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let queued = pool.run(move || r.store(true, SeqCst));
    // Deadline passes: both the running and the queued job are reported, nothing is cancelled.
    let report = pool.drain(Duration::from_millis(20));
    assert_eq!((report.cancelled, report.abandoned), (0, 2));
    let p = pool.clone();
    let waiter = std::thread::spawn(move || p.drain(Duration::from_secs(10)));
    release.send(()).unwrap();
    let report = waiter.join().unwrap();
    assert_eq!((report.cancelled, report.abandoned), (0, 0));
    assert!(ran.load(SeqCst), "drain must let queued jobs run");
    assert!(block_on(busy));
    block_on(queued);
    assert!(!pool.is_shutdown());
    assert_eq!(block_on(pool.run(|| 4)), 4);
}

/// A pool whose thread spawner fails while `fail` is set (simulating the OS thread limit).
fn flaky_pool(fail: Arc<AtomicBool>) -> BlockingPool {
    BlockingPool::builder()
        .max_threads(2)
        .spawner(move |builder, main| {
            if fail.load(SeqCst) {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "Resource temporarily unavailable (simulated)",
                ));
            }
            builder.spawn(main).map(drop)
        })
        .build()
}

#[test]
fn no_thread_can_start_fails_jobs_instead_of_stranding_them() {
    let fail = Arc::new(AtomicBool::new(true));
    let pool = flaky_pool(fail.clone());
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let job = pool.run(move || r.store(true, SeqCst));
    let res = within("a job on a pool that cannot start a thread", move || {
        block_on(job.checked())
    });
    let err = res.unwrap_err();
    assert!(matches!(err, PoolError::NoThread(_)), "{err:?}");
    assert!(err.to_string().contains("could not start one"), "{err}");
    assert!(err.to_string().contains("simulated"), "{err}");
    assert!(!ran.load(SeqCst), "a refused job never runs");
    assert_eq!(pool.metrics().queued_jobs, 0);

    // Awaiting it directly panics with the same message (an executor reports a panicked task).
    let p = pool.clone();
    let panic = within("awaiting a refused job", move || {
        catch_unwind(AssertUnwindSafe(|| block_on(p.run(|| 1)))).unwrap_err()
    });
    assert!(panic_message(&*panic).contains("could not start one"));

    // Through `Unblock`, the error is an `io::Error` saying why.
    let p = pool.clone();
    let io_err = within("an Unblock read on that pool", move || {
        let mut u = Unblock::new(io::Cursor::new(vec![1u8; 10])).on_pool(&p);
        let mut buf = [0u8; 4];
        block_on(u.read(&mut buf)).unwrap_err()
    });
    assert_eq!(io_err.kind(), io::ErrorKind::WouldBlock);
    assert!(
        io_err.to_string().contains("could not start one"),
        "{io_err}"
    );

    // Once threads can start again, the pool works.
    fail.store(false, SeqCst);
    let p = pool.clone();
    assert_eq!(
        within("a job after recovery", move || block_on(p.run(|| 7))),
        7
    );
}

#[test]
fn unblock_after_shutdown_says_the_pool_was_shut_down() {
    let pool = BlockingPool::builder().max_threads(1).build();
    let mut u = Unblock::new(io::Cursor::new(Vec::new())).on_pool(&pool);
    block_on(u.write_all(b"abc")).unwrap();
    pool.shutdown(Duration::from_secs(10));
    assert!(matches!(
        block_on(pool.run(|| 1).checked()),
        Err(PoolError::Shutdown)
    ));
    let (e1, e2) = within("Unblock::flush after shutdown", move || {
        let e1 = block_on(u.flush()).unwrap_err();
        let e2 = block_on(u.flush()).unwrap_err();
        (e1, e2)
    });
    for e in [e1, e2] {
        let msg = e.to_string();
        assert!(msg.contains("shut down"), "{msg}");
        assert!(!msg.contains("panicked"), "{msg}");
        assert!(e.get_ref().unwrap().downcast_ref::<PoolError>().is_some());
    }
    let pool2 = pool.clone();
    let msg = within("Unblock::get_mut after shutdown", move || {
        let mut u = Unblock::new(io::Cursor::new(vec![0u8])).on_pool(&pool2);
        let mut b = [0u8; 1];
        let _ = block_on(u.read(&mut b));
        let p = catch_unwind(AssertUnwindSafe(|| {
            block_on(u.get_mut());
        }))
        .unwrap_err();
        panic_message(&*p)
    });
    assert!(msg.contains("shut down"), "{msg}");
}

/// A paused clock does not auto-advance past a blocking job in flight: `timeout(5 s, job)`
/// waits for the job (before, the idle driver jumped to the deadline: `Elapsed` at once).
#[test]
fn paused_clock_waits_for_blocking_work() {
    let r = within("a paused-clock timeout over a blocking job", || {
        let timers = weft_timer::Timers::new(weft_timer::Clock::paused());
        let _entered = timers.enter();
        let job = unblock(|| {
            // Real work the timers cannot see; how long it takes does not matter.
            std::thread::sleep(Duration::from_millis(20));
            7
        });
        let r = weft_reactor::block_on(weft_timer::timeout(Duration::from_secs(5), job));
        (r.ok(), timers.is_auto_advance_inhibited())
    });
    assert_eq!(
        r,
        (Some(7), false),
        "the job finished first; its guard is gone"
    );
}
