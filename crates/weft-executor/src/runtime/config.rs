//! Settings and hooks shared by every thread of an executor: [`Config`], the default hooks,
//! and the wrappers that contain a panicking user hook.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::task::{SlowPoll, UnhandledError};

/// The unhandled-error hook.
pub(crate) type ErrorHook = Arc<dyn Fn(UnhandledError) + Send + Sync>;
/// The slow-poll hook.
pub(crate) type SlowHook = Arc<dyn Fn(&SlowPoll) + Send + Sync>;
/// A worker thread start/stop hook.
pub(crate) type ThreadHook = Arc<dyn Fn() + Send + Sync>;

/// Settings shared by every thread of an executor.
pub(crate) struct Config {
    pub(crate) debug: bool,
    pub(crate) slow_poll_threshold: Duration,
    pub(crate) on_unhandled: ErrorHook,
    pub(crate) on_slow_poll: SlowHook,
}

pub(crate) fn default_config() -> &'static Arc<Config> {
    static CFG: OnceLock<Arc<Config>> = OnceLock::new();
    CFG.get_or_init(|| {
        Arc::new(Config {
            debug: env_debug(),
            slow_poll_threshold: Duration::from_millis(100),
            on_unhandled: guard_error_hook(default_unhandled()),
            on_slow_poll: guard_slow_hook(default_slow()),
        })
    })
}

pub(super) fn default_unhandled() -> ErrorHook {
    Arc::new(|e: UnhandledError| crate::trace::unhandled(&e))
}

pub(super) fn default_slow() -> SlowHook {
    Arc::new(|s: &SlowPoll| crate::trace::slow_poll(s))
}

/// Runs a user callback, containing a panic in it: hooks run inside the executor (the
/// unhandled-error hook even inside `async-task`, where an unwinding panic aborts the process),
/// so a panicking hook is reported on stderr and otherwise ignored.
pub(crate) fn call_hook(what: &str, f: impl FnOnce()) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
        crate::trace::hook_panicked(what, crate::task::panic_message(&*p));
        // A payload whose destructor panics must not escape either.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(p)));
    }
}

/// `h` with its panics contained (see [`call_hook`]).
pub(super) fn guard_error_hook(h: ErrorHook) -> ErrorHook {
    Arc::new(move |e: UnhandledError| call_hook("unhandled-error", || h(e)))
}

/// `h` with its panics contained (see [`call_hook`]).
pub(super) fn guard_slow_hook(h: SlowHook) -> SlowHook {
    Arc::new(move |s: &SlowPoll| call_hook("slow-poll", || h(s)))
}

/// `h` with its panics contained (see [`call_hook`]).
pub(super) fn guard_thread_hook(what: &'static str, h: &Option<ThreadHook>) -> Option<ThreadHook> {
    h.clone()
        .map(|h| -> ThreadHook { Arc::new(move || call_hook(what, || h())) })
}

pub(super) fn env_debug() -> bool {
    matches!(
        std::env::var("WEFT_DEBUG").as_deref(),
        Ok("1") | Ok("true") | Ok("yes") | Ok("on")
    )
}
