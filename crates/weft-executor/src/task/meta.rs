//! A task's allocation besides its future: [`Meta`] (its info, its own waker, its registry
//! entry, abort flag, and the state and last-poll time the task dump reads), the pointer
//! [`MetaRef`] to it, and the async-task type aliases.

use std::num::NonZeroU32;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::OnceLock;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::spawn::Outcome;
use super::sync::UnsafeCell;
use super::waker_cell::{clone_waker, take_waker};
use super::TaskInfo;
use crate::dump::TaskState;
use crate::registry::{EntryKey, RegistryRef};

/// [`Meta::flags`]: the task was aborted ([`AbortHandle::abort`](super::AbortHandle::abort)).
/// Bits 0 and 1 are the waker cell's (`waker_cell.rs`).
const ABORTED: u8 = 4;

/// The async-task handle inside a [`Task`] (it resolves to `None` once the task is cancelled).
pub(crate) type FallibleTask<T> = async_task::FallibleTask<Outcome<T>, Meta>;
/// Former name of [`FallibleTask`] (it is async-task's fallible handle, not a raw task).
#[allow(dead_code)]
pub(crate) type RawTask<T> = FallibleTask<T>;
/// A scheduled task, ready to be polled once.
pub(crate) type Runnable = async_task::Runnable<Meta>;

/// What a task's allocation carries besides its future: its info; its own waker, from spawn
/// until its future is dropped (so the [`Task`](super::Task) handle needs none to make an
/// [`AbortHandle`](super::AbortHandle), and the registry entry of a waiting task is one
/// pointer); its executor's registry and its entry there; the abort flag that
/// [`AbortHandle::abort`](super::AbortHandle::abort) sets (checked before every poll); and for
/// the task dump its [`TaskState`] and (debug mode) when its last poll started.
///
/// 48 bytes: `TaskInfo` 16, waker 16, registry and entry 4 each, time 4, state and flags 1
/// each. The dump fields are written with relaxed stores by whoever polls or schedules the task
/// and only read by the dump, so they cost no lock and no fence on the poll path.
pub(crate) struct Meta {
    pub(crate) info: TaskInfo,
    /// The task's own waker (a reference to the task), guarded by bits of `flags`
    /// (`waker_cell.rs`).
    waker: UnsafeCell<Option<Waker>>,
    /// The executor's registry of live tasks.
    reg: RegistryRef,
    /// The task's [`EntryKey`] in `reg` (0: not registered). Only the task's future touches it
    /// (its poll and its drop, which async-task never runs concurrently).
    entry: AtomicU32,
    /// Debug mode: when the last poll started, in milliseconds since [`epoch`] (wrapping, 0:
    /// never polled or not timed).
    last_poll: AtomicU32,
    /// A [`TaskState`] as `u8`.
    state: AtomicU8,
    /// [`ABORTED`] and the waker cell's bits.
    flags: AtomicU8,
}

// SAFETY: the only non-`Sync` field is the waker cell, which is only read and written through
// the protocol in `waker_cell.rs` (a reader excludes the one writer) or before the task is
// shared (`init_waker`). Every other field is atomic or immutable.
unsafe impl Sync for Meta {}

