//! The async I/O traits of [`Unblock`]: reads (with the read-ahead hand-off), writes and
//! logical seeks.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

use super::buffer::{flush_fn, write_fn, Core};
use super::Unblock;

impl<T: Read + Send + 'static> Unblock<T> {
    /// Makes unread bytes available in the reader's buffer (`Ok(true)`), or delivers the
    /// outcome of a fill that read nothing: EOF (`Ok(false)`) or the read error. Bytes, EOF and
    /// errors come out in the order the value produced them. `want` is the caller's buffer size.
    fn poll_front(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<bool>> {
        loop {
            if self.rd.unread() > 0 {
                // Served while a read-ahead may be in flight: no pool round trip.
                return Poll::Ready(Ok(true));
            }
            std::task::ready!(self.poll_idle(cx))?;
            let (core, rd) = self.idle_parts();
            core.seek_res = None;
            if core.unread() > 0 {
                // Hand the filled buffer to the reader; the used-up one becomes the fill buffer.
                std::mem::swap(&mut rd.buf, &mut core.rbuf);
                rd.pos = core.rpos;
                core.rpos = core.rbuf.len();
                if rd.should_read_ahead(core) {
                    // Sequential reading of a file: fill the other buffer while this one is
                    // consumed. The bytes stay in this `Unblock` until read, sought or written
                    // over (which wait for the fill and account for it).
                    let size = rd.next_fill(0, core.cap);
                    self.start(move |core| core.fill(size));
                }
                return Poll::Ready(Ok(true));
            }
            if let Some(res) = core.read_res.take() {
                rd.reset();
                return Poll::Ready(res.map(|()| false));
            }
            if !core.wbuf.is_empty() && core.write_err.is_none() {
                self.start(Core::drain_writes);
                continue;
            }
            if rd.yield_after_inline_run() {
                // Cached reads never return `Pending` by themselves: let the executor run
                // others now and then, as a pool round trip would have.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let size = rd.next_fill(want, core.cap);
            if let Some(found) = rd.fill_inline(core, size) {
                return Poll::Ready(Ok(found)); // served from the page cache, no pool trip
            }
            // A duplex value: a request written before this read goes out even if the read
            // now waits for the answer.
            self.kick_writes();
            self.start(move |core| core.fill(size));
        }
    }
}

impl<T: Read + Send + 'static> AsyncRead for Unblock<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if !std::task::ready!(this.poll_front(cx, buf.len()))? {
            return Poll::Ready(Ok(0));
        }
        let rd = &mut this.rd;
        let n = rd.unread().min(buf.len());
        buf[..n].copy_from_slice(&rd.buf[rd.pos..rd.pos + n]);
        rd.pos += n;
        Poll::Ready(Ok(n))
    }
}

impl<T: Read + Send + 'static> AsyncBufRead for Unblock<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if !std::task::ready!(this.poll_front(cx, 0))? {
            return Poll::Ready(Ok(&[])); // EOF
        }
        Poll::Ready(Ok(&this.rd.buf[this.rd.pos..]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let rd = &mut self.get_mut().rd;
        rd.pos = (rd.pos + amt).min(rd.buf.len());
    }
}

impl<T: Write + Send + 'static> AsyncWrite for Unblock<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(w) = &mut this.wr {
            // Duplex: the write side writes; a read in flight is not waited for.
            return Pin::new(&mut **w).poll_write(cx, buf);
        }
        loop {
            if let Some(p) = this.poll_overflow(cx, buf) {
                // The write buffer is being written: fill the second one meanwhile.
                return p.map(Ok);
            }
            std::task::ready!(this.poll_idle(cx))?;
            let (core, rd) = this.idle_parts();
            core.seek_res = None;
            core.writer.get_or_insert((write_fn::<T>, flush_fn::<T>));
            if let Some(e) = core.write_err.take() {
                return Poll::Ready(Err(e));
            }
            if core.rewind.is_none() || core.unseekable() {
                // A plain value (a socket, pipe, stdin/stdout) or a FIFO/tty opened as a file:
                // input and output are separate streams. Keep the unread input for the next
                // read (dropping it lost data a duplex peer had sent; rewinding would fail
                // with ESPIPE and lose it too).
                rd.reset();
            } else if rd.unread() + core.unread() > 0 {
                let front = rd.take_unread();
                // A seekable file: the write goes where the reader is, not after the
                // read-ahead.
                let discard = move |core: &mut Core<T>| {
                    if let Err(e) = core.discard_read(front) {
                        core.write_err = Some(e);
                    }
                };
                if rd.lseek_inline(core) {
                    discard(core); // an `lseek` back over it, on this thread
                } else {
                    this.start(discard);
                }
                continue;
            }
            if buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            if core.wbuf.len() < core.wcap {
                let n = (core.wcap - core.wbuf.len()).min(buf.len());
                if core.wbuf.capacity() < core.wcap {
                    core.wbuf.reserve_exact(core.wcap - core.wbuf.len());
                }
                core.wbuf.extend_from_slice(&buf[..n]);
                core.needs_flush = true;
                return Poll::Ready(Ok(n));
            }
            core.grow_writes();
            this.start_drain();
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }
}

impl<T: Seek + Send + 'static> AsyncSeek for Unblock<T> {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        if this.unseekable {
            // A FIFO, pty or socket `fs::File`: the seek would fail anyway. Fail now, without
            // waiting for a read in flight (it may wait for a writer forever) and keeping the
            // unread input.
            return Poll::Ready(Err(crate::NotSeekable.into()));
        }
        if let Some(w) = &mut this.wr {
            std::task::ready!(w.poll_flush_inner(cx))?; // pending writes go out first
        }
        loop {
            std::task::ready!(this.poll_idle(cx))?;
            let (core, rd) = this.idle_parts();
            if let Some((p, res)) = core.seek_res.take() {
                if p == pos {
                    return Poll::Ready(res);
                }
            }
            if !core.wbuf.is_empty() {
                if let Some(e) = core.write_err.take() {
                    return Poll::Ready(Err(e));
                }
                this.start(Core::drain_writes);
                continue;
            }
            if core.unseekable() {
                // The seek fails (ESPIPE) and must not take the unread input with it.
                rd.reset();
                this.start(move |core| {
                    let res = core.io().seek(pos);
                    core.seek_res = Some((pos, res));
                });
                continue;
            }
            // Random access: writes start small again. Unread bytes, in the reader's buffer and
            // read ahead, are before the OS cursor.
            core.wcap = core.cap;
            let front = rd.take_unread();
            if rd.lseek_inline(core) && !matches!(pos, SeekFrom::End(_)) {
                // `lseek` to a known offset never waits for the disk: no pool trip.
                core.seek_logical(front, pos);
                continue;
            }
            this.start(move |core| core.seek_logical(front, pos));
        }
    }
}
