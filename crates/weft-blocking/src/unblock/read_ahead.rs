//! The read-ahead policy of a file read through an [`Unblock`](super::Unblock): the reader's
//! buffer, how big the next fill is, and when to read ahead.

use super::buffer::Core;

/// Largest single read of a file being read sequentially (see [`fs::File`](crate::fs::File)).
pub(crate) const READ_AHEAD_MAX: usize = 128 * 1024;

/// Sequential fills (in a row, without a seek or write) after which a file reads ahead.
pub(super) const READ_AHEAD_AFTER: u32 = 2;

/// The reader's side of the read buffer: it stays with the `Unblock` (never travels to the pool),
/// so buffered bytes can be consumed while the core is away reading ahead, and a dropped read
/// future never holds data.
pub(super) struct ReadSide {
    /// Bytes `buf[pos..]` were read from the value and not yet consumed; they come first.
    pub(super) buf: Vec<u8>,
    pub(super) pos: usize,
    /// Files (`fs::File`) grow their fills and read ahead while read sequentially.
    pub(super) adaptive: bool,
    /// Fills started in a row by sequential reads (reset by a seek, a write, EOF or an error).
    pub(super) streak: u32,
    /// Size of the last fill of the current streak.
    pub(super) size: usize,
    /// Whether fills the page cache can serve may run on the caller's thread (see
    /// `inline.rs`; only values with a non-blocking read can).
    pub(super) inline: bool,
    /// Inline fills since the last yield (see `inline.rs`).
    pub(super) inline_run: u32,
}

impl ReadSide {
    pub(super) fn unread(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Forgets the unread bytes (keeping the allocation) and returns how many there were.
    pub(super) fn take_unread(&mut self) -> usize {
        let n = self.unread();
        self.pos = self.buf.len();
        self.reset();
        n
    }

    /// The access pattern changed: start the next streak small again.
    pub(super) fn reset(&mut self) {
        self.streak = 0;
        self.size = 0;
    }

    /// Size of the next fill: `cap` for plain values; for files, doubling from `cap` up to
    /// [`READ_AHEAD_MAX`] while reads stay sequential, and at least the reader's buffer (`want`).
    pub(super) fn next_fill(&mut self, want: usize, cap: usize) -> usize {
        if !self.adaptive {
            return cap;
        }
        self.streak = self.streak.saturating_add(1);
        let grown = if self.streak == 1 {
            cap
        } else {
            self.size.saturating_mul(2)
        };
        let size = grown
            .max(want.min(READ_AHEAD_MAX))
            .min(READ_AHEAD_MAX.max(cap))
            .max(cap);
        self.size = size;
        size
    }
}

impl ReadSide {
    /// A reader's buffer with nothing in it; `adaptive` for files.
    pub(super) fn new(adaptive: bool) -> ReadSide {
        ReadSide {
            buf: Vec::new(),
            pos: 0,
            adaptive,
            streak: 0,
            size: 0,
            inline: true,
            inline_run: 0,
        }
    }

    /// Whether to start filling the other buffer now that a filled one was handed to the
    /// reader: only for a file read sequentially (a streak of full fills, no pending write, no
    /// EOF or error waiting) that is seekable (reads there never wait for a peer).
    pub(super) fn should_read_ahead<T>(&self, core: &Core<T>) -> bool {
        self.adaptive
            && self.streak >= READ_AHEAD_AFTER
            && core.seekable == Some(true)
            && core.last_fill_full
            && core.read_res.is_none()
            && core.wbuf.is_empty()
    }
}
