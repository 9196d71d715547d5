//! The single-threaded executor: [`LocalRuntime`] and the local executor that `Runtime::block_on`
//! and `run` drive for `spawn_local`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::panic::Location;
use std::pin::pin;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};

use concurrent_queue::ConcurrentQueue;
use weft_timer::Timers;

use crate::context::{self, Ctx, Spawner};
use crate::lock::lock;
use crate::registry::{Registry, RegistryRef};
use crate::runtime::{cancel_all, report_alive, Config, RuntimeBuilder};
use crate::task::{poll_timed, run_runnable, spawn_into, Runnable, Task, TaskInfo};

/// The name the main future of `block_on` / `run` has in debug-mode reports.
pub(crate) const MAIN_FUTURE_NAME: &str = "main future of block_on";

/// Tasks run per poll of the local driver before it returns to `block_on` (which then polls I/O
/// and timers at least every `IO_POLL_BUDGET` self-wakes).
const LOCAL_BUDGET: u32 = 32;

/// The part of a local executor that wakers (possibly on other threads) touch.
pub(crate) struct LocalShared {
    queue: ConcurrentQueue<Runnable>,
    waker: Mutex<Option<Waker>>,
    idle: AtomicBool,
    closed: AtomicBool,
    owner: ThreadId,
    /// The executor's live tasks (here, so that every task's schedule function keeps it alive).
    registry: Arc<Registry>,
    /// Number of `schedule` calls (unit tests count them).
    #[cfg(test)]
    pub(crate) schedules: std::sync::atomic::AtomicUsize,
}

impl LocalShared {
    fn schedule(&self, r: Runnable) {
        #[cfg(test)]
        self.schedules.fetch_add(1, Ordering::SeqCst);
        if self.closed.load(Ordering::Acquire) {
            if thread::current().id() == self.owner {
                drop(r);
            } else {
                // A local task may only be dropped on its own thread; after shutdown nobody
                // will run it, so leak it rather than abort.
                std::mem::forget(r);
            }
            return;
        }
        r.metadata().set_state(crate::dump::TaskState::Queued);
        let me = self as *const LocalShared;
        let r = match DRIVING.with(|d| d.get()) {
            (shared, core) if shared == me => {
                // SAFETY: `DRIVING` holds this pair only while `drive` is inside a poll of this
                // core on this thread, or `LocalCore::spawn_local` is running on it (a
                // `DrivingGuard` resets it before that poll or spawn returns or unwinds), and
                // both hold the `LocalCore` (an `Rc`, or `&self`) meanwhile, so `core` points
                // to a live `LocalCore`. `LocalCore` is only touched from this thread.
                let core = unsafe { &*core };
                match core.fast.try_borrow_mut() {
                    Ok(mut q) => {
                        q.push_back(r);
                        // The driver is mid-poll (or this is a spawn on its thread, which
                        // notifies it) and will look at `fast` before it idles.
                        return;
                    }
                    Err(_) => r,
                }
            }
            _ => r,
        };
        let _ = self.queue.push(r);
        self.notify();
    }

    /// [`LocalShared::notify`] for a push made on the owner thread, outside the driver's poll:
    /// the driver runs on this thread too, so program order replaces the fences.
    #[inline]
    fn notify_same_thread(&self) {
        if self.idle.load(Ordering::Relaxed) {
            self.wake_idle_same_thread();
        }
    }

    /// The driver is idle: wake it (same thread, see [`LocalShared::notify_same_thread`]).
    #[cold]
    fn wake_idle_same_thread(&self) {
        if self.idle.swap(false, Ordering::SeqCst) {
            let w = lock(&self.waker).clone();
            if let Some(w) = w {
                w.wake();
            }
        }
    }

    fn notify(&self) {
        fence(Ordering::SeqCst);
        if self.idle.load(Ordering::SeqCst) && self.idle.swap(false, Ordering::SeqCst) {
            let w = lock(&self.waker).clone();
            if let Some(w) = w {
                w.wake();
            }
        }
    }
}

impl Drop for LocalShared {
    fn drop(&mut self) {
        let here = thread::current().id() == self.owner;
        while let Ok(r) = self.queue.pop() {
            if here {
                drop(r);
            } else {
                std::mem::forget(r);
            }
        }
    }
}

