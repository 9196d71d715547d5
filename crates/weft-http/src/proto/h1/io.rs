//! Buffered connection I/O: one reusable read buffer parsed in place, one reusable write buffer.

use std::io::{self, IoSlice, Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};
use weft_reactor::Async;

use crate::client::tls_stream::TlsStream;

/// The initial read size (and buffer size) of a connection.
const INITIAL_READ_BUF: usize = 16 * 1024;
/// The largest read size the adaptive strategy grows to.
const MAX_READ_BUF: usize = 256 * 1024;
/// Reads this much smaller than the read size, this many times in a row, halve it.
const SHRINK_AFTER: u8 = 4;

/// A registered TCP socket, shared so the pool can watch it while it is idle.
pub(crate) type Socket = Arc<Async<std::net::TcpStream>>;

/// The byte stream under a connection: plain TCP or TLS over another transport (TLS over TCP,
/// or TLS to an origin inside TLS to an https proxy).
pub(crate) enum Transport {
    /// Plain TCP.
    Tcp(Socket),
    /// TLS over a transport.
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

/// Maps a raw non-blocking result to a poll result (`WouldBlock` is `Pending`, no waker kept).
fn raw<T>(r: io::Result<T>) -> Poll<io::Result<T>> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
        r => Poll::Ready(r),
    }
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
        self.poll_read_with(Some(cx), buf)
    }

    /// Reads into `buf`; with no context, one raw non-blocking attempt (`Pending` means it
    /// would block, and no waker is registered).
    pub(crate) fn poll_read_with(
        &mut self,
        cx: Option<&mut Context<'_>>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match (self, cx) {
            // The reactor's own read: it trusts its readiness cache (no read while the socket is
            // known drained) and clears it on a short read, so neither a wasted `EAGAIN` read nor
            // a confirming `poll(2)` is paid per response.
            (Transport::Tcp(s), Some(cx)) => Pin::new(&mut &**s).poll_read(cx, buf),
            (Transport::Tcp(s), None) => raw((&mut s.get_ref()).read(buf)),
            (Transport::Tls(t), cx) => t.poll_read_with(cx, buf),
        }
    }

    /// Writes some of `buf`.
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored_with(Some(cx), &[IoSlice::new(buf)])
    }

    /// Writes some of `bufs`; with no context, one raw non-blocking attempt.
    pub(crate) fn poll_write_vectored_with(
        &mut self,
        cx: Option<&mut Context<'_>>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match (self, cx) {
            (Transport::Tcp(s), Some(cx)) => Pin::new(&mut &**s).poll_write_vectored(cx, bufs),
            (Transport::Tcp(s), None) => raw((&mut s.get_ref()).write_vectored(bufs)),
            (Transport::Tls(t), cx) => t.poll_write_vectored_with(cx, bufs),
        }
    }

    /// Flushes buffered output (TLS records).
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush_with(Some(cx))
    }

    /// Flushes buffered output; with no context, as far as it goes without blocking.
    pub(crate) fn poll_flush_with(&mut self, cx: Option<&mut Context<'_>>) -> Poll<io::Result<()>> {
        match self {
            Transport::Tcp(_) => Poll::Ready(Ok(())),
            Transport::Tls(t) => t.poll_flush_with(cx),
        }
    }

    /// A non-blocking look at an idle connection (raw reads: the pool's idle watcher owns
    /// the socket's read waker while the connection is idle).
    pub(crate) fn probe(&mut self) -> Probe {
        let mut b = [0u8; 1];
        match self.poll_read_with(None, &mut b) {
            Poll::Pending => Probe::Alive,
            Poll::Ready(Ok(0)) => Probe::Closed,
            Poll::Ready(Ok(_)) => Probe::Garbage,
            Poll::Ready(Err(_)) => Probe::Closed,
        }
    }
}

/// A growable read buffer with a filled window `start..end`.
///
/// The read size adapts (like hyper's): a read that fills the space asked for doubles the next
/// one (up to [`MAX_READ_BUF`]), a run of much smaller reads halves it. So a 64 KiB response
/// is read in one `recvfrom` once the connection has seen one, instead of 16 KiB at a time.
pub(crate) struct ReadBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// How much free space the next read asks for.
    next: usize,
    /// Consecutive reads far below `next`.
    small: u8,
}

