//! Write overlap: while the write buffer is written on the pool, the writer fills a second
//! buffer (the overflow) instead of waiting, and the pool job writes it next, as a read
//! double-buffers. Each write job gets a new [`Overflow`].
//!
//! Why it cannot lose or reorder bytes, strand a task, or deadlock a one-thread pool:
//!
//! - The writer appends only while the overflow is open, and the job closes it when it takes
//!   nothing more, both under the overflow's lock: every byte appended is either taken (when
//!   the buffer is full) and written by the job after the bytes before it, or moved back into
//!   the write buffer in order (a partial buffer, or after a write error) when the job ends
//!   ([`Overflow::take_next`]).
//! - Dropping the `Unblock` needs nothing new: the job in flight keeps taking and writing full
//!   overflows, then ends with the rest in the write buffer, which the core's drop writes (on
//!   the pool, as before: a dropped `Unblock` detaches its job, whose output is dropped there).
//!   No job ever waits for another job, so one pool thread is enough.
//! - A writer that finds the overflow full leaves its waker there. The job wakes it each time it
//!   takes the overflow, and when it closes it, which [`CloseOnDrop`] also does if the job
//!   panics or is dropped unrun (a pool that was shut down), so no writer waits forever.
//!
//! tests/loom_overflow.rs checks the first and last points under every interleaving (loom).

use std::task::{Context, Poll, Waker};

// `super::sync`: std here, loom's in the loom model (tests/loom_overflow.rs).
use super::sync::{Arc, Mutex, MutexGuard};

/// The second write buffer of one write job, shared by the writer and the job.
pub(super) struct Overflow {
    st: Mutex<State>,
}

struct State {
    buf: Vec<u8>,
    /// Bytes the overflow takes before the writer must wait (the job's write buffer size).
    limit: usize,
    /// The job takes nothing more: the writer waits for the job to end instead.
    closed: bool,
    /// A writer waiting for room.
    waker: Option<Waker>,
}

impl Overflow {
    /// A new open overflow of `limit` bytes, reusing `spare`'s allocation.
    pub(super) fn new(mut spare: Vec<u8>, limit: usize) -> Arc<Overflow> {
        spare.clear();
        Arc::new(Overflow {
            st: Mutex::new(State {
                buf: spare,
                limit,
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
        let room = st.limit.saturating_sub(st.buf.len());
        if room == 0 && !buf.is_empty() {
            st.waker = Some(cx.waker().clone());
            return Some(Poll::Pending);
        }
        let n = room.min(buf.len());
        if st.buf.capacity() < st.limit {
            let more = st.limit - st.buf.len();
            st.buf.reserve_exact(more);
        }
        st.buf.extend_from_slice(&buf[..n]);
        Some(Poll::Ready(n))
    }

    /// The job's side, with its write buffer `wbuf` written: `true` if the overflow was full
    /// and its bytes were swapped into `wbuf` (write them next). Else it is closed now and
    /// `false`: its bytes (a partial buffer, or all of them after a write error, `failed`) are
    /// appended to `wbuf`, after any unwritten ones, for the next write or the core's drop.
    /// Only full buffers are taken, so every `write` is of a whole buffer, as without overlap.
    pub(super) fn take_next(&self, wbuf: &mut Vec<u8>, failed: bool) -> bool {
        let mut st = self.lock();
        let more = !failed && !st.buf.is_empty() && st.buf.len() >= st.limit;
        if more || wbuf.is_empty() {
            std::mem::swap(&mut st.buf, wbuf);
            st.buf.clear();
        } else {
            wbuf.append(&mut st.buf);
        }
        st.closed |= !more;
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        more
    }

    /// The job's side: the next buffer may take `limit` bytes (a file's buffer grows while it is
    /// written sequentially); wakes a writer waiting for room.
    pub(super) fn set_limit(&self, limit: usize) {
        let mut st = self.lock();
        st.limit = limit;
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The emptied buffer, for the next job's overflow (its allocation is reused).
    pub(super) fn into_spare(this: Arc<Self>) -> Vec<u8> {
        match Arc::try_unwrap(this) {
            Ok(o) => o.st.into_inner().unwrap_or_else(|e| e.into_inner()).buf,
            Err(_) => Vec::new(),
        }
    }

    fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
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
