//! One registered descriptor: its cached readiness and the wakers waiting on it.
//!
//! The descriptor is registered once, edge-triggered, for both directions. The reactor turns
//! every edge into a bit in [`Source::readiness`] (plus a tick) and wakes that direction's
//! waiters; an operation runs while the bit is set and clears it only when the operation returns
//! `WouldBlock` *and* no newer edge arrived meanwhile (the tick is unchanged). So a busy socket
//! costs no `epoll_ctl` at all and no wait is ever lost: a clear can only erase readiness the
//! failed operation itself observed.

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use slab::Slab;

use crate::reactor::lock;
use crate::sys::Event;

/// Index of the read direction.
pub(crate) const READ: usize = 0;
/// Index of the write direction.
pub(crate) const WRITE: usize = 1;

/// Readiness word: bit `dir` = direction ready, bit `2 + dir` = direction closed (hang-up,
/// error, or for reads the peer's FIN: sticky, so a short read that consumed the last bytes
/// cannot hide a pending EOF); the high 32 bits count edges (the tick).
const BITS: u64 = 0b1111;
const TICK_SHIFT: u32 = 32;

fn bit(dir: usize) -> u64 {
    1 << dir
}

fn closed_bit(dir: usize) -> u64 {
    4 << dir
}

fn any_bit(dir: usize) -> u64 {
    bit(dir) | closed_bit(dir)
}

fn tick_of(word: u64) -> u32 {
    (word >> TICK_SHIFT) as u32
}

/// A readiness snapshot that may be cleared later (see [`Source::clear_ready`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ready {
    tick: u32,
}

/// Waiters of one direction.
#[derive(Default)]
struct Waiters {
    /// The single poll-style slot (`AsyncRead`/`AsyncWrite`, `poll_readable`, `poll_accept`).
    io: Option<Waker>,
    /// Future-style slots (`readable()`, `read_with`, `incoming()`): many tasks may wait.
    /// The reactor takes the wakers and leaves the slots; their owners remove them.
    futures: Slab<Option<Waker>>,
}

impl Waiters {
    fn drain_into(&mut self, out: &mut Vec<Waker>) {
        out.extend(self.io.take());
        if !self.futures.is_empty() {
            for (_, w) in self.futures.iter_mut() {
                out.extend(w.take());
            }
        }
    }
}

/// One registered file descriptor.
pub(crate) struct Source {
    pub(crate) raw: RawFd,
    pub(crate) key: usize,
    /// Set for stream sockets (TCP, Unix stream): a short read means the receive buffer is
    /// drained and a short write that the send buffer is full. Not so for everything else an
    /// `Async` may wrap (a tty returns one line, a SEQPACKET socket one packet), so only
    /// streams clear readiness on short transfers.
    stream: AtomicBool,
    readiness: AtomicU64,
    waiters: Mutex<[Waiters; 2]>,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("fd", &self.raw)
            .field("key", &self.key)
            .field(
                "readiness",
                &(self.readiness.load(Ordering::Relaxed) & BITS),
            )
            .finish()
    }
}

impl Source {
    /// A source; `ready` marks both directions ready at first, so the first operation is
    /// simply tried (an edge for readiness that predates the registration is reported by the
    /// poller anyway, so starting unready is also correct, only one wait slower).
    pub(crate) fn new(raw: RawFd, key: usize, ready: bool) -> Source {
        Source {
            raw,
            key,
            stream: AtomicBool::new(false),
            readiness: AtomicU64::new(if ready { BITS } else { 0 }),
            waiters: Mutex::new(Default::default()),
        }
    }

    /// Declares the descriptor a stream socket (see [`Source::stream`]).
    pub(crate) fn mark_stream(&self) {
        self.stream.store(true, Ordering::Relaxed);
    }

    /// Whether [`mark_stream`](Self::mark_stream) was called.
    #[cfg(test)]
    pub(crate) fn is_stream(&self) -> bool {
        self.stream.load(Ordering::Relaxed)
    }

