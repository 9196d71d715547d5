//! The error types of [`TaskGroup`](super::TaskGroup): [`GroupError`] (every failure, asyncio's
//! `ExceptionGroup`), [`Failure`] and [`FailureKind`], and [`SpawnError`].

use std::any::Any;
use std::fmt;

use crate::task::{panic_message, TaskInfo};

#[allow(unused_imports)] // doc links
use super::{task_group, TaskGroup};

/// How a child failed: its `Err` value, or a panic.
pub enum FailureKind<E> {
    /// The child returned `Err(e)` (or the body of [`task_group`] did).
    Error(E),
    /// The child panicked; the payload is kept (resume it with `std::panic::resume_unwind`).
    Panic(Box<dyn Any + Send + 'static>),
}

impl<E: fmt::Debug> fmt::Debug for FailureKind<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Error(e) => f.debug_tuple("Error").field(e).finish(),
            FailureKind::Panic(p) => f.debug_tuple("Panic").field(&panic_message(&**p)).finish(),
        }
    }
}

/// One failure of a group: what failed ([`Failure::task`]) and how ([`Failure::kind`]).
pub struct Failure<E> {
    pub(super) task: Option<TaskInfo>,
    pub(super) kind: FailureKind<E>,
}

impl<E> Failure<E> {
    /// The child task that failed (`None` for the body of [`task_group`]).
    pub fn task(&self) -> Option<&TaskInfo> {
        self.task.as_ref()
    }

    /// The error or panic.
    pub fn kind(&self) -> &FailureKind<E> {
        &self.kind
    }

    /// Takes the error or panic.
    pub fn into_kind(self) -> FailureKind<E> {
        self.kind
    }

    /// The error, if this is an `Err` (not a panic).
    pub fn error(&self) -> Option<&E> {
        match &self.kind {
            FailureKind::Error(e) => Some(e),
            FailureKind::Panic(_) => None,
        }
    }

    /// Whether this is a panic.
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, FailureKind::Panic(_))
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.task {
            Some(t) => write!(f, "{t}")?,
            None => f.write_str("the group body")?,
        }
        match &self.kind {
            FailureKind::Error(e) => write!(f, " failed: {e}"),
            FailureKind::Panic(p) => write!(f, " panicked: {}", panic_message(&**p)),
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Failure");
        d.field("task", &self.task);
        match &self.kind {
            FailureKind::Error(e) => d.field("error", e),
            FailureKind::Panic(p) => d.field("panic", &panic_message(&**p)),
        };
        d.finish()
    }
}

/// Every failure of a [`TaskGroup`] (errors and panics of children, and the body's error for
/// [`task_group`]), in completion order: asyncio's `ExceptionGroup`.
///
/// The first failure is the one that cancelled the siblings (fail-fast groups); the others
/// happened before the cancellation reached their task.
pub struct GroupError<E> {
    pub(super) failures: Vec<Failure<E>>,
}

impl<E> GroupError<E> {
    /// The failures, in completion order (never empty).
    pub fn failures(&self) -> &[Failure<E>] {
        &self.failures
    }

    /// Takes the failures.
    pub fn into_failures(self) -> Vec<Failure<E>> {
        self.failures
    }

    /// The first failure (the one that cancelled the siblings in a fail-fast group).
    pub fn first(&self) -> &Failure<E> {
        &self.failures[0]
    }

    /// Number of failures.
    pub fn len(&self) -> usize {
        self.failures.len()
    }

    /// Always false: a `GroupError` has at least one failure.
    pub fn is_empty(&self) -> bool {
        self.failures.is_empty()
    }

    /// The `Err` values, in completion order (panics skipped).
    pub fn errors(&self) -> impl Iterator<Item = &E> {
        self.failures.iter().filter_map(Failure::error)
    }

    /// Whether any child panicked.
    pub fn has_panic(&self) -> bool {
        self.failures.iter().any(Failure::is_panic)
    }

    /// Re-raises the first panic, if any (like `std::thread::scope`); otherwise returns `self`.
    pub fn resume_panic(self) -> Self {
        if let Some(pos) = self.failures.iter().position(Failure::is_panic) {
            let mut failures = self.failures;
            if let FailureKind::Panic(p) = failures.swap_remove(pos).kind {
                std::panic::resume_unwind(p);
            }
            unreachable!();
        }
        self
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task group failed ({} failure(s))", self.failures.len())?;
        for (i, x) in self.failures.iter().enumerate() {
            write!(f, "{} {x}", if i == 0 { ":" } else { ";" })?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError")
            .field("failures", &self.failures)
            .finish()
    }
}

impl<E: fmt::Display + fmt::Debug> std::error::Error for GroupError<E> {}

/// Why [`TaskGroup::try_spawn`] refused a child (the future was dropped without running).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnError {
    /// A child failed and the group is cancelling its children: spawn nothing more into it.
    Aborting,
    /// [`TaskGroup::cancel`] was called.
    Cancelled,
    /// The group was joined or dropped; create a new group.
    Finished,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpawnError::Aborting => {
                "cannot spawn into this task group: a child failed and the group is shutting down"
            }
            SpawnError::Cancelled => "cannot spawn into this task group: it was cancelled",
            SpawnError::Finished => {
                "cannot spawn into this task group: it was already joined or dropped; create a new group"
            }
        })
    }
}

impl std::error::Error for SpawnError {}
