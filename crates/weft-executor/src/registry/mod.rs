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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::dump::TaskSnapshot;
use crate::lock::lock;
use crate::runtime::ErrorHook;
use crate::task::{Meta, MetaRef, TaskInfo};

mod polls;
mod slots;
mod table;

use polls::PollTimes;
use slots::Slots;

const SHARDS: usize = 16;

/// A registered task: a pointer to its metadata (its info, and a copy of its waker). The entry
/// owns one reference to the task (taken with `Meta::retain_ref` on insert, given back on
/// removal), so the task stays alive while registered even if nothing else references it: what
/// the entry's own 16-byte `Waker` did before, in 8 bytes.
struct Entry {
    meta: MetaRef,
}

impl Entry {
    fn meta(&self) -> &Meta {
        // SAFETY: the entry owns a reference to the task (see `Entry`).
        unsafe { self.meta.get() }
    }

    fn info(&self) -> TaskInfo {
        self.meta().info.clone()
    }

    fn snapshot(&self, since_last_poll: Option<Duration>) -> TaskSnapshot {
        let m = self.meta();
        TaskSnapshot::new(m.info.clone(), m.state(), since_last_poll)
    }
}

/// One shard: the entries, and (debug mode only) when each one's task last started a poll.
#[derive(Default)]
struct Shard {
    slots: Slots<Entry>,
    polls: PollTimes,
}

/// Where a task's entry is: its shard (low 4 bits) and slab key plus one (the other 28),
/// packed into 4 bytes (`Option<EntryKey>` too, through the non-zero niche), since every
/// task's future holds one next to its [`RegistryRef`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntryKey(NonZeroU32);

/// Bits of an [`EntryKey`] that hold the shard.
const SHARD_BITS: u32 = 4;
const _: () = assert!(SHARDS <= 1 << SHARD_BITS);

impl EntryKey {
    fn new(shard: usize, key: usize) -> EntryKey {
        // A slab key beyond 2^28 would take more than 268 million waiting tasks in one shard
        // (one shard per thread that registers tasks: tens of GB in one thread's tasks).
        let packed = u32::try_from(key + 1)
            .ok()
            .filter(|k| *k < 1 << (32 - SHARD_BITS))
            .map(|k| (k << SHARD_BITS) | shard as u32)
            .and_then(NonZeroU32::new)
            .expect("weft: more than 268 million tasks waiting in one registry shard");
        EntryKey(packed)
    }

    fn shard(self) -> usize {
        (self.0.get() & ((1 << SHARD_BITS) - 1)) as usize
    }

    fn key(self) -> usize {
        (self.0.get() >> SHARD_BITS) as usize - 1
    }
}

/// An executor's [`Registry`], as held by each of its tasks' futures: its 4-byte index in the
/// process-wide table of registries (`table.rs`) instead of an `Arc` (a reference count
/// increment and decrement per task, on a line every spawning and finishing thread shares) or
/// a pointer (4 bytes more per task). Valid because the task's schedule function owns the
/// executor, which owns the registry, and async-task drops a task's future before its schedule
/// function.
#[derive(Clone, Copy)]
pub(crate) struct RegistryRef(u32);

impl RegistryRef {
    pub(crate) fn new(r: &Arc<Registry>) -> RegistryRef {
        RegistryRef(r.index)
    }

    /// The registry.
    ///
    /// # Safety
    /// The registry must still be alive (see [`RegistryRef`]).
    pub(crate) unsafe fn get<'a>(self) -> &'a Registry {
        let p = table::get(self.0);
        debug_assert!(
            !p.is_null(),
            "weft: a task outlived its executor's registry"
        );
        // SAFETY: the caller guarantees the registry is alive, so its index still names it
        // (`Registry::drop` frees the index), and it does not move (it is inside an `Arc`).
        unsafe { &*p }
    }
}

/// Sharded registry of live tasks: one short lock when a task is registered and one when its
/// future is dropped.
pub(crate) struct Registry {
    shards: Box<[Mutex<Shard>]>,
    /// The executor's unhandled-error hook (for a panic while a task's future is dropped).
    on_unhandled: ErrorHook,
    /// Register every task at spawn (debug mode), not at its first `Pending`.
    eager: bool,
    /// This registry's index in the table of registries (see [`RegistryRef`]).
    index: u32,
    /// Set when the executor starts cancelling its tasks at shutdown ([`Registry::close`]).
    closed: AtomicBool,
}

