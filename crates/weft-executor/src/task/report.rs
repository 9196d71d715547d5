//! Reports given to the runtime's hooks: [`UnhandledError`] (and [`report_unhandled`]) and
//! [`SlowPoll`].

use std::any::Any;
use std::fmt;
use std::time::Duration;

use super::{panic_message, TaskInfo};
use crate::context;

/// What an [`UnhandledError`] carries.
pub(super) enum Kind {
    Panic(Box<dyn Any + Send + 'static>),
    Error(String),
}

/// A failure nobody observed: a detached task's panic, the `Err` of a task detached with
/// [`Task::detach_or_report`](super::Task::detach_or_report), or a panic while a task's future was being dropped (cancellation,
/// shutdown). Given to the hook set with
/// [`crate::RuntimeBuilder::on_unhandled_error`] (default: one line on stderr).
pub struct UnhandledError {
    pub(super) task: Option<TaskInfo>,
    pub(super) kind: Kind,
}

impl UnhandledError {
    /// An error (not a panic) to report, with the task it came from if known.
    pub fn error(task: Option<TaskInfo>, message: impl Into<String>) -> UnhandledError {
        UnhandledError {
            task,
            kind: Kind::Error(message.into()),
        }
    }

    /// A panic to report, with the task it came from if known.
    pub fn panic(task: Option<TaskInfo>, payload: Box<dyn Any + Send + 'static>) -> UnhandledError {
        UnhandledError {
            task,
            kind: Kind::Panic(payload),
        }
    }

    /// The task that failed, if known.
    pub fn task(&self) -> Option<&TaskInfo> {
        self.task.as_ref()
    }

    /// Whether this is a panic (else an `Err` value).
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, Kind::Panic(_))
    }

    /// The panic message or the error's `Display` text.
    pub fn message(&self) -> &str {
        match &self.kind {
            Kind::Panic(p) => panic_message(&**p),
            Kind::Error(s) => s,
        }
    }

    /// The panic payload, if this is a panic.
    pub fn into_panic(self) -> Option<Box<dyn Any + Send + 'static>> {
        match self.kind {
            Kind::Panic(p) => Some(p),
            Kind::Error(_) => None,
        }
    }
}

impl fmt::Display for UnhandledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.task {
            Some(t) => write!(f, "{t}")?,
            None => f.write_str("a task")?,
        }
        let what = if self.is_panic() {
            "panicked"
        } else {
            "failed"
        };
        write!(f, " {what} and nobody awaited it: {}", self.message())
    }
}

impl fmt::Debug for UnhandledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnhandledError")
            .field("task", &self.task)
            .field("panic", &self.is_panic())
            .field("message", &self.message())
            .finish()
    }
}

impl std::error::Error for UnhandledError {}

/// Sends `err` to the unhandled-error hook of the runtime this thread runs in (the default hook,
/// which prints one line to stderr, outside any runtime).
pub fn report_unhandled(err: UnhandledError) {
    (context::error_hook())(err)
}

/// A poll that took longer than the slow-poll threshold (debug mode). Given to the hook set with
/// [`crate::RuntimeBuilder::on_slow_poll`].
#[derive(Debug, Clone)]
pub struct SlowPoll {
    pub(super) task: TaskInfo,
    pub(super) duration: Duration,
}

impl SlowPoll {
    /// The task whose poll was slow.
    pub fn task(&self) -> &TaskInfo {
        &self.task
    }

    /// How long the poll took.
    pub fn duration(&self) -> Duration {
        self.duration
    }
}

impl fmt::Display for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} blocked its worker for {:?} in one poll; move blocking work to spawn_blocking",
            self.task, self.duration
        )
    }
}
