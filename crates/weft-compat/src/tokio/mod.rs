//! tokio interop for weft (feature `tokio`).
//!
//! Most of the Rust ecosystem (sqlx, tonic, reqwest, …) is written for tokio: its futures call
//! `tokio::spawn`, create tokio timers or sockets, and panic with "there is no reactor running"
//! outside a tokio runtime. Two tools make such code usable from weft:
//!
//! - [`Compat`] (or `.compat()` from [`CompatExt`]) runs a tokio-needing future inside a weft
//!   task: while the future is polled (and when it is dropped) the context of a small tokio
//!   runtime is entered. That runtime is started lazily, on the first `Compat` poll, and runs on
//!   **one extra thread** named `weft-compat-tokio`, which drives tokio's timers and sockets and
//!   runs whatever the future `tokio::spawn`s. If the thread polling a `Compat` is already inside
//!   a tokio runtime, that one is used and nothing is started.
//! - [`TokioToFutures`] and [`FuturesToTokio`] convert between tokio's `AsyncRead`/`AsyncWrite`
//!   /`AsyncBufRead` and futures-io's (weft's I/O traits), in both directions. Polling a tokio
//!   socket needs no context once it exists, so these adapters do not enter one.
//!
//! ```
//! use std::time::Duration;
//! use weft_compat::tokio::CompatExt;
//!
//! let n = weft_executor::run(async {
//!     // tokio::time::sleep panics outside a tokio runtime; .compat() gives it one.
//!     async {
//!         tokio::time::sleep(Duration::from_millis(1)).await;
//!         tokio::spawn(async { 20 }).await.unwrap() + 1
//!     }
//!     .compat()
//!     .await
//! });
//! assert_eq!(n, 21);
//! ```
//!
//! # Cost, and when not to use it
//!
//! Every tokio timer and socket is driven by the extra thread, so each readiness event costs a
//! cross-thread wake-up (tokio's driver thread wakes the weft task). That is fine for a database
//! driver or an HTTP client used now and then; for a hot path prefer a weft-native or
//! runtime-agnostic library (weft's own `net`, `http`, `sync`), or hyper through
//! [`crate::hyper`], which needs no tokio at all.

mod compat;
mod io;

pub use compat::{runtime_handle, Compat, CompatExt};
pub use io::{FuturesToTokio, TokioToFutures};
