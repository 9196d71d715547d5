//! A task's allocation besides its future: [`Meta`] (its info, how to rebuild its waker, abort
//! flag, and the state the task dump reads), the pointer [`MetaRef`] to it, and the async-task
//! type aliases.

use std::cell::UnsafeCell;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::task::{RawWaker, Waker};

use super::spawn::Outcome;
use super::waker_parts::{TaskOffset, VtableCode};
use super::TaskInfo;
use crate::dump::TaskState;

/// The async-task handle inside a [`Task`] (it resolves to `None` once the task is cancelled).
pub(crate) type FallibleTask<T> = async_task::FallibleTask<Outcome<T>, Meta>;
/// Former name of [`FallibleTask`] (it is async-task's fallible handle, not a raw task).
#[allow(dead_code)]
pub(crate) type RawTask<T> = FallibleTask<T>;
/// A scheduled task, ready to be polled once.
pub(crate) type Runnable = async_task::Runnable<Meta>;

/// What a task's allocation carries besides its future: its info, its waker's vtable (see
/// [`Meta::waker`]), the abort flag that [`AbortHandle::abort`](super::AbortHandle::abort) sets
/// (checked before every poll), and for the task dump its [`TaskState`].
///
/// 24 bytes: `TaskInfo` 16, then the vtable code (4), the flag and the state. With async-task's
/// header around it (state, awaiter, vtable, a `bool`) that is a 64-byte header, which keeps a
/// task whose future is up to 64 bytes (e.g. a 40-byte sleep, an `Arc` and its state) within
/// malloc's 144-byte class. The state is written with relaxed stores by whoever polls or
/// schedules the task and only read by the dump, so it costs no lock and no fence on the poll
/// path. (Debug mode's time of the last poll is in the registry entry, `registry/polls.rs`.)
pub(crate) struct Meta {
    pub(crate) info: TaskInfo,
    /// The vtable of the task's waker, written once at spawn before the task is shared, then
    /// only read. With the task's address (derived from this `Meta`'s, see `waker_parts.rs`) it
    /// makes an uncounted waker: one that owns no reference to the task and is never dropped
    /// as a `Waker`, only cloned.
    vtable: UnsafeCell<VtableCode>,
    pub(super) aborted: AtomicBool,
    /// A [`TaskState`] as `u8`.
    state: AtomicU8,
}

impl Meta {
    pub(crate) fn new(info: TaskInfo) -> Meta {
        Meta {
            info,
            vtable: UnsafeCell::new(VtableCode::UNSET),
            aborted: AtomicBool::new(false),
            state: AtomicU8::new(TaskState::Queued as u8),
        }
    }

    /// Records how to rebuild `w`, a waker of this very task (at spawn); `w` itself is dropped
    /// (its reference given back).
    ///
    /// # Safety
    /// Called once, before the task is shared (before its `Runnable` is scheduled and its
    /// handle returned); `w` must be a waker of the task whose metadata this is.
    pub(crate) unsafe fn init_waker(&self, w: Waker) {
        TaskOffset::learn(w.data(), ptr_of(self));
        let code = VtableCode::new(w.vtable());
        drop(w);
        // SAFETY: nothing else can reach this `Meta` yet (see above).
        unsafe { *self.vtable.get() = code };
    }

    /// The task's waker without its reference count: never to be dropped or woken as is,
    /// only cloned (`ManuallyDrop`), or turned into a counted waker for a reference the caller
    /// owns ([`Meta::release_ref`]).
    ///
    /// # Safety
    /// As for [`Meta::waker`].
    unsafe fn uncounted(&self) -> ManuallyDrop<Waker> {
        // SAFETY: written once before the task was shared (the scheduling or the handoff of its
        // handle that let the caller reach it ordered that write before this read), and never
        // again.
        let vt = unsafe { *self.vtable.get() }.vtable();
        let data = TaskOffset::data(ptr_of(self));
        // SAFETY: `data` and `vt` are the parts of the task's own waker (see `init_waker`), so
        // the vtable's functions fit the data; the result owns no reference, and the caller
        // keeps the task alive while it uses it.
        ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(data, vt)) })
    }

    /// A (counted) waker of the task.
    ///
    /// # Safety
    /// The task must be alive for the duration of the call: the caller holds a reference to it
    /// (its `Task` handle, a waker), or is its registry entry under the shard's lock (an entry
    /// exists only while the task's future does, which keeps the allocation), and the task was
    /// spawned through `spawn_into` (which calls [`Meta::init_waker`] before sharing it).
    pub(crate) unsafe fn waker(&self) -> Waker {
        // Cloning runs the task's own `clone` (a reference count increment): valid because the
        // caller keeps the task alive.
        // SAFETY: guaranteed by the caller.
        Waker::clone(&*unsafe { self.uncounted() })
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
        // SAFETY: the reference `retain_ref` took (and left uncounted by forgetting its clone)
        // keeps the task alive until here; dropping a waker built from the parts gives it back.
        drop(ManuallyDrop::into_inner(unsafe { self.uncounted() }));
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
}

/// `meta`'s address as an untyped pointer.
fn ptr_of(meta: &Meta) -> *const () {
    std::ptr::from_ref(meta).cast()
}

// SAFETY: the vtable cell is written once, before the task is shared (`init_waker`), then only
// read (a `Copy` code of a `&'static` vtable); every other field is atomic or immutable.
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