    /// The reactor saw an edge: marks the directions ready (or closed) and collects their
    /// wakers.
    pub(crate) fn set_ready(&self, ev: &Event, out: &mut Vec<Waker>) {
        let flag = |on: bool, b: u64| if on { b } else { 0 };
        let bits = flag(ev.readable, bit(READ))
            | flag(ev.writable, bit(WRITE))
            | flag(ev.read_closed, closed_bit(READ))
            | flag(ev.write_closed, closed_bit(WRITE));
        if bits == 0 {
            return;
        }
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                let tick = u64::from(tick_of(w).wrapping_add(1));
                Some((tick << TICK_SHIFT) | (w & BITS) | bits)
            });
        // Waiters check readiness under this lock after registering, and we take it after
        // publishing readiness: either they see the bit or we see their waker.
        let mut waiters = lock(&self.waiters);
        for dir in [READ, WRITE] {
            if bits & any_bit(dir) != 0 {
                waiters[dir].drain_into(out);
            }
        }
    }

    fn ready(&self, dir: usize) -> Option<Ready> {
        let w = self.readiness.load(Ordering::Acquire);
        (w & any_bit(dir) != 0).then(|| Ready { tick: tick_of(w) })
    }

    /// Forgets readiness observed as `r` after an operation returned `WouldBlock` (which is
    /// authoritative: the closed bit goes too); a newer edge (a different tick) keeps the
    /// direction ready.
    pub(crate) fn clear_ready(&self, dir: usize, r: Ready) {
        self.clear_bits(any_bit(dir), r);
    }

    /// After a short transfer: the buffer is drained (or full), but a pending EOF or hang-up
    /// (the closed bit) stays visible.
    fn clear_short(&self, dir: usize, r: Ready) {
        self.clear_bits(bit(dir), r);
    }

    fn clear_bits(&self, bits: u64, r: Ready) {
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                (tick_of(w) == r.tick && w & bits != 0).then_some(w & !bits)
            });
    }

    /// Poll-style readiness with the direction's single waker slot. A different task polling
    /// takes the slot over; the previous one is woken to re-check.
    pub(crate) fn poll_ready(&self, dir: usize, cx: &mut Context<'_>) -> Poll<Ready> {
        if let Some(r) = self.ready(dir) {
            return Poll::Ready(r);
        }
        let mut waiters = lock(&self.waiters);
        if let Some(r) = self.ready(dir) {
            return Poll::Ready(r);
        }
        let slot = &mut waiters[dir].io;
        match slot {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => {
                if let Some(old) = slot.replace(cx.waker().clone()) {
                    drop(waiters);
                    old.wake();
                }
            }
        }
        Poll::Pending
    }

    /// Future-style readiness: `slot` is the caller's key in the direction's waker slab. The
    /// slot is removed once readiness is reported.
    pub(crate) fn poll_ready_slot(
        &self,
        dir: usize,
        slot: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Ready> {
        if slot.is_none() {
            if let Some(r) = self.ready(dir) {
                return Poll::Ready(r);
            }
        }
        let mut waiters = lock(&self.waiters);
        if let Some(r) = self.ready(dir) {
            if let Some(key) = slot.take() {
                waiters[dir].futures.try_remove(key);
            }
            return Poll::Ready(r);
        }
        let futures = &mut waiters[dir].futures;
        match slot.and_then(|k| futures.get_mut(k)) {
            Some(Some(w)) if w.will_wake(cx.waker()) => {}
            Some(w) => *w = Some(cx.waker().clone()),
            None => *slot = Some(futures.insert(Some(cx.waker().clone()))),
        }
        Poll::Pending
    }

    /// Drops a future-style slot (on completion or cancellation).
    pub(crate) fn cancel_slot(&self, dir: usize, slot: &mut Option<usize>) {
        if let Some(key) = slot.take() {
            lock(&self.waiters)[dir].futures.try_remove(key);
        }
    }

    /// Level-triggered readiness for the public `readable()`/`writable()`/`poll_readable()`/
    /// `poll_writable()`: cached readiness is confirmed with a zero-timeout `poll(2)`, so a
    /// caller that never reports `WouldBlock` back to us cannot spin on stale readiness (nor
    /// hang on a socket that still holds data, as a pure edge would).
    pub(crate) fn poll_level(
        &self,
        dir: usize,
        mut slot: Option<&mut Option<usize>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let r = match slot.as_deref_mut() {
                Some(s) => self.poll_ready_slot(dir, s, cx),
                None => self.poll_ready(dir, cx),
            };
            let Poll::Ready(r) = r else {
                return Poll::Pending;
            };
            if probe(self.raw, dir) {
                return Poll::Ready(Ok(()));
            }
            self.clear_ready(dir, r);
        }
    }

    /// Runs `op` while the direction is ready; waits (single poll-style slot) when it returns
    /// `WouldBlock`. `short` says, for a successful result, whether the operation transferred
    /// less than asked: on a stream socket the buffer is then known drained/full and readiness
    /// is cleared without paying for a `WouldBlock` syscall (a later edge sets it again).
    pub(crate) fn poll_io<R>(
        &self,
        dir: usize,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
        short: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        loop {
            let Poll::Ready(r) = self.poll_ready(dir, cx) else {
                return Poll::Pending;
            };
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_ready(dir, r),
                Ok(v) => {
                    if crate::sys::REPORTS_READ_CLOSED
                        && self.stream.load(Ordering::Relaxed)
                        && short(&v)
                    {
                        self.clear_short(dir, r);
                    }
                    return Poll::Ready(Ok(v));
                }
                res => return Poll::Ready(res),
            }
        }
    }

    /// Like [`poll_io`](Self::poll_io) with a future-style slot of the caller's.
    pub(crate) fn poll_io_slot<R>(
        &self,
        dir: usize,
        slot: &mut Option<usize>,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let Poll::Ready(r) = self.poll_ready_slot(dir, slot, cx) else {
                return Poll::Pending;
            };
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_ready(dir, r),
                res => return Poll::Ready(res),
            }
        }
    }
}

