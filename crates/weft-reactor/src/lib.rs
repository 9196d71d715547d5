//! The weft reactor: readiness-based I/O on [`polling`], [`block_on`], and networking types.
//!
//! # Pieces
//!
//! - One global reactor, created lazily on first use: an OS poller (on Linux `epoll` used
//!   directly, elsewhere the `polling` crate) and a slab of registered sources. Each descriptor
//!   is registered **once**, for both directions, edge-triggered. The reactor turns each edge
//!   into cached readiness on the source (a bit per direction, a sticky "closed" bit for EOF,
//!   hang-up and errors, and a tick counting edges) and wakes that direction's waiters.
//! - Operations are optimistic: `read`/`write`/`accept` run while the cached readiness says
//!   ready, and clear it only when the syscall returns `WouldBlock` *and* no newer edge arrived
//!   meanwhile (the tick is unchanged). A read or write that transfers less than asked clears
//!   it too (the buffer is drained or full), without paying for a failing syscall. A busy
//!   socket therefore costs its reads and writes, one `epoll_wait` per batch of events, and no
//!   `epoll_ctl` at all.
//! - [`Async<T>`] wraps any `AsFd` I/O object: non-blocking mode, registration, `readable()`,
//!   `writable()`, `read_with`, `write_with`, and futures-io `AsyncRead`/`AsyncWrite`.
//! - [`block_on`] runs a future on the current thread and drives the reactor and timers while the
//!   future waits; [`try_react`] and [`notify`] let an executor drive it from its own workers.
//! - [`net`]: `TcpStream`, `TcpListener`, `UdpSocket`, `UnixStream`, `UnixListener`; host
//!   names are resolved off the calling thread.
//!
//! # The wake-up path
//!
//! Only one thread can wait in the OS poller at a time; holding the *reactor lock* grants that
//! right. A thread in [`block_on`] whose future is pending:
//!
//! 1. tries to take the reactor lock. If it gets it, it waits in the poller with a timeout no
//!    longer than the earliest timer deadline, to the nanosecond (`epoll_pwait2`; where the
//!    kernel lacks it, `epoll_wait` rounded up to whole milliseconds, so timers never fire
//!    early). After every wait it fires due timers (`weft_timer::Timers::process` on the global
//!    timers and on this thread's current ones) and wakes the wakers of every ready source of the
//!    batch (up to 1024 events per wait). It keeps the lock until its own future is woken, then
//!    releases it.
//! 2. Otherwise it queues up as a waiter (FIFO, O(1)) and parks on its own condition variable.
//!    Whoever releases the reactor lock hands it to the oldest queued waiter, which takes over the
//!    poller; so whenever a `block_on` thread is idle, some thread is waiting in the poller.
//!
//! A `block_on` waker sets a `woken` flag, unparks the thread, and, only if the thread may be
//! blocked in the poller (its `io_blocked` flag), calls the poller's `notify()`. The waker writes
//! `woken` before reading `io_blocked`, and the driving thread writes `io_blocked` before reading
//! `woken` (sequentially consistent), so a wake-up from another thread is never lost, and a wake
//! from the thread itself costs no syscall (the flag is cleared as soon as the wait returns, so
//! wakers run by the batch on the driving thread never write the notifier). `tests/loom.rs`
//! model-checks this handshake and the hand-off.
//!
//! A timer inserted with a deadline earlier than the reactor's current wait calls the timer
//! driver hook, which notifies the poller if a thread is waiting in it, so the wait is recomputed.
//!
//! When no `block_on` runs at all (an [`Async`] used under another executor), the fallback thread
//! **"weft-reactor"** drives I/O and the global timers. It gives the lock up as soon as a
//! `block_on` thread wants it. It does the same at once when the last executor worker (a thread
//! that drove through [`try_react`]) leaves, or a [`block_on_passive`] runs with no worker left:
//! nobody else would come back to the poller. While executor workers exist it sleeps without a
//! timeout (they come back: a busy worker polls every few dozen tasks, an idle one drives).
//! While only plain `block_on` threads exist and are all busy, it
//! checks every 50 µs to 10 ms (back-off) whether anyone drove the reactor, and polls it (zero
//! timeout) if not.
//!
//! Fairness: a future that keeps waking itself is re-polled at once, but after
//! [`IO_POLL_BUDGET`] consecutive self-wakes `block_on` polls I/O with a zero timeout and
//! processes timers, so busy work cannot starve I/O and timer wake-ups (a thread that drives
//! through [`try_react`], an executor worker, is left to poll I/O in its own context).
//!
//! Platform: Unix only (the types are built on `AsFd`).

mod async_fd;
mod close;
mod driver;
mod error;
pub mod net;
mod park;
mod reactor;
mod source;
mod sys;
mod timer_glue;
mod waitlist;

pub use async_fd::{Async, Readable, Writable};
pub use close::AsyncClose;
#[doc(hidden)]
pub use driver::{
    __block_on_in_poller_wait, __fallback_takeovers, __fallback_wakes, __poller_waits,
    __timer_notifies,
};
pub use driver::{block_on, block_on_passive, notify, try_react, try_react_unless, IO_POLL_BUDGET};
pub use error::{RegisterError, RegisterErrorKind};

/// The park/hand-off protocol, exposed only for the loom models in `tests/loom.rs`.
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::park::{Handoff, Parker, Shared};
}
