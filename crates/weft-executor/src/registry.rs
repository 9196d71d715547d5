//! The set of live tasks of one executor, so shutdown can cancel every task (even ones nobody will
//! ever wake) and debug mode can list what is still alive.
//!
//! Cost model (this sits on every spawn and every task completion): a task's entry lives in the
//! shard of the thread that spawned it, so a worker spawning and finishing its own tasks keeps
//! using one uncontended, cache-hot lock. There is deliberately no shared live-task counter (one
//! atomic line bounced between every spawning and every finishing thread): the count is summed
//! over the shards when asked for (shutdown and diagnostics only). Choosing the shard from the
//! task id instead was measured and rejected: it spreads each worker's entries over every shard,
//! so the workers bounce the shard locks between them (`rt_ping_pong` about 1.3x slower).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::lock::lock;
use std::task::Waker;

use slab::Slab;

use crate::runtime::ErrorHook;
use crate::task::TaskInfo;

const SHARDS: usize = 16;

struct Entry {
    waker: Option<Waker>,
    info: TaskInfo,
}

/// Sharded registry of live tasks: one short lock at spawn and one when the future is dropped.
pub(crate) struct Registry {
    shards: Box<[Mutex<Slab<Entry>>]>,
    /// The executor's unhandled-error hook (for a panic while a task's future is dropped).
    on_unhandled: ErrorHook,
}

thread_local! {
    static SHARD: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS
    };
}

impl Registry {
    pub(crate) fn new(shards: usize, on_unhandled: ErrorHook) -> Arc<Registry> {
        let n = shards.clamp(1, SHARDS);
        Arc::new(Registry {
            shards: (0..n).map(|_| Mutex::new(Slab::new())).collect(),
            on_unhandled,
        })
    }

    /// Adds an entry for a new task under one lock: `spawn` receives the guard (which moves into
    /// the task's future) and returns the task's waker plus whatever the caller needs. `spawn` must
    /// not touch this registry (it only allocates the task).
    pub(crate) fn insert_with<R>(
        self: &Arc<Registry>,
        info: TaskInfo,
        spawn: impl FnOnce(EntryGuard) -> (Waker, R),
    ) -> R {
        let shard = if self.shards.len() == 1 {
            0
        } else {
            SHARD.try_with(|s| *s).unwrap_or(0) % self.shards.len()
        };
        let mut slab = lock(&self.shards[shard]);
        let entry = slab.vacant_entry();
        let guard = EntryGuard {
            reg: self.clone(),
            shard,
            key: entry.key(),
        };
        let (waker, r) = spawn(guard);
        entry.insert(Entry {
            waker: Some(waker),
            info,
        });
        r
    }

    /// Number of live tasks (futures not yet dropped).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Wakers of every live task (cloned out, so waking happens without the locks held).
    pub(crate) fn wakers(&self) -> Vec<Waker> {
        let mut v = Vec::new();
        for s in self.shards.iter() {
            v.extend(lock(s).iter().filter_map(|(_, e)| e.waker.clone()));
        }
        v
    }

    /// Info of every live task, in id order.
    pub(crate) fn infos(&self) -> Vec<TaskInfo> {
        let mut v = Vec::new();
        for s in self.shards.iter() {
            v.extend(lock(s).iter().map(|(_, e)| e.info.clone()));
        }
        v.sort_by_key(|i| i.id());
        v
    }
}

/// Owned by the task's future; removes the entry when the future is dropped.
pub(crate) struct EntryGuard {
    reg: Arc<Registry>,
    shard: usize,
    key: usize,
}

impl EntryGuard {
    /// The task's info (while its entry exists, that is until this guard drops).
    pub(crate) fn info(&self) -> Option<TaskInfo> {
        lock(&self.reg.shards[self.shard])
            .get(self.key)
            .map(|e| e.info.clone())
    }

    /// The unhandled-error hook of the task's executor.
    pub(crate) fn error_hook(&self) -> &ErrorHook {
        &self.reg.on_unhandled
    }
}

impl Drop for EntryGuard {
    fn drop(&mut self) {
        let removed = {
            let mut s = lock(&self.reg.shards[self.shard]);
            s.try_remove(self.key)
        };
        // Drop the waker (a reference to this very task) outside the lock.
        drop(removed);
    }
}
