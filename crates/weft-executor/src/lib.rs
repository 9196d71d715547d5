//! weft's executors: a multi-threaded work-stealing [`Runtime`], a `!Send` [`LocalRuntime`],
//! tasks ([`spawn`], [`Task`], [`JoinError`]), [`run`] (asyncio.run), fairness and debug mode.
//!
//! ```
//! let v = weft_executor::run(async {
//!     let a = weft_executor::spawn(async { 20 });
//!     let b = weft_executor::spawn(async { 22 });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(v, 42);
//! ```
//!
//! * Dropping a [`Task`] cancels it; [`Task::detach`] runs it in the background.
//! * A task's panic is caught: awaiting gives [`JoinError::Panicked`], a worker never dies.
//! * Fairness: a task that keeps waking itself cannot starve other tasks, I/O or timers (see
//!   `docs/runtime.md`).
//! * Debug mode (`RuntimeBuilder::debug(true)` or `WEFT_DEBUG=1`) reports slow polls and tasks
//!   alive at shutdown.

mod context;
mod dump;
mod local;
mod lock;
mod registry;
mod resource;
mod runtime;
pub mod structured;
pub mod task;
mod trace;

#[cfg(test)]
mod counting_tests;

use std::future::Future;
use std::panic::Location;

pub use local::LocalRuntime;
pub use resource::{using, with_resource, ResourceScope, DEFAULT_CLEANUP_TIMEOUT};
pub use runtime::{Handle, Runtime, RuntimeBuilder};
pub use task::{yield_now, AbortHandle, JoinError, Task};
pub use weft_reactor::AsyncClose;

pub use structured::{
    as_completed, gather, gather_settled, race, retry, retry_if, shield, shutdown_shielded, stream,
    task_group, try_gather, wait, wait_shielded, GroupError, GroupHandle, GroupSpawner,
    RetryPolicy, ReturnWhen, SpawnError, TaskError, TaskGroup, Waitable,
};

/// Spawns a task on the runtime this thread runs in: a [`Runtime`]'s worker or `block_on`
/// thread, a [`LocalRuntime`], or [`run`]; outside all of them, the lazily created global
/// runtime ([`Runtime::global`]).
///
/// The returned [`Task`] cancels the task when dropped; `.detach()` it to let it run on.
///
/// ```
/// let rt = weft_executor::Runtime::builder().worker_threads(2).build().unwrap();
/// let n = rt.block_on(async { weft_executor::spawn(async { 7 }).await.unwrap() });
/// assert_eq!(n, 7);
/// ```
#[track_caller]
pub fn spawn<F>(fut: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    context::spawn(fut, task::TaskInfo::new(None, Location::caller()))
}

/// Spawns a `!Send` task on this thread's local executor (inside [`LocalRuntime::block_on`],
/// [`Runtime::block_on`] or [`run`]; the local tasks of the latter two are cancelled when their
/// `block_on` returns).
///
/// # Panics
/// Outside those (for instance on a worker thread of a multi-threaded runtime).
///
/// ```
/// use std::rc::Rc;
/// let n = weft_executor::run(async {
///     let r = Rc::new(3);
///     weft_executor::spawn_local(async move { *r * 2 }).await.unwrap()
/// });
/// assert_eq!(n, 6);
/// ```
#[track_caller]
pub fn spawn_local<F>(fut: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    context::spawn_local(fut, task::TaskInfo::new(None, Location::caller()))
}

/// Runs `fut` to completion on this thread, driving I/O and timers while it waits (the
/// reactor's [`weft_reactor::block_on`]); tasks it spawns go to the global runtime.
///
/// # Panics
/// On a worker thread of a multi-threaded [`Runtime`] (inside a task): blocking there stalls
/// that worker, and deadlocks when the awaited work is queued on it (a task it just spawned
/// sits in its LIFO slot, which no other worker can steal). Await the future instead, or run
/// the blocking code with `spawn_blocking`. Like tokio's "Cannot start a runtime from within a
/// runtime".
///
/// ```
/// assert_eq!(weft_executor::block_on(async { 1 + 1 }), 2);
/// ```
#[track_caller]
pub fn block_on<T>(fut: impl Future<Output = T>) -> T {
    runtime::assert_not_on_worker("block_on");
    weft_reactor::block_on(fut)
}

/// asyncio.run: runs `fut` to completion on a fresh multi-threaded runtime (default settings:
/// `WEFT_THREADS`, `WEFT_DEBUG`), then, like asyncio.run's `_cancel_all_tasks`, stops the
/// workers and cancels **and joins** every task left over (each one's future is dropped, so its
/// destructors and the async cleanup of a [`with_resource`] scope inside it run), then runs
/// [`shield`]ed work (those cleanups included) to completion on the calling thread for up to
/// [`SHIELD_SHUTDOWN_TIMEOUT`] (naming what it abandons on stderr), shuts the runtime down and
/// returns `fut`'s output. In debug mode the leftover tasks are listed on stderr first.
///
/// Like asyncio.run creating a new event loop, each call has its own runtime, so leftovers of one
/// `run` never leak into another.
///
/// # Panics
/// If the runtime cannot start (an invalid `WEFT_THREADS`, or thread spawning fails).
///
/// ```
/// assert_eq!(weft_executor::run(async { "done" }), "done");
/// ```
#[track_caller]
pub fn run<F: Future>(fut: F) -> F::Output {
    runtime::run(fut, SHIELD_SHUTDOWN_TIMEOUT)
}

/// How long [`run`] waits, after its future completed, for [`shield`]ed work still running
/// before it reports the rest as abandoned and cancels it with the runtime.
pub const SHIELD_SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
