//! Portable backend: the `polling` crate in edge-triggered mode.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

use polling::PollMode;

use super::Event;

/// A `polling::Poller` used in edge mode.
#[derive(Debug)]
pub(crate) struct Poller {
    inner: polling::Poller,
}

/// The buffer one wait fills.
pub(crate) struct Events {
    inner: polling::Events,
}

impl Events {
    /// Room for `cap` events per wait.
    pub(crate) fn with_capacity(cap: usize) -> Events {
        let cap = std::num::NonZeroUsize::new(cap).unwrap_or(std::num::NonZeroUsize::MIN);
        Events {
            inner: polling::Events::with_capacity(cap),
        }
    }

    /// The events of the last wait.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.inner.iter().map(|ev| {
            let err = ev.is_err().unwrap_or(false);
            Event {
                key: ev.key,
                readable: ev.readable,
                writable: ev.writable,
                read_closed: err || ev.is_interrupt(),
                write_closed: err,
            }
        })
    }
}

impl Poller {
    /// Creates the poller; fails if it has no edge-triggered mode.
    pub(crate) fn new() -> io::Result<Poller> {
        let inner = polling::Poller::new()?;
        if !inner.supports_edge() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the OS poller has no edge-triggered mode, which weft-reactor requires",
            ));
        }
        Ok(Poller { inner })
    }

    /// Registers `fd` for both directions, edge-triggered, under `key`.
    ///
    /// # Safety
    ///
    /// `fd` must be deleted with [`delete`](Self::delete) before it is closed.
    pub(crate) unsafe fn add(&self, fd: RawFd, key: usize) -> io::Result<()> {
        // SAFETY: forwarded to the caller's contract.
        unsafe {
            self.inner
                .add_with_mode(fd, polling::Event::all(key), PollMode::Edge)
        }
    }

    /// Deregisters `fd`.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: the caller (the reactor) deletes descriptors that are still open.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        self.inner.delete(fd)
    }

    /// Waits for events for at most `timeout` (`None`: until an event or a notification).
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.inner.clear();
        match self.inner.wait(&mut events.inner, timeout) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            r => r,
        }
    }

    /// Wakes the current or next `wait`.
    pub(crate) fn notify(&self) -> io::Result<()> {
        self.inner.notify()
    }
}
