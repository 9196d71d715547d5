//! asyncio-style `Barrier`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::loom::Mutex;
use crate::waitlist::{WaitList, WaitState, WakeList};

/// Lets `n` tasks wait until all of them have arrived (asyncio's `Barrier`, tokio's `Barrier`).
///
/// The barrier is reusable: after releasing a group it starts counting the next one. Exactly one
/// task per group, the last to arrive, gets [`BarrierWaitResult::is_leader`] `== true`.
///
/// ```
/// use weft_sync::Barrier;
/// # futures_lite::future::block_on(async {
/// let b = Barrier::new(2);
/// let (r1, r2) = futures_lite::future::zip(b.wait(), b.wait()).await;
/// assert!(r1.is_leader() ^ r2.is_leader());
/// # });
/// ```
pub struct Barrier {
    n: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    arrived: usize,
    generation: u64,
    /// Set by [`Barrier::abort`] until [`Barrier::reset`].
    broken: bool,
    /// Payload: `true` when the waiter was released by `reset`/`abort` rather than by a full
    /// group.
    waiters: WaitList<bool>,
}

/// What [`Barrier::wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult {
    is_leader: bool,
    broken: bool,
}

impl BarrierWaitResult {
    /// `true` for exactly one task per released group (the last to arrive); `false` when the
    /// wait was broken.
    pub fn is_leader(&self) -> bool {
        self.is_leader
    }

    /// `true` when the wait ended because the barrier was [`reset`](Barrier::reset) or
    /// [`abort`](Barrier::abort)ed (asyncio's `BrokenBarrierError`) instead of the group
    /// completing.
    pub fn is_broken(&self) -> bool {
        self.broken
    }
}

/// The barrier was reset or aborted while waiting, or is aborted (asyncio's
/// `BrokenBarrierError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenBarrierError;

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("barrier was reset or aborted while waiting: reset() it before reusing it")
    }
}

impl std::error::Error for BrokenBarrierError {}

/// [`Barrier::try_new`] was asked for a group of zero tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZeroPartiesError;

impl fmt::Display for ZeroPartiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a barrier needs at least 1 party: pass n >= 1")
    }
}

impl std::error::Error for ZeroPartiesError {}

impl Barrier {
    /// A barrier for groups of `n` tasks.
    ///
    /// # Panics
    /// If `n == 0` (asyncio raises `ValueError`); use [`Barrier::try_new`] for a `Result`.
    pub fn new(n: usize) -> Self {
        match Self::try_new(n) {
            Ok(b) => b,
            Err(e) => panic!("Barrier::new(0): {e}"),
        }
    }

    /// A barrier for groups of `n` tasks; fails if `n == 0`.
    ///
    /// ```
    /// use weft_sync::Barrier;
    /// assert!(Barrier::try_new(0).is_err());
    /// assert_eq!(Barrier::try_new(3).unwrap().parties(), 3);
    /// ```
    pub fn try_new(n: usize) -> Result<Self, ZeroPartiesError> {
        if n == 0 {
            return Err(ZeroPartiesError);
        }
        Ok(Barrier {
            n,
            state: Mutex::new(State {
                arrived: 0,
                generation: 0,
                broken: false,
                waiters: WaitList::new(),
            }),
        })
    }

    /// Releases every waiting task as broken ([`BarrierWaitResult::is_broken`]) and returns the
    /// barrier to its empty, usable state; also clears an [`abort`](Barrier::abort).
    /// asyncio 3.13's `Barrier.reset`.
    ///
    /// ```
    /// use weft_sync::Barrier;
    /// # futures_lite::future::block_on(async {
    /// let b = Barrier::new(2);
    /// let waiting = b.wait();
    /// futures_lite::pin!(waiting);
    /// assert!(futures_lite::future::poll_once(&mut waiting).await.is_none());
    /// b.reset();
    /// assert!(waiting.await.is_broken());
    /// assert_eq!(b.n_waiting(), 0);
    /// # });
    /// ```
    pub fn reset(&self) {
        self.break_waiters(false);
    }

