//! `AsyncClose` for the stream types (issue 21): buffered-free streams, so `close` is flush +
//! shutdown of the write half: the peer reads everything, then EOF, and can still answer.

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use weft_reactor::net::{TcpListener, TcpStream, UnixStream};
use weft_reactor::AsyncClose;

fn bounded<T>(fut: impl std::future::Future<Output = T>) -> T {
    weft_reactor::block_on(async {
        weft_timer::timeout(std::time::Duration::from_secs(30), fut)
            .await
            .expect("watchdog: the test did not finish")
    })
}

#[test]
fn closing_a_unix_stream_sends_eof_after_the_data() {
    bounded(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"ping").await.unwrap();
        a.close().await.unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"ping");
    });
}

#[test]
fn closing_a_tcp_stream_after_the_peer_left_is_not_an_error() {
    bounded(async {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        s.close().await.unwrap();
        // The peer's write half is shut: the client reads EOF; closing it too is fine.
        let mut c = c;
        let mut got = Vec::new();
        c.read_to_end(&mut got).await.unwrap();
        assert!(got.is_empty());
        c.close().await.unwrap();
    });
}
