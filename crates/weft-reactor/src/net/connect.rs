//! The one stream-connect path, shared by TCP and Unix sockets.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};

use crate::source::WRITE;
use crate::Async;

/// Connects a fresh non-blocking stream socket to `addr` and waits for the handshake.
///
/// - `Ok` from `connect(2)`: connected at once (Unix sockets, sometimes loopback TCP).
/// - `EINPROGRESS`: the handshake runs; wait for the poller's write edge, then read
///   `SO_ERROR`, and confirm with `getpeername` (a hang-up without `SO_ERROR` is rare but real).
/// - `EAGAIN`: for a Unix socket this means the listener's backlog is full and *no* connection
///   is in progress (there is nothing to wait for): an error, saying so.
/// - anything else: the error.
///
/// Cancel-safe: dropping the future closes the half-open socket.
pub(crate) async fn connect_stream<T: AsFd + From<OwnedFd>>(
    domain: Domain,
    protocol: Option<Protocol>,
    addr: &SockAddr,
) -> io::Result<Async<T>> {
    let socket = Socket::new(domain, Type::STREAM, protocol)?;
    socket.set_nonblocking(true)?;
    let in_progress = match socket.connect(addr) {
        Ok(()) => false,
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => true,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(backlog_full(addr, e)),
        Err(e) => return Err(e),
    };
    let stream = Async::register(T::from(OwnedFd::from(socket)), !in_progress)?.mark_stream();
    if in_progress {
        stream.edge(WRITE).await;
        let sock = SockRef::from(stream.get_ref());
        if let Some(e) = sock.take_error()? {
            return Err(e);
        }
        sock.peer_addr()?;
    }
    Ok(stream)
}

fn backlog_full(addr: &SockAddr, e: io::Error) -> io::Error {
    let target = addr
        .as_pathname()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "the socket".to_string());
    io::Error::new(
        io::ErrorKind::ResourceBusy,
        format!(
            "cannot connect to {target}: its listen backlog is full ({e}); the listener is not \
             accepting connections fast enough (retry later, or raise its backlog)"
        ),
    )
}
