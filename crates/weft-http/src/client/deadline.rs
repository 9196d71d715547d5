//! The read-idle and total deadlines of a request's read phase, as one re-armable timer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use weft_timer::Sleep;

use crate::error::{Error, TimeoutKind};

/// Fires `Timeout(Read)` when no byte arrived for `read`, or `Timeout(Total)` at `total`.
///
/// Armed lazily, only when a read has to wait; progress disarms it. So a response that is
/// already in the socket buffer costs no timer at all.
pub(crate) struct Deadlines {
    read: Option<Duration>,
    total: Option<Instant>,
    sleep: Option<Sleep>,
    armed: Option<TimeoutKind>,
}

impl Deadlines {
    pub(crate) fn new(read: Option<Duration>, total: Option<Instant>) -> Deadlines {
        Deadlines {
            read,
            total,
            sleep: None,
            armed: None,
        }
    }

    /// Data arrived: the read-idle clock starts over.
    pub(crate) fn progress(&mut self) {
        if self.armed == Some(TimeoutKind::Read) {
            self.armed = None;
        }
    }

    /// Errors with `Timeout(Total)` if the total deadline has passed (checked on progress, so a
    /// steady trickle cannot outlive it).
    pub(crate) fn check_total(&self) -> Result<(), Error> {
        match self.total {
            Some(t) if Instant::now() >= t => Err(Error::timeout(TimeoutKind::Total)),
            _ => Ok(()),
        }
    }

    /// Drops the timer (the body is done).
    pub(crate) fn clear(&mut self) {
        self.sleep = None;
        self.armed = None;
        self.read = None;
        self.total = None;
    }

    /// Called when a read is pending: arms the timer if needed and reports expiry.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Result<(), Error> {
        if self.armed.is_none() {
            let read_at = self.read.map(|d| Instant::now() + d);
            let (at, kind) = match (read_at, self.total) {
                (None, None) => return Ok(()),
                (Some(r), Some(t)) if t <= r => (t, TimeoutKind::Total),
                (Some(r), _) => (r, TimeoutKind::Read),
                (None, Some(t)) => (t, TimeoutKind::Total),
            };
            match &mut self.sleep {
                Some(s) => s.reset(at),
                None => self.sleep = Some(weft_timer::sleep_until(at)),
            }
            self.armed = Some(kind);
        }
        let s = self.sleep.as_mut().expect("armed implies a sleep");
        match Pin::new(s).poll(cx) {
            Poll::Ready(()) => Err(Error::timeout(
                self.armed.take().unwrap_or(TimeoutKind::Read),
            )),
            Poll::Pending => Ok(()),
        }
    }
}
