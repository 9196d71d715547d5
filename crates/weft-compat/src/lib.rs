//! Interop between weft and the tokio/hyper ecosystem, outside weft's core crates.
//!
//! No core weft crate depends on tokio or hyper; this crate is where they meet. Each part is
//! behind a feature:
//!
//! - **`hyper`** ([`hyper`] module): hyper 1.x's runtime traits for weft, so hyper's server and
//!   client run on weft with no tokio at all: [`hyper::WeftExecutor`] (`hyper::rt::Executor` on
//!   weft's `spawn`), [`hyper::WeftTimer`] (`hyper::rt::Timer` on weft's timers) and
//!   [`hyper::HyperIo`] (`hyper::rt::Read`/`Write` for any futures-io stream, such as
//!   `weft::net::TcpStream`).
//! - **`tokio`** ([`tokio`] module): run a future that needs a tokio context (tokio timers,
//!   `tokio::spawn`, tokio sockets) inside a weft task with [`tokio::Compat`], and convert between
//!   tokio's and futures-io's `AsyncRead`/`AsyncWrite` in both directions. It costs one extra
//!   thread running a small tokio runtime, started on first use.
//!
//! The guide, with the trade-offs, is `docs/ecosystem.md` in the repository.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "hyper", feature = "tokio"))]
#[macro_use]
mod adapt;

#[cfg(feature = "hyper")]
pub mod hyper;

#[cfg(feature = "tokio")]
pub mod tokio;
