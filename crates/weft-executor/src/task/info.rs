//! [`Id`] and [`TaskInfo`]: what is known about a task.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A task's unique id: process-wide, never reused, assigned in spawn order.
///
/// ```
/// let rt = weft_executor::LocalRuntime::new().unwrap();
/// let a = rt.spawn_local(async {});
/// let b = rt.spawn_local(async {});
/// assert!(a.id() < b.id());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(u64);

impl Id {
    pub(crate) fn next() -> Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Id(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number (starts at 1).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

/// What is known about a task: its [`Id`], optional name and spawn location.
///
/// Cheap to clone (the name is shared). Obtained from [`current`](super::current) inside a task, from
/// [`Task::info`](super::Task::info), and from hooks ([`UnhandledError::task`](super::UnhandledError::task), [`SlowPoll::task`](super::SlowPoll::task)).
#[derive(Clone)]
pub struct TaskInfo {
    id: Id,
    /// A thin pointer (`Arc<String>`, not `Arc<str>`): a `TaskInfo` is kept in every task and in
    /// every registry entry, so its size is per-task memory.
    name: Option<Arc<String>>,
    location: &'static Location<'static>,
}

impl TaskInfo {
    pub(crate) fn new(name: Option<Arc<String>>, location: &'static Location<'static>) -> TaskInfo {
        TaskInfo {
            id: Id::next(),
            name,
            location,
        }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The task's name, if it was given one with [`Builder::name`](super::Builder::name).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().map(String::as_str)
    }

    /// Where the task was spawned (the caller of `spawn`, via `#[track_caller]`).
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }
}

impl fmt::Debug for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskInfo")
            .field("id", &self.id.0)
            .field("name", &self.name)
            .field("location", &format_args!("{}", self.location))
            .finish()
    }
}

impl fmt::Display for TaskInfo {
    /// `task 7 "name" (spawned at src/main.rs:10:5)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(n) = &self.name {
            write!(f, " {n:?}")?;
        }
        write!(f, " (spawned at {})", self.location)
    }
}
