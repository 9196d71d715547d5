//! The size of a task's allocation, pinned (a test-only allocator records it): async-task's
//! header around [`Meta`] is 64 bytes, so a task whose future (with weft's wrapper) is 64 bytes,
//! like `rt_memory`'s sleeping task, asks malloc for 136 and lands in its 144-byte class.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::spawn::Wrapped;

/// The system allocator, recording the sizes asked for on a thread while `RECORDING` is set.
struct Recording;

thread_local! {
    static RECORDING: Cell<bool> = const { Cell::new(false) };
    static SIZES: Cell<[usize; 16]> = const { Cell::new([0; 16]) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to `System`; the recording touches only const-initialized thread-locals
// without destructors (no allocation, no reentrancy).
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if RECORDING.try_with(Cell::get).unwrap_or(false) {
            let n = COUNT.with(Cell::get);
            if n < 16 {
                let mut s = SIZES.with(Cell::get);
                s[n] = l.size();
                SIZES.with(|c| c.set(s));
                COUNT.with(|c| c.set(n + 1));
            }
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(l) }
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` came from `alloc` above, which is `System`'s.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Recording = Recording;

/// Sizes of the allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> Vec<usize> {
    COUNT.with(|c| c.set(0));
    RECORDING.with(|r| r.set(true));
    f();
    RECORDING.with(|r| r.set(false));
    SIZES.with(Cell::get)[..COUNT.with(Cell::get)].to_vec()
}

/// Words of padding that make `Wrapped<Padded>` 64 bytes (with or without feature `tracing`).
const PAD: usize = (64 - std::mem::size_of::<Wrapped<()>>()) / 8;

/// A ready future of `PAD` words.
struct Padded([u64; PAD]);

impl Future for Padded {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let _ = self.0;
        Poll::Ready(())
    }
}

#[test]
fn a_sleeping_task_fits_mallocs_144_byte_class() {
    assert_eq!(std::mem::size_of::<Wrapped<Padded>>(), 64);
    let rt = crate::Runtime::builder().worker_threads(1).build().unwrap();
    // Warm up whatever the first spawn allocates besides the task (queue blocks).
    rt.block_on(rt.spawn(Padded([0; PAD]))).unwrap();
    let mut task = None;
    let sizes = allocations(|| task = Some(rt.spawn(Padded([0; PAD]))));
    // Header 64 (async-task's 32, `Meta` 24, a `bool`), schedule function 8, future 64: 136
    // bytes, which glibc's malloc serves from its 144-byte chunks (152 would take 160). The
    // task is the spawn's first allocation (pushing it may add a queue block). A local task
    // (`spawn_local`) is 8 bytes more: async-task wraps its future with the owning thread's id.
    assert_eq!(
        sizes.first(),
        Some(&136),
        "the spawn's allocations: {sizes:?}"
    );
    rt.block_on(task.unwrap()).unwrap();
}
