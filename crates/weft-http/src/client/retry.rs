//! Opt-in retries of idempotent requests, with exponential backoff.

use std::time::Duration;

use http::Method;

use crate::error::{Error, ErrorKind, TimeoutKind};

/// Which failed requests are sent again.
///
/// Without a retry policy, a request is re-sent only when it was never written (a pooled
/// connection that turned out closed). [`Retry::idempotent`] adds, for requests with a
/// replayable body: any method after connect errors and connect timeouts (nothing was sent), and
/// idempotent methods (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) after connections that closed
/// before the response was complete.
///
/// ```
/// use std::time::Duration;
/// use weft_http::Retry;
/// let r = Retry::idempotent(3).backoff(Duration::from_millis(50)).max_backoff(Duration::from_secs(1));
/// assert_eq!(r.delay(0), Duration::from_millis(50));
/// assert_eq!(r.delay(1), Duration::from_millis(100));
/// assert_eq!(r.delay(10), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone)]
pub struct Retry {
    max: u32,
    base: Duration,
    cap: Duration,
    on_read_timeout: bool,
}

impl Retry {
    /// No retries (the default).
    pub fn none() -> Retry {
        Retry {
            max: 0,
            base: Duration::ZERO,
            cap: Duration::ZERO,
            on_read_timeout: false,
        }
    }

    /// Up to `max` retries of idempotent requests; backoff 100 ms, doubling, capped at 5 s.
    pub fn idempotent(max: u32) -> Retry {
        Retry {
            max,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
            on_read_timeout: false,
        }
    }

    /// The delay before the first retry (doubled for each further one).
    pub fn backoff(mut self, base: Duration) -> Retry {
        self.base = base;
        self
    }

    /// The longest delay between retries.
    pub fn max_backoff(mut self, cap: Duration) -> Retry {
        self.cap = cap;
        self
    }

    /// Also retry after a read timeout (off by default: the server may be slow, not dead).
    pub fn on_read_timeout(mut self, yes: bool) -> Retry {
        self.on_read_timeout = yes;
        self
    }

    /// The most retries.
    pub fn max_retries(&self) -> u32 {
        self.max
    }

    /// The delay before retry number `n` (0-based).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Whether attempt `n` (0-based count of retries done) may retry after `err`.
    pub(crate) fn should_retry(&self, n: u32, method: &Method, err: &Error) -> bool {
        if n >= self.max {
            return false;
        }
        match err.kind() {
            // Nothing was sent: safe for any method.
            ErrorKind::Connect | ErrorKind::Timeout(TimeoutKind::Connect) => true,
            ErrorKind::IncompleteMessage | ErrorKind::Io => is_idempotent(method),
            ErrorKind::Timeout(TimeoutKind::Read) => self.on_read_timeout && is_idempotent(method),
            _ => false,
        }
    }
}

impl Default for Retry {
    fn default() -> Retry {
        Retry::none()
    }
}

/// RFC 9110 §9.2.2 idempotent methods.
pub(crate) fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}
