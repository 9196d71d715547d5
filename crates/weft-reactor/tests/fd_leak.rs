//! No file-descriptor leaks after 10,000 connect/close cycles, nor after cancelled pending
//! accepts and connects (exact counts). (Its own test binary, so no other
//! test opens descriptors concurrently.)

mod common;

use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use weft_reactor::block_on;
use weft_reactor::net::{TcpListener, TcpStream, UnixStream};

#[test]
fn no_fd_leak_after_10000_connect_close_cycles() {
    // Create the reactor's own lazily created descriptors (poller, notifier) first.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    block_on(async {
        let c = TcpStream::connect(addr).await.unwrap();
        let _ = listener.accept().await.unwrap();
        drop(c);
        weft_timer::sleep(std::time::Duration::from_millis(1)).await;
    });
    let before = common::open_fds();
    block_on(async {
        for i in 0..10_000u32 {
            let mut c = TcpStream::connect(addr).await.unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            if i % 100 == 0 {
                // Some cycles move data and use split halves too.
                c.write_all(b"x").await.unwrap();
                let mut b = [0u8; 1];
                s.read_exact(&mut b).await.unwrap();
                let (r, w) = c.into_split();
                drop((r, w));
            }
            drop(s);
        }
        for _ in 0..100 {
            let (a, b) = UnixStream::pair().unwrap();
            drop((a, b));
        }
    });
    let after = common::open_fds();
    assert_eq!(
        after, before,
        "fd leak: {before} open before, {after} after 10,000 cycles"
    );

    // Cancelled pending accepts and connects leak nothing either (exact count).
    let (full, full_addr) = full_listener();
    block_on(async {
        // The first connection fills the accept queue of the backlog-0 listener; connects
        // after it stay pending (their SYNs are dropped).
        let _first = TcpStream::connect(full_addr).await.unwrap();
        let before = common::open_fds();
        for _ in 0..200 {
            let pending = weft_timer::timeout(Duration::from_millis(1), listener.accept()).await;
            assert!(pending.is_err(), "nothing connects, yet accept completed");
            let pending =
                weft_timer::timeout(Duration::from_millis(1), TcpStream::connect(full_addr)).await;
            assert!(pending.is_err(), "a connect into a full backlog completed");
        }
        let after = common::open_fds();
        assert_eq!(
            after, before,
            "cancelled accepts/connects leaked: {before} open before, {after} after"
        );
    });
    drop(full);
}

/// A loopback listener with a backlog of 0 that never accepts (see tests/net.rs).
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
