//! The worker threads of a multi-threaded runtime: their scheduling loop ([`Worker`], polled by
//! `weft_reactor::block_on`), task picking (LIFO slot, local queue, global batches, stealing),
//! driving the reactor in the worker's own context, and the check that refuses `block_on`
//! inside a task.
//!
//! Who drives I/O: a worker that finds no task first polls the reactor with a zero timeout
//! (`weft_reactor::try_react`) *inside its loop*, so the tasks that poll wakes are scheduled
//! onto its own LIFO slot and local queue (no global queue, no unpark of another worker). If
//! that found nothing it goes on the idle list and blocks in the reactor as its driver (the wait
//! bounded by the next timer); whoever schedules work for it wakes it through [`SleepWake`],
//! which interrupts the poller. If another thread drives already, the worker parks in its
//! `block_on` as before. A busy worker polls the reactor (zero timeout) every
//! [`IO_INTERVAL`] tasks.

use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use weft_timer::Timers;

use super::config::ThreadHook;
use super::shared::{Shared, LOCAL_QUEUE_CAP};
use super::wake::SleepWake;
use crate::context::{self, Ctx, Spawner};
use crate::lock::lock;
use crate::task::{run_runnable, Runnable};

/// Tasks a worker runs per poll of its loop before returning `Pending` to `block_on`, which
/// then gets a chance to poll I/O and timers (it does so at least every
/// [`weft_reactor::IO_POLL_BUDGET`] self-wakes).
pub(crate) const WORKER_BUDGET: u32 = 16;
/// At most this many tasks in a row from the LIFO slot.
const MAX_LIFO_STREAK: u32 = 3;
/// Every this many ticks a worker looks at the global queue first (as tokio and Go do).
const GLOBAL_QUEUE_INTERVAL: u32 = 61;
/// A busy worker polls the reactor (zero timeout, in its own context) after this many tasks.
pub(crate) const IO_INTERVAL: u32 = 61;

pub(super) fn worker_main(
    sh: Arc<Shared>,
    index: usize,
    timers: Option<Timers>,
    start: Option<ThreadHook>,
    stop: Option<ThreadHook>,
) {
    // Counted as exited however this thread ends, so `shutdown` never waits for a dead worker.
    let _exit = ExitGuard(&sh);
    let _t = timers.as_ref().map(|t| t.enter());
    let _c = context::enter(Ctx {
        spawner: Spawner::Multi(sh.clone()),
        local: None,
    });
    if let Some(f) = &start {
        f();
    }
    while !sh.closed.load(Ordering::Acquire) {
        // Tasks catch their own panics; this only guards against a panicking hook.
        let r = catch_unwind(AssertUnwindSafe(|| {
            weft_reactor::block_on(Worker {
                shared: sh.clone(),
                index,
                tick: 0,
                searching: false,
                in_idle: false,
                lifo_streak: 0,
                since_io: 0,
                sleep_wake: None,
                rng: (index as u32).wrapping_mul(0x9E37_79B9) | 1,
            })
        }));
        if r.is_ok() {
            break;
        }
    }
    if let Some(f) = &stop {
        f();
    }
}

/// Counts a worker thread as exited when dropped (also when it unwinds).
struct ExitGuard<'a>(&'a Shared);

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        *lock(&self.0.exited) += 1;
        self.0.exited_cv.notify_all();
    }
}

thread_local! {
    /// (runtime pointer, worker index) while this thread runs a worker loop poll.
    pub(super) static WORKER: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    /// The LIFO slot of the worker running on this thread (only used with `lifo_slot(true)`).
    pub(super) static LIFO: Cell<Option<Runnable>> = const { Cell::new(None) };
    /// Set while the worker on this thread drives the reactor: tasks it wakes go to its own
    /// queues without waking another worker (it runs them next, and wakes one afterwards if it
    /// has more than it can run at once).
    pub(super) static DRIVING: Cell<bool> = const { Cell::new(false) };
}

/// Whether the worker on this thread is driving the reactor (see [`DRIVING`]).
pub(super) fn driving_here() -> bool {
    DRIVING.try_with(|d| d.get()).unwrap_or(false)
}

/// The idle-list waker of a worker: wakes its `block_on`, and interrupts the reactor's poller
/// if the worker is blocked in it.
impl Wake for SleepWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        SleepWake::wake(self, weft_reactor::notify);
    }
}

/// Clears [`DRIVING`] when dropped (also on unwind).
struct DrivingGuard;

