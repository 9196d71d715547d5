//! weft's HTTP/1.1 client: what aiohttp's `ClientSession` gives, the Rust way.
//!
//! - [`Client`] (cheap to clone, one shared pool) built by [`ClientBuilder`]: per-host and
//!   total connection limits with a cancel-safe FIFO waiter queue, idle connections watched by
//!   the reactor and closed on EOF or after `idle_timeout` (by a timer callback; nothing runs in
//!   the background once the client is gone), timeouts `connect` / `read` / `total` /
//!   `pool_acquire`, redirects ([`Policy`]), opt-in retries ([`Retry`]), rustls TLS with webpki
//!   roots, and [`Client::pool_stats`].
//! - Requests use the `http` crate's types ([`Method`], [`HeaderMap`], [`Uri`], [`StatusCode`]);
//!   [`Response`] offers `bytes`, `text`, `chunk`, a `Stream`, `lines` and `AsyncRead`.
//! - Strict framing: Content-Length with Transfer-Encoding, differing Content-Lengths, `+5`,
//!   malformed chunk sizes, oversize heads and trailers are errors, and the connection is closed.
//!
//! ```no_run
//! use std::time::Duration;
//! use weft_http::{Client, Policy};
//!
//! weft_reactor::block_on(async {
//!     let client = Client::builder()
//!         .pool_max_per_host(8)
//!         .connect_timeout(Duration::from_secs(5))
//!         .read_timeout(Duration::from_secs(10))
//!         .redirect(Policy::limited(5))
//!         .build()?;
//!     let resp = client.get("http://127.0.0.1:8080/").send().await?;
//!     println!("{} {}", resp.status(), resp.error_for_status()?.text().await?);
//!     Ok::<(), weft_http::Error>(())
//! })
//! .unwrap();
//! ```
//!
//! Connection reuse rules, timeouts and security defaults are described in `docs/http.md`.

#![forbid(unsafe_code)]

#[doc(hidden)]
pub mod __fuzz;
mod client;
mod error;
mod proto;

pub use client::builder::DEFAULT_USER_AGENT;
pub use client::close::CLOSE_DRAIN_TIMEOUT;
pub use client::redirect;
pub use client::tls::{Certificate, Identity};
pub use client::{
    Body, BodyReader, BodyStream, Client, ClientBuilder, Event, IntoUrl, Observer, PoolStats,
    Proxy, RequestBuilder, Response, Retry,
};
pub use error::{Error, ErrorKind, ProtocolError, TimeoutKind, TlsFailure};
pub use proto::h1::{MAX_CHUNK_EXT_BYTES, MAX_HEADERS, MAX_HEAD_BYTES, MAX_TRAILER_BYTES};
pub use redirect::Policy;

pub use bytes::Bytes;
pub use http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
