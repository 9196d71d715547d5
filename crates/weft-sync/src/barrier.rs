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
    waiters: WaitList<()>,
}

/// What [`Barrier::wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult {
    is_leader: bool,
}

impl BarrierWaitResult {
    /// `true` for exactly one task per released group (the last to arrive).
    pub fn is_leader(&self) -> bool {
        self.is_leader
    }
}

impl Barrier {
    /// A barrier for groups of `n` tasks (`n == 0` behaves like `1`: every wait returns at once).
    pub fn new(n: usize) -> Self {
        Barrier {
            n: n.max(1),
            state: Mutex::new(State {
                arrived: 0,
                generation: 0,
                waiters: WaitList::new(),
            }),
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
        let mut st = this.barrier.state.lock();
        if ready!(st.waiters.poll_waiter(&mut this.key, cx.waker())).is_some() {
            // Released by the leader of this generation.
            return Poll::Ready(BarrierWaitResult { is_leader: false });
        }
        st.arrived += 1;
        if st.arrived == this.barrier.n {
            st.arrived = 0;
            st.generation = st.generation.wrapping_add(1);
            let mut wakes = WakeList::new();
            st.waiters.notify_all(&mut wakes, |_| {});
            drop(st);
            wakes.wake_all();
            return Poll::Ready(BarrierWaitResult { is_leader: true });
        }
        this.key = Some(st.waiters.push_back((), cx.waker()));
        Poll::Pending
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut st = self.barrier.state.lock();
            if st.waiters.remove(key).0 == WaitState::Waiting {
                st.arrived -= 1;
            }
        }
    }
}
