//! Review finding: `task::try_current()` used to read the running task's metadata through a raw
//! pointer into the task allocation. `Runnable::run` drops its reference to the task and *then*
//! wakes the task's awaiter; if that waker drops the last `Task` handle, the allocation is freed
//! while `try_current()` still pointed into it (a use-after-free reachable from safe code).
//!
//! This binary poisons freed memory, so reading freed metadata gives a garbage id (or crashes on
//! a garbage name pointer) instead of silently reading stale bytes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};

use weft_executor::task::{self, Id};
use weft_executor::{yield_now, LocalRuntime, Task};

/// The system allocator, but freed memory is overwritten first.
struct Poisoning;

// SAFETY: every call is forwarded to `System` with the same arguments; `dealloc` only writes
// `layout.size()` bytes into the block it is about to free, which the caller owns.
unsafe impl GlobalAlloc for Poisoning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes allocated by us (the caller's
        // contract), so it is writable, and it is freed right after.
        unsafe {
            std::ptr::write_bytes(ptr, 0xA5, layout.size());
            System.dealloc(ptr, layout);
        }
    }
}

#[global_allocator]
static ALLOC: Poisoning = Poisoning;

/// The awaiter of a task: its `wake` drops the task's last handle, then asks for the current task.
struct DropThenAsk {
    handle: Mutex<Option<Task<u32>>>,
    seen: Mutex<Option<Option<Id>>>,
}

impl Wake for DropThenAsk {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        drop(self.handle.lock().unwrap().take());
        let id = task::try_current().map(|t| t.id());
        self.seen.lock().unwrap().get_or_insert(id);
    }
}

#[test]
fn try_current_is_sound_when_the_awaiter_drops_the_last_handle() {
    let rt = LocalRuntime::new().unwrap();
    let mut t = rt.spawn_local(async {
        yield_now().await;
        1u32
    });
    let id = t.id();
    let awaiter = Arc::new(DropThenAsk {
        handle: Mutex::new(None),
        seen: Mutex::new(None),
    });
    let waker = Waker::from(awaiter.clone());
    // Register `awaiter` as the task's awaiter, then hand it the only handle.
    assert!(Pin::new(&mut t)
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    *awaiter.handle.lock().unwrap() = Some(t);
    drop(waker);
    rt.block_on(async {
        for _ in 0..1000 {
            if awaiter.seen.lock().unwrap().is_some() {
                return;
            }
            yield_now().await;
        }
        panic!("the task never completed");
    });
    // Woken from inside the task's run: it is still the current task, and its info is intact.
    assert_eq!(*awaiter.seen.lock().unwrap(), Some(Some(id)));
}
