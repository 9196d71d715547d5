//! The per-thread context: which executor `spawn`/`spawn_local` go to, and whose hooks apply.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use crate::local::LocalCore;
use crate::registry::Registry;
use crate::runtime::{default_config, Config, ErrorHook, Runtime, Shared};
use crate::task::{Task, TaskInfo};

/// Where `spawn` sends a task.
#[derive(Clone)]
pub(crate) enum Spawner {
    Multi(Arc<Shared>),
    Local(Rc<LocalCore>),
}

/// What a thread running weft code knows.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) spawner: Spawner,
    /// The local executor driven by this thread (for `spawn_local`), if any.
    pub(crate) local: Option<Rc<LocalCore>>,
}

impl Ctx {
    fn cfg(&self) -> &Arc<Config> {
        match &self.spawner {
            Spawner::Multi(s) => &s.cfg,
            Spawner::Local(l) => &l.cfg,
        }
    }
}

thread_local! {
    static CTX: RefCell<Option<Ctx>> = const { RefCell::new(None) };
}

/// Restores the previous context when dropped.
pub(crate) struct CtxGuard {
    prev: Option<Ctx>,
}

/// Makes `ctx` this thread's context until the guard drops (nests).
pub(crate) fn enter(ctx: Ctx) -> CtxGuard {
    let prev = CTX.with(|c| c.borrow_mut().replace(ctx));
    CtxGuard { prev }
}

impl Drop for CtxGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CTX.try_with(|c| {
            let old = std::mem::replace(&mut *c.borrow_mut(), prev);
            drop(old);
        });
    }
}

/// The unhandled-error hook of this thread's runtime (the default one outside any runtime).
pub(crate) fn error_hook() -> ErrorHook {
    CTX.try_with(|c| c.borrow().as_ref().map(|x| x.cfg().on_unhandled.clone()))
        .ok()
        .flatten()
        .unwrap_or_else(|| default_config().on_unhandled.clone())
}

/// The multi-threaded runtime this thread runs in, if any.
pub(crate) fn current_multi() -> Option<Arc<Shared>> {
    CTX.try_with(|c| match c.borrow().as_ref().map(|x| &x.spawner) {
        Some(Spawner::Multi(s)) => Some(s.clone()),
        _ => None,
    })
    .ok()
    .flatten()
}

/// Spawns onto this thread's runtime, else the global runtime.
pub(crate) fn spawn<F>(fut: F, info: TaskInfo) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let spawner = CTX.with(|c| c.borrow().as_ref().map(|x| x.spawner.clone()));
    match spawner {
        // The clone taken out of the context moves into the task's schedule function.
        Some(Spawner::Multi(s)) => Shared::spawn_owned(s, fut, info),
        Some(Spawner::Local(l)) => l.spawn_local(fut, info),
        None => Shared::spawn_owned(Runtime::global().handle().shared, fut, info),
    }
}

/// Spawns onto this thread's local executor.
#[track_caller]
pub(crate) fn spawn_local<F>(fut: F, info: TaskInfo) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let local = CTX.with(|c| c.borrow().as_ref().and_then(|x| x.local.clone()));
    match local {
        Some(l) => l.spawn_local(fut, info),
        None => panic!(
            "weft: spawn_local called outside a local executor; call it inside \
             LocalRuntime::block_on, Runtime::block_on or weft::run (worker threads of a \
             multi-threaded Runtime have no local executor: use spawn there)"
        ),
    }
}

/// An identity for the executor `spawn` sends tasks to from this thread (the global runtime's
/// outside any runtime). Used by `structured::shield` to wait for one runtime's shielded work.
pub(crate) fn executor_key() -> usize {
    let key = CTX
        .try_with(|c| match c.borrow().as_ref().map(|x| &x.spawner) {
            Some(Spawner::Multi(s)) => Some(multi_key(s)),
            Some(Spawner::Local(l)) => Some(l.id),
            None => None,
        })
        .ok()
        .flatten();
    key.unwrap_or_else(|| multi_key(&Runtime::global().handle().shared))
}

/// The [`executor_key`] of a multi-threaded runtime.
pub(crate) fn multi_key(shared: &Arc<Shared>) -> usize {
    shared.id
}

/// A process-unique executor id (never reused, unlike an address: shield entries of a dropped
/// runtime must never count as a later runtime's).
pub(crate) fn next_executor_id() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Whether the runtime this thread runs in is in debug mode (`WEFT_DEBUG` outside any runtime).
pub(crate) fn debug_mode() -> bool {
    CTX.try_with(|c| c.borrow().as_ref().map(|x| x.cfg().debug))
        .ok()
        .flatten()
        .unwrap_or_else(|| default_config().debug)
}

/// Whether this thread runs inside a weft executor (a runtime's worker or `block_on` thread, or a
/// `LocalRuntime`), so that work can be handed to it (`with_resource`'s cancelled cleanup).
pub(crate) fn in_executor() -> bool {
    CTX.try_with(|c| c.borrow().is_some()).unwrap_or(false)
}

/// The live-task registries of the executor(s) this thread runs in, for the task dump: the
/// spawner's, plus the `block_on` thread's local executor if it has its own; outside any
/// runtime, the global runtime's if it was started.
pub(crate) fn current_registries() -> Vec<Arc<Registry>> {
    let here = CTX
        .try_with(|c| {
            c.borrow().as_ref().map(|x| {
                let mut v = vec![match &x.spawner {
                    Spawner::Multi(s) => s.registry.clone(),
                    Spawner::Local(l) => l.registry.clone(),
                }];
                if let Some(l) = &x.local {
                    if !Arc::ptr_eq(&l.registry, &v[0]) {
                        v.push(l.registry.clone());
                    }
                }
                v
            })
        })
        .ok()
        .flatten();
    here.unwrap_or_else(|| {
        Runtime::global_if_started()
            .map(|rt| vec![rt.handle().shared.registry.clone()])
            .unwrap_or_default()
    })
}
