//! weft: an async runtime toolkit for Rust with every asyncio pattern.
//!
//! ```
//! use std::time::Duration;
//!
//! let out = weft::run(async {
//!     // asyncio.gather: run concurrently, results in argument order.
//!     let (a, b) = weft::gather!(
//!         async { weft::sleep(Duration::from_millis(2)).await; 1 },
//!         async { 2 },
//!     )
//!     .await;
//!     // asyncio.create_task + wait_for.
//!     let task = weft::spawn(async { 40 });
//!     weft::timeout(Duration::from_secs(1), task).await.unwrap().unwrap() + a + b - 1
//! });
//! assert_eq!(out, 42);
//! ```
//!
//! | asyncio / aiofiles | weft |
//! |---|---|
//! | `asyncio.run`, `create_task`, `current_task` | [`run`], [`spawn`], [`task::current`], [`task::Builder`] (names) |
//! | `all_tasks`, `Task.print_stack` | [`all_tasks`], [`print_tasks`], [`task::TaskDump`] |
//! | `TaskGroup`, `gather`, `wait`, `as_completed`, `shield` | [`TaskGroup`], [`gather!`], [`wait`], [`as_completed`], [`shield`] |
//! | `sleep`, `wait_for`/`timeout`, `loop.call_later` | [`sleep`], [`timeout`], [`call_later`], [`time`] |
//! | `Lock`, `Semaphore`, `Event`, `Condition`, `Queue` | [`sync`] (all cancel-safe) |
//! | `open_connection`, `start_server` | [`net`], [`io`] |
//! | `run_in_executor`, `to_thread`, aiofiles | [`spawn_blocking`], [`unblock`], [`BlockingPool`], [`fs`] |
//!
//! The side-by-side guide with every pattern is `docs/asyncio.md` in the repository.

#![forbid(unsafe_code)]

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

use std::future::Future;
use std::time::Duration;

pub use weft_blocking::{unblock, BlockingPool, PoolError};
pub use weft_executor::block_on;
pub use weft_reactor::Async;
pub use weft_timer::{call_at, call_later, interval, sleep, sleep_until, timeout, timeout_at};

/// Time: sleeps, intervals, timeouts, timer callbacks and the virtual clock for tests.
///
/// Everything from [`weft_timer`]. Timers have 1 ms resolution and never fire early.
///
/// ```
/// use std::time::Duration;
///
/// weft::block_on(async {
///     let r = weft::time::timeout(Duration::from_millis(5), std::future::pending::<()>()).await;
///     assert!(r.is_err());
/// });
/// ```
pub mod time {
    pub use weft_timer::{
        advance, call_at, call_later, interval, interval_at, now, pause, resume, sleep,
        sleep_until, timeout, timeout_at, Clock, Elapsed, EnterGuard, Interval, MissedTickBehavior,
        Sleep, Timeout, TimerHandle, Timers,
    };
}

/// Synchronization: locks, semaphores, events, queues, channels, cancellation tokens.
///
/// Everything from [`weft_sync`]; it works under any executor. Every waiting method is
/// cancel-safe: dropping a pending `lock`/`acquire`/`get`/`put`/`recv`/`send`/`wait` loses no
/// permit, no item and no wake-up.
///
/// ```
/// use weft::sync::channel;
///
/// weft::block_on(async {
///     let (tx, rx) = channel::bounded(1);
///     tx.send(7).await.unwrap();
///     assert_eq!(rx.recv().await.unwrap(), 7);
/// });
/// ```
pub mod sync {
    pub use weft_sync::*;
}

/// Networking: TCP, UDP and Unix sockets driven by the weft reactor.
///
/// Everything from [`weft_reactor::net`]; every stream implements the futures-io
/// `AsyncRead`/`AsyncWrite` traits re-exported in [`io`].
pub mod net {
    pub use weft_reactor::net::*;
}

