//! The live task dump (asyncio's `all_tasks()` and `Task.print_stack()`): [`TaskState`],
//! [`TaskSnapshot`], [`TaskDump`], `tasks()` on every executor and [`all_tasks`] /
//! [`print_tasks`] for the current one.
//!
//! Cost: a task's state is a byte in its allocation, written with a relaxed store when a poll
//! starts and ends and when the task is scheduled; the time of the last poll is recorded only in
//! debug mode, where every poll is timed anyway. Taking a dump locks each registry shard once,
//! briefly (the same short locks a task takes when it first waits); printing one never locks.
//!
//! What it lists is the executor's registry of live tasks: outside debug mode a task registers
//! when it first waits (a task that has not yet returned `Pending` is queued or running and
//! not listed), in debug mode every task from its spawn (see `docs/runtime.md`).

use std::fmt;
use std::panic::Location;
use std::time::Duration;

use crate::context;
use crate::local::LocalRuntime;
use crate::runtime::{Handle, Runtime};
use crate::task::{Id, TaskInfo};

/// What a task is doing, as of its last poll or wake-up (see [`TaskSnapshot::state`]).
///
/// ```
/// use weft_executor::task::TaskState;
/// assert_eq!(TaskState::Waiting.to_string(), "waiting");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum TaskState {
    /// Scheduled to run: spawned and not yet polled, or woken since its last poll.
    Queued = 0,
    /// Being polled right now (on some thread).
    Running = 1,
    /// Its last poll returned `Pending` and nothing has woken it since.
    Waiting = 2,
    /// Its future has completed (or panicked); it is about to leave the list.
    Completed = 3,
}

impl TaskState {
    pub(crate) fn from_u8(v: u8) -> TaskState {
        match v {
            0 => TaskState::Queued,
            1 => TaskState::Running,
            2 => TaskState::Waiting,
            _ => TaskState::Completed,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            TaskState::Queued => "queued",
            TaskState::Running => "running",
            TaskState::Waiting => "waiting",
            TaskState::Completed => "completed",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One live task in a dump: its [`TaskInfo`] (id, name, spawn location), its [`TaskState`] and
/// the time since its last poll started.
///
/// `Display` prints one line of [`TaskDump`]'s table.
///
/// ```
/// use weft_executor::task::TaskState;
/// let rt = weft_executor::LocalRuntime::builder().debug(true).build_local().unwrap();
/// let t = rt.spawn_local(std::future::pending::<()>());
/// let snap = &rt.tasks()[0];
/// assert_eq!(snap.id(), t.id());
/// assert_eq!(snap.state(), TaskState::Queued); // spawned, not polled yet
/// assert_eq!(snap.since_last_poll(), None);
/// println!("{snap}");
/// ```
#[derive(Clone, Debug)]
pub struct TaskSnapshot {
    info: TaskInfo,
    state: TaskState,
    since_last_poll: Option<Duration>,
}

impl TaskSnapshot {
    pub(crate) fn new(
        info: TaskInfo,
        state: TaskState,
        since_last_poll: Option<Duration>,
    ) -> TaskSnapshot {
        TaskSnapshot {
            info,
            state,
            since_last_poll,
        }
    }

    /// The task's id, name and spawn location.
    pub fn info(&self) -> &TaskInfo {
        &self.info
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.info.id()
    }

    /// The task's name, if it was given one.
    pub fn name(&self) -> Option<&str> {
        self.info.name()
    }

    /// Where the task was spawned.
    pub fn location(&self) -> &'static Location<'static> {
        self.info.location()
    }

    /// What the task was doing when the dump was taken.
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// Time since the task's last poll started (for a running task: how long the current poll
    /// has been going), to the millisecond. `None` if it was never polled, or if the runtime is
    /// not in debug mode (polls are only timed there).
    pub fn since_last_poll(&self) -> Option<Duration> {
        self.since_last_poll
    }
}

/// The column headers of [`TaskSnapshot`]'s `Display` line.
const HEADER: &str = "    id  state      last poll  name                  spawned at";

impl fmt::Display for TaskSnapshot {
    /// `     7  waiting        1.2s ago  fetch                 src/main.rs:10:5`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let since = match self.since_last_poll {
            Some(d) if d < Duration::from_millis(1) => "<1ms ago".to_string(),
            Some(d) => format!("{d:?} ago"),
            None => "-".to_string(),
        };
        write!(
            f,
            "{:>6}  {:<9}  {:>9}  {:<20}  {}",
            self.info.id(),
            self.state,
            since,
            self.info.name().unwrap_or("-"),
            self.info.location()
        )
    }
}

/// A printable dump of live tasks (asyncio's `print_stack()` for every task): a header line,
/// then one [`TaskSnapshot`] line per task, in id order.
///
/// ```
/// let rt = weft_executor::LocalRuntime::builder().debug(true).build_local().unwrap();
/// let dump = rt.block_on(async {
///     let _idle = weft_executor::task::Builder::new()
///         .name("idle")
///         .spawn_local(std::future::pending::<()>());
///     weft_executor::task::dump()
/// });
/// assert_eq!(dump.len(), 1);
/// assert!(dump.to_string().contains("idle"));
/// println!("{dump}");
/// ```
#[derive(Clone, Debug, Default)]
pub struct TaskDump {
    tasks: Vec<TaskSnapshot>,
}

impl TaskDump {
    /// A dump of `tasks` (sorted by id).
    pub fn new(mut tasks: Vec<TaskSnapshot>) -> TaskDump {
        tasks.sort_by_key(TaskSnapshot::id);
        TaskDump { tasks }
    }