impl ReadBuf {
    pub(crate) fn new() -> ReadBuf {
        ReadBuf {
            buf: vec![0; INITIAL_READ_BUF],
            start: 0,
            end: 0,
            next: INITIAL_READ_BUF,
            small: 0,
        }
    }

    /// Adapts the read size to a read of `n` bytes.
    fn record(&mut self, n: usize) {
        if n >= self.next {
            self.next = (self.next * 2).min(MAX_READ_BUF);
            self.small = 0;
        } else if n < self.next / 4 && self.next > INITIAL_READ_BUF {
            self.small += 1;
            if self.small >= SHRINK_AFTER {
                self.small = 0;
                self.next /= 2;
            }
        } else {
            self.small = 0;
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

    /// Free space to read into (at least the adaptive read size), compacting or growing.
    /// Returns `None` when `max_window` unconsumed bytes are already buffered: the caller asks
    /// for more only when what is buffered is not enough, so that is its limit.
    fn space(&mut self, max_window: usize) -> Option<&mut [u8]> {
        if self.end - self.start >= max_window {
            return None;
        }
        if self.start == self.end && self.buf.len() > 2 * self.next {
            // Give memory back once the buffer is far larger than reads need.
            self.buf.truncate(self.next);
            self.buf.shrink_to_fit();
            self.start = 0;
            self.end = 0;
        }
        if self.buf.len() - self.end < self.next {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let want = self.end + self.next;
            if self.buf.len() < want {
                self.buf.resize(want, 0);
            }
        }
        Some(&mut self.buf[self.end..])
    }
}

impl ReadBuf {
    /// Reads more bytes with `read` into the free space (see [`space`](ReadBuf::space)),
    /// adapting the next read size. Errors with `InvalidData` ([`BufferLimit`]) if `max_window`
    /// unconsumed bytes are already buffered.
    pub(crate) fn poll_fill(
        &mut self,
        max_window: usize,
        read: impl FnOnce(&mut [u8]) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let Some(space) = self.space(max_window) else {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, BufferLimit)));
        };
        let res = read(space);
        if let Poll::Ready(Ok(n)) = res {
            self.end += n;
            self.record(n);
        }
        res
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

    /// Reads more bytes into the read buffer. `Ok(0)` is EOF. Errors with `InvalidData` if
    /// `max_window` unconsumed bytes are already buffered (the caller maps that to its limit).
    pub(crate) fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        max_window: usize,
    ) -> Poll<io::Result<usize>> {
        let io = &mut self.io;
        self.rbuf
            .poll_fill(max_window, |space| io.poll_read(cx, space))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds reads of `n` bytes (consumed at once) and returns the read sizes asked for.
    fn asked(rb: &mut ReadBuf, reads: &[usize]) -> Vec<usize> {
        reads
            .iter()
            .map(|&n| {
                let space = rb.space(usize::MAX).expect("space").len();
                let n = n.min(space);
                rb.end += n;
                rb.record(n);
                rb.consume(n);
                space
            })
            .collect()
    }

    #[test]
    fn read_size_grows_on_full_reads_and_is_bounded() {
        let mut rb = ReadBuf::new();
        let sizes = asked(&mut rb, &[usize::MAX; 8]);
        assert_eq!(sizes[0], INITIAL_READ_BUF);
        assert_eq!(sizes[1], 2 * INITIAL_READ_BUF);
        assert_eq!(sizes[2], 4 * INITIAL_READ_BUF);
        assert_eq!(*sizes.last().unwrap(), MAX_READ_BUF);
    }

    #[test]
    fn read_size_shrinks_after_small_reads_and_frees_memory() {
        let mut rb = ReadBuf::new();
        asked(&mut rb, &[usize::MAX; 8]);
        assert_eq!(rb.next, MAX_READ_BUF);
        asked(&mut rb, &[100; 64]);
        assert_eq!(rb.next, INITIAL_READ_BUF);
        assert!(rb.buf.len() <= 2 * INITIAL_READ_BUF, "{}", rb.buf.len());
    }

    #[test]
    fn window_limit_counts_unconsumed_bytes() {
        let mut rb = ReadBuf::new();
        let space = rb.space(10).unwrap().len();
        assert!(space >= 10);
        rb.end += 10;
        assert!(
            rb.space(10).is_none(),
            "10 unconsumed bytes reach a window of 10"
        );
        assert!(rb.space(11).is_some());
        rb.consume(4);
        assert!(rb.space(10).is_some());
    }
}