thread_local! {
    /// (shared, core) of the local executor whose driver is polling on this thread right now.
    static DRIVING: Cell<(*const LocalShared, *const LocalCore)> =
        const { Cell::new((ptr::null(), ptr::null())) };
}

/// Restores the previous `DRIVING` pair when dropped.
struct DrivingGuard((*const LocalShared, *const LocalCore));

impl DrivingGuard {
    fn enter(core: &LocalCore) -> DrivingGuard {
        let pair = (Arc::as_ptr(&core.shared), core as *const LocalCore);
        DrivingGuard(DRIVING.with(|d| d.replace(pair)))
    }
}

impl Drop for DrivingGuard {
    fn drop(&mut self) {
        let _ = DRIVING.try_with(|d| d.set(self.0));
    }
}

/// A local executor: a run queue of `!Send` tasks driven by one thread.
///
/// Tasks scheduled on the driving thread while the driver runs go to `fast`, a plain `VecDeque`;
/// wake-ups from other threads (or while the driver is not running) go to the shared lock-free
/// queue.
pub(crate) struct LocalCore {
    /// Process-unique id (see [`context::next_executor_id`]).
    pub(crate) id: usize,
    pub(crate) shared: Arc<LocalShared>,
    fast: RefCell<VecDeque<Runnable>>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) cfg: Arc<Config>,
    timers: Option<Timers>,
}

impl LocalCore {
    pub(crate) fn new(cfg: Arc<Config>, timers: Option<Timers>) -> LocalCore {
        let registry = Registry::new(1, cfg.on_unhandled.clone(), cfg.debug);
        LocalCore {
            id: context::next_executor_id(),
            shared: Arc::new(LocalShared {
                registry: registry.clone(),
                queue: ConcurrentQueue::unbounded(),
                waker: Mutex::new(None),
                idle: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                owner: thread::current().id(),
                #[cfg(test)]
                schedules: std::sync::atomic::AtomicUsize::new(0),
            }),
            fast: RefCell::new(VecDeque::new()),
            registry,
            cfg,
            timers,
        }
    }

    pub(crate) fn spawn_local<F>(&self, fut: F, info: TaskInfo) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        assert_eq!(
            thread::current().id(),
            self.shared.owner,
            "weft: a local executor's tasks must be spawned on its own thread"
        );
        let sh = self.shared.clone();
        let reg = RegistryRef::new(&sh.registry);
        // A spawn outside the driver (`rt.spawn_local(..)` before `rt.block_on(..)`) goes to
        // the same-thread queue (`fast`) too: in the cross-thread queue the driver takes only
        // every 8th task while local tasks keep rescheduling themselves
        // (`rt_current_thread/spawn_many_remote_busy`). Unless that queue already holds tasks
        // (woken or cancelled on this thread outside the driver): then the new task queues
        // behind them, so they keep running in the order they were scheduled.
        let enter = DRIVING.with(|d| d.get().0) != Arc::as_ptr(&self.shared)
            && self.shared.queue.is_empty();
        let guard = enter.then(|| DrivingGuard::enter(self));
        // SAFETY: the schedule function below owns `sh`, which owns the registry, and async-task
        // drops a task's future before its schedule function (see `spawn_into`).
        let task = unsafe {
            spawn_into(reg, fut, info, move |wrapped, meta| {
                async_task::Builder::new()
                    .metadata(meta)
                    .spawn_local(move |_| wrapped, move |r| sh.schedule(r))
            })
        };
        if guard.is_some() {
            drop(guard);
            // The driver may be idle (registered its waker) inside another executor
            // (`run_until`) on this very thread: wake it. Same thread, so no fence is needed.
            self.shared.notify_same_thread();
        }
        task
    }

    /// Cancels every task still alive (listing them first in debug mode).
    pub(crate) fn shutdown(&self) {
        if self.shared.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        if self.cfg.debug {
            report_alive(&self.registry);
        }
        cancel_all(&self.registry, self.cfg.debug, || {
            let mut n = 0;
            loop {
                let r = self.fast.borrow_mut().pop_front();
                match r {
                    Some(r) => drop(r),
                    None => break,
                }
                n += 1;
            }
            while let Ok(r) = self.shared.queue.pop() {
                drop(r);
                n += 1;
            }
            n
        });
    }
}