impl Drop for DrivingGuard {
    fn drop(&mut self) {
        let _ = DRIVING.try_with(|d| d.set(false));
    }
}

/// Whether this thread is inside a worker's scheduling loop (running a task of a multi-threaded
/// runtime).
pub(crate) fn on_worker() -> bool {
    WORKER.try_with(|w| w.get().0 != 0).unwrap_or(false)
}

/// Panics if called from a task on a worker thread: blocking there stalls the worker and
/// deadlocks if the awaited work is queued on it (its LIFO slot cannot be stolen).
#[track_caller]
pub(crate) fn assert_not_on_worker(what: &str) {
    if on_worker() {
        panic!(
            "weft: {what} called inside a task on a worker thread of a multi-threaded Runtime:              blocking there stalls the worker and deadlocks on work queued on it; `.await`              the future instead, or move blocking code to spawn_blocking"
        );
    }
}

/// One worker's scheduling loop, driven by `weft_reactor::block_on` so that an idle worker parks
/// in the reactor (driving I/O and timers).
struct Worker {
    shared: Arc<Shared>,
    index: usize,
    tick: u32,
    searching: bool,
    in_idle: bool,
    /// Consecutive tasks taken from the LIFO slot.
    lifo_streak: u32,
    /// Tasks run since this worker last polled the reactor.
    since_io: u32,
    /// The idle-list waker (made once per `block_on`, whose waker it wraps).
    sleep_wake: Option<(Arc<SleepWake>, Waker)>,
    rng: u32,
}