/// Whether `fd` is ready in `dir` right now (errors count as ready: the operation reports them).
fn probe(fd: RawFd, dir: usize) -> bool {
    let events = if dir == READ {
        libc::POLLIN
    } else {
        libc::POLLOUT
    };
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd, zero timeout; `fd` is open while its `Async` is borrowed.
        let r = unsafe { libc::poll(&mut p, 1, 0) };
        if r >= 0 {
            return r > 0;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_only_erases_the_observed_edge() {
        let s = Source::new(-1, 0, true);
        let r = s.ready(READ).unwrap();
        let mut wakers = Vec::new();
        s.set_ready(&edge(true, false, false), &mut wakers); // a newer edge arrives meanwhile
        s.clear_ready(READ, r); // the stale clear must not erase it
        assert!(s.ready(READ).is_some());
        let r = s.ready(READ).unwrap();
        s.clear_ready(READ, r);
        assert!(s.ready(READ).is_none());
        assert!(s.ready(WRITE).is_some(), "directions are independent");
    }

    #[test]
    fn tick_wraps_without_touching_the_bits() {
        let s = Source::new(-1, 0, false);
        s.readiness
            .store(u64::from(u32::MAX) << TICK_SHIFT, Ordering::Relaxed);
        s.set_ready(&edge(false, true, false), &mut Vec::new());
        let w = s.readiness.load(Ordering::Relaxed);
        assert_eq!((tick_of(w), w & BITS), (0, bit(WRITE)));
    }

    fn edge(readable: bool, writable: bool, read_closed: bool) -> Event {
        Event {
            key: 0,
            readable,
            writable,
            read_closed,
            write_closed: false,
        }
    }

    #[test]
    fn a_short_read_keeps_a_pending_eof_visible() {
        // Data and the peer's FIN arrive in one edge; a short read takes the data. The next
        // read must still be attempted (it returns 0), although no new edge will come.
        let s = Source::new(-1, 0, false);
        s.set_ready(&edge(true, false, true), &mut Vec::new());
        let r = s.ready(READ).unwrap();
        s.clear_short(READ, r);
        assert!(s.ready(READ).is_some(), "EOF hidden by a short read");
        // WouldBlock is authoritative: everything goes.
        let r = s.ready(READ).unwrap();
        s.clear_ready(READ, r);
        assert!(s.ready(READ).is_none());
    }
}