    /// Breaks the barrier: waiting tasks are released as broken, and every later `wait` returns
    /// broken at once until [`reset`](Barrier::reset). asyncio 3.13's `Barrier.abort`.
    ///
    /// ```
    /// use weft_sync::Barrier;
    /// # futures_lite::future::block_on(async {
    /// let b = Barrier::new(2);
    /// b.abort();
    /// assert!(b.is_broken());
    /// assert!(b.wait().await.is_broken());
    /// assert!(b.wait_checked().await.is_err());
    /// # });
    /// ```
    pub fn abort(&self) {
        self.break_waiters(true);
    }

    /// `true` after [`abort`](Barrier::abort) until [`reset`](Barrier::reset).
    pub fn is_broken(&self) -> bool {
        self.state.lock().broken
    }

    fn break_waiters(&self, broken: bool) {
        let mut wakes = WakeList::new();
        let mut st = self.state.lock();
        st.broken = broken;
        st.arrived = 0;
        st.generation = st.generation.wrapping_add(1);
        st.waiters.notify_all(&mut wakes, |b| *b = true);
        drop(st);
        wakes.wake_all();
    }

    /// [`wait`](Barrier::wait) as a `Result`: `Err(BrokenBarrierError)` when the wait was broken.
    ///
    /// # Cancel safety
    /// As [`wait`](Barrier::wait).
    pub async fn wait_checked(&self) -> Result<BarrierWaitResult, BrokenBarrierError> {
        let r = self.wait().await;
        if r.broken {
            Err(BrokenBarrierError)
        } else {
            Ok(r)
        }
    }

    /// The group size.
    pub fn parties(&self) -> usize {
        self.n
    }

    /// Number of tasks currently waiting at the barrier.
    pub fn n_waiting(&self) -> usize {
        self.state.lock().arrived
    }

    /// Arrives at the barrier and waits for the rest of the group.
    ///
    /// # Cancel safety
    /// Cancel-safe: a task that stops waiting before the group is complete withdraws its arrival,
    /// so the group still needs `n` live tasks. Once released, dropping the result changes nothing.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            key: None,
        }
    }

    /// Blocks the current thread until the group is complete. For threads outside the runtime.
    pub fn wait_blocking(&self) -> BarrierWaitResult {
        crate::block::block_on(self.wait())
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Barrier");
        d.field("parties", &self.n);
        match self.state.try_lock() {
            Some(st) => d
                .field("arrived", &st.arrived)
                .field("generation", &st.generation)
                .finish(),
            None => d.finish_non_exhaustive(),
        }
    }
}

/// Future returned by [`Barrier::wait`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    key: Option<usize>,
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = self.get_mut();
        let mut wakes = WakeList::new();
        let mut st = this.barrier.state.lock();
        if let Some(broken) = ready!(st
            .waiters
            .poll_waiter(&mut this.key, cx.waker(), &mut wakes))
        {
            // Released by the leader of this generation, or by `reset`/`abort`.
            return Poll::Ready(BarrierWaitResult {
                is_leader: false,
                broken,
            });
        }
        if st.broken {
            return Poll::Ready(BarrierWaitResult {
                is_leader: false,
                broken: true,
            });
        }
        st.arrived += 1;
        if st.arrived == this.barrier.n {
            st.arrived = 0;
            st.generation = st.generation.wrapping_add(1);
            st.waiters.notify_all(&mut wakes, |b| *b = false);
            drop(st);
            wakes.wake_all();
            return Poll::Ready(BarrierWaitResult {
                is_leader: true,
                broken: false,
            });
        }
        this.key = Some(st.waiters.push_back(false, cx.waker()));
        Poll::Pending
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            let mut st = self.barrier.state.lock();
            if st.waiters.remove(key, &mut wakes).0 == WaitState::Waiting {
                st.arrived -= 1;
            }
        }
    }
}
