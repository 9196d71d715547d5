//! Accepting a TCP connection as a non-blocking socket in one system call.
//!
//! std's `TcpListener::accept` returns a blocking socket, which registration then turns
//! non-blocking (two `fcntl`) and probes for its type (a `getsockopt`): three syscalls per
//! connection on top of the `accept4`. On Linux, `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)` makes
//! the socket non-blocking in the same call (as tokio and mio do), and an accepted TCP socket is
//! a stream socket by construction.

use std::io;
use std::net::SocketAddr;

#[cfg(any(target_os = "linux", target_os = "android"))]
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Accepts one connection from `l`: the new non-blocking socket and the peer's address
/// (`WouldBlock` when the backlog is empty).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn accept_nonblocking(
    l: &std::net::TcpListener,
) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    let fd = l.as_raw_fd();
    loop {
        // SAFETY: `try_init` passes a zeroed `sockaddr_storage` and its size; `accept4` writes
        // at most that many bytes of the peer's address into it and its length back, as
        // `try_init` requires. `fd` is the listener's open descriptor, borrowed for the call.
        let r = unsafe {
            socket2::SockAddr::try_init(|storage, len| {
                let n = libc::accept4(
                    fd,
                    storage.cast(),
                    len,
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                );
                if n == -1 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n)
                }
            })
        };
        match r {
            Ok((n, addr)) => {
                // SAFETY: `accept4` returned a new descriptor that nothing else owns.
                let s = std::net::TcpStream::from(unsafe { OwnedFd::from_raw_fd(n) });
                let addr = addr.as_socket().ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "accept returned an address that is not an IP socket address",
                    )
                })?;
                return Ok((s, addr));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Accepts one connection from `l` (std's `accept`, then made non-blocking here).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn accept_nonblocking(
    l: &std::net::TcpListener,
) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    let (s, addr) = l.accept()?;
    s.set_nonblocking(true)?;
    Ok((s, addr))
}

#[cfg(test)]
mod tests {
    use std::io::{self, Read, Write};
    use std::os::fd::AsRawFd;

    use super::accept_nonblocking;

    fn flags(fd: i32) -> (i32, i32) {
        // SAFETY: `fd` is an open descriptor owned by the caller; F_GETFL and F_GETFD take no
        // pointer arguments.
        unsafe {
            (
                libc::fcntl(fd, libc::F_GETFL),
                libc::fcntl(fd, libc::F_GETFD),
            )
        }
    }

    /// The one-syscall accept: the socket is non-blocking and close-on-exec from the start,
    /// the address is the peer's, and an empty backlog is `WouldBlock`.
    #[test]
    fn an_accepted_socket_is_non_blocking_close_on_exec_with_the_peers_address() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let e = accept_nonblocking(&l).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        let mut c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        // The connection is in the backlog once `connect` returns on loopback.
        let (mut s, peer) = accept_nonblocking(&l).unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        let (fl, fd) = flags(s.as_raw_fd());
        assert_ne!(fl & libc::O_NONBLOCK, 0, "O_NONBLOCK");
        assert_ne!(fd & libc::FD_CLOEXEC, 0, "FD_CLOEXEC");
        let mut b = [0u8; 1];
        assert_eq!(
            s.read(&mut b).unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "a read with nothing sent does not block"
        );
        c.write_all(b"x").unwrap();
        s.set_nonblocking(false).unwrap();
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"x");
    }
}
