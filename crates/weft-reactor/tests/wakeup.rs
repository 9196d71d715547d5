//! Cross-thread wake-ups, several concurrent `block_on` threads, and the fairness budget.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use weft_reactor::block_on;
use weft_reactor::net::UnixStream;

mod common;

use common::Flag;

#[test]
fn cross_thread_wakeup_is_never_lost() {
    // 10,000 iterations; the helper completes each flag while block_on is polling, about to
    // park, or parked in the reactor. A lost wake-up hangs the test (bounded by the watchdog).
    const N: usize = 10_000;
    let (tx, rx) = mpsc::channel::<Arc<Flag>>();
    let helper = std::thread::spawn(move || {
        let mut i = 0u32;
        for f in rx {
            // Vary the timing a little: sometimes complete at once, sometimes after a spin.
            for _ in 0..(i % 64) {
                std::hint::spin_loop();
            }
            if i % 97 == 0 {
                std::thread::yield_now();
            }
            f.complete();
            i = i.wrapping_add(1);
        }
    });
    let (wd_tx, wd_rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        // Fails the test (instead of hanging CI) if iterations stop progressing.
        loop {
            match wd_rx.recv_timeout(Duration::from_secs(20)) {
                Ok(()) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    eprintln!("lost wake-up: block_on made no progress for 20 s");
                    std::process::abort();
                }
            }
        }
    });
    for i in 0..N {
        let f = Arc::new(Flag::default());
        tx.send(f.clone()).unwrap();
        block_on(f.wait());
        if i % 500 == 0 {
            wd_tx.send(()).unwrap();
        }
    }
    drop(tx);
    drop(wd_tx);
    helper.join().unwrap();
    watchdog.join().unwrap();
}

#[test]
fn many_threads_in_block_on_share_the_reactor() {
    // 4 echo pairs, each side in its own thread's block_on: 8 threads park and hand the reactor
    // over to each other. Every round trip needs I/O driven while others are parked.
    const PAIRS: usize = 4;
    const ROUNDS: usize = 300;
    let mut handles = Vec::new();
    for p in 0..PAIRS {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        handles.push(std::thread::spawn(move || {
            block_on(async {
                let mut buf = [0u8; 4];
                for _ in 0..ROUNDS {
                    a.read_exact(&mut buf).await.unwrap();
                    a.write_all(&buf).await.unwrap();
                }
            })
        }));
        handles.push(std::thread::spawn(move || {
            block_on(async {
                for r in 0..ROUNDS {
                    let msg = ((p * ROUNDS + r) as u32).to_le_bytes();
                    b.write_all(&msg).await.unwrap();
                    let mut buf = [0u8; 4];
                    b.read_exact(&mut buf).await.unwrap();
                    assert_eq!(buf, msg);
                }
            })
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn nested_block_on_works() {
    let v = block_on(async { block_on(async { 7 }) + 1 });
    assert_eq!(v, 8);
}

#[test]
fn async_used_without_block_on_is_driven_by_the_fallback_thread() {
    // futures-lite's block_on knows nothing about the reactor: the "weft-reactor" thread must
    // drive the socket.
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let t = std::thread::spawn(move || {
        futures_lite::future::block_on(async {
            let mut buf = [0u8; 3];
            b.read_exact(&mut buf).await.unwrap();
            buf
        })
    });
    futures_lite::future::block_on(async {
        a.write_all(b"xyz").await.unwrap();
    });
    assert_eq!(&t.join().unwrap(), b"xyz");
}

#[test]
fn busy_future_cannot_starve_io() {
    // A future that always wakes itself must still see socket readiness (block_on polls I/O
    // every IO_POLL_BUDGET self-wakes; the fallback thread may also harvest it). Bounded: fails
    // if it spins too long. The timer variant in tests/timers.rs isolates the budget rule.
    let (a, mut b) = UnixStream::pair().unwrap();
    let polls = AtomicUsize::new(0);
    let sender = std::thread::spawn(move || {
        futures_lite::future::block_on(async { b.write_all(b"!").await.unwrap() });
    });
    block_on(async {
        let mut readable = std::pin::pin!(a.as_async().readable());
        futures_lite::future::poll_fn(|cx| {
            let n = polls.fetch_add(1, Ordering::Relaxed);
            assert!(n < 50_000_000, "I/O starved by a busy future");
            if readable.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await
    });
    sender.join().unwrap();
}
