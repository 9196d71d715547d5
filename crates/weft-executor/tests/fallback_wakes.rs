//! Issue 13 (driver): while executor workers drive the reactor, the fallback thread
//! "weft-reactor" sleeps. It used to wake on a back-off timer (50 µs doubling to 10 ms, ~100
//! wake-ups per second) to check whether anyone had polled the reactor, even with workers
//! serving I/O all along. One test in its own binary, so no other test's `block_on` threads
//! change what the fallback thread sees.
//!
//! No time threshold: each phase lasts at least 200 ms by construction (200 sequential 1 ms
//! sleeps, which never fire early; load only makes them longer), during which the old back-off
//! woke the thread twenty times or more; the new one sleeps without a timeout.

mod common;

use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use weft_reactor::net::{TcpListener, TcpStream};

/// Wake-ups the fallback thread may still make after the warm-up: the one wait it may be in
/// when the count is read (it returns when a worker asks for the reactor), and one spare.
const SLACK: usize = 2;

async fn sleeps(n: usize) {
    for _ in 0..n {
        weft_timer::sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn the_fallback_thread_sleeps_while_workers_drive() {
    common::within(120, || {
        let rt = common::multi(2);
        rt.block_on(async {
            // Warm-up: both kinds of work once, so the workers have driven the reactor and the
            // fallback thread gave it back.
            rt.spawn(sleeps(20)).await.unwrap();

            // Idle runtime: one task sleeps; the workers have nothing else to do.
            let before = weft_reactor::__fallback_wakes();
            rt.spawn(sleeps(200)).await.unwrap();
            let idle = weft_reactor::__fallback_wakes() - before;

            // Busy runtime: four echo connections make round trips on the workers while a
            // task sleeps; the phase ends when the sleeper is done.
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = rt.spawn(async move {
                let mut conns = Vec::new();
                for _ in 0..4 {
                    let (mut s, _) = listener.accept().await.unwrap();
                    conns.push(weft_executor::spawn(async move {
                        let mut buf = [0u8; 64];
                        loop {
                            match s.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => s.write_all(&buf[..n]).await.unwrap(),
                            }
                        }
                    }));
                }
                for c in conns {
                    c.await.unwrap();
                }
            });
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let mut clients = Vec::new();
            for _ in 0..4 {
                let stop = stop.clone();
                clients.push(rt.spawn(async move {
                    let mut c = TcpStream::connect(addr).await.unwrap();
                    let mut buf = [7u8; 64];
                    let mut trips = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        c.write_all(&buf).await.unwrap();
                        c.read_exact(&mut buf).await.unwrap();
                        trips += 1;
                    }
                    trips
                }));
            }
            let before = weft_reactor::__fallback_wakes();
            rt.spawn(sleeps(200)).await.unwrap();
            let busy = weft_reactor::__fallback_wakes() - before;
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            let mut trips = 0;
            for c in clients {
                trips += c.await.unwrap();
            }
            server.await.unwrap();
            assert!(trips > 0, "no echo round trip ran");
            assert!(
                idle <= SLACK,
                "the fallback thread woke {idle} times while idle workers drove the reactor"
            );
            assert!(
                busy <= SLACK,
                "the fallback thread woke {busy} times during {trips} round trips on the workers"
            );
        });
    });
}
