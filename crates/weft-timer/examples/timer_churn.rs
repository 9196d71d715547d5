//! Timer churn: 200,000 sleeps registered (polled once) then dropped, on 1 and on 2 threads
//! sharing the global timers. Prints the time per sleep. `cargo run --release --example
//! timer_churn -p weft-timer`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

fn churn(n: usize) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut sleeps: Vec<_> = (0..n)
        .map(|i| {
            Box::pin(weft_timer::sleep(Duration::from_millis(
                1000 + i as u64 % 5000,
            )))
        })
        .collect();
    for s in &mut sleeps {
        assert!(s.as_mut().poll(&mut cx).is_pending());
    }
    drop(sleeps);
    let mut one = pin!(weft_timer::sleep(Duration::from_secs(1)));
    let _ = one.as_mut().poll(&mut cx);
}

fn main() {
    const N: usize = 200_000;
    for threads in [1usize, 2] {
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            let hs: Vec<_> = (0..threads)
                .map(|_| std::thread::spawn(|| churn(N)))
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            best = best.min(start.elapsed());
        }
        println!(
            "{threads} thread(s) x {N} sleeps registered+dropped: best {best:?} ({:.1} ns per sleep)",
            best.as_nanos() as f64 / (threads * N) as f64
        );
    }
}
