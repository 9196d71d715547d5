//! Loopback servers on each runtime for the TCP benchmarks (`tcp_echo`, `tcp_stream`), beside
//! [`exec::Spawner`](crate::exec::Spawner): [`Serve::serve`] binds `127.0.0.1:0` with the
//! runtime's own listener and runs `handler` in one task per accepted connection (the runtime's
//! own spawn, detached); [`Serve::connect`] opens the runtime's own stream to it. The handler
//! and the client code stay each runtime's idiom (their streams have different I/O traits);
//! only the listener, accept loop and per-connection task are written once here.
//!
//! ```no_run
//! use weft_benches::net::Serve;
//! let rt = weft_benches::weft_rt();
//! let addr = rt.serve(|s: weft::net::TcpStream| async move {
//!     let (r, mut w) = s.into_split();
//!     let _ = futures_lite::io::copy(r, &mut w).await;
//! });
//! let _stream = rt.block_on(weft_executor::Runtime::connect(addr));
//! ```

use std::future::Future;
use std::net::SocketAddr;

use crate::exec::Exec;
use crate::SmolRt;

/// A runtime that can serve loopback TCP connections.
pub trait Serve: Exec {
    /// The runtime's own TCP stream.
    type Stream: Send + 'static;

    /// Binds `127.0.0.1:0` and spawns the accept loop: one detached task running `handler`
    /// per accepted connection. Returns the bound address.
    ///
    /// # Panics
    /// If the listener cannot be bound (a benchmark cannot run without it).
    fn serve<F, Fut>(&self, handler: F) -> SocketAddr
    where
        F: Fn(Self::Stream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static;

    /// Connects to `addr` with the runtime's own stream.
    ///
    /// # Panics
    /// If the connection fails (the server is this process's own).
    fn connect(addr: SocketAddr) -> impl Future<Output = Self::Stream> + Send + 'static;
}

impl Serve for weft_executor::Runtime {
    type Stream = weft::net::TcpStream;

    fn serve<F, Fut>(&self, handler: F) -> SocketAddr
    where
        F: Fn(Self::Stream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local addr");
        self.spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                weft::spawn(handler(s)).detach();
            }
        })
        .detach();
        addr
    }

    async fn connect(addr: SocketAddr) -> Self::Stream {
        weft::net::TcpStream::connect(addr).await.expect("connect")
    }
}

impl Serve for tokio::runtime::Runtime {
    type Stream = tokio::net::TcpStream;

    fn serve<F, Fut>(&self, handler: F) -> SocketAddr
    where
        F: Fn(Self::Stream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = self
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        self.spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                tokio::spawn(handler(s));
            }
        });
        addr
    }

    async fn connect(addr: SocketAddr) -> Self::Stream {
        tokio::net::TcpStream::connect(addr).await.expect("connect")
    }
}

impl Serve for SmolRt {
    type Stream = smol::net::TcpStream;

    fn serve<F, Fut>(&self, handler: F) -> SocketAddr
    where
        F: Fn(Self::Stream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = smol::net::TcpListener::from(
            smol::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).expect("bind"),
        );
        let addr = listener.local_addr().expect("local addr");
        let ex = self.executor().clone();
        self.spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                ex.spawn(handler(s)).detach();
            }
        })
        .detach();
        addr
    }

    async fn connect(addr: SocketAddr) -> Self::Stream {
        smol::net::TcpStream::connect(addr).await.expect("connect")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_lite::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

    use super::*;

    /// Runs `client` on `rt`, bounded by a watchdog thread (a lost wake-up aborts, not hangs).
    fn echo_once<E: Serve>(rt: &E, client: impl Future<Output = u8>) -> u8 {
        let (done, watchdog) = std::sync::mpsc::channel::<()>();
        let dog = std::thread::spawn(move || {
            if watchdog.recv_timeout(Duration::from_secs(60)).is_err() {
                eprintln!("net test: no echo within 60 s");
                std::process::abort();
            }
        });
        let got = rt.block_on(client);
        let _ = done.send(());
        let _ = dog.join();
        got
    }

    /// Server side on weft and smol: reads a byte, answers it plus `k`.
    async fn add<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, k: u8) {
        let mut b = [0u8; 1];
        if s.read_exact(&mut b).await.is_ok() {
            let _ = s.write_all(&[b[0] + k]).await;
        }
    }

    /// Client side on weft and smol: sends 1, returns the answer.
    async fn ask<S: AsyncRead + AsyncWrite + Unpin>(connect: impl Future<Output = S>) -> u8 {
        let mut s = connect.await;
        s.write_all(&[1]).await.unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.unwrap();
        b[0]
    }

    #[test]
    fn every_runtime_serves_its_own_connections() {
        let weft = crate::weft_rt();
        let addr = weft.serve(|s| add(s, 1));
        let got = echo_once(&weft, ask(weft_executor::Runtime::connect(addr)));
        assert_eq!(got, 2);

        let smol = SmolRt::new(1);
        let addr = smol.serve(|s| add(s, 2));
        let got = echo_once(&smol, ask(SmolRt::connect(addr)));
        assert_eq!(got, 3);

        let tokio = crate::tokio_rt();
        let addr = tokio.serve(|mut s: tokio::net::TcpStream| async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let mut b = [0u8; 1];
            if s.read_exact(&mut b).await.is_ok() {
                let _ = s.write_all(&[b[0] + 3]).await;
            }
        });
        let got = echo_once(&tokio, async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let mut s = tokio::runtime::Runtime::connect(addr).await;
            s.write_all(&[1]).await.unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            b[0]
        });
        assert_eq!(got, 4);
    }
}
