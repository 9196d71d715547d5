//! The OS poller behind the reactor, reduced to what an edge-triggered driver needs.
//!
//! Every descriptor is registered **once**, for both directions, edge-triggered; the reactor
//! caches readiness per source and never touches the registration again until it deletes it.
//!
//! - Linux: `epoll` directly (`epoll_pwait2` with a nanosecond timeout when the wait is timed
//!   finer than a millisecond, else `epoll_wait`; an `eventfd` notifier registered
//!   edge-triggered and never drained on the hot path). One wait is one syscall.
//! - Elsewhere, or with the `portable-poller` feature: the `polling` crate in edge mode.
//!   `polling`'s epoll backend costs five syscalls per wait (timerfd_settime, two epoll_ctl,
//!   epoll_wait, a notifier read), which is why Linux does not use it.

#[cfg(all(target_os = "linux", not(feature = "portable-poller")))]
mod epoll;
#[cfg(all(target_os = "linux", not(feature = "portable-poller")))]
pub(crate) use epoll::{Events, Poller};

#[cfg(any(not(target_os = "linux"), feature = "portable-poller"))]
mod portable;
#[cfg(any(not(target_os = "linux"), feature = "portable-poller"))]
pub(crate) use portable::{Events, Poller};

/// One readiness report: which source (`key`) and which directions became ready or closed.
/// "Closed" (an error, a hang-up, or for reads the peer's FIN) is sticky in the source: the
/// next operation returns the error or EOF instead of `WouldBlock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) key: usize,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    pub(crate) read_closed: bool,
    pub(crate) write_closed: bool,
}

/// The key reserved for the poller's own notifier.
#[cfg(all(target_os = "linux", not(feature = "portable-poller")))]
pub(crate) const NOTIFY_KEY: usize = usize::MAX;

/// Whether the backend reports the peer's FIN (`EPOLLRDHUP`) separately, so a short read may
/// clear read readiness without hiding a pending EOF. Without it, readiness is cleared only on
/// `WouldBlock`.
pub(crate) const REPORTS_READ_CLOSED: bool =
    cfg!(all(target_os = "linux", not(feature = "portable-poller")));
