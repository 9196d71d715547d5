//! Duplex values (a socket, a pty, a FIFO opened read+write): a write issued while a read is
//! blocked on the pool must not wait for that read. The peer in these tests answers only after
//! it got our write, so a write queued behind the read deadlocks (caught by the watchdog).
#![cfg(unix)]

mod common;
use common::within;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use futures_lite::future::{block_on, zip};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use weft_blocking::fs::File;
use weft_blocking::Unblock;

/// The peer: reads `rounds` "ping"s, answering each with "pong", and returns what it read.
fn echo_peer(mut peer: UnixStream, rounds: usize) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut ping = [0u8; 4];
        for _ in 0..rounds {
            if peer.read_exact(&mut ping).is_err() {
                break;
            }
            got.extend_from_slice(&ping);
            if peer.write_all(b"pong").is_err() {
                break;
            }
        }
        got
    })
}

/// One read half and one write half of `io`, used at once: the read starts first (and blocks
/// on the pool: the peer has sent nothing), then the write must reach the peer.
fn read_while_writing<S>(io: S, rounds: usize)
where
    S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin,
{
    let (mut r, mut w) = futures_lite::io::split(io);
    block_on(async {
        for _ in 0..rounds {
            let read = async {
                let mut pong = [0u8; 4];
                r.read_exact(&mut pong).await.unwrap();
                pong
            };
            let write = async {
                w.write_all(b"ping").await.unwrap();
                w.flush().await.unwrap();
            };
            let (pong, ()) = zip(read, write).await;
            assert_eq!(&pong, b"pong");
        }
    });
}

#[test]
fn file_over_a_socket_writes_while_a_read_is_blocked() {
    within(
        "fs::File over a UnixStream, read and write at once (a write waited for a blocked read?)",
        || {
            let (ours, peer) = UnixStream::pair().unwrap();
            let peer = echo_peer(peer, 3);
            let file = File::from_std(std::fs::File::from(std::os::fd::OwnedFd::from(ours)));
            read_while_writing(file, 3);
            assert_eq!(peer.join().unwrap(), b"pingpingping");
        },
    );
}

#[test]
fn unblock_duplex_writes_while_a_read_is_blocked() {
    within(
        "Unblock::duplex over a UnixStream, read and write at once",
        || {
            let (ours, peer) = UnixStream::pair().unwrap();
            let peer = echo_peer(peer, 3);
            read_while_writing(Unblock::duplex(ours), 3);
            assert_eq!(peer.join().unwrap(), b"pingpingping");
        },
    );
}

/// A request written without a flush still goes out when a read then waits for the answer
/// (the read starts the write side's drain), and `into_inner` gives the value back.
#[test]
fn unblock_duplex_read_sends_unflushed_request_and_into_inner_unwraps() {
    within("Unblock::duplex: write (no flush), then read", || {
        let (ours, peer) = UnixStream::pair().unwrap();
        let peer = echo_peer(peer, 2);
        let mut s = Unblock::duplex(ours);
        let stream = block_on(async {
            for _ in 0..2 {
                s.write_all(b"ping").await.unwrap();
                let mut pong = [0u8; 4];
                s.read_exact(&mut pong).await.unwrap();
                assert_eq!(&pong, b"pong");
            }
            s.into_inner().await
        });
        let stream = stream
            .into_inner()
            .expect("the write side let go of the stream");
        drop(stream); // the peer sees EOF
        assert_eq!(peer.join().unwrap(), b"pingping");
    });
}

/// The same on a pty opened as a `File` (the master side; the peer is the slave in raw mode).
#[test]
fn file_over_a_pty_writes_while_a_read_is_blocked() {
    let Some((master, slave)) = open_pty() else {
        eprintln!("skipped: no pty available here");
        return;
    };
    within(
        "fs::File over a pty master, read and write at once",
        move || {
            let peer = std::thread::spawn(move || {
                let mut slave = slave;
                let mut ping = [0u8; 4];
                for _ in 0..3 {
                    slave.read_exact(&mut ping).unwrap();
                    slave.write_all(b"pong").unwrap();
                }
            });
            read_while_writing(File::from_std(master), 3);
            peer.join().unwrap();
        },
    );
}

/// A pty pair in raw mode (no echo, no line editing): (master, slave), or `None` if this
/// machine has no ptys.
fn open_pty() -> Option<(std::fs::File, std::fs::File)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: plain libc calls; every return value is checked, and each descriptor is moved
    // into an `OwnedFd` (closed on drop) as soon as it exists.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        if m < 0 {
            return None;
        }
        let master = OwnedFd::from_raw_fd(m);
        if libc::grantpt(m) != 0 || libc::unlockpt(m) != 0 {
            return None;
        }
        let mut name = [0 as libc::c_char; 128];
        if libc::ptsname_r(m, name.as_mut_ptr(), name.len()) != 0 {
            return None;
        }
        let s = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        if s < 0 {
            return None;
        }
        let slave = OwnedFd::from_raw_fd(s);
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(s, &mut t) != 0 {
            return None;
        }
        libc::cfmakeraw(&mut t);
        if libc::tcsetattr(s, libc::TCSANOW, &t) != 0 {
            return None;
        }
        Some((master.into(), slave.into()))
    }
}
