//! Write-behind: while the write buffer is written on the pool, the writer fills more buffers
//! (the overflow) instead of waiting, and the same pool job writes each one as it fills, as a
//! read double-buffers. Each write job gets a new [`Overflow`].
//!
//! How far the writer may run ahead is bounded by bytes held (full buffers queued plus the one
//! being filled): one buffer for a plain `Unblock`, [`WRITE_BEHIND_MAX`] for a file written
//! sequentially. A writer that reaches the bound waits until the job has written half of it,
//! so a writer faster than the disk waits once per `WRITE_BEHIND_MAX / 2` bytes instead of once
//! per buffer (each wait is a park and a cross-thread wake-up, ~50 µs on an idle VM).
//!
//! Why it cannot lose or reorder bytes, strand a task, or deadlock a one-thread pool:
//!
//! - The writer appends only while the overflow is open, and the job closes it when it takes
//!   nothing more, both under the overflow's lock: every byte appended is either taken (in a
//!   full buffer, oldest first) and written by the job after the bytes before it, or moved
//!   back into the write buffer in order (a partial buffer, or everything queued after a write
//!   error) when the job ends ([`Overflow::take_next`]).
//! - Dropping the `Unblock` needs nothing new: the job in flight keeps taking and writing full
//!   buffers, then ends with the rest in the write buffer, which the core's drop writes (on
//!   the pool, as before: a dropped `Unblock` detaches its job, whose output is dropped there).
//!   No job ever waits for another job, so one pool thread is enough.
//! - A writer that finds no room leaves its waker there. The job wakes it once it has taken
//!   enough to free half the bound (it keeps taking until nothing full is left, and a waiting
//!   writer adds nothing, so it gets there), and when it closes the overflow, which
//!   [`CloseOnDrop`] also does if the job panics or is dropped unrun (a pool that was shut
//!   down), so no writer waits forever.
//!
//! tests/loom_models/overflow.rs checks the first and last points under every interleaving.

use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

// `super::sync`: std here, loom's in the loom model (tests/loom.rs).
use super::sync::{Arc, Mutex, MutexGuard};

/// Most bytes a file written sequentially holds ahead of the pool job (full buffers waiting,
/// plus the one being filled): 8 buffers of 128 KiB. The job then still has 512 KiB (~0.4 ms
/// of `write` calls) queued when it wakes the writer, far more than a wake-up takes, so it
/// never runs dry behind a writer that keeps up; deeper queues were measured slower (2 MiB
/// +30 %, 4 MiB +45 % CPU per 32 MiB on one core): past the L2 cache, the buffers are cold when
/// the kernel copies them.
pub(super) const WRITE_BEHIND_MAX: usize = 1024 * 1024;

/// The buffers of one write job, shared by the writer and the job.
pub(super) struct Overflow {
    st: Mutex<State>,
}

struct State {
    /// Full buffers, oldest first, for the job to write next.
    full: VecDeque<Vec<u8>>,
    /// Bytes in `full`.
    queued: usize,
    /// The buffer the writer fills; its bytes come after those in `full`.
    cur: Vec<u8>,
    /// Written buffers, reused for `cur` (no allocation per buffer in steady state).
    free: Vec<Vec<u8>>,
    /// Bytes a buffer takes before it is full: the job's write buffer size at first, doubling
    /// with each buffer queued up to `grow_to` (a file written sequentially).
    limit: usize,
    grow_to: usize,
    /// Most bytes held (`queued` + `cur`) before the writer must wait; at least `limit`.
    depth: usize,
    /// The job takes nothing more: the writer waits for the job to end instead.
    closed: bool,
    /// A writer waiting for room.
    waker: Option<Waker>,
}

impl State {
    fn held(&self) -> usize {
        self.queued + self.cur.len()
    }

    fn depth(&self) -> usize {
        self.depth.max(self.limit)
    }

    /// Queues `cur` (full) for the job and starts a fresh one, bigger if growing.
    fn queue_cur(&mut self) {
        self.limit = self
            .limit
            .saturating_mul(2)
            .min(self.grow_to)
            .max(self.limit);
        let mut next = self.free.pop().unwrap_or_default();
        next.clear();
        let full = std::mem::replace(&mut self.cur, next);
        self.queued += full.len();
        self.full.push_back(full);
    }

