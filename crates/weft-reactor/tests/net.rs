//! Loopback networking tests: echo, refused connects, partial I/O, EOF, UDP, Unix sockets.

mod common;

use std::io;
use std::net::Shutdown;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt};
use weft_reactor::block_on;
use weft_reactor::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};

/// Reads until EOF with a small buffer, returning everything read.
async fn read_to_end_small(
    r: &mut (impl futures_lite::AsyncRead + Unpin),
    chunk: usize,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        let n = r.read(&mut buf).await.unwrap();
        if n == 0 {
            return out;
        }
        assert!(n <= chunk);
        out.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn tcp_echo_round_trips() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = async {
            let (mut s, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, s.peer_addr().unwrap());
            let mut buf = [0u8; 64];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                s.write_all(&buf[..n]).await.unwrap();
            }
        };
        let client = async {
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.set_nodelay(true).unwrap();
            assert!(c.nodelay().unwrap());
            assert_eq!(c.peer_addr().unwrap(), addr);
            for i in 0..100u32 {
                let msg = format!("message {i}");
                c.write_all(msg.as_bytes()).await.unwrap();
                let mut back = vec![0u8; msg.len()];
                c.read_exact(&mut back).await.unwrap();
                assert_eq!(back, msg.as_bytes());
            }
            c.close().await.unwrap();
        };
        futures_lite::future::zip(server, client).await;
    });
}

#[test]
fn tcp_split_halves_and_incoming() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = async {
            let mut incoming = listener.incoming();
            let s = incoming.next().await.unwrap().unwrap();
            let (mut r, mut w) = s.into_split();
            // Echo with the two halves in two concurrent futures joined by a channel-free copy.
            futures_lite::io::copy(&mut r, &mut w).await.unwrap();
            drop(w); // shuts the write side: the client sees EOF
        };
        let client = async {
            let c = TcpStream::connect(addr).await.unwrap();
            let (mut r, mut w) = c.into_split();
            let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
            let send = async {
                w.write_all(&payload).await.unwrap();
                w.close().await.unwrap();
            };
            let recv = read_to_end_small(&mut r, 1000);
            let ((), got) = futures_lite::future::zip(send, recv).await;
            assert_eq!(got, payload);
        };
        futures_lite::future::zip(server, client).await;
    });
}

#[test]
fn connect_to_closed_port_is_refused() {
    // Bind then drop a listener to get a port that nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = block_on(TcpStream::connect(("127.0.0.1", port))).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    let err = block_on(TcpStream::connect_timeout(
        ("127.0.0.1", port),
        Duration::from_secs(5),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn partial_reads_and_writes_with_big_payload() {
    // 8 MiB through a socket with small buffers: writes return short counts (the send buffer
    // fills) and reads return partial chunks; everything must arrive intact and in order.
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let payload: Vec<u8> = (0..8 * 1024 * 1024u32)
            .map(|i| (i * 7 % 256) as u8)
            .collect();
        let writer = async {
            let mut c = TcpStream::connect(addr).await.unwrap();
            let mut off = 0;
            let mut short_writes = 0;
            while off < payload.len() {
                let end = (off + (1 << 20)).min(payload.len());
                let n = c.write(&payload[off..end]).await.unwrap();
                assert!(n > 0);
                if n < end - off {
                    short_writes += 1;
                }
                off += n;
            }
            c.close().await.unwrap();
            short_writes
        };
        let reader = async {
            let (mut s, _) = listener.accept().await.unwrap();
            read_to_end_small(&mut s, 3000).await
        };
        let (short_writes, got) = futures_lite::future::zip(writer, reader).await;
        assert!(
            short_writes > 0,
            "expected the send buffer to fill at least once"
        );
        assert_eq!(got.len(), payload.len());
        assert!(got == payload);
    });
}

#[test]
fn peer_closing_mid_read_gives_eof() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut c = TcpStream::connect(addr).await.unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        let reader = async {
            let mut buf = [0u8; 16];
            // First some data, then EOF (not a hang) once the peer closes.
            let n = c.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"partial");
            let n = c.read(&mut buf).await.unwrap();
            assert_eq!(n, 0);
            let mut exact = [0u8; 4];
            let e = c.read_exact(&mut exact).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        };
        let closer = async {
            s.write_all(b"partial").await.unwrap();
            weft_timer::sleep(Duration::from_millis(5)).await;
            drop(s);
        };
        let ((), ()) = futures_lite::future::zip(reader, closer).await;
    });
}

