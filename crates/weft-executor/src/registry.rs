//! The set of live tasks of one executor, so shutdown can cancel every task (even ones nobody will
//! ever wake) and debug mode can list what is still alive.
//!
//! Cost model (this sits on the spawn path): a task is registered only when it first returns
//! `Pending` (`crate::task::spawn::Wrapped`), so a task that completes in its first poll never takes a
//! registry lock. Until then it is always reachable without the registry: it is queued, in a
//! LIFO slot or running, and shutdown drains the queues. In debug mode every task is registered
//! at spawn, so [`Registry::infos`] lists queued tasks too.
//!
//! An entry lives in the shard of the thread that registered it, so a worker spawning and
//! finishing its own tasks keeps using one uncontended, cache-hot lock. There is deliberately no
//! shared live-task counter (one atomic line bounced between every spawning and every finishing
//! thread): the count is summed over the shards when asked for (shutdown and diagnostics only).
//! Choosing the shard from the task id instead was measured and rejected: it spreads each
//! worker's entries over every shard, so the workers bounce the shard locks between them
//! (`rt_ping_pong` about 1.3x slower).

use std::num::NonZeroU32;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Instant;

use slab::Slab;

use crate::dump::TaskSnapshot;
use crate::lock::lock;
use crate::runtime::ErrorHook;
use crate::task::{Meta, MetaRef, TaskInfo};

const SHARDS: usize = 16;

/// A registered task: its waker (a reference to the task, which keeps its allocation alive) and
/// a pointer to its metadata in that allocation (for its info, without a copy).
struct Entry {
    waker: Waker,
    meta: MetaRef,
}

impl Entry {
    fn meta(&self) -> &Meta {
        // SAFETY: `self.waker` is a reference to the task for as long as the entry exists.
        unsafe { self.meta.get() }
    }

    fn info(&self) -> TaskInfo {
        self.meta().info.clone()
    }

    fn snapshot(&self, now: Instant) -> TaskSnapshot {
        let m = self.meta();
        TaskSnapshot::new(m.info.clone(), m.state(), m.since_last_poll(now))
    }
}

/// Where a task's entry is: its shard and slab key, packed into 8 bytes (`Option<EntryKey>` too,
/// through the non-zero niche), since every task's future holds one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntryKey {
    shard: u32,
    /// The slab key plus one.
    key: NonZeroU32,
}

impl EntryKey {
    fn new(shard: usize, key: usize) -> EntryKey {
        // Shards are at most `SHARDS`; a slab key beyond u32 would take > 4 billion live tasks
        // in one shard (hundreds of GB).
        let key = u32::try_from(key + 1)
            .ok()
            .and_then(NonZeroU32::new)
            .expect("weft: more than 4 billion live tasks in one registry shard");
        EntryKey {
            shard: shard as u32,
            key,
        }
    }

    fn shard(self) -> usize {
        self.shard as usize
    }

    fn key(self) -> usize {
        self.key.get() as usize - 1
    }
}

/// A pointer to an executor's [`Registry`] held by each of its tasks' futures instead of an
/// `Arc` (a reference count increment and decrement per task, on a line every spawning and
/// finishing thread shares). Valid because the task's schedule function owns the executor,
/// which owns the registry, and async-task drops a task's future before its schedule function.
#[derive(Clone, Copy)]
pub(crate) struct RegistryRef(NonNull<Registry>);

// SAFETY: `Registry` is `Sync` (mutex-protected shards, an `Fn + Send + Sync` hook, a bool), and
// the pointer is only used for shared access while the registry is alive (see `RegistryRef`).
unsafe impl Send for RegistryRef {}
// SAFETY: as above.
unsafe impl Sync for RegistryRef {}

impl RegistryRef {
    pub(crate) fn new(r: &Arc<Registry>) -> RegistryRef {
        RegistryRef(NonNull::from(&**r))
    }

    /// The registry.
    ///
    /// # Safety
    /// The registry must still be alive (see [`RegistryRef`]).
    pub(crate) unsafe fn get<'a>(self) -> &'a Registry {
        // SAFETY: guaranteed by the caller.
        unsafe { self.0.as_ref() }
    }
}