    /// The tasks, in id order.
    pub fn tasks(&self) -> &[TaskSnapshot] {
        &self.tasks
    }

    /// The tasks, in id order.
    pub fn into_tasks(self) -> Vec<TaskSnapshot> {
        self.tasks
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl From<Vec<TaskSnapshot>> for TaskDump {
    fn from(tasks: Vec<TaskSnapshot>) -> TaskDump {
        TaskDump::new(tasks)
    }
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} live task(s)", self.tasks.len())?;
        write!(f, "{HEADER}")?;
        for t in &self.tasks {
            write!(f, "\n{t}")?;
        }
        Ok(())
    }
}

/// The live tasks of the runtime this thread runs in (asyncio's `all_tasks()`): on a
/// [`Runtime`]'s worker or `block_on` thread, that runtime's tasks (plus, on the `block_on`
/// thread, its `spawn_local` tasks); in a [`LocalRuntime`], its tasks; outside any runtime, the
/// global runtime's if it was started (else none). In id order.
///
/// Outside debug mode only tasks that have waited at least once are listed (see the module
/// docs); in debug mode, every task not finished.
///
/// ```
/// let rt = weft_executor::Runtime::builder().worker_threads(1).debug(true).build().unwrap();
/// let ids = rt.block_on(async {
///     let t = weft_executor::spawn(std::future::pending::<()>());
///     let ids: Vec<_> = weft_executor::task::all_tasks().iter().map(|s| s.id()).collect();
///     assert!(ids.contains(&t.id()));
///     ids
/// });
/// assert_eq!(ids.len(), 1);
/// ```
#[doc(alias = "tasks")]
pub fn all_tasks() -> Vec<TaskSnapshot> {
    let mut v = Vec::new();
    for r in context::current_registries() {
        v.extend(r.snapshots());
    }
    v.sort_by_key(TaskSnapshot::id);
    v
}

/// [`all_tasks`] as a printable [`TaskDump`].
pub fn dump() -> TaskDump {
    TaskDump::new(all_tasks())
}

/// Prints [`dump`] to stderr (asyncio's `print_stack()`, for every live task of the current
/// runtime).
///
/// ```
/// weft_executor::run(async { weft_executor::task::print_tasks() });
/// ```
pub fn print_tasks() {
    eprintln!("{}", dump());
}

impl Handle {
    /// The live tasks of this runtime, in id order (see [`all_tasks`] for which are listed).
    ///
    /// ```
    /// let rt = weft_executor::Runtime::builder().worker_threads(1).debug(true).build().unwrap();
    /// let t = rt.spawn(std::future::pending::<()>());
    /// assert_eq!(rt.handle().tasks()[0].id(), t.id());
    /// ```
    pub fn tasks(&self) -> Vec<TaskSnapshot> {
        self.shared.registry.snapshots()
    }
}

impl Runtime {
    /// The live tasks of this runtime, in id order (see [`all_tasks`] for which are listed).
    /// Tasks spawned with `spawn_local` inside [`Runtime::block_on`] are listed by
    /// [`all_tasks`] on that thread.
    ///
    /// ```
    /// use weft_executor::task::TaskDump;
    /// let rt = weft_executor::Runtime::builder().worker_threads(1).debug(true).build().unwrap();
    /// let idle = rt.spawn(std::future::pending::<()>());
    /// let tasks = rt.tasks();
    /// assert_eq!(tasks.len(), 1);
    /// assert_eq!(tasks[0].id(), idle.id());
    /// println!("{}", TaskDump::new(tasks));
    /// ```
    pub fn tasks(&self) -> Vec<TaskSnapshot> {
        self.handle().tasks()
    }
}

impl LocalRuntime {
    /// The live tasks of this runtime, in id order (see [`all_tasks`] for which are listed).
    ///
    /// ```
    /// use weft_executor::task::TaskState;
    /// let rt = weft_executor::LocalRuntime::builder().debug(true).build_local().unwrap();
    /// let t = rt.spawn_local(async {});
    /// assert_eq!(rt.tasks()[0].state(), TaskState::Queued); // spawned, not polled yet
    /// rt.block_on(t).unwrap();
    /// assert!(rt.tasks().is_empty());
    /// ```
    pub fn tasks(&self) -> Vec<TaskSnapshot> {
        self.core.registry.snapshots()
    }
}
