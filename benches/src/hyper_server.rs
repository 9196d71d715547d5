//! hyper's own HTTP/1.1 server (hello world, keep-alive) on weft, tokio and smol, each with one
//! server thread and the same hyper settings (issue 13's workload).
//!
//! - **weft**: a `weft_executor::Runtime` with 1 worker; `weft::net::TcpListener`; connections
//!   through `weft_compat::hyper::{HyperIo, WeftTimer}`.
//! - **tokio**: a `multi_thread` runtime with 1 worker; `tokio::net::TcpListener`;
//!   `hyper_util::rt::{TokioIo, TokioTimer}` (hyper's own tokio glue).
//! - **smol**: one `async-executor` thread in `smol::block_on(ex.run(..))` ([`SmolRt`]);
//!   `smol::net::TcpListener`; the same futures-io adapter as weft (`HyperIo`, it is generic)
//!   and a small `hyper::rt::Timer` on `smol::Timer` defined here.
//!
//! [`HttpServer::start_tls`] serves the same routes over TLS (tokio + tokio-rustls, one server
//! thread), with a certificate made at run time ([`tls::Pki`]), for the HTTP client benchmark.
//!
//! In every case the accept loop and each connection are tasks on that one thread, hyper's
//! builder gets a timer (so the default 30 s header-read timeout is armed for every request,
//! as in a real server) and writes are vectored.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use weft_compat::hyper::{HyperIo, WeftTimer};

use crate::SmolRt;

pub mod tls;

/// The runtimes the HTTP server benchmark compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerRt {
    /// weft's executor, reactor and timers.
    Weft,
    /// tokio.
    Tokio,
    /// smol (async-executor + async-io).
    Smol,
}

impl ServerRt {
    /// Every runtime, weft first.
    pub const ALL: [ServerRt; 3] = [ServerRt::Weft, ServerRt::Tokio, ServerRt::Smol];

