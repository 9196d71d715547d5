//! Typed errors of the reactor, carried inside `io::Error` so signatures stay `io::Result`.

use std::error::Error;
use std::fmt;
use std::io;
use std::os::fd::RawFd;

/// Why a descriptor could not be registered with the reactor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterErrorKind {
    /// The descriptor cannot be polled (`EPERM`): a regular file or a directory, which is
    /// always "ready". Use a blocking pool (`weft::fs`, `weft_blocking::Unblock`) for it.
    NotPollable,
    /// The descriptor is already registered (`EEXIST`): another `Async` owns it.
    AlreadyRegistered,
    /// Any other OS error (e.g. out of memory, or too many watched descriptors).
    Other,
}

/// Error from [`Async::new`](crate::Async::new) and every constructor that registers a
/// descriptor. It is the inner error (`io::Error::get_ref`) of the returned `io::Error`, whose
/// kind is the OS error's kind.
///
/// ```
/// use weft_reactor::{Async, RegisterError, RegisterErrorKind};
/// let file = std::fs::File::open("Cargo.toml")?;
/// let err = Async::new(file).unwrap_err();
/// let why = err.get_ref().and_then(|e| e.downcast_ref::<RegisterError>()).unwrap();
/// assert_eq!(why.kind(), RegisterErrorKind::NotPollable);
/// assert!(err.to_string().contains("regular file"));
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct RegisterError {
    fd: RawFd,
    kind: RegisterErrorKind,
    os: io::Error,
}

impl RegisterError {
    /// What went wrong.
    pub fn kind(&self) -> RegisterErrorKind {
        self.kind
    }

    /// The descriptor that was being registered.
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// The OS error code (`errno`), if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.os.raw_os_error()
    }
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fd = self.fd;
        match self.kind {
            RegisterErrorKind::NotPollable => write!(
                f,
                "descriptor {fd} cannot be registered with the weft reactor: it does not support \
                 readiness polling (a regular file or directory is always ready); do its I/O on \
                 a blocking pool instead (weft::fs, weft_blocking::Unblock)"
            ),
            RegisterErrorKind::AlreadyRegistered => write!(
                f,
                "descriptor {fd} is already registered with the weft reactor: another Async \
                 owns it; use that one, or register a dup() of the descriptor"
            ),
            RegisterErrorKind::Other => write!(
                f,
                "cannot register descriptor {fd} with the weft reactor: {}",
                self.os
            ),
        }
    }
}

impl Error for RegisterError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.os)
    }
}

/// Wraps an `epoll_ctl(ADD)` failure.
pub(crate) fn register_error(fd: RawFd, os: io::Error) -> io::Error {
    let kind = match os.raw_os_error() {
        Some(libc::EPERM) => RegisterErrorKind::NotPollable,
        Some(libc::EEXIST) => RegisterErrorKind::AlreadyRegistered,
        _ => RegisterErrorKind::Other,
    };
    io::Error::new(os.kind(), RegisterError { fd, kind, os })
}

/// Wraps a failure to create the OS poller.
pub(crate) fn poller_error(os: io::Error) -> io::Error {
    io::Error::new(
        os.kind(),
        format!(
            "weft-reactor cannot create the OS poller ({os}); if the process is out of file \
             descriptors, close some or raise RLIMIT_NOFILE (ulimit -n)"
        ),
    )
}
