//! Where the executor's diagnostics go: with feature `tracing`, each task's `weft.task` span
//! and `tracing` events (when a subscriber is installed); otherwise, and when no subscriber is
//! installed, the same lines on stderr as always.
//!
//! Every function here is the one place its message is written, so the stderr text and the
//! event carry the same information. Without the feature none of the `tracing` code is compiled
//! (no cost in the default build).

use std::io::{self, Write};

use crate::task::{SlowPoll, TaskInfo, UnhandledError};

/// The span a task runs in (entered around every poll and the drop of its future): name
/// `weft.task`, fields `task.id`, `task.name` (if it has one), `task.location` (spawn location).
/// Level INFO, target `weft_executor::task`.
#[cfg(feature = "tracing")]
pub(crate) fn task_span(info: &TaskInfo) -> tracing::Span {
    tracing::info_span!(
        target: "weft_executor::task",
        "weft.task",
        task.id = info.id().as_u64(),
        task.name = info.name(),
        task.location = %info.location(),
    )
}

/// Whether `tracing` events have somewhere to go (a subscriber is the default on this thread);
/// if not, diagnostics stay on stderr.
#[cfg(feature = "tracing")]
fn subscribed() -> bool {
    tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>())
}

/// The default slow-poll hook: a WARN event (target `weft_executor::slow_poll`; fields
/// `task.id`, `task.name`, `task.location`, `duration`), else one line on stderr.
pub(crate) fn slow_poll(s: &SlowPoll) {
    #[cfg(feature = "tracing")]
    if subscribed() {
        let t = s.task();
        tracing::event!(
            target: "weft_executor::slow_poll",
            tracing::Level::WARN,
            task.id = t.id().as_u64(),
            task.name = t.name(),
            task.location = %t.location(),
            duration = ?s.duration(),
            "slow poll: {s}"
        );
        return;
    }
    let _ = writeln!(io::stderr(), "weft: slow poll: {s}");
}

/// The default unhandled-error hook: an ERROR event (target `weft_executor::unhandled`; fields
/// `task.id`, `task.name`, `task.location` when the task is known, `panic`, `error`), else one
/// line on stderr.
pub(crate) fn unhandled(e: &UnhandledError) {
    #[cfg(feature = "tracing")]
    if subscribed() {
        let t = e.task();
        tracing::event!(
            target: "weft_executor::unhandled",
            tracing::Level::ERROR,
            task.id = t.map(|t| t.id().as_u64()),
            task.name = t.and_then(TaskInfo::name),
            task.location = t.map(|t| tracing::field::display(t.location())),
            panic = e.is_panic(),
            error = e.message(),
            "{e}"
        );
        return;
    }
    let _ = writeln!(io::stderr(), "weft: {e}");
}

/// Debug mode: the tasks still alive at shutdown. One WARN event per task (target
/// `weft_executor::shutdown`; fields `task.id`, `task.name`, `task.location`), else a list on
/// stderr.
pub(crate) fn alive_at_shutdown(alive: &[TaskInfo]) {
    if alive.is_empty() {
        return;
    }
    #[cfg(feature = "tracing")]
    if subscribed() {
        for t in alive {
            tracing::event!(
                target: "weft_executor::shutdown",
                tracing::Level::WARN,
                task.id = t.id().as_u64(),
                task.name = t.name(),
                task.location = %t.location(),
                "task still alive at shutdown (it will be cancelled): {t}"
            );
        }
        return;
    }
    eprintln!(
        "weft: {} task(s) still alive at shutdown (they will be cancelled):",
        alive.len()
    );
    for t in alive {
        eprintln!("weft:   {t}");
    }
}

/// Tasks shutdown could not cancel (leaked): one ERROR event with the count (target
/// `weft_executor::shutdown`, field `leaked`) plus, in debug mode, one per task; else the same
/// on stderr.
pub(crate) fn leaked_at_shutdown(left: &[TaskInfo], debug: bool) {
    const WHY: &str = "could not be cancelled at shutdown (still in a poll on a stuck worker: \
                       dropped when that poll returns; or a local task woken from another \
                       thread: leaked)";
    #[cfg(feature = "tracing")]
    if subscribed() {
        tracing::event!(
            target: "weft_executor::shutdown",
            tracing::Level::ERROR,
            leaked = left.len(),
            "{} task(s) {WHY}",
            left.len()
        );
        if debug {
            for t in left {
                tracing::event!(
                    target: "weft_executor::shutdown",
                    tracing::Level::ERROR,
                    task.id = t.id().as_u64(),
                    task.name = t.name(),
                    task.location = %t.location(),
                    "leaked at shutdown: {t}"
                );
            }
        }
        return;
    }
    eprintln!(
        "weft: {} task(s) {WHY}{}",
        left.len(),
        if debug {
            ":"
        } else {
            " (WEFT_DEBUG=1 names them)"
        }
    );
    if debug {
        for t in left {
            eprintln!("weft:   {t}");
        }
    }
}

/// A user hook panicked (the panic is contained): an ERROR event (target
/// `weft_executor::hook`; fields `hook`, `panic`), else one line on stderr.
pub(crate) fn hook_panicked(what: &str, message: &str) {
    #[cfg(feature = "tracing")]
    if subscribed() {
        tracing::event!(
            target: "weft_executor::hook",
            tracing::Level::ERROR,
            hook = what,
            panic = message,
            "the {what} hook panicked (ignored): {message}"
        );
        return;
    }
    let _ = writeln!(
        io::stderr(),
        "weft: the {what} hook panicked (ignored): {message}"
    );
}
