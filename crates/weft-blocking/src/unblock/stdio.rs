//! Standard input, output and error as [`Unblock`] values.

use std::io;

use super::Unblock;

/// Standard input as an [`AsyncRead`](futures_io::AsyncRead)/[`AsyncBufRead`](futures_io::AsyncBufRead) (reads run on the blocking pool).
///
/// A read that was started keeps going in the background even if its future is dropped; the
/// bytes are kept in the buffer for the next read, so nothing is lost as long as the same
/// `Unblock` is used.
pub fn stdin() -> Unblock<io::Stdin> {
    Unblock::new(io::stdin())
}

/// Standard output as an [`AsyncWrite`](futures_io::AsyncWrite). Writes are buffered (8 KiB): call `flush().await`
/// to make them visible; on drop, buffered bytes are written in the background.
pub fn stdout() -> Unblock<io::Stdout> {
    Unblock::new(io::stdout())
}

/// Standard error as an [`AsyncWrite`](futures_io::AsyncWrite). Writes are buffered (8 KiB) like [`stdout`].
pub fn stderr() -> Unblock<io::Stderr> {
    Unblock::new(io::stderr())
}
