//! weft's elastic blocking thread pool and async files.
//!
//! - [`unblock`] runs a blocking closure on the global [`BlockingPool`] and returns a future of
//!   its result (asyncio: `loop.run_in_executor(None, f)`). `weft::spawn_blocking(f)` is
//!   `weft::spawn(unblock(f))`.
//! - [`BlockingPool::builder`] makes dedicated pools, e.g. a CPU pool sized to the cores
//!   (asyncio: `run_in_executor(ThreadPoolExecutor(n), f)`, and the answer to
//!   `ProcessPoolExecutor`: Rust has no GIL, so threads are enough).
//! - [`Unblock`] turns a blocking `Read`/`Write`/`Seek`/`Iterator` into async I/O or a stream;
//!   [`stdin`], [`stdout`], [`stderr`].
//! - [`fs`] mirrors `std::fs` (asyncio: `aiofiles`).
//!
//! The pool knows nothing about executors: its futures work under any of them.
//!
//! ```
//! let n = futures_lite::future::block_on(weft_blocking::unblock(|| 6 * 7));
//! assert_eq!(n, 42);
//! ```

#![forbid(unsafe_code)]

mod error;
pub mod fs;
mod pool;
mod unblock;

pub use error::{NotSeekable, PoolError};
pub use pool::{
    BlockingPool, BlockingPoolBuilder, PoolMetrics, ShutdownReport, Unblocked,
    DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_THREADS, MAX_THREADS_CAP,
};
pub use unblock::{stderr, stdin, stdout, Duplex, Unblock, DEFAULT_CAPACITY};

/// Runs the blocking function `f` on the global [`BlockingPool`] and returns a future of its
/// result.
///
/// - Dropping the future before `f` has started means `f` **never runs**; once started, `f` runs
///   to completion and its result is dropped.
/// - A panic in `f` is caught on the pool thread (the thread survives) and re-raised with
///   [`std::panic::resume_unwind`] when the future is polled, so `weft::spawn_blocking` reports
///   it as `JoinError::Panicked`.
/// - Cancel-safety: see [`Unblocked`].
///
/// ```
/// # futures_lite::future::block_on(async {
/// let text = weft_blocking::unblock(|| std::fs::read_to_string("Cargo.toml")).await?;
/// assert!(text.contains("weft-blocking"));
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[doc(alias = "spawn_blocking")]
#[doc(alias = "run_in_executor")]
pub fn unblock<T, F>(f: F) -> Unblocked<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    BlockingPool::global().run(f)
}
