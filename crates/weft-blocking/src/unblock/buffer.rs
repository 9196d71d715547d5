//! The buffer core of an [`Unblock`](super::Unblock): the blocking value and its buffers,
//! which travel to a pool thread for each blocking operation and back.

use std::io::{self, Read, Seek, SeekFrom, Write};

pub(super) type WriteFn<T> = fn(&mut T, &[u8]) -> io::Result<usize>;
pub(super) type FlushFn<T> = fn(&mut T) -> io::Result<()>;
pub(crate) type RewindFn<T> = fn(&mut T, i64) -> io::Result<u64>;
/// A read that never blocks (Linux `preadv2(RWF_NOWAIT)` at the current position): it returns
/// what the page cache holds, or `WouldBlock` when the bytes must come from the disk.
pub(crate) type NowaitFn<T> = fn(&mut T, &mut [u8]) -> io::Result<usize>;

/// The value and its buffers. It travels to a pool thread for each blocking operation and back.
pub(super) struct Core<T> {
    pub(super) io: Option<T>,
    pub(super) cap: usize,
    /// The fill buffer: bytes `rbuf[rpos..]` were read from `io` and are not yet handed to the
    /// reader. They come logically *after* the reader's buffer ([`ReadSide`]): a filled `rbuf`
    /// is swapped into the reader's buffer once that one is used up.
    pub(super) rbuf: Vec<u8>,
    pub(super) rpos: usize,
    /// Outcome of the last fill that produced no bytes: `Ok` = EOF, `Err` = read error.
    pub(super) read_res: Option<io::Result<()>>,
    /// Whether the last fill filled the whole buffer (a short read hints at EOF: no read-ahead).
    pub(super) last_fill_full: bool,
    /// Whether `io` can seek (probed on the first fill of a value with `rewind`, `None` before
    /// and for plain values); read-ahead and rewinding are only done on seekable values.
    pub(super) seekable: Option<bool>,
    pub(super) wbuf: Vec<u8>,
    /// How many bytes `wbuf` takes before it is written: `cap`, growing (file mode, `wgrow`)
    /// while writes fill it up without a seek in between, up to [`WRITE_BUFFER_MAX`].
    pub(super) wcap: usize,
    pub(super) wgrow: bool,
    pub(super) write_err: Option<io::Error>,
    pub(super) needs_flush: bool,
    pub(super) seek_res: Option<(SeekFrom, io::Result<u64>)>,
    pub(super) iter_done: bool,
    /// Set by the first `poll_write`, so `Drop` can write buffered bytes without a `Write` bound.
    pub(super) writer: Option<(WriteFn<T>, FlushFn<T>)>,
    /// Set for seekable values (files): moves the OS cursor back over unread read-ahead.
    pub(super) rewind: Option<RewindFn<T>>,
    /// Set for files on Linux: fills that the page cache can serve run on the caller's thread
    /// (no pool round trip); `None` again once the file says it does not support it.
    pub(super) nowait: Option<NowaitFn<T>>,
}

/// Largest write buffer of a file written sequentially (see `Core::wcap`).
pub(super) const WRITE_BUFFER_MAX: usize = 128 * 1024;

pub(super) fn write_fn<T: Write>(io: &mut T, buf: &[u8]) -> io::Result<usize> {
    io.write(buf)
}
pub(super) fn flush_fn<T: Write>(io: &mut T) -> io::Result<()> {
    io.flush()
}
pub(super) fn rewind_fn<T: Seek>(io: &mut T, by: i64) -> io::Result<u64> {
    io.seek(SeekFrom::Current(by))
}

impl<T> Core<T> {
    pub(super) fn io(&mut self) -> &mut T {
        self.io.as_mut().expect("Unblock: value already taken")
    }

    pub(super) fn unread(&self) -> usize {
        self.rbuf.len() - self.rpos
    }

    /// The write buffer is full and goes out: a file written sequentially gets a bigger one
    /// next time (fewer pool round trips and `write` calls).
    pub(super) fn grow_writes(&mut self) {
        if self.wgrow {
            self.wcap = self
                .wcap
                .saturating_mul(2)
                .min(WRITE_BUFFER_MAX.max(self.cap));
        }
    }

