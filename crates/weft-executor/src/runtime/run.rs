//! The end of [`crate::run`] (asyncio.run) and of [`Runtime::shutdown_timeout`]: once the main future is done, the workers stop, the
//! tasks left over are cancelled **and joined** on the calling thread, then the shielded work
//! (including the cleanups those cancellations handed off) runs to completion on that thread,
//! within a deadline; only then is the runtime shut down.
//!
//! Why this order: a task cancelled by the final shutdown can no longer start anything (the
//! runtime drops whatever is scheduled then), so a `with_resource` scope inside a leftover task
//! would lose its async cleanup. asyncio.run does the same: `_cancel_all_tasks` (cancel, then
//! gather the cancelled tasks), and only then closes the loop.
//!
//! Why stop the workers first: with no worker running, every live task is in a queue or
//! registered as waiting (a stopping worker puts its LIFO slot back on the global queue), so
//! "every leftover is gone" can be checked exactly. The calling thread then runs what remains
//! (single-threaded, as asyncio does), parking on the idle list like a worker so that a task
//! scheduled from another thread wakes it.

use std::collections::HashSet;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::shared::{report_alive_filtered, Shared};
use super::Runtime;
use crate::context::{self, Ctx, Spawner};
use crate::lock::lock;
use crate::structured::ShieldReport;
use crate::task::{run_runnable, Id, Runnable, TaskInfo};

/// Rounds of "wake the leftovers still registered, drop what got queued" before giving up
/// (a leftover whose future cannot be dropped, e.g. one stuck in a poll on a worker that
/// never stopped); the final shutdown then handles it.
const CANCEL_ROUNDS: usize = 64;

/// Tasks the calling thread runs before it lets `block_on` poll I/O and timers.
const BUDGET: u32 = 32;

/// [`crate::run`]: `fut` on a fresh runtime, then the ending described in the module docs.
#[track_caller]
pub(crate) fn run<F: Future>(fut: F, shield_timeout: Duration) -> F::Output {
    let rt = Runtime::new().unwrap_or_else(|e| panic!("weft::run: cannot start the runtime: {e}"));
    // Local tasks of this `block_on` are cancelled as it returns (their cleanups go to the
    // still running workers).
    let out = rt.block_on(fut);
    let report = rt.finish(shield_timeout);
    if !report.is_clean() {
        eprintln!("weft::run: {report}");
    }
    out
}

impl Runtime {
    /// Stops the workers, cancels and joins every task but the shielded ones, runs shielded
    /// work on this thread for up to `shield_timeout`, then shuts down (cancelling whatever is
    /// left). Returns what the shielded wait abandoned.
    fn finish(self, shield_timeout: Duration) -> ShieldReport {
        self.end(None, |_| shield_timeout).1
    }

    /// The ending shared by `run` and [`Runtime::shutdown_timeout`]: stops the workers (waiting
    /// at most `workers_timeout` for them), cancels and joins the leftovers on this thread, runs
    /// shielded work here for `shield_timeout(time spent so far)`, then shuts down. Returns
    /// whether every worker stopped in time, and what the shielded wait abandoned.
    pub(super) fn end(
        self,
        workers_timeout: Option<Duration>,
        shield_timeout: impl FnOnce(Duration) -> Duration,
    ) -> (bool, ShieldReport) {
        let start = Instant::now();
        let sh = self.handle.shared.clone();
        let threads = std::mem::take(&mut *lock(&self.threads));
        let stopped = sh.stop_workers(threads, workers_timeout);
        let _t = self.timers.as_ref().map(|t| t.enter());
        let _c = context::enter(Ctx {
            spawner: Spawner::Multi(sh.clone()),
            local: None,
        });
        cancel_leftovers(&sh);
        let wait = Box::pin(crate::structured::wait_shielded(shield_timeout(
            start.elapsed(),
        )));
        let report = weft_reactor::block_on(RunUntil {
            sh: &sh,
            idle_index: sh.queues.workers(),
            in_idle: false,
            until: wait,
        });
        drop(self); // shuts down: cancels what is left
        (stopped, report)
    }
}

/// Which tasks are leftovers: spawned before the main future finished, and not shielded.
struct Leftovers {
    /// Tasks with a smaller id existed when the main future finished (ids are assigned in
    /// spawn order and never reused).
    cutoff: Id,
    shielded: HashSet<Id>,
}

impl Leftovers {
    fn contains(&self, info: &TaskInfo) -> bool {
        info.id() < self.cutoff && !self.shielded.contains(&info.id())
    }
}

/// Cancels every leftover task and returns once each one's future has been dropped (its
/// destructors ran here, so its `with_resource` cleanups were handed to shielded tasks).
/// Debug mode lists them first.
fn cancel_leftovers(sh: &Arc<Shared>) {
    let left = Leftovers {
        // A fresh id is larger than that of every task spawned so far.
        cutoff: TaskInfo::new(None, Location::caller()).id(),
        shielded: crate::structured::shielded_ids(context::multi_key(sh)),
    };
    if sh.cfg.debug {
        report_alive_filtered(&sh.registry, |i| left.contains(i));
    }
    for _ in 0..CANCEL_ROUNDS {
        drop_queued_leftovers(sh, &left);
        if !sh.registry.infos().iter().any(|i| left.contains(i)) {
            return;
        }
        // A waiting leftover is only reachable through its waker: wake every registered task
        // (a spurious wake-up for the others), so the leftovers land in the queues.
        for w in sh.registry.wakers() {
            w.wake();
        }
    }
}

/// Empties the queues, dropping (cancelling) the leftovers and queueing the rest again.
/// Dropping a leftover may schedule new tasks (shielded cleanups): they are kept too.
fn drop_queued_leftovers(sh: &Shared, left: &Leftovers) {
    let mut kept: Vec<Runnable> = Vec::new();
    while let Some(r) = sh.queues.pop_any() {
        if left.contains(&r.metadata().info) {
            drop(r);
        } else {
            kept.push(r);
        }
    }
    for r in kept {
        sh.queues.push_global(r);
    }
}

/// Runs the runtime's tasks on this thread until `until` is ready.
struct RunUntil<'a, W> {
    sh: &'a Arc<Shared>,
    /// This thread's index on the idle list (one no worker uses).
    idle_index: usize,
    /// Whether this thread is on the idle list (or was taken off it by a notifier).
    in_idle: bool,
    until: Pin<Box<W>>,
}

impl<W: Future> Future for RunUntil<'_, W> {
    type Output = W::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<W::Output> {
        let this = &mut *self;
        let sh = this.sh;
        this.leave_idle();
        // Polled once per poll (it registers a waker where it waits), not once per task.
        if let Poll::Ready(v) = this.until.as_mut().poll(cx) {
            return Poll::Ready(v);
        }
        for _ in 0..BUDGET {
            match sh.queues.pop_any() {
                Some(r) => run_runnable(r, &sh.cfg),
                None => {
                    // Same protocol as a worker: on the idle list, then re-check the queues.
                    sh.idle.sleep(this.idle_index, cx.waker().clone());
                    this.in_idle = true;
                    if !sh.has_work() {
                        return Poll::Pending;
                    }
                    this.leave_idle();
                }
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<W> RunUntil<'_, W> {
    fn leave_idle(&mut self) {
        if self.in_idle {
            self.in_idle = false;
            self.sh.idle.wake_up(self.idle_index);
            self.sh.idle.stop_searching();
        }
    }
}

impl<W> Drop for RunUntil<'_, W> {
    fn drop(&mut self) {
        self.leave_idle();
    }
}
