//! Buffered connection I/O: one reusable read buffer parsed in place, one reusable write buffer.

use std::io::{self, IoSlice, Read, Write};
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_lite::{AsyncRead, AsyncWrite};
use weft_reactor::Async;

use crate::client::tls_stream::TlsStream;

/// The initial read size (and buffer size) of a connection.
const INITIAL_READ_BUF: usize = 16 * 1024;
/// The largest read size the adaptive strategy grows to.
pub(crate) const MAX_READ_BUF: usize = 256 * 1024;
/// The smallest body range [`ReadBuf::take`] hands out without a copy.
const SPLIT_MIN: usize = 16 * 1024;
/// [`ReadBuf::take`] hands a range out without a copy only if it is at least this fraction
/// (1/N) of the buffer it pins.
const PIN_RATIO: usize = 4;
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
///
/// The memory is a zero-filled slice shared through an `Arc`, so a large body range can be
/// handed out as `Bytes` without a copy ([`take`](ReadBuf::take)). Reads need the slice to
/// themselves: once the caller has dropped those `Bytes` the same memory is read into again
/// (already initialized, nothing is zeroed twice); while any is alive, the next read moves the
/// unconsumed bytes into a new buffer.
pub(crate) struct ReadBuf {
    buf: Arc<Box<[u8]>>,
    start: usize,
    end: usize,
    /// How much free space the next read asks for.
    next: usize,
    /// Consecutive reads far below `next`.
    small: u8,
}

