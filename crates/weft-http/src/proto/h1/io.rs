//! Buffered connection I/O: one reusable read buffer parsed in place, one reusable write buffer.

use std::io::{self, Read};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};
use weft_reactor::Async;

use crate::client::tls::TlsStream;

/// The initial read buffer size of a connection.
const INITIAL_READ_BUF: usize = 16 * 1024;
/// A read is attempted only with at least this much free space (else the buffer is compacted).
const MIN_READ_SPACE: usize = 4 * 1024;

/// A registered TCP socket, shared so the pool can watch it while it is idle.
pub(crate) type Socket = Arc<Async<std::net::TcpStream>>;

/// The byte stream under a connection: plain TCP or TLS over TCP.
pub(crate) enum Transport {
    /// Plain TCP.
    Tcp(Socket),
    /// TLS over TCP.
    Tls(Box<TlsStream>),
}

/// What a non-blocking look at an idle connection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// Nothing to read: still usable.
    Alive,
    /// EOF, an error, or TLS close_notify.
    Closed,
    /// Bytes that belong to no response: poisoned.
    Garbage,
}

impl Transport {
    /// The TCP socket underneath.
    pub(crate) fn socket(&self) -> &Socket {
        match self {
            Transport::Tcp(s) => s,
            Transport::Tls(t) => t.socket(),
        }
    }

    /// Reads into `buf`.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self {
            // The reactor's own read: it trusts its readiness cache (no read while the socket is
            // known drained) and clears it on a short read, so neither a wasted `EAGAIN` read nor
            // a confirming `poll(2)` is paid per response.
            Transport::Tcp(s) => Pin::new(&mut &**s).poll_read(cx, buf),
            Transport::Tls(t) => t.poll_read(cx, buf),
        }
    }

    /// Writes some of `buf`.
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self {
            Transport::Tcp(s) => Pin::new(&mut &**s).poll_write(cx, buf),
            Transport::Tls(t) => t.poll_write(cx, buf),
        }
    }

    /// Flushes buffered output (TLS records).
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Transport::Tcp(_) => Poll::Ready(Ok(())),
            Transport::Tls(t) => t.poll_flush(cx),
        }
    }

    /// A non-blocking look at an idle connection.
    pub(crate) fn probe(&mut self) -> Probe {
        match self {
            Transport::Tcp(s) => {
                let mut b = [0u8; 1];
                match (&mut s.get_ref()).read(&mut b) {
                    Ok(0) => Probe::Closed,
                    Ok(_) => Probe::Garbage,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Probe::Alive,
                    Err(_) => Probe::Closed,
                }
            }
            Transport::Tls(t) => t.probe(),
        }
    }
}

/// A growable read buffer with a filled window `start..end`.
pub(crate) struct ReadBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    fn new() -> ReadBuf {
        ReadBuf {
            buf: vec![0; INITIAL_READ_BUF],
            start: 0,
            end: 0,
        }
    }

    /// The buffered, unconsumed bytes.
    pub(crate) fn filled(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Whether no unconsumed byte is buffered.
    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Marks `n` bytes as consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n;
        debug_assert!(self.start <= self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Free space to read into, compacting or growing (up to `max_window` buffered bytes).
    /// Returns `None` when the window is already `max_window` long.
    fn space(&mut self, max_window: usize) -> Option<&mut [u8]> {
        if self.buf.len() - self.end < MIN_READ_SPACE && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.end - self.start >= max_window {
                return None;
            }
            let new = (self.buf.len() * 2).min(max_window + MIN_READ_SPACE);
            self.buf.resize(new, 0);
        }
        Some(&mut self.buf[self.end..])
    }
}

/// The error inside the `io::Error` of [`Conn::poll_fill`] when the window limit is reached.
#[derive(Debug)]
pub(crate) struct BufferLimit;

impl std::fmt::Display for BufferLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("read buffer limit reached")
    }
}

impl std::error::Error for BufferLimit {}

/// Whether `e` is the window-limit error of [`Conn::poll_fill`].
pub(crate) fn is_buffer_limit(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|r| r.is::<BufferLimit>())
}

/// One HTTP/1.1 connection: the transport, its read buffer, and a write buffer.
pub(crate) struct Conn {
    pub(crate) io: Transport,
    pub(crate) rbuf: ReadBuf,
    pub(crate) wbuf: Vec<u8>,
}

impl Conn {
    /// Wraps a connected transport.
    pub(crate) fn new(io: Transport) -> Conn {
        Conn {
            io,
            rbuf: ReadBuf::new(),
            wbuf: Vec::with_capacity(1024),
        }
    }

    /// Reads more bytes into the read buffer. `Ok(0)` is EOF. Errors with `InvalidData` if the
    /// buffered window would exceed `max_window` (the caller maps that to its limit).
    pub(crate) fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        max_window: usize,
    ) -> Poll<io::Result<usize>> {
        let Some(space) = self.rbuf.space(max_window) else {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, BufferLimit)));
        };
        match self.io.poll_read(cx, space) {
            Poll::Ready(Ok(n)) => {
                self.rbuf.end += n;
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    /// Writes all of `self.wbuf[*written..]`, advancing `written`, then flushes.
    pub(crate) fn poll_write_buf(
        &mut self,
        cx: &mut Context<'_>,
        written: &mut usize,
    ) -> Poll<io::Result<()>> {
        while *written < self.wbuf.len() {
            match self.io.poll_write(cx, &self.wbuf[*written..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.io.poll_flush(cx)
    }
}
