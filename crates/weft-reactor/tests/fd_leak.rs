//! No file-descriptor leaks after 10,000 connect/close cycles. (Its own test binary, so no other
//! test opens descriptors concurrently.)

mod common;

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
    assert!(
        after <= before + 2,
        "fd leak: {before} open before, {after} after 10,000 cycles"
    );
}
