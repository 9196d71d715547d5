//! `Unblock<T>`: blocking Read/Write/Seek/Iterator as async I/O and streams.

mod common;
use common::within;

use std::io::{self, Cursor, Read, SeekFrom};
use std::sync::mpsc;
use std::task::Context;
use std::time::Duration;

use futures_lite::future::block_on;
use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, StreamExt};
use weft_blocking::Unblock;

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn read_matches_source() {
    let src = data(100_000);
    let mut r = Unblock::new(Cursor::new(src.clone()));
    let mut out = Vec::new();
    block_on(r.read_to_end(&mut out)).unwrap();
    assert_eq!(out, src);
}

#[test]
fn small_capacity_read_and_lines() {
    let text = "alpha\nbeta\ngamma\n".repeat(50);
    let r = Unblock::with_capacity(7, Cursor::new(text.clone().into_bytes()));
    let lines: Vec<String> = block_on(r.lines().map(|l| l.unwrap()).collect());
    let expected: Vec<String> = text.lines().map(String::from).collect();
    assert_eq!(lines, expected);
}

#[test]
fn write_then_into_inner() {
    let src = data(50_000);
    let mut w = Unblock::new(Vec::new());
    block_on(async {
        w.write_all(&src).await.unwrap();
        w.flush().await.unwrap();
    });
    assert_eq!(block_on(w.into_inner()), src);
}

#[test]
fn into_inner_writes_unflushed_bytes() {
    let mut w = Unblock::new(Vec::new());
    block_on(w.write_all(b"abc")).unwrap();
    assert_eq!(block_on(w.into_inner()), b"abc");
}

#[test]
fn seek_is_logical_despite_read_ahead() {
    let src = data(30_000);
    let mut c = Unblock::new(Cursor::new(src.clone()));
    block_on(async {
        let mut buf = [0u8; 10];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, &src[..10]);
        // The inner cursor is 8 KiB ahead; the logical position is 10.
        assert_eq!(c.seek(SeekFrom::Current(0)).await.unwrap(), 10);
        assert_eq!(c.seek(SeekFrom::Current(5)).await.unwrap(), 15);
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, &src[15..25]);
        assert_eq!(c.seek(SeekFrom::End(-10)).await.unwrap(), 29_990);
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, &src[29_990..]);
        assert_eq!(c.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn iterator_stream_in_order_beyond_capacity() {
    let s = Unblock::with_capacity(100, 0..20_000u32);
    let v: Vec<u32> = block_on(s.collect());
    assert_eq!(v, (0..20_000).collect::<Vec<_>>());
}

#[test]
fn dropping_a_stream_midway_does_not_hang() {
    let mut s = Unblock::with_capacity(4, 0..u64::MAX);
    let first: Vec<u64> = block_on((&mut s).take(10).collect());
    assert_eq!(first, (0..10).collect::<Vec<_>>());
    drop(s); // the pump is blocked on a full queue; closing it must let the job end
             // The pool still serves jobs (the pump thread was released).
    assert_eq!(block_on(weft_blocking::unblock(|| 1)), 1);
}

/// A reader that blocks until it is given bytes through a channel.
struct Gated(mpsc::Receiver<Vec<u8>>);

impl Read for Gated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.recv_timeout(Duration::from_secs(10)) {
            Ok(v) => {
                buf[..v.len()].copy_from_slice(&v);
                Ok(v.len())
            }
            Err(_) => Ok(0),
        }
    }
}

#[test]
fn dropped_read_future_loses_no_bytes() {
    let (tx, rx) = mpsc::channel();
    let mut r = Unblock::new(Gated(rx));
    {
        let mut buf = [0u8; 4];
        let mut fut = r.read(&mut buf);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(std::pin::Pin::new(&mut fut).poll(&mut cx).is_pending());
        // fut dropped here while the read is in flight
    }
    tx.send(b"data".to_vec()).unwrap();
    let mut buf = [0u8; 4];
    block_on(r.read_exact(&mut buf)).unwrap();
    assert_eq!(&buf, b"data");
}

use std::future::Future;

#[test]
fn with_mut_and_get_mut() {
    let mut w = Unblock::new(Vec::<u8>::new());
    block_on(async {
        w.write_all(b"xy").await.unwrap();
        let len = w.with_mut(|v| v.len()).await; // flushed first
        assert_eq!(len, 2);
        w.get_mut().await.push(b'z');
    });
    assert_eq!(block_on(w.into_inner()), b"xyz");
}

#[test]
fn debug_and_stdio_constructors() {
    let u = Unblock::new(Cursor::new(vec![1u8]));
    assert!(format!("{u:?}").contains("idle"));
    let _ = weft_blocking::stdout();
    let _ = weft_blocking::stderr();
    let _ = weft_blocking::stdin();
}

#[test]
fn dropped_seek_then_write_keeps_positions_logical() {
    let mut c = Unblock::new(Cursor::new(vec![0u8; 100]));
    {
        let mut fut = c.seek(SeekFrom::Start(50));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        // Usually pending (the seek runs on the pool); dropped either way.
        let _ = std::pin::Pin::new(&mut fut).poll(&mut cx);
    }
    block_on(async {
        c.write_all(b"zz").await.unwrap();
        assert_eq!(c.seek(SeekFrom::Start(50)).await.unwrap(), 50);
        let mut two = [0u8; 2];
        c.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"zz");
    });
}

/// A duplex stream (a Unix socket pair): input read ahead into the buffer must survive a write
/// (the plain `Unblock` used to drop it when switching from reading to writing), and writes and
/// reads interleave like on the socket itself.
#[cfg(unix)]
#[test]
fn duplex_stream_keeps_read_ahead_across_writes() {
    use std::io::Write as _;
    use std::os::unix::net::UnixStream;

    within("duplex Unblock over a UnixStream pair", || {
        let (ours, mut peer) = UnixStream::pair().unwrap();
        // The peer answers each "ping" with "pong"; it sends a greeting in one piece first.
        let peer_thread = std::thread::spawn(move || {
            peer.write_all(b"hello world").unwrap();
            let mut got = Vec::new();
            let mut ping = [0u8; 4];
            for _ in 0..3 {
                peer.read_exact(&mut ping).unwrap();
                got.extend_from_slice(&ping);
                peer.write_all(b"pong").unwrap();
            }
            got
        });
        let mut s = Unblock::new(ours);
        block_on(async {
            let mut five = [0u8; 5];
            s.read_exact(&mut five).await.unwrap();
            assert_eq!(&five, b"hello");
            // The first fill read the whole greeting: " world" is buffered, not yet read.
            for round in 0..3 {
                s.write_all(b"ping").await.unwrap();
                s.flush().await.unwrap();
                if round == 0 {
                    let mut rest = [0u8; 6];
                    s.read_exact(&mut rest).await.unwrap();
                    assert_eq!(&rest, b" world", "read-ahead dropped by a write");
                }
                let mut pong = [0u8; 4];
                s.read_exact(&mut pong).await.unwrap();
                assert_eq!(&pong, b"pong");
            }
        });
        assert_eq!(peer_thread.join().unwrap(), b"pingpingping");
    });
}
