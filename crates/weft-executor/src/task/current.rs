//! The task being polled on this thread ([`current`], [`try_current`]) and running one
//! scheduled task ([`run_runnable`]: abort check, debug-mode timing).

use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering;
use std::task::{RawWakerVTable, Waker};
use std::time::Instant;

use super::meta::{Meta, Runnable};
use super::{SlowPoll, TaskInfo};

thread_local! {
    /// The info of the task being polled on this thread (`None` outside a poll).
    ///
    /// A clone, not a pointer into the task: `Runnable::run` may free the task (it drops its
    /// reference, then wakes the awaiter, whose waker can drop the last `Task` handle) before it
    /// returns, and a waker or destructor running at that point may call [`try_current`].
    /// Cloning costs no atomic operation for an unnamed task.
    ///
    /// `ManuallyDrop`, so the thread-local has no destructor (each access then skips the
    /// registration and state check of one): it is `None` whenever no poll is on this
    /// thread's stack, thread exit included, and [`CurrentGuard`] drops what it takes out.
    static CURRENT: Cell<Option<ManuallyDrop<TaskInfo>>> = const { Cell::new(None) };
}

thread_local! {
    /// The metadata of the task whose `Runnable::run` is on this thread's stack (null outside),
    /// read by the task's own future ([`Wrapped`](super::spawn::Wrapped)) during its poll, so
    /// that the future need not keep a pointer to it (8 bytes per task). The low bit is
    /// [`TIMED`].
    static POLLING: Cell<*const Meta> = const { Cell::new(ptr::null()) };
}

/// Set in [`POLLING`]'s low bit (a `Meta` is 8-aligned) while a debug-mode poll is timed: the
/// future then records the poll's start for the dump (in its registry entry).
const TIMED: usize = 1;

thread_local! {
    /// The waker `yield_now` last woke on this thread during the current task run (data and
    /// vtable; null outside), cleared whenever a task's run starts. If it is the polled task's
    /// own waker, the task is rescheduled when its poll returns, so it stays reachable through
    /// the run queues and need not be registered yet (see [`Wrapped`](super::spawn::Wrapped)).
    static YIELDED: Cell<(*const (), *const RawWakerVTable)> =
        const { Cell::new((ptr::null(), ptr::null())) };
}

/// `yield_now` woke `w` (two stores; [`yielded`] compares).
#[inline]
pub(crate) fn note_yield(w: &Waker) {
    let _ = YIELDED.try_with(|y| y.set((w.data(), ptr::from_ref(w.vtable()))));
}

/// Whether the task being polled, whose own waker is `own`, yielded during this run (see
/// [`YIELDED`]).
#[inline]
pub(crate) fn yielded(own: &Waker) -> bool {
    YIELDED.with(|y| y.get()) == (own.data(), ptr::from_ref(own.vtable()))
}

/// The metadata of the task being polled on this thread, and whether the poll is timed (debug
/// mode).
///
/// Only a task's future, inside its poll, may use the result, and only during that poll: the
/// task is alive for the whole poll (its `Runnable` is being run).
#[inline]
pub(crate) fn polling_meta() -> Option<(NonNull<Meta>, bool)> {
    let p = POLLING.with(|p| p.get());
    let timed = p.addr() & TIMED != 0;
    NonNull::new(p.map_addr(|a| a & !TIMED).cast_mut()).map(|m| (m, timed))
}

/// Restores the previous [`current`] task (and [`POLLING`]) when dropped (also if a destructor
/// panics).
struct CurrentGuard(Option<ManuallyDrop<TaskInfo>>, *const Meta);

impl CurrentGuard {
    #[inline]
    fn enter(r: &Runnable, timed: bool) -> CurrentGuard {
        let meta: *const Meta = r.metadata();
        let meta = meta.map_addr(|a| a | usize::from(timed));
        let prev_meta = POLLING.with(|p| p.replace(meta));
        YIELDED.with(|y| y.set((ptr::null(), ptr::null())));
        CurrentGuard(
            CURRENT.with(|c| c.replace(Some(ManuallyDrop::new(r.metadata().info.clone())))),
            prev_meta,
        )
    }
}

impl Drop for CurrentGuard {
    #[inline]
    fn drop(&mut self) {
        let prev = self.0.take();
        let mine = CURRENT.with(|c| c.replace(prev));
        drop(mine.map(ManuallyDrop::into_inner));
        let _ = POLLING.try_with(|p| p.set(self.1));
    }
}

/// Runs one scheduled task with [`current`] set, timing the poll when `debug` is on.
#[inline]
pub(crate) fn run_runnable(r: Runnable, cfg: &crate::runtime::Config) {
    if r.metadata().aborted.load(Ordering::Acquire) {
        abort_now(r);
    } else if cfg.debug {
        run_timed(r, cfg);
    } else {
        let _g = CurrentGuard::enter(&r, false);
        r.run();
    }
}

/// An aborted task is dropped instead of polled: async-task then drops its future (here, on
/// the executor's thread) and resolves its `Task` to `Cancelled`.
#[cold]
fn abort_now(r: Runnable) {
    drop(r);
}

#[cold]
fn run_timed(r: Runnable, cfg: &crate::runtime::Config) {
    let info = r.metadata().info.clone();
    let start = Instant::now();
    timed_from(start, &info, cfg, || {
        let _g = CurrentGuard::enter(&r, true);
        r.run();
    });
}

/// Runs one poll (`poll`) of `info`'s future, reporting it to the slow-poll hook if it took
/// longer than the threshold (debug mode).
pub(crate) fn poll_timed<R>(
    info: &TaskInfo,
    cfg: &crate::runtime::Config,
    poll: impl FnOnce() -> R,
) -> R {
    timed_from(Instant::now(), info, cfg, poll)
}

/// [`poll_timed`] for a poll that started at `start`.
fn timed_from<R>(
    start: Instant,
    info: &TaskInfo,
    cfg: &crate::runtime::Config,
    poll: impl FnOnce() -> R,
) -> R {
    let out = poll();
    let took = start.elapsed();
    if took > cfg.slow_poll_threshold {
        (cfg.on_slow_poll)(&SlowPoll {
            task: info.clone(),
            duration: took,
        });
    }
    out
}

/// Information about the task being polled right now (asyncio's `current_task()`).
///
/// # Panics
///
/// Outside a task (for example in the future passed to `block_on` or `run`, or on a plain
/// thread). Use [`try_current`] where that can happen.
///
/// ```
/// let name = weft_executor::run(async {
///     let t = weft_executor::task::Builder::new()
///         .name("worker")
///         .spawn(async { weft_executor::task::current().name().map(String::from) });
///     t.await.unwrap()
/// });
/// assert_eq!(name.as_deref(), Some("worker"));
/// ```
#[track_caller]
pub fn current() -> TaskInfo {
    try_current().expect(
        "weft::task::current() called outside a task; use task::try_current() where that can happen",
    )
}

/// Information about the task being polled right now, or `None` outside a task.
///
/// ```
/// assert!(weft_executor::task::try_current().is_none());
/// let id = weft_executor::run(async {
///     weft_executor::spawn(async { weft_executor::task::try_current().map(|t| t.id()) })
///         .await
///         .unwrap()
/// });
/// assert!(id.is_some());
/// ```
pub fn try_current() -> Option<TaskInfo> {
    CURRENT.with(|c| {
        let cur = c.take();
        let out = cur.as_deref().cloned();
        c.set(cur);
        out
    })
}
