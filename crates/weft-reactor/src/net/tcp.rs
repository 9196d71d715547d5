//! TCP: `TcpStream`, `TcpListener`, owned halves and the `incoming()` stream.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use socket2::{Domain, Protocol, SockAddr};

use crate::async_fd::{poll_io, Retry};
use crate::net::accept::accept_nonblocking;
use crate::net::connect::connect_stream;
use crate::net::io_err_none_resolved;
use crate::net::resolve::{resolve, ToSocketAddrs};
use crate::source::READ;
use crate::Async;

type Inner = Arc<Async<std::net::TcpStream>>;

/// A TCP connection.
///
/// Implements futures-io `AsyncRead` and `AsyncWrite` (the futures-lite `AsyncReadExt` /
/// `AsyncWriteExt` helpers apply). `poll_close` shuts the write direction down (the peer reads
/// EOF). Use [`into_split`](TcpStream::into_split) to read and write from two tasks.
///
/// Cancel-safety: `read`/`write` futures built on the futures-io traits are cancel-safe (no byte is
/// consumed or written unless the future completes); `read_exact`/`write_all` are not (a partial
/// transfer is lost on cancellation).
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use weft_reactor::{block_on, net::{TcpListener, TcpStream}};
///
/// block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct TcpStream {
    inner: Inner,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

/// Connects one non-blocking socket to `addr` and waits for the handshake.
async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = connect_stream(
        Domain::for_address(addr),
        Some(Protocol::TCP),
        &SockAddr::from(addr),
    )
    .await?;
    Ok(TcpStream {
        inner: Arc::new(stream),
    })
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn and returning the last error.
    ///
    /// `addr` is anything [`ToSocketAddrs`](crate::net::ToSocketAddrs) accepts (the types of
    /// `std::net::ToSocketAddrs`). A host name is resolved on a resolver thread while this
    /// task waits, so the calling thread never blocks; IP literals and `SocketAddr`s are used
    /// directly.
    ///
    /// Cancel-safe: dropping the future closes the half-open socket (and abandons a pending
    /// lookup); nothing else is affected.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let target = addr.to_target()?;
        let mut last = None;
        for a in resolve(target).await? {
            match connect_one(a).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(io_err_none_resolved))
    }

    /// Like [`connect`](TcpStream::connect), giving up after `timeout` (which covers host-name
    /// resolution too) with an error of kind `TimedOut`. Cancel-safe.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft_reactor::{block_on, net::{TcpListener, TcpStream}};
    /// block_on(async {
    ///     let l = TcpListener::bind("127.0.0.1:0")?;
    ///     let s = TcpStream::connect_timeout(l.local_addr()?, Duration::from_secs(5)).await?;
    ///     assert_eq!(s.peer_addr()?, l.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect_timeout(
        addr: impl ToSocketAddrs,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        match weft_timer::timeout(timeout, Self::connect(addr)).await {
            Ok(res) => res,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("TCP connect did not complete within {timeout:?}"),
            )),
        }
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Shuts down the read, write or both directions (synchronous, never blocks).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Reads without consuming: the bytes stay in the socket's receive buffer.
    /// Cancel-safe.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.peek(buf)).await
    }

    /// Waits until the stream is readable. Cancel-safe.
    pub async fn readable(&self) -> io::Result<()> {
        self.inner.readable().await
    }

    /// Waits until the stream is writable. Cancel-safe.
    pub async fn writable(&self) -> io::Result<()> {
        self.inner.writable().await
    }

    /// Splits the stream into a read half and a write half that can move to different tasks.
    /// They share the socket (`Arc`); dropping the write half shuts the write direction down.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        (
            OwnedReadHalf {
                inner: self.inner.clone(),
            },
            OwnedWriteHalf { inner: self.inner },
        )
    }

    /// The underlying registered `Async` socket.
    pub fn as_async(&self) -> &Async<std::net::TcpStream> {
        &self.inner
    }
}

impl TcpStream {
    /// A stream from [`accept_nonblocking`]: already non-blocking and a stream socket, so it is
    /// registered without setting the one or probing the other (`From<Async<_>>` marks it a
    /// stream).
    fn accepted(s: std::net::TcpStream) -> io::Result<TcpStream> {
        Async::register(s, true).map(TcpStream::from)
    }
}

impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;

    /// Registers a connected std stream (it is put in non-blocking mode).
    fn try_from(s: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: Arc::new(Async::new(s)?.mark_stream()),
        })
    }
}

impl From<Async<std::net::TcpStream>> for TcpStream {
    fn from(s: Async<std::net::TcpStream>) -> TcpStream {
        TcpStream {
            inner: Arc::new(s.mark_stream()),
        }
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get_ref().as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get_ref().as_raw_fd()
    }
}

/// Implements AsyncRead/AsyncWrite for a type with an `inner: Inner` field.
macro_rules! impl_read {
    ($t:ty) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &*self.inner).poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &*self.inner).poll_read_vectored(cx, bufs)
            }
        }
    };
}

macro_rules! impl_write {
    ($t:ty) => {
        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &*self.inner).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &*self.inner).poll_write_vectored(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut &*self.inner).poll_flush(cx)
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(shutdown_write(self.inner.get_ref()))
            }
        }
    };
}

/// Shuts the write direction down, treating "not connected" (peer already gone) as done.
pub(crate) fn shutdown_write(s: &std::net::TcpStream) -> io::Result<()> {
    match s.shutdown(Shutdown::Write) {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        res => res,
    }
}

impl_read!(TcpStream);
impl_write!(TcpStream);

/// The read half of a [`TcpStream`], from [`TcpStream::into_split`].
pub struct OwnedReadHalf {
    inner: Inner,
}

/// The write half of a [`TcpStream`], from [`TcpStream::into_split`]. Dropping it (or closing it)
/// shuts the write direction down, so the peer reads EOF.
pub struct OwnedWriteHalf {
    inner: Inner,
}

impl OwnedReadHalf {
    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
}

impl OwnedWriteHalf {
    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        let _ = shutdown_write(self.inner.get_ref());
    }
}

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedReadHalf")
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedWriteHalf")
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

impl_read!(OwnedReadHalf);
impl_write!(OwnedWriteHalf);

/// A TCP listening socket.
///
/// ```
/// use weft_reactor::{block_on, net::{TcpListener, TcpStream}};
/// block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let addr = listener.local_addr()?;
///     let _client = TcpStream::connect(addr).await?;
///     let (_server, peer) = listener.accept().await?;
///     assert_eq!(peer.ip(), addr.ip());
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct TcpListener {
    inner: Async<std::net::TcpListener>,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local_addr().ok())
            .finish()
    }
}

impl TcpListener {
    /// Binds to `addr` (std resolution; the first address that binds wins) and listens.
    /// Synchronous: binding never waits.
    pub fn bind(addr: impl std::net::ToSocketAddrs) -> io::Result<TcpListener> {
        let l = std::net::TcpListener::bind(addr)?;
        Ok(TcpListener {
            inner: Async::new(l)?,
        })
    }

    /// Accepts a connection. Cancel-safe: a connection is taken from the backlog only when the
    /// future completes.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, addr) = self.inner.read_with(accept_nonblocking).await?;
        Ok((TcpStream::accepted(s)?, addr))
    }

    /// Polls for one incoming connection, using the listener's single poll-style waker slot.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        poll_io(&self.inner, READ, cx, accept_nonblocking)
            .map(|r| r.and_then(|(s, a)| TcpStream::accepted(s).map(|s| (s, a))))
    }

    /// A stream of incoming connections (never ends; errors are yielded as items).
    /// Cancel-safe: dropping it between items loses no connection.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            accept: Retry::new(&self.inner, READ),
        }
    }

    /// The local address (e.g. to find the port after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The underlying registered `Async` listener.
    pub fn as_async(&self) -> &Async<std::net::TcpListener> {
        &self.inner
    }
}

impl TryFrom<std::net::TcpListener> for TcpListener {
    type Error = io::Error;

    /// Registers a std listener (it is put in non-blocking mode).
    fn try_from(l: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: Async::new(l)?,
        })
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get_ref().as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get_ref().as_raw_fd()
    }
}

/// Stream of connections from [`TcpListener::incoming`].
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
    accept: Retry<'a, std::net::TcpListener>,
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", self.listener)
            .finish()
    }
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.accept
            .poll_with(cx, accept_nonblocking)
            .map(|r| Some(r.and_then(|(s, _)| TcpStream::accepted(s))))
    }
}
