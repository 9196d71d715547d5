//! Networking on the weft reactor: TCP, UDP and Unix-domain sockets.
//!
//! Every type wraps a std socket registered in the reactor through [`Async`](crate::Async).
//! Streams implement the futures-io `AsyncRead`/`AsyncWrite` traits; listeners have `accept()`
//! and an `incoming()` stream. All types convert from their std counterparts with `TryFrom`
//! (registration can fail) and implement `AsFd`/`AsRawFd`.
//!
//! Address resolution (`impl ToSocketAddrs`) uses the standard library, which blocks for host
//! names (IP literals and `SocketAddr`s never block).
//!
//! Cancel-safety, per method, is stated in each method's docs. In short: every single-syscall
//! operation (`accept`, `read`, `write`, `send_to`, `recv_from`, `send`, `recv`, `peek`,
//! `readable`, `writable`) is cancel-safe; composite helpers like `read_exact`/`write_all` are not.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

mod tcp;
mod udp;
mod unix;

pub use tcp::{Incoming, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixIncoming, UnixListener, UnixStream};

/// Resolves with std, collecting the addresses.
pub(crate) fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    Ok(addr.to_socket_addrs()?.collect())
}

/// The error for an address that resolved to nothing.
pub(crate) fn io_err_none_resolved() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "the address resolved to no socket address; pass a host name with addresses or an IP:port",
    )
}
