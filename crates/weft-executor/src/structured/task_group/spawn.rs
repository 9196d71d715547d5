//! [`GroupSpawner`]: spawning children into a group (also the body of `TaskGroup::spawn*`).

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures_lite::FutureExt;
use weft_sync::CancellationToken;

use super::super::group_error::SpawnError;
use super::child::Child;
use super::handle::{Ctl, GroupHandle};
use super::state::{Out, Phase, Shared, Slot};
#[cfg(doc)]
use super::{task_group, TaskGroup};
use crate::lock::lock;

/// A cloneable, `Send` handle that spawns into a [`TaskGroup`]: give it to children so they can
/// spawn siblings, or get one from [`task_group`]. It cannot join the group.
pub struct GroupSpawner<T, E> {
    pub(super) shared: Arc<Shared<T, E>>,
}

impl<T, E> Clone for GroupSpawner<T, E> {
    fn clone(&self) -> Self {
        GroupSpawner {
            shared: self.shared.clone(),
        }
    }
}

impl<T, E> fmt::Debug for GroupSpawner<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.shared.st);
        f.debug_struct("GroupSpawner")
            .field("phase", &st.phase)
            .field("live", &st.live)
            .finish()
    }
}

impl<T, E> GroupSpawner<T, E>
where
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    #[track_caller]
    pub(super) fn spawn_inner<F>(
        &self,
        name: Option<String>,
        fut: F,
    ) -> Result<GroupHandle<T>, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let limit;
        // Register the child before it can run, so that a child completing (or failing) at once
        // is already counted by the group when its outcome is processed.
        let slot = {
            let mut st = lock(&self.shared.st);
            match st.phase {
                Phase::Open => {}
                Phase::Aborting => return Err(SpawnError::Aborting),
                Phase::Cancelled => return Err(SpawnError::Cancelled),
                Phase::Finished | Phase::Dropped => return Err(SpawnError::Finished),
            }
            st.live += 1;
            limit = st.limit.clone().map(|l| (l, st.token.clone()));
            let slot = Arc::new(Slot {
                seq: st.next_seq,
                st: Mutex::new((Out::Pending, None)),
            });
            st.next_seq += 1;
            st.slots.insert(slot.seq, slot.clone());
            if st.fmt_err.is_none() {
                st.fmt_err = Some(|e: &E| e.to_string());
            }
            slot
        };
        let child = Child {
            fut: Some(fut),
            slot: slot.clone(),
            shared: self.shared.clone(),
        };
        let wrapper = async move {
            // Locals drop in reverse order: the user's future before `child`'s accounting.
            let mut child = child;
            let fut = child.fut.take();
            // Waiting for a permit ends early if the group stops meanwhile.
            let _permit = match &limit {
                Some((sem, token)) => token.run_until_cancelled(sem.acquire()).await,
                None => None,
            };
            // The group may have stopped while this child waited for its first poll or for a
            // permit (a sibling's cancellation can hand it the permit before its own `Task` is
            // dropped): a child that has not started never starts once the group stopped.
            let open = lock(&child.shared.st).phase == Phase::Open;
            // `filter` drops a child that must not start right here, before `child`'s accounting
            // (a tail-expression `if let` would keep it alive until after `child` is dropped, so
            // `join` could return while the child's destructors had not run yet).
            let Some(fut) = fut.filter(|_| open) else {
                return;
            };
            let out = AssertUnwindSafe(fut).catch_unwind().await;
            child.complete(out);
        };
        let task = match name {
            Some(n) => crate::task::Builder::new().name(n).spawn(wrapper),
            None => crate::spawn(wrapper),
        };
        let info = task.info().clone();
        let cancel_now = {
            let mut st = lock(&self.shared.st);
            // The child may already have completed or been dropped (it removed no entry then):
            // its outcome is set under this same lock order, so it is seen here.
            let done = task.is_finished() || !matches!(lock(&slot.st).0, Out::Pending);
            if done {
                task.detach();
                None
            } else if st.phase == Phase::Open || st.phase == Phase::Finished {
                // (`Finished` cannot happen while this child is live.)
                st.tasks.insert(slot.seq, task);
                None
            } else {
                // The group started cancelling while we spawned: this child goes too.
                Some(task)
            }
        };
        drop(cancel_now);
        Ok(GroupHandle {
            slot,
            info: Some(info),
            ctl: Some(self.shared.clone() as Arc<dyn Ctl>),
        })
    }

    pub(super) fn refused(&self) -> GroupHandle<T> {
        GroupHandle {
            slot: Arc::new(Slot {
                seq: u64::MAX,
                st: Mutex::new((Out::Cancelled, None)),
            }),
            info: None,
            ctl: None,
        }
    }

    /// See [`TaskGroup::spawn`].
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> GroupHandle<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.spawn_inner(None, fut)
            .unwrap_or_else(|_| self.refused())
    }

    /// See [`TaskGroup::try_spawn`].
    #[track_caller]
    pub fn try_spawn<F>(&self, fut: F) -> Result<GroupHandle<T>, SpawnError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.spawn_inner(None, fut)
    }

    /// See [`TaskGroup::spawn_named`].
    #[track_caller]
    pub fn spawn_named<F>(&self, name: impl Into<String>, fut: F) -> GroupHandle<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.spawn_inner(Some(name.into()), fut)
            .unwrap_or_else(|_| self.refused())
    }

    /// See [`TaskGroup::spawn_ok`].
    #[track_caller]
    pub fn spawn_ok<F>(&self, fut: F) -> GroupHandle<T>
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.spawn_inner(None, async move { Ok(fut.await) })
            .unwrap_or_else(|_| self.refused())
    }

    /// Number of children still running (their futures not yet dropped).
    pub fn live(&self) -> usize {
        lock(&self.shared.st).live
    }

    /// See [`TaskGroup::token`].
    pub fn token(&self) -> CancellationToken {
        lock(&self.shared.st).token.clone()
    }
}
