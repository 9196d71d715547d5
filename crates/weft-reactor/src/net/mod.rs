//! Networking on the weft reactor: TCP, UDP and Unix-domain sockets.
//!
//! Every type wraps a std socket registered in the reactor through [`Async`](crate::Async).
//! Streams implement the futures-io `AsyncRead`/`AsyncWrite` traits; listeners have `accept()`
//! and an `incoming()` stream. All types convert from their std counterparts with `TryFrom`
//! (registration can fail) and implement `AsFd`/`AsRawFd`.
//!
//! Address resolution: [`TcpStream::connect`] takes this module's [`ToSocketAddrs`] (the same
//! input types as std's trait) and resolves host names on a small pool of resolver threads, so
//! the calling thread never blocks; IP literals and `SocketAddr`s go through no thread at all.
//! Binding (`TcpListener::bind`, `UdpSocket::bind`/`connect`/`send_to`) is synchronous and uses
//! `std::net::ToSocketAddrs`, which blocks for host names: bind to addresses.
//!
//! Cancel-safety, per method, is stated in each method's docs. In short: every single-syscall
//! operation (`accept`, `read`, `write`, `send_to`, `recv_from`, `send`, `recv`, `peek`,
//! `readable`, `writable`) is cancel-safe; composite helpers like `read_exact`/`write_all` are not.

use std::io;

mod accept;
mod connect;
mod resolve;
mod tcp;
mod udp;
mod unix;

pub use resolve::{Target, ToSocketAddrs};
pub use tcp::{Incoming, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixIncoming, UnixListener, UnixStream};

/// The error for an address that resolved to nothing.
pub(crate) fn io_err_none_resolved() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "the address resolved to no socket address; pass a host name with addresses or an IP:port",
    )
}
