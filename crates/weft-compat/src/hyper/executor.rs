//! `hyper::rt::Executor` on weft's spawn.

use std::fmt;
use std::future::Future;

use weft_executor::Handle;

/// hyper's [`Executor`](::hyper::rt::Executor) on weft: every future hyper hands over becomes a
/// detached weft task.
///
/// [`WeftExecutor::new`] spawns on whatever runtime the calling thread is in when hyper calls
/// `execute` (a weft worker or `block_on` thread; elsewhere the global runtime), exactly like
/// `weft::spawn`. [`WeftExecutor::with_handle`] always spawns on one given runtime, wherever
/// hyper calls it from.
///
/// Tasks are detached (hyper never joins them): hyper's background futures end on their own when
/// their connection closes. A detached task that panics reaches the runtime's unhandled-error
/// hook, as every detached weft task does.
///
/// ```
/// use hyper::rt::Executor;
/// use weft_compat::hyper::WeftExecutor;
///
/// let n = weft_executor::run(async {
///     let (tx, rx) = weft_sync::channel::oneshot::channel();
///     WeftExecutor::new().execute(async move { tx.send(5).unwrap() });
///     rx.await.unwrap()
/// });
/// assert_eq!(n, 5);
/// ```
#[derive(Clone, Default)]
pub struct WeftExecutor {
    handle: Option<Handle>,
}

impl WeftExecutor {
    /// An executor that spawns on the calling thread's current runtime (see `weft::spawn`).
    pub fn new() -> WeftExecutor {
        WeftExecutor { handle: None }
    }

    /// An executor that always spawns on the runtime behind `handle`.
    pub fn with_handle(handle: Handle) -> WeftExecutor {
        WeftExecutor {
            handle: Some(handle),
        }
    }
}

impl<F> ::hyper::rt::Executor<F> for WeftExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        match &self.handle {
            Some(h) => h.spawn(fut).detach(),
            None => weft_executor::spawn(fut).detach(),
        }
    }
}

impl fmt::Debug for WeftExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeftExecutor")
            .field("pinned_runtime", &self.handle.is_some())
            .finish()
    }
}
