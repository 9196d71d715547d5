//! A task's allocation besides its future: [`Meta`] (its info, abort flag, and the state and
//! last-poll time the task dump reads), the pointer [`MetaRef`] to it, and the async-task type
//! aliases.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::OnceLock;
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

/// What a task's allocation carries besides its future: its info, the abort flag that
/// [`AbortHandle::abort`](super::AbortHandle::abort) sets (checked before every poll), and for
/// the task dump its [`TaskState`] and (debug mode) when its last poll started.
///
/// The two dump fields fit in the padding after the flag (`Meta` is 24 bytes: a 16-byte `TaskInfo`, the flags, the time); both are
/// written with relaxed stores by whoever polls or schedules the task and only read by the dump,
/// so they cost no lock and no fence on the poll path.
pub(crate) struct Meta {
    pub(crate) info: TaskInfo,
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
            aborted: AtomicBool::new(false),
            state: AtomicU8::new(TaskState::Queued as u8),
            last_poll: AtomicU32::new(0),
        }
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
/// reference to the task (a `FallibleTask` or a `Waker` of it): async-task frees the allocation,
/// which never moves, only when the last reference is gone.
#[derive(Clone, Copy)]
pub(crate) struct MetaRef(NonNull<Meta>);

// SAFETY: `Meta` is `Send + Sync` (an `AtomicBool` and a `TaskInfo`), and a `MetaRef` is only
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