impl Worker {
    fn next_rand(&mut self) -> u32 {
        // xorshift32
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    fn find_task(&mut self) -> Option<Runnable> {
        if self.shared.lifo {
            if let Some(r) = LIFO.with(|l| l.take()) {
                if self.lifo_streak < MAX_LIFO_STREAK {
                    self.lifo_streak += 1;
                    return Some(r);
                }
                // Enough LIFO in a row: queue it and let the others run.
                if let Err(e) = self.shared.locals[self.index].push(r) {
                    let _ = self.shared.injector.push(e.into_inner());
                }
                self.shared.notify();
            }
            self.lifo_streak = 0;
        }
        let rand = self.next_rand() as usize;
        let sh = &*self.shared;
        let local = &sh.locals[self.index];
        self.tick = self.tick.wrapping_add(1);
        // Every GLOBAL_QUEUE_INTERVAL-th pick looks at the global queue first, and takes a batch:
        // taking a single task there lets workers whose local queues never empty (tasks looping
        // on `yield_now`) drain the global queue at one task per 61 picks.
        if self.tick % GLOBAL_QUEUE_INTERVAL == 0 {
            if let Some(r) = self.pop_global_batch() {
                return Some(r);
            }
        }
        if let Ok(r) = local.pop() {
            return Some(r);
        }
        if let Some(r) = self.pop_global_batch() {
            return Some(r);
        }
        // Steal half of another worker's queue, starting at a random victim.
        let n = sh.locals.len();
        if n > 1 {
            let start = rand % n;
            for k in 0..n {
                let v = (start + k) % n;
                if v == self.index {
                    continue;
                }
                let q = &sh.locals[v];
                let len = q.len();
                if len == 0 {
                    continue;
                }
                let Ok(first) = q.pop() else { continue };
                for _ in 1..len.div_ceil(2) {
                    match q.pop() {
                        Ok(x) => {
                            if let Err(e) = local.push(x) {
                                let _ = sh.injector.push(e.into_inner());
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
                return Some(first);
            }
        }
        None
    }

    /// Global queue: takes one task to run plus a fair share of the rest
    /// (`len / workers + 1`, at most half a local queue) into this worker's local queue.
    fn pop_global_batch(&self) -> Option<Runnable> {
        let sh = &*self.shared;
        let local = &sh.locals[self.index];
        let r = sh.injector.pop().ok()?;
        let n = (sh.injector.len() / sh.locals.len() + 1).min(LOCAL_QUEUE_CAP / 2);
        for _ in 0..n {
            match sh.injector.pop() {
                Ok(x) => {
                    if let Err(e) = local.push(x) {
                        let _ = sh.injector.push(e.into_inner());
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        Some(r)
    }

    /// Drives the reactor once on this thread, in this worker's context (see the module
    /// docs); `None` if another thread drives it.
    fn react_here(&mut self, timeout: Option<Duration>) -> Option<std::io::Result<usize>> {
        self.since_io = 0;
        DRIVING.with(|d| d.set(true));
        let _g = DrivingGuard;
        weft_reactor::try_react(timeout)
    }

    /// After driving: tasks queued beyond the one this worker runs next go to another worker
    /// (the usual one-searcher rule applies).
    fn spread(&self) {
        if !self.shared.locals[self.index].is_empty() {
            self.shared.notify();
        }
    }

    /// The idle-list waker, made on first use from the `block_on` waker.
    fn sleep_waker(&mut self, cx: &Context<'_>) -> (Arc<SleepWake>, Waker) {
        let (sw, w) = self.sleep_wake.get_or_insert_with(|| {
            let sw = Arc::new(SleepWake::new(cx.waker().clone()));
            let w = Waker::from(sw.clone());
            (sw, w)
        });
        (sw.clone(), w.clone())
    }

    /// Leaves the idle list (if still on it) and becomes a searching worker.
    fn leave_idle(&mut self) {
        self.shared.idle.wake_up(self.index);
        self.in_idle = false;
        self.searching = true;
    }

    /// Leaves the searching state; true if this was the last searcher (see
    /// [`Idle::stop_searching`]).
    fn stop_searching(&mut self) -> bool {
        if self.searching {
            self.searching = false;
            self.shared.idle.stop_searching()
        } else {
            false
        }
    }
}

impl Future for Worker {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.shared.closed.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        if this.in_idle {
            this.leave_idle();
        }
        let me = Arc::as_ptr(&this.shared) as usize;
        let prev = WORKER.with(|w| w.replace((me, this.index)));
        let _restore = RestoreWorker(prev);
        let mut budget = WORKER_BUDGET;
        // Whether this poll already polled the reactor after running out of tasks.
        let mut harvested = false;
        loop {
            if this.shared.closed.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            if budget == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match this.find_task() {
                Some(r) => {
                    budget -= 1;
                    // The last searcher to find work wakes another worker if work is left.
                    if this.stop_searching() && this.shared.has_work() {
                        this.shared.notify();
                    }
                    run_runnable(r, &this.shared.cfg);
                    this.since_io += 1;
                    if this.since_io >= IO_INTERVAL {
                        // Fairness: a busy worker still harvests I/O and timers.
                        if let Some(Ok(n)) = this.react_here(Some(Duration::ZERO)) {
                            if n > 0 {
                                this.spread();
                            }
                        }
                    }
                }
                None => {
                    this.stop_searching();
                    if !harvested {
                        // Out of work: harvest ready I/O and due timers here first; what they
                        // wake lands in this worker's own queues.
                        harvested = true;
                        if let Some(Ok(n)) = this.react_here(Some(Duration::ZERO)) {
                            if n > 0 {
                                this.spread();
                                continue;
                            }
                        }
                    }
                    let (sw, waker) = this.sleep_waker(cx);
                    sw.reset();
                    this.shared.idle.sleep(this.index, waker);
                    this.in_idle = true;
                    if this.shared.closed.load(Ordering::SeqCst) {
                        return Poll::Ready(());
                    }
                    if this.shared.has_work() {
                        this.leave_idle();
                        continue;
                    }
                    if !Timers::current().clock().is_paused() {
                        // Block in the reactor as its driver, until I/O, a timer, or a notifier
                        // (through `sw`, which then interrupts the poller). A paused clock is
                        // left to `block_on`, which advances it when everything is idle.
                        let r = if sw.start_driving() {
                            this.react_here(None)
                        } else {
                            Some(Ok(0))
                        };
                        sw.stop_driving();
                        if let Some(Ok(_)) = r {
                            this.leave_idle();
                            this.spread();
                            continue;
                        }
                        // Another thread drives (or the poller failed): park in `block_on`.
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.in_idle {
            self.leave_idle();
        }
        self.stop_searching();
        // A task left in the LIFO slot goes to the global queue (or is dropped after shutdown,
        // which cancels it).
        if let Some(r) = LIFO.try_with(|l| l.take()).ok().flatten() {
            if self.shared.closed.load(Ordering::Acquire) {
                drop(r);
            } else {
                let _ = self.shared.injector.push(r);
                self.shared.notify();
            }
        }
    }
}

struct RestoreWorker((usize, usize));

impl Drop for RestoreWorker {
    fn drop(&mut self) {
        let _ = WORKER.try_with(|w| w.set(self.0));
    }
}