/// Async I/O traits and helpers (from `futures-lite`).
///
/// ```
/// use weft::io::{AsyncReadExt, AsyncWriteExt};
///
/// weft::block_on(async {
///     let mut buf = Vec::new();
///     let mut w = weft::io::Cursor::new(&mut buf);
///     w.write_all(b"hello").await.unwrap();
///     let mut s = String::new();
///     weft::io::Cursor::new(&buf).read_to_string(&mut s).await.unwrap();
///     assert_eq!(s, "hello");
/// });
/// ```
pub mod io {
    pub use futures_lite::io::*;
    pub use weft_blocking::{stderr, stdin, stdout, Duplex, Unblock};
}

/// Async files: a mirror of `std::fs` that runs each operation on the blocking pool.
///
/// Errors are `std::io::Error`s with the same `ErrorKind` as std's and the path in the message.
///
/// ```
/// weft::block_on(async {
///     let path = std::env::temp_dir().join(format!("weft-fs-doc-{}", std::process::id()));
///     weft::fs::write(&path, b"hi").await.unwrap();
///     assert_eq!(weft::fs::read_to_string(&path).await.unwrap(), "hi");
///     weft::fs::remove_file(&path).await.unwrap();
/// });
/// ```
pub mod fs {
    pub use weft_blocking::fs::*;
}

// >>> http exports
/// HTTP/1.1 client: a pooled [`http::Client`] (aiohttp's `ClientSession`), rustls TLS, strict
/// framing, timeouts, redirects and retries (everything from [`weft_http`]).
///
/// ```no_run
/// use std::time::Duration;
/// use weft::http::{Client, Policy, Retry};
///
/// weft::run(async {
///     let client = Client::builder()
///         .pool_max_per_host(8)
///         .pool_max_total(64)
///         .connect_timeout(Duration::from_secs(5))
///         .read_timeout(Duration::from_secs(10))
///         .redirect(Policy::limited(10))
///         .retry(Retry::idempotent(3).backoff(Duration::from_millis(100)))
///         .build()?;
///     let resp = client.get("http://127.0.0.1:8080/").send().await?;
///     let text = resp.error_for_status()?.text().await?;
///     println!("{text}");
///     Ok::<(), weft::http::Error>(())
/// })
/// .unwrap();
/// ```
pub mod http {
    pub use weft_http::*;
}

/// The HTTP guide (`docs/http.md`), compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/http.md")]
pub struct HttpGuide;
// <<< http exports

/// The traits most weft programs need in scope: `use weft::prelude::*;`.
pub mod prelude {
    pub use futures_lite::{AsyncBufRead, AsyncRead, AsyncWrite, Future, Stream};
    pub use futures_lite::{
        AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, FutureExt as _, StreamExt as _,
    };
    pub use weft_reactor::AsyncClose as _;
}

// >>> executor exports
/// asyncio's `all_tasks()` / `print_stack()`: the live tasks of the current runtime (see
/// `docs/ecosystem.md`, "Task dump"); [`task::TaskDump`] prints them as a table.
pub use weft_executor::task::{all_tasks, print_tasks};
pub use weft_executor::{
    spawn, spawn_local, yield_now, Handle, JoinError, LocalRuntime, Runtime, RuntimeBuilder, Task,
};
pub use weft_macros::{main, test};

/// Tasks: [`task::Builder`] (names), [`task::current`], ids, and the unhandled-error and
/// slow-poll types (everything from `weft_executor::task`).
pub mod task {
    pub use weft_executor::task::*;
}
// <<< executor exports