/// The owner of a read buffer handed out inside `Bytes` (see [`ReadBuf::take`]).
struct Shared(Arc<Box<[u8]>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A zero-filled buffer of `len` bytes.
fn zeroed(len: usize) -> Arc<Box<[u8]>> {
    Arc::new(vec![0; len].into_boxed_slice())
}

impl ReadBuf {
    pub(crate) fn new() -> ReadBuf {
        ReadBuf {
            buf: zeroed(INITIAL_READ_BUF),
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

    /// Takes `data` (a range of [`filled`](ReadBuf::filled)) out as `Bytes` and consumes the
    /// first `consumed` filled bytes (`data` within them).
    ///
    /// A range of at least [`SPLIT_MIN`] bytes and a quarter of the buffer is handed out
    /// without a copy (the `Bytes` keep the buffer alive, so they pin at most four times their
    /// size); a smaller one is copied.
    pub(crate) fn take(&mut self, data: Range<usize>, consumed: usize) -> Bytes {
        debug_assert!(data.end <= consumed && self.start + consumed <= self.end);
        let range = self.start + data.start..self.start + data.end;
        let b = if data.len() >= SPLIT_MIN && data.len() * PIN_RATIO >= self.buf.len() {
            Bytes::from_owner(Shared(Arc::clone(&self.buf))).slice(range)
        } else {
            Bytes::copy_from_slice(&self.buf[range])
        };
        self.consume(consumed);
        b
    }

    /// Free space to read into (at least the adaptive read size), compacting or growing.
    /// Returns `None` when `max_window` unconsumed bytes are already buffered: the caller asks
    /// for more only when what is buffered is not enough, so that is its limit.
    #[cfg(test)]
    fn space(&mut self, max_window: usize) -> Option<&mut [u8]> {
        self.space_for(max_window, self.next)
    }

    /// Like [`space`](ReadBuf::space), with at least `need` (not the read size) free.
    fn space_for(&mut self, max_window: usize, need: usize) -> Option<&mut [u8]> {
        if self.end - self.start >= max_window {
            return None;
        }
        if self.start == self.end && self.buf.len() > 2 * self.next {
            // Give memory back once the buffer is far larger than reads need.
            self.buf = zeroed(self.next);
        }
        let unique = Arc::get_mut(&mut self.buf).is_some();
        if !unique || self.buf.len() - self.end < need {
            self.make_room(unique, need);
        }
        // Unique here (`make_room` replaced a shared buffer), so this never copies.
        Some(&mut Arc::make_mut(&mut self.buf)[self.end..])
    }

    /// Makes `need` bytes free after the filled window in a buffer of our own: compacts in
    /// place when that is enough, else moves the filled bytes into a new buffer.
    fn make_room(&mut self, unique: bool, need: usize) {
        let filled = self.end - self.start;
        let want = filled + need;
        if unique && self.buf.len() >= want {
            let (start, end) = (self.start, self.end);
            Arc::make_mut(&mut self.buf).copy_within(start..end, 0);
        } else {
            let mut fresh = vec![0; want.max(self.buf.len())].into_boxed_slice();
            fresh[..filled].copy_from_slice(self.filled());
            self.buf = Arc::new(fresh);
        }
        self.start = 0;
        self.end = filled;
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
        self.poll_fill_for(max_window, self.next, read)
    }

    /// Like [`poll_fill`](ReadBuf::poll_fill), reading toward `total` unconsumed bytes: only
    /// the missing bytes (at most the read size) need to be free, so bytes gathered so far are
    /// not moved while the buffer still has room for the rest.
    pub(crate) fn poll_fill_to(
        &mut self,
        total: usize,
        read: impl FnOnce(&mut [u8]) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let missing = total.saturating_sub(self.end - self.start);
        self.poll_fill_for(total, self.next.min(missing), read)
    }

    fn poll_fill_for(
        &mut self,
        max_window: usize,
        need: usize,
        read: impl FnOnce(&mut [u8]) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let Some(space) = self.space_for(max_window, need) else {
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

    /// Reads toward `total` unconsumed bytes in the read buffer (see [`ReadBuf::poll_fill_to`]),
    /// like [`poll_fill`](Conn::poll_fill) with a window of `total`.
    pub(crate) fn poll_fill_to(
        &mut self,
        cx: &mut Context<'_>,
        total: usize,
    ) -> Poll<io::Result<usize>> {
        let io = &mut self.io;
        self.rbuf
            .poll_fill_to(total, |space| io.poll_read(cx, space))
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

    /// Reads `data` into the buffer as one read would.
    fn fill(rb: &mut ReadBuf, data: &[u8]) {
        let space = rb.space(usize::MAX).expect("space");
        space[..data.len()].copy_from_slice(data);
        rb.end += data.len();
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn take_splits_a_large_range_off_without_a_copy() {
        let mut rb = ReadBuf::new();
        rb.next = 128 * 1024;
        let data = pattern(100_000);
        fill(&mut rb, &data);
        let at = rb.filled().as_ptr();
        let b = rb.take(100..90_100, 90_200);
        assert_eq!(&b[..], &data[100..90_100]);
        assert_eq!(b.as_ptr(), at.wrapping_add(100), "split, not copied");
        assert_eq!(rb.filled(), &data[90_200..]);
        // The buffer goes on: the unconsumed bytes move to a new buffer while `b` is alive.
        let more = pattern(100_000);
        fill(&mut rb, &more);
        assert_eq!(&rb.filled()[..9_800], &data[90_200..]);
        assert_eq!(&rb.filled()[9_800..], &more[..]);
        assert_eq!(
            &b[..],
            &data[100..90_100],
            "the split-off bytes are untouched"
        );
        rb.consume(rb.filled().len());
        assert!(rb.is_empty());
    }

    #[test]
    fn take_copies_a_small_range() {
        let mut rb = ReadBuf::new();
        let data = pattern(1000);
        fill(&mut rb, &data);
        let at = rb.filled().as_ptr();
        let b = rb.take(10..510, 600);
        assert_eq!(&b[..], &data[10..510]);
        assert_ne!(b.as_ptr(), at.wrapping_add(10), "copied");
        assert_eq!(rb.filled(), &data[600..]);
    }

    #[test]
    fn a_dropped_split_lets_the_buffer_reclaim_its_allocation() {
        let mut rb = ReadBuf::new();
        rb.next = 64 * 1024;
        fill(&mut rb, &pattern(64 * 1024));
        let base = rb.filled().as_ptr();
        drop(rb.take(0..64 * 1024, 64 * 1024));
        assert!(rb.is_empty());
        fill(&mut rb, &pattern(1000));
        assert_eq!(
            rb.filled().as_ptr(),
            base,
            "the same allocation is used again"
        );
        assert_eq!(rb.filled(), &pattern(1000)[..]);
    }

    #[test]
    fn gathering_leaves_gathered_bytes_in_place_while_the_rest_fits() {
        let mut rb = ReadBuf::new();
        rb.next = 128 * 1024;
        fill(&mut rb, &pattern(100_000));
        rb.consume(50_000);
        let at = rb.filled().as_ptr();
        let r = rb.poll_fill_to(60_000, |space| {
            space[..5].copy_from_slice(b"12345");
            Poll::Ready(Ok(5))
        });
        assert!(matches!(r, Poll::Ready(Ok(5))));
        assert_eq!(rb.filled().as_ptr(), at, "not moved");
        assert_eq!(&rb.filled()[50_000..], b"12345");
        // A plain fill wants the whole read size free, so it moves them.
        let r = rb.poll_fill(usize::MAX, |_| Poll::Ready(Ok(0)));
        assert!(matches!(r, Poll::Ready(Ok(0))));
        assert_ne!(rb.filled().as_ptr(), at);
        assert_eq!(rb.filled().len(), 50_005);
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
