//! hyper 1.x runtime traits for weft (feature `hyper`).
//!
//! hyper 1.x is runtime-independent: it asks its caller for an [`Executor`](::hyper::rt::Executor)
//! (to spawn background work such as HTTP/2 streams and client connections), a
//! [`Timer`](::hyper::rt::Timer) (for timeouts such as the server's header-read timeout) and an
//! I/O type implementing [`hyper::rt::Read`]/[`Write`](::hyper::rt::Write).
//! This module provides all three on weft:
//!
//! | hyper needs | weft provides |
//! |---|---|
//! | `rt::Executor<F>` | [`WeftExecutor`]: `weft::spawn(fut).detach()` |
//! | `rt::Timer` | [`WeftTimer`]: `weft::sleep`/`sleep_until`, reset in place |
//! | `rt::Read + rt::Write` | [`HyperIo<T>`] around any futures-io `AsyncRead + AsyncWrite` |
//!
//! The other direction, [`HyperToFutures<T>`], shows hyper I/O (an upgraded connection from
//! `hyper::upgrade::on`, for WebSockets or CONNECT tunnels) as futures-io streams.
//!
//! # A hyper server on weft
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Empty, Full};
//! use hyper::{Request, Response};
//! use weft_compat::hyper::{HyperIo, WeftExecutor, WeftTimer};
//!
//! weft_executor::run(async {
//!     let listener = weft_reactor::net::TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = listener.local_addr().unwrap();
//!
//!     // Server: accept one connection and serve it with hyper's HTTP/1.1 server.
//!     let server = weft_executor::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let service = hyper::service::service_fn(|_req: Request<hyper::body::Incoming>| async {
//!             Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("hello"))))
//!         });
//!         hyper::server::conn::http1::Builder::new()
//!             .timer(WeftTimer::new())
//!             .serve_connection(HyperIo::new(stream), service)
//!             .await
//!     });
//!
//!     // Client: hyper's HTTP/1.1 client over a weft TcpStream.
//!     let stream = weft_reactor::net::TcpStream::connect(addr).await.unwrap();
//!     let (mut send, conn) = hyper::client::conn::http1::handshake(HyperIo::new(stream))
//!         .await
//!         .unwrap();
//!     weft_executor::spawn(conn).detach(); // drives the connection (or: WeftExecutor)
//!     let req = Request::get("/").header("host", "localhost").body(Empty::<Bytes>::new()).unwrap();
//!     let resp = send.send_request(req).await.unwrap();
//!     let body = resp.into_body().collect().await.unwrap().to_bytes();
//!     assert_eq!(body, "hello");
//!     drop(send); // closing the client lets the server's connection end
//!     server.await.unwrap().unwrap();
//! });
//! # let _ = WeftExecutor::new();
//! ```

#[cfg(feature = "hyper-util")]
mod connector;
mod executor;
mod io;
mod timer;

#[cfg(feature = "hyper-util")]
pub use connector::{ConnectError, WeftConnector};

pub use executor::WeftExecutor;
pub use io::{HyperIo, HyperToFutures};
pub use timer::{WeftSleep, WeftTimer};