    /// Its lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            ServerRt::Weft => "weft",
            ServerRt::Tokio => "tokio",
            ServerRt::Smol => "smol",
        }
    }

    /// Parses a [`name`](Self::name).
    pub fn parse(s: &str) -> Option<ServerRt> {
        ServerRt::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// The body of the response to `/`.
pub const HELLO: &[u8] = b"Hello, World!";

/// The largest body `/bytes/<n>` serves.
pub const MAX_BODY: usize = 64 * 1024;

static BODY: [u8; MAX_BODY] = [b'x'; MAX_BODY];

/// `/` answers [`HELLO`]; `/bytes/<n>` answers `n` bytes (at most [`MAX_BODY`]), for the HTTP
/// client benchmark.
async fn hello(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match req.uri().path().strip_prefix("/bytes/") {
        Some(n) => &BODY[..n.parse::<usize>().unwrap_or(0).min(MAX_BODY)],
        None => HELLO,
    };
    Ok(Response::new(Full::new(Bytes::from_static(body))))
}

/// Serves one connection with hyper's HTTP/1.1 server; identical settings for every runtime.
async fn serve<I, T>(io: I, timer: T)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    T: hyper::rt::Timer + Send + Sync + 'static,
{
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(timer)
        .keep_alive(true)
        .serve_connection(io, hyper::service::service_fn(hello))
        .await;
}

/// A running server; dropping it stops its runtime.
pub struct HttpServer {
    addr: SocketAddr,
    rt: ServerRt,
    _keep: Keep,
}

#[allow(dead_code)] // held only to be dropped
enum Keep {
    Weft(weft_executor::Runtime),
    Tokio(tokio::runtime::Runtime),
    Smol(SmolRt),
}

impl HttpServer {
    /// Starts the server on `rt` with one server thread, listening on `127.0.0.1` (any port).
    ///
    /// # Errors
    /// If the runtime cannot start or the port cannot be bound.
    pub fn start(rt: ServerRt) -> io::Result<HttpServer> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = std_listener.local_addr()?;
        let keep = match rt {
            ServerRt::Weft => Keep::Weft(start_weft(std_listener)?),
            ServerRt::Tokio => Keep::Tokio(start_tokio(std_listener, None)?),
            ServerRt::Smol => Keep::Smol(start_smol(std_listener)?),
        };
        Ok(HttpServer {
            addr,
            rt,
            _keep: keep,
        })
    }

    /// Starts hyper's server over TLS on tokio with one server thread (tokio-rustls, `cfg` from
    /// [`tls::Pki::server_config`]), listening on `127.0.0.1` (any port).
    ///
    /// # Errors
    /// If the runtime cannot start or the port cannot be bound.
    pub fn start_tls(cfg: std::sync::Arc<rustls::ServerConfig>) -> io::Result<HttpServer> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = std_listener.local_addr()?;
        let rt = start_tokio(std_listener, Some(tokio_rustls::TlsAcceptor::from(cfg)))?;
        Ok(HttpServer {
            addr,
            rt: ServerRt::Tokio,
            _keep: Keep::Tokio(rt),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Which runtime it runs on.
    pub fn runtime(&self) -> ServerRt {
        self.rt
    }
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer")
            .field("addr", &self.addr)
            .field("rt", &self.rt)
            .finish()
    }
}

/// After a failed accept (out of descriptors), wait this long before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(1);

fn start_weft(l: std::net::TcpListener) -> io::Result<weft_executor::Runtime> {
    let rt = weft_executor::Runtime::builder()
        .worker_threads(1)
        .thread_name("weft-http")
        .build()?;
    let listener = weft::net::TcpListener::try_from(l)?;
    rt.spawn(async move {
        loop {
            match listener.accept().await {
                Ok((s, _)) => {
                    let io = HyperIo::new(s).with_vectored_writes(true);
                    weft::spawn(serve(io, WeftTimer::new())).detach();
                }
                Err(_) => weft::sleep(ACCEPT_BACKOFF).await,
            }
        }
    })
    .detach();
    Ok(rt)
}

fn start_tokio(
    l: std::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> io::Result<tokio::runtime::Runtime> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("tokio-http")
        .enable_all()
        .build()?;
    l.set_nonblocking(true)?;
    let listener = {
        let _g = rt.enter();
        tokio::net::TcpListener::from_std(l)?
    };
    rt.spawn(async move {
        loop {
            match listener.accept().await {
                Ok((s, _)) => {
                    let timer = hyper_util::rt::TokioTimer::new();
                    match &tls {
                        None => {
                            tokio::spawn(serve(hyper_util::rt::TokioIo::new(s), timer));
                        }
                        Some(acceptor) => {
                            let _ = s.set_nodelay(true);
                            let handshake = acceptor.accept(s);
                            tokio::spawn(async move {
                                if let Ok(s) = handshake.await {
                                    serve(hyper_util::rt::TokioIo::new(s), timer).await;
                                }
                            });
                        }
                    }
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            }
        }
    });
    Ok(rt)
}

fn start_smol(l: std::net::TcpListener) -> io::Result<SmolRt> {
    let rt = SmolRt::new(1);
    let listener = smol::net::TcpListener::from(smol::Async::new(l)?);
    let ex = rt.executor().clone();
    rt.spawn(async move {
        loop {
            match listener.accept().await {
                Ok((s, _)) => {
                    let io = HyperIo::new(s).with_vectored_writes(true);
                    ex.spawn(serve(io, SmolTimer)).detach();
                }
                Err(_) => {
                    smol::Timer::after(ACCEPT_BACKOFF).await;
                }
            }
        }
    })
    .detach();
    Ok(rt)
}

/// `hyper::rt::Timer` on smol's (async-io's) `Timer`, as smol-hyper does.
#[derive(Clone, Copy, Debug)]
pub struct SmolTimer;

/// The sleep [`SmolTimer`] hands to hyper.
#[derive(Debug)]
pub struct SmolSleep(smol::Timer);

impl Future for SmolSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl hyper::rt::Sleep for SmolSleep {}

impl hyper::rt::Timer for SmolTimer {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(SmolSleep(smol::Timer::after(d)))
    }

    fn sleep_until(&self, at: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(SmolSleep(smol::Timer::at(at)))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, at: Instant) {
        match sleep.as_mut().downcast_mut_pin::<SmolSleep>() {
            Some(mut s) => s.0.set_at(at),
            None => *sleep = self.sleep_until(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_load::{run_load, LoadConfig};

    #[test]
    fn every_server_answers_the_load_generator() {
        for rt in ServerRt::ALL {
            let server = HttpServer::start(rt).unwrap();
            let cfg = LoadConfig {
                conns: 4,
                duration: Duration::from_secs(20), // a bound, not a wait: max_requests ends it
                max_requests: 200,
            };
            let r = run_load(server.addr(), cfg).unwrap();
            assert_eq!(r.errors, 0, "{}: connection errors", rt.name());
            assert_eq!(r.requests, 200, "{}", rt.name());
            assert_eq!(ServerRt::parse(rt.name()), Some(rt));
        }
    }
}
