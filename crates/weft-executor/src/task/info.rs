//! [`Id`] and [`TaskInfo`]: what is known about a task.

use std::fmt;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A task's unique id: process-wide, never reused, assigned in spawn order.
///
/// ```
/// let rt = weft_executor::LocalRuntime::new().unwrap();
/// let a = rt.spawn_local(async {});
/// let b = rt.spawn_local(async {});
/// assert!(a.id() < b.id());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(u64);

impl Id {
    pub(crate) fn next() -> Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Id(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number (starts at 1).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

/// What is known about a task: its [`Id`], optional name and spawn location.
///
/// Cheap to clone (the name is shared). Obtained from [`current`](super::current) inside a task, from
/// [`Task::info`](super::Task::info), and from hooks ([`UnhandledError::task`](super::UnhandledError::task), [`SlowPoll::task`](super::SlowPoll::task)).
#[derive(Clone)]
pub struct TaskInfo {
    id: Id,
    /// Name and location in one word: a `TaskInfo` is kept in every task, so its size is
    /// per-task memory (16 bytes).
    origin: Origin,
}

impl TaskInfo {
    pub(crate) fn new(name: Option<Arc<String>>, location: &'static Location<'static>) -> TaskInfo {
        TaskInfo {
            id: Id::next(),
            origin: Origin::new(name, location),
        }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The task's name, if it was given one with [`Builder::name`](super::Builder::name).
    pub fn name(&self) -> Option<&str> {
        self.origin.name()
    }

    /// Where the task was spawned (the caller of `spawn`, via `#[track_caller]`).
    pub fn location(&self) -> &'static Location<'static> {
        self.origin.location()
    }
}

/// A task's spawn location and optional name in one word, so a [`TaskInfo`] is 16 bytes (it is
/// kept in every task's allocation): a `&'static Location` for an unnamed task (no allocation,
/// no reference count), or an `Arc<Named>`, tagged in the pointer's low bit, for a named one.
struct Origin(NonNull<()>);

/// A named task's origin.
struct Named {
    name: String,
    location: &'static Location<'static>,
}

/// The low bit of [`Origin`]'s pointer: set for an `Arc<Named>`. Both pointees are at least
/// 4-aligned (they hold references), so the bit is free.
const NAMED: usize = 1;

// SAFETY: an `Origin` is either a shared `&'static Location` (`Sync`) or an `Arc<Named>`
// (`Named` is `Send + Sync`), both `Send + Sync`.
unsafe impl Send for Origin {}
// SAFETY: as above.
unsafe impl Sync for Origin {}

impl Origin {
    fn new(name: Option<Arc<String>>, location: &'static Location<'static>) -> Origin {
        match name {
            None => Origin(NonNull::from(location).cast()),
            Some(name) => {
                let name = Arc::try_unwrap(name).unwrap_or_else(|shared| String::clone(&shared));
                let named = Arc::into_raw(Arc::new(Named { name, location }));
                // `Arc::into_raw` is never null.
                let p = NonNull::new(named.cast_mut()).expect("Arc::into_raw is non-null");
                Origin(p.cast::<()>().map_addr(|a| a | NAMED))
            }
        }
    }

    /// The `Arc<Named>` behind a named origin, without touching its count.
    fn named(&self) -> Option<&Named> {
        if self.0.addr().get() & NAMED == 0 {
            return None;
        }
        let p = self.0.map_addr(|a| {
            std::num::NonZeroUsize::new(a.get() & !NAMED).expect("an Arc pointer is non-null")
        });
        // SAFETY: a tagged pointer came from `Arc::into_raw` in `Origin::new`, and this
        // `Origin` owns one strong count of that `Arc` until it is dropped.
        Some(unsafe { p.cast::<Named>().as_ref() })
    }

    fn name(&self) -> Option<&str> {
        self.named().map(|n| n.name.as_str())
    }

    fn location(&self) -> &'static Location<'static> {
        match self.named() {
            Some(n) => n.location,
            // SAFETY: an untagged pointer came from a `&'static Location` in `Origin::new`.
            None => unsafe { self.0.cast::<Location<'static>>().as_ref() },
        }
    }
}

impl Clone for Origin {
    fn clone(&self) -> Origin {
        if let Some(n) = self.named() {
            // SAFETY: `n` is the pointee of a live `Arc<Named>` (see `Origin::named`); the new
            // `Origin` owns the count added here.
            unsafe { Arc::increment_strong_count(n as *const Named) };
        }
        Origin(self.0)
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        if let Some(n) = self.named() {
            // SAFETY: this `Origin` owns one strong count of the `Arc<Named>` (see `Clone` and
            // `Origin::new`), given back here exactly once.
            unsafe { drop(Arc::from_raw(n as *const Named)) };
        }
    }
}

impl fmt::Debug for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskInfo")
            .field("id", &self.id.0)
            .field("name", &self.name())
            .field("location", &format_args!("{}", self.location()))
            .finish()
    }
}

impl fmt::Display for TaskInfo {
    /// `task 7 "name" (spawned at src/main.rs:10:5)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(n) = self.name() {
            write!(f, " {n:?}")?;
        }
        write!(f, " (spawned at {})", self.location())
    }
}