/// The instant [`Meta::last_poll`] counts from (the first timed poll of the process).
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl Meta {
    pub(crate) fn new(info: TaskInfo, reg: RegistryRef) -> Meta {
        Meta {
            info,
            waker: UnsafeCell::new(None),
            reg,
            entry: AtomicU32::new(0),
            last_poll: AtomicU32::new(0),
            state: AtomicU8::new(TaskState::Queued as u8),
            flags: AtomicU8::new(0),
        }
    }

    /// Stores the task's own waker (at spawn).
    ///
    /// # Safety
    /// Called once, before the task is shared: before its `Runnable` is scheduled and before its
    /// `Task` handle is returned or it is registered.
    pub(crate) unsafe fn init_waker(&self, w: Waker) {
        // SAFETY: nothing else can reach this `Meta` yet (see above).
        self.waker.with_mut(|p| unsafe { *p = Some(w) });
    }

    /// A clone of the task's waker, `None` once its future was dropped (any thread).
    pub(crate) fn waker(&self) -> Option<Waker> {
        clone_waker(&self.waker, &self.flags)
    }

    /// Takes the task's waker out (when its future is dropped; the caller drops it).
    ///
    /// # Safety
    /// Called once, by the thread dropping the task's future.
    pub(super) unsafe fn take_waker(&self) -> Option<Waker> {
        // SAFETY: guaranteed by the caller.
        unsafe { take_waker(&self.waker, &self.flags) }
    }

    /// The executor's registry (alive for as long as the task's future: see `spawn_into`).
    pub(super) fn registry(&self) -> RegistryRef {
        self.reg
    }

    /// The task's registry entry, if it is registered.
    pub(super) fn entry(&self) -> Option<EntryKey> {
        NonZeroU32::new(self.entry.load(Ordering::Relaxed)).map(EntryKey::from_raw)
    }

    /// Records (or with `None` clears) the task's registry entry.
    pub(crate) fn set_entry(&self, k: Option<EntryKey>) {
        let raw = k.map_or(0, |k| k.into_raw().get());
        self.entry.store(raw, Ordering::Relaxed);
    }

    /// Requests the task's cancellation ([`AbortHandle::abort`](super::AbortHandle::abort)).
    pub(super) fn set_aborted(&self) {
        self.flags.fetch_or(ABORTED, Ordering::Release);
    }

    /// Whether the task was aborted (checked before every poll).
    #[inline]
    pub(crate) fn is_aborted(&self) -> bool {
        self.flags.load(Ordering::Acquire) & ABORTED != 0
    }

    /// Records the task's state for the dump (a relaxed store).
    #[inline]
    pub(crate) fn set_state(&self, s: TaskState) {
        self.state.store(s as u8, Ordering::Relaxed);
    }

    /// The task's last recorded state.
    pub(crate) fn state(&self) -> TaskState {
        TaskState::from_u8(self.state.load(Ordering::Relaxed))
    }

    /// Records that a poll started at `at` (debug mode, where polls are timed anyway).
    pub(crate) fn set_last_poll(&self, at: Instant) {
        // Truncation to u32 is the wrap-around `since_last_poll` undoes (49 days).
        let ms = (at.saturating_duration_since(epoch()).as_millis() as u32).max(1);
        self.last_poll.store(ms, Ordering::Relaxed);
    }

    /// Time since the last timed poll started, to the millisecond; `None` if it never was.
    pub(crate) fn since_last_poll(&self, now: Instant) -> Option<Duration> {
        match self.last_poll.load(Ordering::Relaxed) {
            0 => None,
            at => {
                let now = now.saturating_duration_since(epoch()).as_millis() as u32;
                // A poll recorded after `now` was read (racing the dump) reads as just now.
                let ago = match now.wrapping_sub(at) {
                    d if d > u32::MAX / 2 => 0,
                    d => d,
                };
                Some(Duration::from_millis(u64::from(ago)))
            }
        }
    }
}

/// A pointer to a task's [`Meta`], inside its allocation. Valid while the holder also holds a
/// reference to the task (a `FallibleTask` or a `Waker` of it), or is the task's future, or is
/// the task's registry entry (the entry goes before the future's drop takes the task's own
/// waker): async-task frees the allocation, which never moves, only when the last reference is
/// gone.
#[derive(Clone, Copy)]
pub(crate) struct MetaRef(NonNull<Meta>);

// SAFETY: `Meta` is `Send + Sync` (see its `Sync` impl), and a `MetaRef` is only
// dereferenced to a shared reference while a task reference keeps it alive (see `MetaRef`).
unsafe impl Send for MetaRef {}
// SAFETY: as above.
unsafe impl Sync for MetaRef {}

impl MetaRef {
    /// A pointer to `meta` (in a task's allocation; see [`MetaRef`] for when it may be used).
    pub(crate) fn new(meta: &Meta) -> MetaRef {
        MetaRef(NonNull::from(meta))
    }

    /// # Safety
    /// The caller must hold a reference to the task (see [`MetaRef`]) for as long as it uses
    /// the returned reference.
    pub(crate) unsafe fn get<'a>(self) -> &'a Meta {
        // SAFETY: guaranteed by the caller.
        unsafe { self.0.as_ref() }
    }
}
