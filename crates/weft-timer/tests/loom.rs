//! loom models of the timer's cross-thread cancel (issue 20), through the real code:
//! `src/shards.rs` (the per-shard locks, `insert`/`remove`/`with`/`poll`)
//! and `src/wheel.rs` are compiled here against loom's `Mutex` and atomics.
//!
//! The property: a timer cancelled on one thread while another fires (polls) the wheel is
//! either fired (its waker woken, exactly once) or removed by the cancel, never both and never
//! neither; a cancel that comes after the timer fired never removes a newer timer that reused
//! its slot; a waker swapped in while the timer fires is woken if and only if the swap saw the
//! entry still waiting.
//!
//! Run with `cargo xtask loom` (`RUSTFLAGS="--cfg loom" cargo test --profile loom -p
//! weft-timer --test loom`). Compiles to nothing without `--cfg loom`.
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

/// What `shards.rs` is written against (`crate::sync` in the crate).
mod sync {
    pub use loom::sync::atomic::{AtomicUsize, Ordering};
    pub use loom::sync::{Mutex, MutexGuard};
    pub use std::sync::PoisonError;
}

#[path = "../src/wheel.rs"]
#[allow(dead_code, missing_docs)]
mod wheel;

#[path = "../src/shards.rs"]
#[allow(dead_code)]
mod shards;

use shards::Shards;

/// A timer's waker, reduced to a count of how often it was woken.
struct Wake(Arc<AtomicUsize>);

impl Wake {
    fn wake(self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The driver's side of `Timers::process`: fire what is due (under the shard locks), then
/// wake outside them.
fn fire(timers: &Shards<Wake>, now_ms: u64) {
    let mut fired = Vec::new();
    timers.poll(now_ms, &mut fired);
    for w in fired {
        w.wake();
    }
}

#[test]
fn a_timer_cancelled_while_it_fires_is_either_woken_once_or_removed() {
    loom::model(|| {
        let timers = Arc::new(Shards::new());
        let woken = Arc::new(AtomicUsize::new(0));
        let key = timers.insert(5, Wake(woken.clone()));
        let t = timers.clone();
        let driver = thread::spawn(move || fire(&t, 10));
        let removed = timers.remove(key).is_some();
        driver.join().unwrap();
        let woken = woken.load(Ordering::SeqCst);
        assert_eq!(
            usize::from(removed) + woken,
            1,
            "removed: {removed}, woken {woken} times"
        );
        assert_eq!(timers.len(), 0);
    });
}

#[test]
fn a_late_cancel_never_removes_a_newer_timer_in_the_same_slot() {
    loom::model(|| {
        let timers = Arc::new(Shards::new());
        let old = Arc::new(AtomicUsize::new(0));
        let new = Arc::new(AtomicUsize::new(0));
        let key = timers.insert(5, Wake(old.clone()));
        let (t, n) = (timers.clone(), new.clone());
        // The driver fires the old timer, then (same thread, so the same shard and likely the
        // same slab slot) registers a newer one.
        let driver = thread::spawn(move || {
            fire(&t, 10);
            t.insert(100, Wake(n))
        });
        let removed = timers.remove(key).is_some();
        let newer = driver.join().unwrap();
        assert_eq!(usize::from(removed) + old.load(Ordering::SeqCst), 1);
        // Whatever the interleaving, the newer timer is still there and still pending.
        assert_eq!(new.load(Ordering::SeqCst), 0);
        assert!(timers.remove(newer).is_some(), "the newer timer was lost");
        assert_eq!(timers.len(), 0);
    });
}

#[test]
fn a_waker_swapped_in_while_the_timer_fires_is_woken_iff_the_swap_saw_it_waiting() {
    loom::model(|| {
        let timers = Arc::new(Shards::new());
        let first = Arc::new(AtomicUsize::new(0));
        let second = Arc::new(AtomicUsize::new(0));
        let key = timers.insert(5, Wake(first.clone()));
        let t = timers.clone();
        let driver = thread::spawn(move || fire(&t, 10));
        // `Timers::update_waker`: replace the stored waker if the entry still waits; the old
        // one is dropped outside the lock.
        let s = second.clone();
        let swapped = timers.with(key, |w| std::mem::replace(w, Wake(s)));
        let updated = swapped.is_some();
        drop(swapped);
        driver.join().unwrap();
        let (first, second) = (first.load(Ordering::SeqCst), second.load(Ordering::SeqCst));
        if updated {
            assert_eq!(
                (first, second),
                (0, 1),
                "the swapped-in waker must be the one woken"
            );
        } else {
            assert_eq!(
                (first, second),
                (1, 0),
                "the entry had fired with the first waker"
            );
        }
        assert_eq!(timers.len(), 0);
    });
}
