//! A task's allocation besides its future: [`Meta`] (its info, a copy of its waker, abort flag,
//! and the state and last-poll time the task dump reads), the pointer [`MetaRef`] to it, and
//! the async-task type aliases.

use std::cell::UnsafeCell;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::OnceLock;
use std::task::{RawWaker, Waker};
use std::time::{Duration, Instant};

use super::spawn::Outcome;
use super::TaskInfo;
use crate::dump::TaskState;

/// The async-task handle inside a [`Task`] (it resolves to `None` once the task is cancelled).
pub(crate) type FallibleTask<T> = async_task::FallibleTask<Outcome<T>, Meta>;
/// Former name of [`FallibleTask`] (it is async-task's fallible handle, not a raw task).
#[allow(dead_code)]
pub(crate) type RawTask<T> = FallibleTask<T>;
/// A scheduled task, ready to be polled once.
pub(crate) type Runnable = async_task::Runnable<Meta>;

/// What a task's allocation carries besides its future: its info, an uncounted copy of its
/// waker (see [`Meta::waker`]), the abort flag that
/// [`AbortHandle::abort`](super::AbortHandle::abort) sets (checked before every poll), and for
/// the task dump its [`TaskState`] and (debug mode) when its last poll started.
///
/// 40 bytes: `TaskInfo` 16, the waker 16, then the flag, the state and the time in one word.
/// The two dump fields are written with relaxed stores by whoever polls or schedules the task
/// and only read by the dump, so they cost no lock and no fence on the poll path.
pub(crate) struct Meta {
    pub(crate) info: TaskInfo,
    /// The task's waker, written once at spawn before the task is shared, then only read.
    /// Uncounted: it owns no reference to the task (it is never dropped as a `Waker`), so it
    /// keeps nothing alive and only its clones do.
    waker: UnsafeCell<Option<ManuallyDrop<Waker>>>,
    pub(super) aborted: AtomicBool,
    /// A [`TaskState`] as `u8`.
    state: AtomicU8,
    /// Debug mode: when the last poll started, in milliseconds since [`epoch`] (wrapping, 0:
    /// never polled or not timed).
    last_poll: AtomicU32,
}

/// The instant [`Meta::last_poll`] counts from (the first timed poll of the process).
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl Meta {
    pub(crate) fn new(info: TaskInfo) -> Meta {
        Meta {
            info,
            waker: UnsafeCell::new(None),
            aborted: AtomicBool::new(false),
            state: AtomicU8::new(TaskState::Queued as u8),
            last_poll: AtomicU32::new(0),
        }
    }

    /// Stores an uncounted copy of `w`, a waker of this very task (at spawn); `w` itself is
    /// dropped (its reference given back).
    ///
    /// # Safety
    /// Called once, before the task is shared (before its `Runnable` is scheduled and its
    /// handle returned); `w` must be a waker of the task whose metadata this is.
    pub(crate) unsafe fn init_waker(&self, w: Waker) {
        // The same data and vtable as `w`, without `w`'s reference count: cloning it runs the
        // task's `clone` (a reference count increment, valid while the task is alive); it is
        // never woken or dropped as a waker.
        // SAFETY: the parts are a live waker's, so its vtable's functions fit its data; the
        // uncounted copy is only ever cloned, never dropped (`ManuallyDrop`), so it gives back
        // no reference it does not own.
        let copy = unsafe { Waker::from_raw(RawWaker::new(w.data(), w.vtable())) };
        drop(w);
        // SAFETY: nothing else can reach this `Meta` yet (see above).
        unsafe { *self.waker.get() = Some(ManuallyDrop::new(copy)) };
    }

    /// A (counted) waker of the task.
    ///
    /// # Safety
    /// The task must be alive for the duration of the call: the caller holds a reference to it
    /// (its `Task` handle, a waker), or is its registry entry under the shard's lock (an entry
    /// exists only while the task's future does, which keeps the allocation), and the task was
    /// spawned through `spawn_into` (which calls [`Meta::init_waker`] before sharing it).
    pub(crate) unsafe fn waker(&self) -> Waker {
        // SAFETY: written once before the task was shared (the scheduling or the handoff of its
        // handle that let the caller reach it ordered that write before this read), and never
        // again.
        let w = unsafe { &*self.waker.get() };
        let w = w.as_ref().expect("weft: a task's waker is set at spawn");
        // Cloning runs the task's own `clone` (a reference count increment): valid because the
        // caller keeps the task alive.
        Waker::clone(w)
    }

    /// Takes one reference to the task without storing a waker: the registry entry made for
    /// the task owns it (so a waiting task nobody else references stays alive, to be found
    /// and cancelled at shutdown) and gives it back with [`Meta::release_ref`].
    ///
    /// # Safety
    /// As for [`Meta::waker`]; every call is paired with one `release_ref`.
    pub(crate) unsafe fn retain_ref(&self) {
        // SAFETY: guaranteed by the caller.
        std::mem::forget(unsafe { self.waker() });
    }

    /// Gives back a reference taken by [`Meta::retain_ref`] (this may free the task, so `self`
    /// must not be used afterwards).
    ///
    /// # Safety
    /// Called once per `retain_ref`, after it.
    pub(crate) unsafe fn release_ref(&self) {
        // SAFETY: written once before the task was shared, then only read (see `waker`).
        let w = unsafe { &*self.waker.get() };
        let w = w.as_ref().expect("weft: a task's waker is set at spawn");
        // SAFETY: a waker rebuilt from the copy's parts, owning the reference `retain_ref`
        // took (and left uncounted by forgetting its clone): dropping it gives that back.
        drop(unsafe { Waker::from_raw(RawWaker::new(w.data(), w.vtable())) });
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

// SAFETY: the waker cell is written once, before the task is shared (`init_waker`), then only
// read; a `Waker` is `Send + Sync`, and every other field is atomic or immutable.
unsafe impl Sync for Meta {}

/// A pointer to a task's [`Meta`], inside its allocation. Valid while the holder also holds a
/// reference to the task (a `FallibleTask` or a `Waker` of it), or is the task's registry entry
/// (which goes before the task's future, and the future keeps the allocation): async-task frees
/// the allocation, which never moves, only when the last reference is gone and the future was
/// dropped.
#[derive(Clone, Copy)]
pub(crate) struct MetaRef(NonNull<Meta>);

// SAFETY: `Meta` is `Send + Sync` (see its impls), and a `MetaRef` is only dereferenced to a
// shared reference while a task reference keeps it alive (see `MetaRef`).
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