/// Sharded registry of live tasks: one short lock when a task is registered and one when its
/// future is dropped.
pub(crate) struct Registry {
    shards: Box<[Mutex<Slab<Entry>>]>,
    /// The executor's unhandled-error hook (for a panic while a task's future is dropped).
    on_unhandled: ErrorHook,
    /// Register every task at spawn (debug mode), not at its first `Pending`.
    eager: bool,
}

thread_local! {
    static SHARD: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS
    };
}

impl Registry {
    pub(crate) fn new(shards: usize, on_unhandled: ErrorHook, eager: bool) -> Arc<Registry> {
        let n = shards.clamp(1, SHARDS);
        Arc::new(Registry {
            shards: (0..n).map(|_| Mutex::new(Slab::new())).collect(),
            on_unhandled,
            eager,
        })
    }

    /// Whether tasks are registered at spawn (debug mode) rather than at their first `Pending`.
    pub(crate) fn eager(&self) -> bool {
        self.eager
    }

    fn shard_here(&self) -> usize {
        if self.shards.len() == 1 {
            0
        } else {
            SHARD.try_with(|s| *s).unwrap_or(0) % self.shards.len()
        }
    }

    /// Eager registration (debug mode): adds an entry for a new task under one lock; `spawn`
    /// receives the entry's key (for the task's future) and returns the task's waker plus
    /// whatever the caller needs. `spawn` must not touch this registry.
    pub(crate) fn insert_with<R>(&self, spawn: impl FnOnce(EntryKey) -> (Waker, MetaRef, R)) -> R {
        let shard = self.shard_here();
        let mut slab = lock(&self.shards[shard]);
        let entry = slab.vacant_entry();
        let (waker, meta, r) = spawn(EntryKey::new(shard, entry.key()));
        entry.insert(Entry { waker, meta });
        r
    }

    /// Registers a task that is about to wait (its first `Pending`).
    pub(crate) fn insert(&self, meta: MetaRef, waker: Waker) -> EntryKey {
        let shard = self.shard_here();
        let key = lock(&self.shards[shard]).insert(Entry { waker, meta });
        EntryKey::new(shard, key)
    }

    /// Removes a task's entry (its future was dropped).
    pub(crate) fn remove(&self, k: EntryKey) {
        let removed = lock(&self.shards[k.shard()]).try_remove(k.key());
        // Drop the waker (a reference to this very task) outside the lock.
        drop(removed);
    }

    /// A registered task's info.
    pub(crate) fn info(&self, k: EntryKey) -> Option<TaskInfo> {
        lock(&self.shards[k.shard()]).get(k.key()).map(Entry::info)
    }

    /// The unhandled-error hook of the executor.
    pub(crate) fn error_hook(&self) -> &ErrorHook {
        &self.on_unhandled
    }

    /// Number of registered tasks.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Wakers of every registered task (cloned out, so waking happens without the locks held).
    pub(crate) fn wakers(&self) -> Vec<Waker> {
        let mut v = Vec::new();
        for s in self.shards.iter() {
            v.extend(lock(s).iter().map(|(_, e)| e.waker.clone()));
        }
        v
    }

    /// Info of every registered task, in id order.
    pub(crate) fn infos(&self) -> Vec<TaskInfo> {
        let mut v = Vec::new();
        for s in self.shards.iter() {
            v.extend(lock(s).iter().map(|(_, e)| e.info()));
        }
        v.sort_by_key(|i| i.id());
        v
    }

    /// A snapshot of every registered task (the task dump), in id order. Holds each shard's
    /// lock only while copying its entries out.
    pub(crate) fn snapshots(&self) -> Vec<TaskSnapshot> {
        let now = Instant::now();
        let mut v = Vec::new();
        for s in self.shards.iter() {
            v.extend(lock(s).iter().map(|(_, e)| e.snapshot(now)));
        }
        v.sort_by_key(TaskSnapshot::id);
        v
    }
}
