//! A task's allocation besides its future: [`Meta`] (its info and abort flag), the pointer
//! [`MetaRef`] to it, and the async-task type aliases.

use std::ptr::NonNull;
use std::sync::atomic::AtomicBool;

use super::spawn::Outcome;
use super::TaskInfo;

/// The async-task handle inside a [`Task`] (it resolves to `None` once the task is cancelled).
pub(crate) type FallibleTask<T> = async_task::FallibleTask<Outcome<T>, Meta>;
/// Former name of [`FallibleTask`] (it is async-task's fallible handle, not a raw task).
#[allow(dead_code)]
pub(crate) type RawTask<T> = FallibleTask<T>;
/// A scheduled task, ready to be polled once.
pub(crate) type Runnable = async_task::Runnable<Meta>;

/// What a task's allocation carries besides its future: its info and the abort flag that
/// [`AbortHandle::abort`] sets (checked before every poll).
pub(crate) struct Meta {
    pub(crate) info: TaskInfo,
    pub(super) aborted: AtomicBool,
}

impl Meta {
    pub(crate) fn new(info: TaskInfo) -> Meta {
        Meta {
            info,
            aborted: AtomicBool::new(false),
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