#[test]
fn shutdown_write_gives_eof_to_peer() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        c.write_all(b"abc").await.unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"abc");
    });
}

#[test]
fn udp_send_recv() {
    block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        // recv first (it must wait), then send from another future.
        let recv = async {
            let mut buf = [0u8; 64];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&b"one"[..], aa));
        };
        let send = async {
            weft_timer::sleep(Duration::from_millis(2)).await;
            assert_eq!(a.send_to(b"one", ba).await.unwrap(), 3);
        };
        futures_lite::future::zip(recv, send).await;
        a.connect(ba).unwrap();
        b.connect(aa).unwrap();
        assert_eq!(a.peer_addr().unwrap(), ba);
        for i in 0..50u8 {
            a.send(&[i; 10]).await.unwrap();
            let mut buf = [0u8; 64];
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[i; 10]);
        }
    });
}

#[test]
fn unix_stream_pair_and_listener() {
    let dir = std::env::temp_dir().join(format!("weft-reactor-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);
    block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"pair").await.unwrap();
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pair");

        let listener = UnixListener::bind(&path).unwrap();
        let server = async {
            let mut inc = listener.incoming();
            for _ in 0..3 {
                let mut s = inc.next().await.unwrap().unwrap();
                let mut buf = [0u8; 5];
                s.read_exact(&mut buf).await.unwrap();
                s.write_all(&buf).await.unwrap();
            }
        };
        let clients = async {
            for _ in 0..3 {
                let mut c = UnixStream::connect(&path).await.unwrap();
                c.write_all(b"hello").await.unwrap();
                let mut buf = [0u8; 5];
                c.read_exact(&mut buf).await.unwrap();
                assert_eq!(&buf, b"hello");
            }
        };
        futures_lite::future::zip(server, clients).await;
        let missing = dir.join("missing.sock");
        assert!(UnixStream::connect(&missing).await.is_err());
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A loopback listener with a backlog of 0 that never accepts. On Linux, once its accept queue
/// holds one connection, further SYNs are dropped (whatever the SYN-cookie setting: the check is
/// on the accept queue), so the next connect stays pending until its timeout.
fn full_listener() -> (socket2::Socket, std::net::SocketAddr) {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    sock.listen(0).unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    (sock, addr)
}

#[test]
fn connect_timeout_elapses() {
    let (sock, addr) = full_listener();
    let (err, took, held) = block_on(async {
        let mut held = Vec::new();
        for _ in 0..16 {
            let start = std::time::Instant::now();
            match TcpStream::connect_timeout(addr, Duration::from_millis(50)).await {
                Ok(s) => held.push(s),
                Err(e) => return (e, start.elapsed(), held.len()),
            }
        }
        panic!("16 connects into a full backlog of 0 all completed");
    });
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(err.to_string().contains("50ms"), "{err}");
    assert!(
        took >= Duration::from_millis(50),
        "timed out early: {took:?}"
    );
    // How many connects fit in the accept queue first is not asserted: on a loaded machine even
    // the first handshake can take longer than 50 ms (this flaked); the timeout is the point.
    let _ = held;
    drop(sock);
}

#[test]
fn connect_resolves_host_names() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // "localhost" goes through the resolver thread; it may also resolve to ::1 first, which
    // refuses: connect tries each address in turn.
    let s = block_on(TcpStream::connect(format!("localhost:{port}"))).unwrap();
    assert_eq!(s.peer_addr().unwrap().port(), port);
    let s = block_on(TcpStream::connect_timeout(
        ("localhost", port),
        Duration::from_secs(10),
    ))
    .unwrap();
    assert_eq!(s.peer_addr().unwrap().port(), port);
    let e = block_on(TcpStream::connect("localhost")).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
}

#[test]
fn std_conversions() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let l = TcpListener::try_from(l).unwrap();
    let c = TcpStream::try_from(std::net::TcpStream::connect(addr).unwrap()).unwrap();
    let (s, _) = block_on(l.accept()).unwrap();
    use std::os::fd::AsRawFd;
    assert!(c.as_raw_fd() >= 0 && s.as_raw_fd() >= 0);
    let _ = format!("{c:?} {l:?} {s:?}");
}
