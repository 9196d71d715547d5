//! Timers (issue 19): weft-timer vs tokio's time driver vs smol's `async_io::Timer`, each
//! runtime's own timer inside a task on its own 2-worker runtime, rounds interleaved.
//!
//! - `create_cancel_1m`: create 1,000,000 one-second timeouts around a pending future, poll
//!   each once (so it is registered) and drop it; ns per timeout.
//! - `concurrent_sleeps_100k`: spawn 100,000 tasks that each sleep 1 ms, wait for all; ms per
//!   batch (spawning, registering and firing).
//! - `insert_with_1m_registered`: the `create_cancel` loop (100,000 timeouts) while 1,000,000
//!   one-hour sleeps are registered; ns per timeout.
//! - `sleep_1ms_overshoot_p50` / `_p99`: sequential `sleep(1 ms)`s; how much later than 1 ms
//!   each one returned, µs (p50 / p99 of the turn). 100 sleeps per turn for the p50 and 500
//!   for the p99 in quick mode (500 / 2,000 in full), so the p99 has 5 samples above it.
//!
//! smol has no timeout type; its idiom is `future.or(async { Timer::after(d).await; .. })`.

use std::future::{pending, Future};
use std::pin::pin;
use std::time::{Duration, Instant};

use futures_lite::future::poll_once;
use weft_benches::exec::{Exec, Rts, Spawner};
use weft_benches::rounds::Mode;
use weft_benches::runner::Workload;
use weft_benches::SmolRt;

const GROUP: &str = "timers";
const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);
const MS: Duration = Duration::from_millis(1);

/// Each runtime's own timer.
trait Timers: Exec + 'static {
    /// A sleep of `d`.
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send + 'static;
    /// A timeout of `d` around a future that never completes.
    fn timeout_pending(d: Duration) -> impl Future + Send + 'static;
}

impl Timers for weft_executor::Runtime {
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send + 'static {
        weft_timer::sleep(d)
    }
    fn timeout_pending(d: Duration) -> impl Future + Send + 'static {
        weft_timer::timeout(d, pending::<()>())
    }
}

impl Timers for tokio::runtime::Runtime {
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep(d)
    }
    fn timeout_pending(d: Duration) -> impl Future + Send + 'static {
        tokio::time::timeout(d, pending::<()>())
    }
}

impl Timers for SmolRt {
    #[allow(clippy::manual_async_fn)] // the trait's signature asks for `Send + 'static`
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send + 'static {
        async move {
            smol::Timer::after(d).await;
        }
    }
    fn timeout_pending(d: Duration) -> impl Future + Send + 'static {
        futures_lite::future::or(pending::<()>(), async move {
            smol::Timer::after(d).await;
        })
    }
}

/// Runs `fut` in a task on `e` (a worker, where the runtime's timer context is) and waits.
fn on_worker<E: Exec, T: Send + 'static>(
    e: &E,
    fut: impl Future<Output = T> + Send + 'static,
) -> T {
    let s = e.spawner();
    e.block_on(async move { s.spawn(fut).await })
}

/// Creates, polls once and drops `n` timeouts; returns ns per timeout.
async fn create_cancel<E: Timers>(n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let t = pin!(E::timeout_pending(SECOND));
        let _ = poll_once(t).await;
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn concurrent_sleeps<E: Timers>(e: &E, n: usize) -> f64 {
    let s = e.spawner();
    on_worker(e, async move {
        let start = Instant::now();
        let hs: Vec<_> = (0..n).map(|_| s.spawn(E::sleep(MS))).collect();
        for h in hs {
            h.await;
        }
        start.elapsed().as_secs_f64() * 1e3
    })
}

fn insert_with_registered<E: Timers>(e: &E, registered: usize, n: usize) -> f64 {
    on_worker(e, async move {
        let mut held: Vec<_> = (0..registered).map(|_| Box::pin(E::sleep(HOUR))).collect();
        for s in &mut held {
            let _ = poll_once(s.as_mut()).await;
        }
        let per = create_cancel::<E>(n).await;
        drop(held);
        per
    })
}

/// `n` sequential 1 ms sleeps; returns the `q`-quantile of the overshoot in µs.
fn overshoot<E: Timers>(e: &E, n: usize, q: f64) -> f64 {
    on_worker(e, async move {
        let mut over = Vec::with_capacity(n);
        for _ in 0..n {
            let t0 = Instant::now();
            E::sleep(MS).await;
            over.push(t0.elapsed().saturating_sub(MS).as_secs_f64() * 1e6);
        }
        over.sort_by(f64::total_cmp);
        weft_benches::rounds::quantile(&over, q).unwrap_or(0.0)
    })
}

/// Adds the three runtimes to `g`, each sampling `f(runtime)`.
macro_rules! timers_rts {
    ($g:expr, $rts:expr, |$e:ident| $f:expr) => {{
        {
            let $e = &$rts.weft;
            $g.bench("weft", move |b| b.sample($f));
        }
        {
            let $e = &$rts.tokio;
            $g.bench("tokio", move |b| b.sample($f));
        }
        {
            let $e = &$rts.smol;
            $g.bench("smol", move |b| b.sample($f));
        }
    }};
}

fn main() {
    let mode = Mode::from_env();
    let scale = |n: usize| if mode == Mode::Test { n / 100 } else { n };
    // Sequential 1 ms sleeps per turn: (p50, p99). A p99 needs a tail to stand on: 500 sleeps
    // put 5 samples above it (100 would leave one, a maximum by another name).
    let sleeps = match mode {
        Mode::Test => (5, 5),
        Mode::Quick => (100, 500),
        Mode::Full => (500, 2000),
    };
    let rts = Rts::new();

    let n = scale(1_000_000);
    let mut g = Workload::new(GROUP, "create_cancel_1m");
    g.unit("ns/timeout", false)
        .iters(1)
        .expect_turn(Duration::from_millis(200));
    timers_rts!(g, rts, |e| on_worker(e, create_cancel_on(e, n)));
    g.run();

    let n = scale(100_000);
    let mut g = Workload::new(GROUP, "concurrent_sleeps_100k");
    g.unit("ms", false)
        .iters(1)
        .expect_turn(Duration::from_millis(150));
    timers_rts!(g, rts, |e| concurrent_sleeps(e, n));
    g.run();

    let (reg, n) = (scale(1_000_000), scale(100_000));
    let mut g = Workload::new(GROUP, "insert_with_1m_registered");
    g.unit("ns/timeout", false)
        .iters(1)
        .max_rounds(3)
        .expect_turn(Duration::from_secs(1));
    timers_rts!(g, rts, |e| insert_with_registered(e, reg, n));
    g.run();

    // Turn estimate: tokio's millisecond wheel makes each sleep about 2 ms, weft's and smol's
    // about 1.1 ms; the plan counts 1.5 ms per sleep for every contender.
    for (name, q, n) in [
        ("sleep_1ms_overshoot_p50", 0.5, sleeps.0),
        ("sleep_1ms_overshoot_p99", 0.99, sleeps.1),
    ] {
        let mut g = Workload::new(GROUP, name);
        g.unit("µs", false)
            .iters(1)
            .expect_turn(Duration::from_micros(1500 * n as u64));
        timers_rts!(g, rts, |e| overshoot(e, n, q));
        g.run();
    }
}

/// [`create_cancel`] for the runtime type of `_e` (type inference helper for the macro).
fn create_cancel_on<E: Timers>(_e: &E, n: usize) -> impl Future<Output = f64> + Send + 'static {
    create_cancel::<E>(n)
}
