//! tokio's `ping_pong` shape as a stress test for lost wake-ups across the executor and the
//! lock-free oneshot: 1,000 pairs of tasks exchange two oneshots, many rounds, LIFO slot on and
//! off. A lost wake-up hangs; a watchdog turns a hang into a failure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use weft::sync::channel::oneshot;

fn ping_pong_rounds(lifo: bool, rounds: usize) {
    let rt = weft::Runtime::builder()
        .worker_threads(2)
        .lifo_slot(lifo)
        .build()
        .unwrap();
    for _ in 0..rounds {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        let rem = Arc::new(AtomicUsize::new(1_000));
        rt.spawn(async move {
            for _ in 0..1_000 {
                let rem = rem.clone();
                let done_tx = done_tx.clone();
                weft::spawn(async move {
                    let (tx1, rx1) = oneshot::channel();
                    let (tx2, rx2) = oneshot::channel();
                    weft::spawn(async move {
                        rx1.await.unwrap();
                        tx2.send(()).unwrap();
                    })
                    .detach();
                    tx1.send(()).unwrap();
                    rx2.await.unwrap();
                    if rem.fetch_sub(1, Ordering::Relaxed) == 1 {
                        done_tx.send(()).unwrap();
                    }
                })
                .detach();
            }
        })
        .detach();
        done_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("ping_pong round hung: a wake-up was lost");
    }
}

#[test]
fn ping_pong_without_lifo_slot() {
    ping_pong_rounds(false, 50);
}

#[test]
fn ping_pong_with_lifo_slot() {
    ping_pong_rounds(true, 50);
}