impl Drop for Registry {
    fn drop(&mut self) {
        table::release(self.index);
    }
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
        let index = table::reserve();
        let reg = Arc::new(Registry {
            shards: (0..n).map(|_| Mutex::default()).collect(),
            on_unhandled,
            eager,
            index,
            closed: AtomicBool::new(false),
        });
        table::publish(index, &reg);
        reg
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
    /// receives the entry's key and returns the task's metadata (with its waker stored) plus
    /// whatever the caller needs. `spawn` must not touch this registry.
    pub(crate) fn insert_with<R>(&self, spawn: impl FnOnce(EntryKey) -> (MetaRef, R)) -> R {
        let shard = self.shard_here();
        let mut sh = lock(&self.shards[shard]);
        let (meta, r) = spawn(EntryKey::new(shard, sh.slots.next_key()));
        // SAFETY: `r` holds the task (its handle), and it was spawned through `spawn_into`;
        // `remove` gives the reference back.
        unsafe { meta.get().retain_ref() };
        let key = sh.slots.insert(Entry { meta });
        sh.polls.reset(key);
        r
    }

    /// Registers a task that is about to wait (its first `Pending`; its `Meta` holds its waker).
    /// Also says whether the executor was closed ([`Registry::close`]): then the caller must
    /// wake the task, so that the closed executor's schedule function drops it (shutdown's
    /// wake-ups may have missed it).
    pub(crate) fn insert(&self, meta: MetaRef) -> (EntryKey, bool) {
        // SAFETY: the caller is the task's future, in its poll (so the task is alive); `remove`
        // gives the reference back.
        unsafe { meta.get().retain_ref() };
        let shard = self.shard_here();
        let key = lock(&self.shards[shard]).slots.insert(Entry { meta });
        // After the insert's lock: if shutdown's look at this shard came after the insert it
        // sees (and wakes) the entry, else `close` came before that look and is seen here.
        (
            EntryKey::new(shard, key),
            self.closed.load(Ordering::SeqCst),
        )
    }

    /// Shutdown: from now on a task that registers (its first `Pending`, e.g. a poll that was
    /// stuck while shutdown cancelled everything) is woken at once, so the closed executor drops
    /// it instead of leaving it registered, holding a reference nobody gives back. Call before
    /// the cancellation rounds.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// Removes a task's entry (its future is being dropped), then, outside the lock, gives
    /// back the entry's reference to the task.
    pub(crate) fn remove(&self, k: EntryKey) {
        let removed = lock(&self.shards[k.shard()]).slots.try_remove(k.key());
        if let Some(e) = removed {
            // SAFETY: the reference `insert` took; this may free the task only if nothing else
            // holds it, and the caller (the future's drop, under a `Runnable` that holds its
            // own reference) does not touch the metadata afterwards.
            unsafe { e.meta.get().release_ref() };
        }
    }

    /// A registered task's info.
    pub(crate) fn info(&self, k: EntryKey) -> Option<TaskInfo> {
        lock(&self.shards[k.shard()])
            .slots
            .get(k.key())
            .map(Entry::info)
    }

    /// Debug mode: the task registered at `k` starts a poll at `at` (for the dump).
    pub(crate) fn set_last_poll(&self, k: EntryKey, at: Instant) {
        lock(&self.shards[k.shard()]).polls.set(k.key(), at);
    }

    /// The unhandled-error hook of the executor.
    pub(crate) fn error_hook(&self) -> &ErrorHook {
        &self.on_unhandled
    }

    /// Number of registered tasks.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).slots.len()).sum()
    }

    /// Wakers of every registered task (cloned out, so waking happens without the locks held).
    pub(crate) fn wakers(&self) -> Vec<Waker> {
        let mut v = Vec::new();
        for s in self.shards.iter() {
            // SAFETY: each entry owns a reference to its task (see `Entry`).
            v.extend(
                lock(s)
                    .slots
                    .iter()
                    .map(|(_, e)| unsafe { e.meta().waker() }),
            );
        }
        v
    }

    /// Info of every registered task, in id order.
    pub(crate) fn infos(&self) -> Vec<TaskInfo> {
        let mut v = Vec::new();
        for s in self.shards.iter() {
            v.extend(lock(s).slots.iter().map(|(_, e)| e.info()));
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
            let sh = lock(s);
            v.extend(
                sh.slots
                    .iter()
                    .map(|(k, e)| e.snapshot(sh.polls.since(k, now))),
            );
        }
        v.sort_by_key(TaskSnapshot::id);
        v
    }
}

#[cfg(test)]
mod tests {
    /// A waiting task's registry slot is its entry alone: one pointer.
    #[test]
    fn a_registry_slot_is_8_bytes() {
        assert_eq!(std::mem::size_of::<Option<super::Entry>>(), 8);
    }
}