    /// Writes the whole write buffer (on a pool thread). Errors are kept for the next write/flush.
    pub(super) fn drain_writes(&mut self) {
        let Some((write, _)) = self.writer else {
            return;
        };
        let Some(io) = self.io.as_mut() else { return };
        while !self.wbuf.is_empty() {
            match write(io, &self.wbuf) {
                Ok(0) => {
                    self.write_err = Some(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "failed to write buffered data",
                    ));
                    return;
                }
                Ok(n) => {
                    self.wbuf.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.write_err = Some(e);
                    return;
                }
            }
        }
    }

    pub(super) fn flush_all(&mut self) {
        self.drain_writes();
        if self.write_err.is_some() {
            return;
        }
        if let (Some((_, flush)), Some(io)) = (self.writer, self.io.as_mut()) {
            match flush(io) {
                Ok(()) => self.needs_flush = false,
                Err(e) => self.write_err = Some(e),
            }
        } else {
            self.needs_flush = false;
        }
    }

    /// A file-mode value that turned out not to be seekable (a FIFO, tty, socket opened as a
    /// `fs::File`): its reads and writes are independent streams, so a write or failed seek
    /// must keep unread input instead of "rewinding" over it.
    pub(super) fn unseekable(&self) -> bool {
        self.rewind.is_some() && self.seekable == Some(false)
    }

    /// Drops unread read-ahead (`front` bytes the reader's buffer held, then `rbuf`), moving a
    /// seekable value's cursor back over it.
    pub(super) fn discard_read(&mut self, front: usize) -> io::Result<()> {
        let unread = front + self.unread();
        self.rpos = self.rbuf.len(); // keep the length: the next fill need not zero it again
        self.read_res = None;
        if unread > 0 {
            if let (Some(rewind), Some(io)) = (self.rewind, self.io.as_mut()) {
                rewind(io, -(unread as i64))?;
            }
        }
        Ok(())
    }
}

impl<T: Seek> Core<T> {
    /// A seek to the logical position `pos` (`Current` counts from where the reader is):
    /// drops unread read-ahead (`front` bytes the reader's buffer held, then `rbuf`), which the
    /// OS cursor is past, and keeps the result for the seek to pick up.
    pub(super) fn seek_logical(&mut self, front: usize, pos: SeekFrom) {
        let unread = (front + self.unread()) as i64;
        self.rpos = self.rbuf.len();
        self.read_res = None;
        let target = match pos {
            SeekFrom::Current(n) => n.checked_sub(unread).map(SeekFrom::Current),
            p => Some(p),
        };
        let res = match target {
            Some(t) => self.io().seek(t),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid seek offset (overflow)",
            )),
        };
        if res.is_err() && unread > 0 {
            // The cursor did not move (e.g. a target before the start), but the read-ahead is
            // gone: move the cursor back over it, so the position stays where the reader was,
            // as a failed seek leaves `std`'s.
            let _ = self.io().seek(SeekFrom::Current(-unread));
        }
        self.seek_res = Some((pos, res));
    }
}

impl<T: Read> Core<T> {
    /// One `read` call of up to `size` bytes into `rbuf` (on a pool thread).
    pub(super) fn fill(&mut self, size: usize) {
        if self.seekable.is_none() {
            if let (Some(rewind), Some(io)) = (self.rewind, self.io.as_mut()) {
                // A zero seek from the current position: fails (ESPIPE) on pipes, ttys, sockets.
                self.seekable = Some(rewind(io, 0).is_ok());
            }
        }
        // `rbuf` holds consumed bytes from an earlier fill: `resize` only zeroes the part beyond
        // its current length, so a reused buffer of the same size costs nothing to prepare.
        self.rbuf.resize(size, 0);
        self.rpos = 0;
        let io = self.io.as_mut().expect("Unblock: value already taken");
        loop {
            match io.read(&mut self.rbuf) {
                Ok(n) => {
                    self.rbuf.truncate(n);
                    self.last_fill_full = n == size;
                    if n == 0 {
                        self.read_res = Some(Ok(()));
                    }
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.rbuf.clear();
                    self.read_res = Some(Err(e));
                    return;
                }
            }
        }
    }
}

impl<T> Drop for Core<T> {
    fn drop(&mut self) {
        // Persist what was written but not flushed (like `BufWriter`'s drop). This runs on a
        // pool thread: `Unblock::drop` hands a dirty core to the pool.
        if self.wbuf.is_empty() || self.io.is_none() {
            return;
        }
        if self.write_err.is_none() {
            self.flush_all();
        }
        // Nobody is left to return the error to: report it rather than lose it silently
        // (`BufWriter` drops it; Python prints "Exception ignored in ...").
        if let Some(e) = &self.write_err {
            eprintln!(
                "weft: {} byte(s) written to a dropped file or Unblock could not be written                  ({e}); call flush().await before dropping it to handle write errors",
                self.wbuf.len()
            );
        }
    }
}
