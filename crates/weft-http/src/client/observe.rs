//! Observability hooks: aiohttp's `TraceConfig` signals as one event stream.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode, Uri};

use crate::error::Error;

/// Something that happened while a request was served. Passed to the client's [`Observer`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// `send()` was called (aiohttp `on_request_start`).
    RequestStart {
        /// The method.
        method: &'a Method,
        /// The URL.
        url: &'a Uri,
    },
    /// `send()` returned: the response head arrived, or the request failed (aiohttp
    /// `on_request_end` / `on_request_exception`).
    RequestEnd {
        /// The method.
        method: &'a Method,
        /// The final URL.
        url: &'a Uri,
        /// The status, on success.
        status: Option<StatusCode>,
        /// The error, on failure.
        error: Option<&'a Error>,
        /// Time since `RequestStart`.
        elapsed: Duration,
    },
    /// A host name was resolved (aiohttp `on_dns_resolvehost_end`).
    DnsResolved {
        /// The name.
        host: &'a str,
        /// What it resolved to.
        addrs: &'a [SocketAddr],
        /// How long it took.
        elapsed: Duration,
    },
    /// A TLS handshake completed (successfully).
    TlsHandshake {
        /// The server name verified.
        server_name: &'a str,
        /// How long it took.
        elapsed: Duration,
    },
    /// A new connection is ready (aiohttp `on_connection_create_end`).
    ConnectionCreated {
        /// Host of the pool key.
        host: &'a str,
        /// Port of the pool key.
        port: u16,
        /// Resolution + TCP + TLS time.
        elapsed: Duration,
    },
    /// A pooled connection was reused (aiohttp `on_connection_reuseconn`).
    ConnectionReused {
        /// Host of the pool key.
        host: &'a str,
        /// Port of the pool key.
        port: u16,
    },
    /// A redirect is being followed (aiohttp `on_request_redirect`).
    Redirect {
        /// The status of the redirect.
        status: StatusCode,
        /// Where from.
        from: &'a Uri,
        /// Where to.
        to: &'a Uri,
    },
    /// A failed attempt is retried (by the retry policy, or because it was never written).
    Retry {
        /// The URL.
        url: &'a Uri,
        /// The retry number (1 for the first retry).
        attempt: u32,
        /// Why.
        error: &'a Error,
        /// The backoff before the retry.
        delay: Duration,
    },
}

/// Receives [`Event`]s; set with
/// [`ClientBuilder::observer`](crate::ClientBuilder::observer). Any `Fn(&Event)` is one.
///
/// Called inline on the request's task: keep it quick (count, log, record a span).
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use weft_http::{Client, Event};
///
/// let created = Arc::new(AtomicUsize::new(0));
/// let c = created.clone();
/// let client = Client::builder()
///     .observer(move |e: &Event<'_>| {
///         if let Event::ConnectionCreated { .. } = e {
///             c.fetch_add(1, Ordering::Relaxed);
///         }
///     })
///     .build()?;
/// # let _ = client;
/// # Ok::<(), weft_http::Error>(())
/// ```
pub trait Observer: Send + Sync + 'static {
    /// One event.
    fn on_event(&self, event: &Event<'_>);
}

impl<F: Fn(&Event<'_>) + Send + Sync + 'static> Observer for F {
    fn on_event(&self, event: &Event<'_>) {
        self(event)
    }
}

/// The client's optional observer.
#[derive(Clone, Default)]
pub(crate) struct Hooks(pub(crate) Option<Arc<dyn Observer>>);

impl Hooks {
    #[inline]
    pub(crate) fn on(&self) -> Option<&dyn Observer> {
        self.0.as_deref()
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Hooks(set)"
        } else {
            "Hooks(none)"
        })
    }
}
