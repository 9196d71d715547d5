//! Connecting: name resolution off the executor, Happy Eyeballs (RFC 8305) over every resolved
//! address, TCP_NODELAY, then TLS when the scheme asks for it.

use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use weft_reactor::Async;
use weft_timer::Sleep;

use super::observe::{Event, Hooks};
use super::pool::PoolKey;
use super::proxy::{connect_refused as proxy_refused, ProxyEndpoint};
use super::tls_stream::TlsStream;
use crate::error::{Error, ErrorKind, ProtocolError};
use crate::proto::h1::head;
use crate::proto::h1::io::{Conn, Transport};
use crate::proto::h1::MAX_HEAD_BYTES;

/// The delay before the next address is tried while one attempt is still pending (RFC 8305).
pub(crate) const HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(250);

/// What a connector needs from the client.
pub(crate) struct Connector {
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) tls_error: Option<String>,
    pub(crate) resolve: HashMap<String, Vec<SocketAddr>>,
    pub(crate) nodelay: bool,
}

/// Strips the brackets of an IPv6 literal authority host.
pub(crate) fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

impl Connector {
    /// Resolves `host`: overrides first, IP literals directly, names on the blocking pool.
    async fn resolve(
        &self,
        host: &str,
        port: u16,
        hooks: &Hooks,
    ) -> Result<Vec<SocketAddr>, Error> {
        let t0 = Instant::now();
        let addrs = self.resolve_inner(host, port).await?;
        if let Some(o) = hooks.on() {
            o.on_event(&Event::DnsResolved {
                host,
                addrs: &addrs,
                elapsed: t0.elapsed(),
            });
        }
        Ok(addrs)
    }

    async fn resolve_inner(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        if let Some(addrs) = self.resolve.get(host) {
            return Ok(addrs
                .iter()
                .map(|a| SocketAddr::new(a.ip(), if a.port() == 0 { port } else { a.port() }))
                .collect());
        }
        if let Ok(ip) = bare_host(host).parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let name = host.to_string();
        let addrs = weft_blocking::unblock(move || {
            (name.as_str(), port)
                .to_socket_addrs()
                .map(|it| it.collect::<Vec<_>>())
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Connect).with_source(e))?;
        if addrs.is_empty() {
            return Err(Error::new(ErrorKind::Connect).with_source(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} resolved to no address"),
            )));
        }
        Ok(addrs)
    }

    /// Opens a connection for `key` (the caller applies the connect timeout).
    pub(crate) async fn connect(&self, key: &PoolKey, hooks: &Hooks) -> Result<Conn, Error> {
        let (host, port) = match key.proxy() {
            Some(p) => (&*p.host, p.port),
            None => (key.host(), key.port()),
        };
        let addrs = self.resolve(host, port, hooks).await?;
        let sock = happy_eyeballs(interleave(addrs), self.nodelay)
            .await
            .map_err(|e| Error::new(ErrorKind::Connect).with_source(e))?;
        let mut io = Transport::Tcp(sock);
        if let Some(p) = key.proxy().filter(|p| p.tls) {
            io = self.handshake(&p.host, io, hooks).await?;
        }
        if !key.is_https() {
            return Ok(Conn::new(io));
        }
        if let Some(p) = key.proxy() {
            io = tunnel(io, key, p).await?;
        }
        let io = self.handshake(key.server_name(), io, hooks).await?;
        Ok(Conn::new(io))
    }

    /// TLS to `server_name` over `io`.
    async fn handshake(
        &self,
        server_name: &str,
        io: Transport,
        hooks: &Hooks,
    ) -> Result<Transport, Error> {
        let Some(config) = self.tls.clone() else {
            return Err(Error::builder(format!(
                "https is unavailable: {}",
                self.tls_error.as_deref().unwrap_or("no TLS configuration")
            )));
        };
        let name = bare_host(server_name).to_string();
        let name = ServerName::try_from(name)
            .map_err(|_| Error::builder(format!("invalid TLS server name {server_name:?}")))?;
        let t0 = Instant::now();
        let tls = TlsStream::connect(config, name, io).await?;
        if let Some(o) = hooks.on() {
            o.on_event(&Event::TlsHandshake {
                server_name,
                elapsed: t0.elapsed(),
            });
        }
        Ok(Transport::Tls(Box::new(tls)))
    }
}