    /// The waiting writer, if the job has freed enough room to wake it (half the bound: see
    /// the module docs), or `force`.
    fn waker_to_wake(&mut self, force: bool) -> Option<Waker> {
        if force || self.held() <= self.depth() / 2 {
            self.waker.take()
        } else {
            None
        }
    }
}

fn wake(w: Option<Waker>) {
    if let Some(w) = w {
        w.wake();
    }
}

impl Overflow {
    /// A new open overflow of `limit`-byte buffers (doubling with each one up to `grow_to`)
    /// holding at most `depth` bytes (at least one buffer), reusing `spare`'s allocation.
    pub(super) fn new(
        mut spare: Vec<u8>,
        limit: usize,
        grow_to: usize,
        depth: usize,
    ) -> Arc<Overflow> {
        spare.clear();
        Arc::new(Overflow {
            st: Mutex::new(State {
                full: VecDeque::new(),
                queued: 0,
                cur: spare,
                free: Vec::new(),
                limit,
                grow_to,
                depth,
                closed: false,
                waker: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The writer's side: `None` once closed (wait for the job); else how many bytes of `buf`
    /// were appended, or `Pending` (woken when there is room or the overflow closes).
    pub(super) fn poll_append(&self, cx: &Context<'_>, buf: &[u8]) -> Option<Poll<usize>> {
        let mut st = self.lock();
        if st.closed {
            return None;
        }
        let room = (st.limit - st.cur.len()).min(st.depth().saturating_sub(st.held()));
        if room == 0 && !buf.is_empty() {
            st.waker = Some(cx.waker().clone());
            return Some(Poll::Pending);
        }
        let n = room.min(buf.len());
        if st.cur.capacity() < st.limit {
            let more = st.limit - st.cur.len();
            st.cur.reserve_exact(more);
        }
        st.cur.extend_from_slice(&buf[..n]);
        if st.cur.len() >= st.limit {
            st.queue_cur(); // the job may take it as soon as it is done with the one before
        }
        Some(Poll::Ready(n))
    }

    /// The job's side, with its write buffer `wbuf` written: `true` if a full buffer was moved
    /// into `wbuf` (write it next; the written one is kept for reuse). Else it is closed now and
    /// `false`: every byte it holds (a partial buffer, or all of them after a write error,
    /// `failed`) is appended to `wbuf` in order, after any unwritten ones, for the next write
    /// or the core's drop. Only full buffers are taken, so every `write` is of a whole buffer,
    /// as without write-behind.
    pub(super) fn take_next(&self, wbuf: &mut Vec<u8>, failed: bool) -> bool {
        let mut st = self.lock();
        if !failed && wbuf.is_empty() {
            if let Some(next) = st.full.pop_front() {
                st.queued -= next.len();
                let written = std::mem::replace(wbuf, next);
                if written.capacity() > 0 {
                    st.free.push(written);
                }
                let w = st.waker_to_wake(false);
                drop(st);
                wake(w);
                return true;
            }
        }
        // Nothing full to take (or the write failed): everything goes back, in order.
        let mut rest = std::mem::take(&mut st.full);
        rest.push_back(std::mem::take(&mut st.cur));
        for mut b in rest {
            if wbuf.is_empty() {
                std::mem::swap(wbuf, &mut b); // no copy: the allocation moves
            } else {
                wbuf.append(&mut b);
            }
            if b.capacity() > st.cur.capacity() {
                st.cur = b; // emptied: the biggest is kept as the next job's spare
            }
        }
        st.queued = 0;
        st.free.clear();
        st.closed = true;
        let w = st.waker_to_wake(true);
        drop(st);
        wake(w);
        false
    }

    /// The size the next buffer would have had: the write buffer size once the job is done.
    pub(super) fn limit(&self) -> usize {
        self.lock().limit
    }

    /// The emptied buffer, for the next job's overflow (its allocation is reused).
    pub(super) fn into_spare(this: Arc<Self>) -> Vec<u8> {
        match Arc::try_unwrap(this) {
            Ok(o) => o.st.into_inner().unwrap_or_else(|e| e.into_inner()).cur,
            Err(_) => Vec::new(),
        }
    }

    fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        let w = st.waker.take();
        drop(st);
        wake(w);
    }
}

/// Held by the write job: closes the overflow (waking a waiting writer) however the job ends,
/// including a panic or a pool that drops the job unrun.
pub(super) struct CloseOnDrop(pub(super) Arc<Overflow>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}
