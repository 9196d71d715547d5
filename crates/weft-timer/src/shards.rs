//! The wheels of one `Timers`, sharded by registering thread so that registration and
//! cancellation from different threads do not serialize on one lock (tokio#6504).
//!
//! Each thread is assigned a shard (round-robin, on its first timer); its timers live in that
//! shard's wheel under that shard's lock. Cancelling from any other thread is still correct:
//! the [`Key`] names the shard. The driver polls every shard and merges what fired back into
//! deadline order with a stable sort: equal deadlines of one shard (one registering thread)
//! stay in insertion order; equal deadlines of different shards fire in shard order. No
//! counter is shared between shards, so registering threads write no common cache line.

use std::cell::Cell;
use std::num::NonZeroU64;
use std::sync::OnceLock;

use crate::sync::{AtomicUsize, Mutex, MutexGuard, Ordering, PoisonError};
use crate::wheel::{TimerId, Wheel};

/// Identifies one timer: its shard and its id in that shard's wheel, packed into two words
/// (and `Option<Key>` into the same two, by the sequence's niche): every `Sleep` holds one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    shard: u32,
    key: u32,
    seq: NonZeroU64,
}

impl Key {
    fn new(shard: usize, id: TimerId) -> Key {
        let (key, seq) = id.into_parts();
        let shard = u32::try_from(shard).expect("shard counts are small");
        Key { shard, key, seq }
    }

    fn shard(self) -> usize {
        self.shard as usize
    }

    fn id(self) -> TimerId {
        TimerId::from_parts(self.key, self.seq)
    }
}

struct Shard<T> {
    wheel: Mutex<Wheel<T>>,
    /// Entries in `wheel` (written under its lock; read without it by `len`).
    len: AtomicUsize,
}

/// The sharded wheels.
pub(crate) struct Shards<T> {
    shards: Box<[Shard<T>]>,
}

/// The number of shards: `min(cores, 8)`, or `WEFT_TIMER_SHARDS` (1..=64) if set, which is
/// how single and sharded wheels are compared.
fn shard_count() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        let from_env = std::env::var("WEFT_TIMER_SHARDS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| (1..=64).contains(n));
        from_env.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .clamp(1, 8)
        })
    })
}

/// This thread's shard index (already reduced modulo the shard count, so the hot path has no
/// division).
fn this_thread() -> usize {
    // std's atomic even under loom: a static, and not part of what the model checks.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    thread_local! {
        static MINE: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    MINE.try_with(|m| {
        if m.get() == usize::MAX {
            m.set(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % shard_count());
        }
        m.get()
    })
    .unwrap_or(0)
}

impl<T> Shards<T> {
    pub(crate) fn new() -> Self {
        Shards {
            shards: (0..shard_count())
                .map(|_| Shard {
                    wheel: Mutex::new(Wheel::new()),
                    len: AtomicUsize::new(0),
                })
                .collect(),
        }
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Wheel<T>> {
        self.shards[shard]
            .wheel
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Inserts `value` due at tick `at` into the calling thread's shard.
    pub(crate) fn insert(&self, at: u64, value: T) -> Key {
        // Every `Shards` has `shard_count()` shards; `min` only guards the index.
        let shard = this_thread().min(self.shards.len() - 1);
        let mut w = self.lock(shard);
        let id = w.insert(at, value);
        self.shards[shard].len.store(w.len(), Ordering::Relaxed);
        Key::new(shard, id)
    }

    /// Removes a waiting timer.
    pub(crate) fn remove(&self, key: Key) -> Option<T> {
        let mut w = self.lock(key.shard());
        let value = w.remove(key.id())?;
        self.shards[key.shard()]
            .len
            .store(w.len(), Ordering::Relaxed);
        Some(value)
    }

    /// Runs `f` on a waiting timer's value (under its shard's lock).
    pub(crate) fn with<R>(&self, key: Key, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let mut w = self.lock(key.shard());
        w.get_mut(key.id()).map(f)
    }

    /// Fires every timer due at tick `now` into `out`, in deadline order (ties: see the
    /// module docs); returns the earliest remaining expiration.
    pub(crate) fn poll(&self, now: u64, out: &mut Vec<T>) -> Option<u64> {
        let mut fired: Vec<(u64, T)> = Vec::new();
        let mut next: Option<u64> = None;
        let mut sources = 0;
        for (i, shard) in self.shards.iter().enumerate() {
            // Every shard is locked (no skipping on `len`, which is only a hint): a timer
            // inserted on another thread must be seen by the next poll.
            let mut w = self.lock(i);
            let before = fired.len();
            w.poll_with(now, |at, v| fired.push((at, v)));
            sources += usize::from(fired.len() > before);
            shard.len.store(w.len(), Ordering::Relaxed);
            if let Some(n) = w.next_expiration() {
                next = Some(next.map_or(n, |m: u64| m.min(n)));
            }
        }
        if sources > 1 {
            // Stable: each shard's run is already in (deadline, insertion) order.
            fired.sort_by_key(|&(at, _)| at);
        }
        out.extend(fired.into_iter().map(|(_, v)| v));
        next
    }

    /// The earliest expiration over all shards (see `Wheel::next_expiration`).
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        let mut next: Option<u64> = None;
        for i in 0..self.shards.len() {
            if let Some(n) = self.lock(i).next_expiration() {
                next = Some(next.map_or(n, |m: u64| m.min(n)));
            }
        }
        next
    }

    /// Number of waiting timers.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.len.load(Ordering::Relaxed))
            .sum()
    }
}
