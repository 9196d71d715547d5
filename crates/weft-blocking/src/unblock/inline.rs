//! Fills served on the caller's thread: a file whose bytes are in the page cache is read with a
//! read that never blocks (Linux `preadv2(RWF_NOWAIT)`), so sequential small reads of cached
//! data cost one syscall per fill instead of a pool round trip. Bytes not in the cache
//! (`WouldBlock`) still come from the pool, with its read-ahead. Seeks to a known offset and
//! the cursor moves over unread read-ahead before a write (`lseek`) run here too.

use std::io;

use super::buffer::Core;
use super::read_ahead::ReadSide;

/// Fills in a row served on the caller's thread after which a read yields once (`Pending`
/// with the waker woken): 32 fills of up to 128 KiB, so a task reading a cached file gives the
/// executor a turn at least every 4 MiB instead of never.
const INLINE_RUN: u32 = 32;

impl ReadSide {
    /// Whether this read yields before its next inline fill (see [`INLINE_RUN`]).
    pub(super) fn yield_after_inline_run(&mut self) -> bool {
        if self.inline_run < INLINE_RUN {
            return false;
        }
        self.inline_run = 0;
        true
    }

    /// Whether moving the cursor of this value (`lseek` to a known offset, which never waits
    /// for the disk) may run on this thread: the same files as [`fill_inline`](Self::fill_inline),
    /// once known to be seekable.
    pub(super) fn lseek_inline<T>(&self, core: &Core<T>) -> bool {
        self.inline && core.nowait.is_some() && core.seekable == Some(true)
    }

    /// Fills the reader's buffer with up to `size` bytes on this thread if the value has a
    /// non-blocking read ([`Core::nowait`]) and is seekable (a pipe or tty opened as a file can
    /// wait for a peer, so it keeps the pool). `Some(true)`: bytes are in the buffer;
    /// `Some(false)`: end of file; `None`: use the pool (the bytes are not cached, or the file
    /// cannot do it, which turns the inline path off for good).
    ///
    /// Only called with nothing buffered and nothing in flight, so the OS cursor is the logical
    /// position and a fill here is exactly the fill the pool would have done.
    pub(super) fn fill_inline<T>(&mut self, core: &mut Core<T>, size: usize) -> Option<bool> {
        let nowait = core.nowait?;
        if !self.inline || !core.wbuf.is_empty() {
            return None;
        }
        if core.seekable.is_none() {
            // A zero seek (`lseek`, which never waits for the disk): fails on pipes, ttys.
            let rewind = core.rewind?;
            let seekable = rewind(core.io(), 0).is_ok();
            core.seekable = Some(seekable);
        }
        if core.seekable != Some(true) {
            return None;
        }
        // The buffer holds consumed bytes only: `resize` zeroes nothing once it has grown.
        self.buf.resize(size, 0);
        match nowait(core.io(), &mut self.buf) {
            Ok(n) => {
                self.inline_run += 1;
                self.buf.truncate(n);
                self.pos = 0;
                core.last_fill_full = n == size;
                if n == 0 {
                    self.reset();
                    return Some(false);
                }
                Some(true)
            }
            Err(e) => {
                self.pos = self.buf.len(); // still nothing unread
                if matches!(
                    e.kind(),
                    io::ErrorKind::Unsupported | io::ErrorKind::InvalidInput
                ) {
                    core.nowait = None; // an old kernel, or a file that cannot (O_DIRECT, FUSE)
                }
                None
            }
        }
    }
}