/// How long [`run`] waits, after its future and tasks are done, for blocking jobs still running
/// on the global pool, unless `WEFT_BLOCKING_SHUTDOWN_TIMEOUT` (seconds) says otherwise.
pub const BLOCKING_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `fut` to completion on a fresh runtime, like Python's `asyncio.run`, and returns its
/// output.
///
/// After `fut` completes, tasks it left behind are cancelled and joined (see
/// [`weft_executor::run`]). Then blocking jobs still running on the global pool (from
/// [`spawn_blocking`], [`unblock`], [`fs`]) get up to [`BLOCKING_SHUTDOWN_TIMEOUT`] (or
/// `WEFT_BLOCKING_SHUTDOWN_TIMEOUT` seconds) to finish, as `asyncio.run` waits for the loop's
/// default executor; jobs still running after that are reported on stderr and abandoned.
/// Queued jobs whose tasks were cancelled never start.
///
/// ```
/// let n = weft::run(async {
///     let t = weft::spawn(async { 21 });
///     t.await.unwrap() * 2
/// });
/// assert_eq!(n, 42);
/// ```
#[track_caller]
pub fn run<F: Future>(fut: F) -> F::Output {
    let out = weft_executor::run(fut);
    let report = BlockingPool::global().drain(blocking_shutdown_timeout());
    if report.abandoned > 0 {
        eprintln!(
            "weft::run: {} blocking job(s) still running after {:?}; abandoned (set \
             WEFT_BLOCKING_SHUTDOWN_TIMEOUT to wait longer)",
            report.abandoned, report.waited
        );
    }
    out
}

fn blocking_shutdown_timeout() -> Duration {
    std::env::var("WEFT_BLOCKING_SHUTDOWN_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(BLOCKING_SHUTDOWN_TIMEOUT, Duration::from_secs_f64)
}

/// Runs the blocking closure `f` on the global blocking pool as a task, like Python's
/// `loop.run_in_executor(None, f)` or `asyncio.to_thread(f)`.
///
/// The [`Task`] is the same type [`spawn`] returns: dropping it before the job started means `f`
/// never runs; a panic in `f` becomes [`JoinError::Panicked`] and the pool thread survives. Once
/// `f` has started it cannot be interrupted; its result is then dropped. For CPU-bound work, use
/// a dedicated [`BlockingPool`] sized to the cores.
///
/// ```
/// weft::run(async {
///     let sum = weft::spawn_blocking(|| (1..=100u64).sum::<u64>()).await.unwrap();
///     assert_eq!(sum, 5050);
/// });
/// ```
#[track_caller]
pub fn spawn_blocking<T, F>(f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn(unblock(f))
}

// >>> compat exports
/// Interop with tokio-based crates and hyper (features `tokio` and `hyper`): everything from
/// `weft_compat`. See `docs/ecosystem.md`.
#[cfg(any(feature = "tokio", feature = "hyper"))]
pub mod compat {
    pub use weft_compat::*;
}

/// `docs/ecosystem.md`, compiled and run as doctests when both compat features are on.
#[cfg(all(doctest, feature = "tokio", feature = "hyper"))]
#[doc = include_str!("../../../docs/ecosystem.md")]
pub struct EcosystemGuide;
// <<< compat exports

// >>> structured exports
pub use weft_executor::{
    as_completed, gather, gather_settled, race, retry, retry_if, shield, stream, task_group,
    try_gather, wait, wait_shielded, GroupError, GroupHandle, GroupSpawner, RetryPolicy,
    ReturnWhen, SpawnError, TaskError, TaskGroup,
};

/// Structured concurrency: task groups, gather/race/wait/as_completed, shield, retry and the
/// async generator helper (everything from `weft_executor::structured`).
///
/// ```
/// let v = weft::run(async {
///     weft::task_group(|g| async move {
///         g.spawn(async { Ok::<_, std::io::Error>(1) });
///         g.spawn(async { Ok(2) });
///         Ok(())
///     })
///     .await
/// });
/// assert_eq!(v.unwrap(), [1, 2]);
/// ```
pub mod structured {
    pub use weft_executor::structured::*;
}

/// The asyncio → weft pattern guide (`docs/asyncio.md`), compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/asyncio.md")]
pub struct AsyncioGuide;
// <<< structured exports

// >>> resource exports
/// `async with` (issue 21): [`with_resource`] / [`using`] run an async cleanup exactly once,
/// also when the scope is cancelled; [`AsyncClose`] is implemented by weft's streams, files and
/// HTTP responses.
pub use weft_executor::{using, with_resource, AsyncClose, ResourceScope, DEFAULT_CLEANUP_TIMEOUT};
// <<< resource exports
