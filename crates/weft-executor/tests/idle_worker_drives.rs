//! Issue 13 (driver): an idle worker drives I/O while the other worker is stuck in a long poll.
//! Idle workers queue for the reactor's hand-off whoever holds the lock, so the one that is
//! free takes the reactor over when the driving worker goes back to running tasks; the
//! fallback thread no longer polls on a timer to cover for it (`tests/fallback_wakes.rs`).
//! One test in its own binary; bounded by the runtime's watchdog.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_lite::AsyncReadExt;
use weft_reactor::net::TcpListener;

#[test]
fn an_idle_worker_serves_io_while_the_other_is_stuck_in_a_poll() {
    let rt = common::multi(2);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut peer = std::net::TcpStream::connect(addr).unwrap();
    let (mut conn, _) = rt.block_on(listener.accept()).unwrap();

    let got = Arc::new(AtomicBool::new(false));
    // The reader: its wake-up can only come from whoever drives the reactor.
    let g = got.clone();
    let reader = rt.spawn(async move {
        let mut buf = [0u8; 1];
        conn.read_exact(&mut buf).await.unwrap();
        g.store(true, Ordering::SeqCst);
        buf[0]
    });
    // The stuck task: blocks its worker (never yields) until the reader has run.
    let g = got.clone();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let stuck = rt.spawn(async move {
        started_tx.send(()).unwrap();
        while !g.load(Ordering::SeqCst) {
            std::hint::spin_loop();
            std::thread::yield_now();
        }
    });
    started_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("watchdog: the stuck task never started");
    // One worker now spins; the byte must reach the reader through the other one.
    peer.write_all(b"!").unwrap();
    let (byte, ()) = rt.block_on(async { (reader.await.unwrap(), stuck.await.unwrap()) });
    assert_eq!(byte, b'!');
}
