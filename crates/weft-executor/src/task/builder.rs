//! [`Builder`]: spawning with options (a name).

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use super::{Task, TaskInfo};
use crate::context;

/// Spawns tasks with options (a name).
///
/// ```
/// let rt = weft_executor::LocalRuntime::new().unwrap();
/// rt.block_on(async {
///     let t = weft_executor::task::Builder::new().name("fetch").spawn_local(async { 1 });
///     assert_eq!(t.name(), Some("fetch"));
///     assert_eq!(t.await.unwrap(), 1);
/// });
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<Arc<String>>,
}

impl Builder {
    /// A builder with no options set.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task (shown by [`current`](super::current), debug-mode warnings and the unhandled-error hook).
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(Arc::new(name.into()));
        self
    }

    /// Spawns a task on the current runtime (the global runtime outside one); see [`crate::spawn`].
    #[track_caller]
    pub fn spawn<F>(self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        context::spawn(fut, TaskInfo::new(self.name, Location::caller()))
    }

    /// Spawns a `!Send` task on this thread's local executor; see [`crate::spawn_local`].
    ///
    /// # Panics
    /// Outside `LocalRuntime::block_on`, `Runtime::block_on` and `run`.
    #[track_caller]
    pub fn spawn_local<F>(self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        context::spawn_local(fut, TaskInfo::new(self.name, Location::caller()))
    }
}
