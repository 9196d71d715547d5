//! [`PoolError`]: why the blocking pool did not run a job.

use std::fmt;
use std::io;
use std::sync::Arc;

/// Why a job submitted to a [`BlockingPool`](crate::BlockingPool) never ran.
///
/// Returned by [`Unblocked::checked`](crate::Unblocked::checked), and inside the `io::Error`
/// that [`Unblock`](crate::Unblock) and [`fs`](crate::fs) operations return (downcast
/// [`io::Error::get_ref`] to `PoolError`). Awaiting an [`Unblocked`](crate::Unblocked) directly
/// panics with this message instead, because its output is the job's own value.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PoolError {
    /// [`BlockingPool::shutdown`](crate::BlockingPool::shutdown) was called before the job
    /// started.
    Shutdown,
    /// The pool had no thread and could not start one (the OS refused: usually the process or
    /// user thread limit). The job was failed instead of waiting forever in the queue.
    NoThread(Arc<io::Error>),
}

impl PoolError {
    /// The `io::ErrorKind` this error maps to: `Other` for a shutdown, the spawn error's kind
    /// (often `WouldBlock`, i.e. `EAGAIN`) when no thread could be started.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            PoolError::Shutdown => io::ErrorKind::Other,
            PoolError::NoThread(e) => e.kind(),
        }
    }
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Shutdown => f.write_str(
                "the blocking pool was shut down before this job started \
                 (submit blocking work only to a pool that is still running)",
            ),
            PoolError::NoThread(e) => write!(
                f,
                "the blocking pool has no thread and could not start one ({e}); raise the \
                 process thread limit (`ulimit -u`) or lower the pool's `max_threads`"
            ),
        }
    }
}

impl std::error::Error for PoolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolError::Shutdown => None,
            PoolError::NoThread(e) => Some(&**e),
        }
    }
}

impl From<PoolError> for io::Error {
    fn from(e: PoolError) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}

/// A seek on a [`fs::File`](crate::fs::File) that has no position: a FIFO, pipe, tty, pty or
/// socket (what `lseek` reports as `ESPIPE`, "Illegal seek").
///
/// The seek fails at once, as on `std::fs`, and has no effect: it does not wait for a read in
/// flight (on a FIFO with no writer that read may never end), and unread input stays buffered
/// for the next read. It is the inner error of an `io::Error` of kind
/// [`io::ErrorKind::NotSeekable`] (downcast [`io::Error::get_ref`] to `NotSeekable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotSeekable;

impl fmt::Display for NotSeekable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "cannot seek: the file is not seekable (a FIFO, pipe, tty or socket has no \
             position; read and write it sequentially, or open a regular file)",
        )
    }
}

impl std::error::Error for NotSeekable {}

impl From<NotSeekable> for io::Error {
    fn from(e: NotSeekable) -> io::Error {
        io::Error::new(io::ErrorKind::NotSeekable, e)
    }
}
