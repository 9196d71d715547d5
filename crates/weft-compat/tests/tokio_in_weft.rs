//! tokio-needing futures and tokio sockets used from weft through `weft_compat::tokio`.

mod common;

use std::time::{Duration, Instant};

use common::run;
use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use weft_compat::tokio::{CompatExt, FuturesToTokio, TokioToFutures};

#[test]
fn tokio_sleep_and_spawn_work_inside_weft_run() {
    let (slept, spawned_on) = run(async {
        let start = Instant::now();
        async { tokio::time::sleep(Duration::from_millis(20)).await }
            .compat()
            .await;
        let slept = start.elapsed();
        let spawned_on = async {
            tokio::spawn(async { std::thread::current().name().map(str::to_owned) })
                .await
                .unwrap()
        }
        .compat()
        .await;
        (slept, spawned_on)
    });
    assert!(
        slept >= Duration::from_millis(20),
        "tokio sleep ended early: {slept:?}"
    );
    assert_eq!(spawned_on.as_deref(), Some("weft-compat-tokio"));
}

#[test]
fn a_pending_compat_future_can_be_dropped_outside_tokio() {
    run(async {
        let mut f =
            Box::pin(async { tokio::time::sleep(Duration::from_secs(3600)).await }.compat());
        assert!(futures_lite::future::poll_once(&mut f).await.is_none());
        drop(f); // drops the tokio Sleep inside the tokio context
    });
}

#[test]
fn inside_a_tokio_runtime_compat_uses_that_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let name = rt.block_on(
        async { tokio::spawn(async { std::thread::current().name().map(str::to_owned) }).await }
            .compat(),
    );
    // Spawned on the outer current-thread runtime, i.e. the test thread, not weft-compat-tokio.
    assert_ne!(name.unwrap().as_deref(), Some("weft-compat-tokio"));
}

#[test]
fn tokio_tcp_stream_through_tokio_to_futures_talks_to_a_weft_stream() {
    run(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .compat()
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        // Server: a tokio socket, used with futures-io helpers (futures_lite::io::copy).
        let server = weft_executor::spawn(async move {
            let (stream, _) = listener.accept().compat().await.unwrap();
            let (r, mut w) = futures_lite::io::split(TokioToFutures::new(stream));
            futures_lite::io::copy(r, &mut w).await.unwrap();
            w.close().await.unwrap();
        });
        // Client: weft's own TcpStream.
        let c = weft_reactor::net::TcpStream::connect(addr).await.unwrap();
        let (mut r, mut w) = c.into_split();
        let msg: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let writer = {
            let msg = msg.clone();
            weft_executor::spawn(async move {
                w.write_all(&msg).await.unwrap();
                w.close().await.unwrap();
            })
        };
        let mut back = Vec::new();
        r.read_to_end(&mut back).await.unwrap();
        writer.await.unwrap();
        server.await.unwrap();
        assert_eq!(back, msg);
    });
}

#[test]
fn weft_tcp_stream_through_futures_to_tokio_talks_to_a_tokio_stream() {
    run(async {
        let listener = weft_reactor::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Server: weft's socket used through tokio's AsyncReadExt/AsyncWriteExt.
        let server = weft_executor::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut s = FuturesToTokio::new(stream);
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf.map(|b| b.to_ascii_uppercase()))
                .await
                .unwrap();
            s.shutdown().await.unwrap();
        });
        // Client: a real tokio TcpStream.
        let got = async move {
            let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
            c.write_all(b"hello").await.unwrap();
            let mut out = Vec::new();
            c.read_to_end(&mut out).await.unwrap();
            out
        }
        .compat()
        .await;
        server.await.unwrap();
        assert_eq!(got, b"HELLO");
    });
}

#[test]
fn buffered_readers_pass_through_both_ways() {
    run(async {
        use futures_lite::AsyncBufReadExt as _;
        use tokio::io::AsyncBufReadExt as _;
        let tokio_reader = tokio::io::BufReader::new(&b"one\ntwo\n"[..]);
        let mut lines = TokioToFutures::new(tokio_reader).lines();
        use futures_lite::StreamExt as _;
        assert_eq!(lines.next().await.unwrap().unwrap(), "one");

        let fut_reader = futures_lite::io::BufReader::new(&b"three\nfour\n"[..]);
        let mut l = FuturesToTokio::new(fut_reader).lines();
        assert_eq!(l.next_line().await.unwrap().as_deref(), Some("three"));
    });
}

#[test]
fn futures_to_tokio_rejects_a_reader_claiming_more_than_its_buffer() {
    struct Liar;
    impl futures_io::AsyncRead for Liar {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::task::Poll::Ready(Ok(buf.len() + 1))
        }
    }
    let err = run(async {
        let mut buf = [0u8; 8];
        FuturesToTokio::new(Liar).read(&mut buf).await.unwrap_err()
    });
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("broken reader"), "{err}");
}