/// Opens a `CONNECT` tunnel to the key's host through the proxy on `sock`.
async fn tunnel(io: Transport, key: &PoolKey, proxy: &ProxyEndpoint) -> Result<Transport, Error> {
    use std::io::Write;
    let mut conn = Conn::new(io);
    let target = format!("{}:{}", key.host(), key.port());
    let _ = write!(conn.wbuf, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = &proxy.auth {
        let _ = write!(conn.wbuf, "Proxy-Authorization: {auth}\r\n");
    }
    conn.wbuf.extend_from_slice(b"\r\n");
    let mut written = 0;
    poll_fn(|cx| conn.poll_write_buf(cx, &mut written))
        .await
        .map_err(|e| Error::new(ErrorKind::Connect).with_source(e))?;
    let status = poll_fn(|cx| loop {
        if !conn.rbuf.is_empty() {
            if let Some((h, n)) = head::parse(conn.rbuf.filled(), true)? {
                conn.rbuf.consume(n);
                return Poll::Ready(Ok(h.status));
            }
        }
        match conn.poll_fill(cx, MAX_HEAD_BYTES + 1) {
            Poll::Ready(Ok(0)) => {
                return Poll::Ready(Err(Error::new(ErrorKind::Connect)
                    .with_source("the proxy closed the connection during CONNECT")))
            }
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(e)) => {
                return Poll::Ready(Err(Error::new(ErrorKind::Connect).with_source(e)))
            }
            Poll::Pending => return Poll::Pending,
        }
    })
    .await?;
    if !status.is_success() {
        return Err(proxy_refused(status));
    }
    if !conn.rbuf.is_empty() {
        return Err(Error::protocol(ProtocolError::UnexpectedBytes));
    }
    Ok(conn.io)
}

/// Orders addresses alternating families, starting with the family of the first (RFC 8305 §4).
fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let first_v6 = addrs.first().is_some_and(SocketAddr::is_ipv6);
    let (mut a, mut b): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|x| x.is_ipv6() == first_v6);
    a.reverse();
    b.reverse();
    let mut out = Vec::with_capacity(a.len() + b.len());
    loop {
        match (a.pop(), b.pop()) {
            (None, None) => return out,
            (x, y) => out.extend(x.into_iter().chain(y)),
        }
    }
}

/// One non-blocking TCP connect.
async fn connect_one(
    addr: SocketAddr,
    nodelay: bool,
) -> io::Result<Arc<Async<std::net::TcpStream>>> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    if nodelay {
        socket.set_nodelay(true)?;
    }
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    let stream = Async::new_nonblocking(std::net::TcpStream::from(socket))?;
    stream.writable().await?;
    if let Some(e) = stream.get_ref().take_error()? {
        return Err(e);
    }
    stream.get_ref().peer_addr()?;
    Ok(Arc::new(stream))
}

type Attempt = Pin<Box<dyn Future<Output = io::Result<Arc<Async<std::net::TcpStream>>>> + Send>>;

/// Races connects: a new attempt starts every 250 ms, or at once when one fails; the first
/// success wins and the others are dropped (closed).
async fn happy_eyeballs(
    addrs: Vec<SocketAddr>,
    nodelay: bool,
) -> io::Result<Arc<Async<std::net::TcpStream>>> {
    let mut pending = addrs.into_iter();
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut last_err: Option<io::Error> = None;
    let mut stagger: Option<Sleep> = None;
    let mut start_next = true;
    poll_fn(|cx| loop {
        if start_next {
            start_next = false;
            if let Some(a) = pending.next() {
                attempts.push(Box::pin(connect_one(a, nodelay)));
                stagger = Some(weft_timer::sleep(HAPPY_EYEBALLS_DELAY));
            } else {
                stagger = None;
            }
        }
        let mut i = 0;
        while i < attempts.len() {
            match attempts[i].as_mut().poll(cx) {
                Poll::Ready(Ok(s)) => return Poll::Ready(Ok(s)),
                Poll::Ready(Err(e)) => {
                    last_err = Some(e);
                    drop(attempts.swap_remove(i));
                    start_next = true;
                }
                Poll::Pending => i += 1,
            }
        }
        if start_next {
            if attempts.is_empty() && pending.len() == 0 {
                return Poll::Ready(Err(last_err.take().unwrap_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, "no address to connect to")
                })));
            }
            continue;
        }
        if let Some(s) = stagger.as_mut() {
            if Pin::new(s).poll(cx).is_ready() {
                start_next = true;
                continue;
            }
        }
        if attempts.is_empty() {
            return Poll::Ready(Err(last_err.take().unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "no address to connect to")
            })));
        }
        return Poll::Pending;
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaves_families() {
        let v: Vec<SocketAddr> = ["[::1]:1", "[::2]:1", "1.0.0.1:1", "1.0.0.2:1", "[::3]:1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let got: Vec<String> = interleave(v).iter().map(|a| a.to_string()).collect();
        assert_eq!(
            got,
            ["[::1]:1", "1.0.0.1:1", "[::2]:1", "1.0.0.2:1", "[::3]:1"]
        );
    }

    #[test]
    fn refused_then_working_address() {
        weft_reactor::block_on(async {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let good = l.local_addr().unwrap();
            let dead = {
                let t = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                t.local_addr().unwrap()
            };
            let s = weft_timer::timeout(
                Duration::from_secs(10),
                happy_eyeballs(vec![dead, good], true),
            )
            .await
            .expect("watchdog")
            .unwrap();
            assert_eq!(s.get_ref().peer_addr().unwrap(), good);
        });
    }
}