/// Shuts a local executor down when dropped (also while unwinding).
pub(crate) struct ShutdownOnDrop(pub(crate) Rc<LocalCore>);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

struct MainWake {
    woken: AtomicBool,
    shared: Arc<LocalShared>,
}

impl Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        // Woken by a task of this very executor (the usual case: a task the main future awaits
        // completes): same thread, so the driver sees `woken` in program order and the fence
        // of the cross-thread notify is not needed.
        if DRIVING.with(|d| d.get().0) == Arc::as_ptr(&self.shared) {
            self.shared.notify_same_thread();
        } else {
            self.shared.notify();
        }
    }
}

/// Runs `fut` while running the core's tasks; resolves with `fut`'s output. With `enter`, each
/// poll makes the core this thread's context (for `run_until` awaited inside another executor).
///
/// The main future counts against the driver's budget like a task, so a main future that keeps
/// waking itself (`while !t.is_finished() { yield_now().await }`) still lets `block_on` poll I/O
/// and timers; in debug mode its polls are timed like a task's (`at` is where `block_on` was
/// called, shown in the slow-poll report).
pub(crate) async fn drive<F: Future>(
    core: Rc<LocalCore>,
    fut: F,
    enter: bool,
    at: &'static Location<'static>,
) -> F::Output {
    let mut fut = pin!(fut);
    let main_info = core
        .cfg
        .debug
        .then(|| TaskInfo::new(Some(Arc::new(MAIN_FUTURE_NAME.to_string())), at));
    let main = Arc::new(MainWake {
        woken: AtomicBool::new(true),
        shared: core.shared.clone(),
    });
    let main_waker = Waker::from(main.clone());
    poll_fn(move |cx: &mut Context<'_>| {
        let _t = if enter {
            core.timers.as_ref().map(|t| t.enter())
        } else {
            None
        };
        let _g = enter.then(|| {
            context::enter(Ctx {
                spawner: Spawner::Local(core.clone()),
                local: Some(core.clone()),
            })
        });
        let _d = DrivingGuard::enter(&core);
        let mut budget = LOCAL_BUDGET;
        loop {
            if budget > 0 && main.woken.swap(false, Ordering::SeqCst) {
                let mut mcx = Context::from_waker(&main_waker);
                let polled = match &main_info {
                    None => fut.as_mut().poll(&mut mcx),
                    Some(info) => poll_timed(info, &core.cfg, || fut.as_mut().poll(&mut mcx)),
                };
                if let Poll::Ready(v) = polled {
                    return Poll::Ready(v);
                }
                budget -= 1;
            }
            if budget == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // Mostly the same-thread queue; every few ticks the cross-thread queue first, so
            // remote wake-ups are not starved by tasks that keep rescheduling themselves.
            let remote_first = budget % 8 == 0;
            let next = if remote_first {
                core.shared.queue.pop().ok()
            } else {
                None
            };
            let next = next.or_else(|| core.fast.borrow_mut().pop_front());
            let next = next.or_else(|| core.shared.queue.pop().ok());
            match next {
                Some(r) => {
                    budget -= 1;
                    run_runnable(r, &core.cfg);
                }
                None => {
                    // Register our waker each time before going idle, not once per poll: a task
                    // run above may have driven this same core re-entrantly (`run_until` inside
                    // our `block_on`, or `block_on` inside a task), and that inner driver left
                    // its own waker here, which nobody polls once it has returned.
                    {
                        let mut w = lock(&core.shared.waker);
                        match &*w {
                            Some(old) if old.will_wake(cx.waker()) => {}
                            _ => *w = Some(cx.waker().clone()),
                        }
                    }
                    core.shared.idle.store(true, Ordering::SeqCst);
                    fence(Ordering::SeqCst);
                    if main.woken.load(Ordering::SeqCst)
                        || !core.shared.queue.is_empty()
                        || !core.fast.borrow().is_empty()
                    {
                        core.shared.idle.store(false, Ordering::SeqCst);
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    })
    .await
}

/// A single-threaded executor for `!Send` futures.
///
/// Everything runs on the thread that calls [`LocalRuntime::block_on`]; [`crate::spawn`] and
/// [`crate::spawn_local`] inside it both go to this runtime, so with
/// [`RuntimeBuilder::start_paused`] virtual time auto-advances soundly (this is what
/// `#[weft::test]` uses by default). Dropping it cancels every task still alive.
///
/// A local task's future may only be dropped on this runtime's thread. So a task woken from
/// another thread at the very moment the runtime is dropped (after its shutdown has cancelled
/// the tasks it could see) is leaked rather than cancelled, and its [`Task`], if awaited on
/// another thread, never resolves. Stop cross-thread wake-ups (close channels, cancel
/// tokens) before dropping a `LocalRuntime` whose tasks are awaited elsewhere.
///
/// ```
/// use std::rc::Rc;
/// let rt = weft_executor::LocalRuntime::new().unwrap();
/// let shared = Rc::new(5); // !Send
/// let s = shared.clone();
/// let t = rt.spawn_local(async move { *s + 1 });
/// assert_eq!(rt.block_on(t).unwrap(), 6);
/// ```
pub struct LocalRuntime {
    pub(crate) core: Rc<LocalCore>,
}

impl LocalRuntime {
    /// A local runtime with default settings (debug mode from `WEFT_DEBUG`).
    pub fn new() -> io::Result<LocalRuntime> {
        RuntimeBuilder::new().build_local()
    }

    /// A builder (the same as [`crate::Runtime::builder`]; finish with
    /// [`RuntimeBuilder::build_local`]).
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::new()
    }

    pub(crate) fn from_parts(cfg: Arc<Config>, timers: Option<Timers>) -> LocalRuntime {
        LocalRuntime {
            core: Rc::new(LocalCore::new(cfg, timers)),
        }
    }

    /// Runs `fut` to completion on this thread, running spawned tasks meanwhile. Tasks still
    /// alive afterwards stay alive (they run again at the next `block_on`) until the runtime is
    /// dropped.
    ///
    /// # Panics
    /// Inside a task on a worker thread of a multi-threaded runtime (see [`crate::block_on`]).
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        crate::runtime::assert_not_on_worker("LocalRuntime::block_on");
        let at = Location::caller();
        let _t = self.core.timers.as_ref().map(|t| t.enter());
        let _c = context::enter(Ctx {
            spawner: Spawner::Local(self.core.clone()),
            local: Some(self.core.clone()),
        });
        weft_reactor::block_on(drive(self.core.clone(), fut, false, at))
    }

    /// Runs this runtime's tasks while awaiting `fut`, inside some other executor (like tokio's
    /// `LocalSet::run_until`). Dropping the returned future stops running the tasks (they stay
    /// alive, not cancelled); it is cancel-safe in that sense.
    #[track_caller]
    pub fn run_until<F: Future>(&self, fut: F) -> impl Future<Output = F::Output> {
        drive(self.core.clone(), fut, true, Location::caller())
    }

    /// Spawns a `!Send` task; it runs while this runtime is being driven.
    ///
    /// # Panics
    /// If called from another thread than the one that created the runtime.
    #[track_caller]
    pub fn spawn_local<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core
            .spawn_local(fut, TaskInfo::new(None, Location::caller()))
    }

    /// Number of tasks alive that wait (polled at least once, not finished or cancelled); in
    /// debug mode, every task spawned and not finished (as [`crate::Handle::alive_count`]).
    pub fn alive_count(&self) -> usize {
        self.core.registry.len()
    }

    /// The tasks alive, in id order (counted as in [`LocalRuntime::alive_count`]).
    pub fn alive_tasks(&self) -> Vec<TaskInfo> {
        self.core.registry.infos()
    }
}

impl Drop for LocalRuntime {
    fn drop(&mut self) {
        let _t = self.core.timers.as_ref().map(|t| t.enter());
        let _c = context::enter(Ctx {
            spawner: Spawner::Local(self.core.clone()),
            local: Some(self.core.clone()),
        });
        self.core.shutdown();
    }
}

impl fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRuntime")
            .field("alive_tasks", &self.core.registry.len())
            .field("paused_time", &self.core.timers.is_some())
            .finish()
    }
}
