//! Bytes of resident memory per sleeping task (issue 14): weft vs tokio vs smol, 2 workers each.
//!
//! Each runtime is measured in its own child process (a fresh allocator, no memory reused from
//! another runtime): RSS (`/proc/self/statm`) before and after spawning [`TASKS`] tasks that
//! each wait on a one-hour sleep of their runtime's own timer (`weft_timer::sleep`,
//! `tokio::time::sleep`, `async_io::Timer`), once every task has been polled once. The handle
//! of every task is kept (tokio's is detached-on-drop, so it is kept too, for symmetry).
//! Linux only. Run: `cargo bench -p weft-benches --bench rt_memory`.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft_benches::{tokio_rt, weft_rt, SmolRt, WORKERS};

const TASKS: usize = 100_000;
const HOUR: Duration = Duration::from_secs(3600);

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc/self/statm");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Waits until `n` tasks have been polled once (so each sleeps on a registered timer).
fn wait_polled(polled: &AtomicUsize, n: usize) {
    while polled.load(Ordering::Acquire) < n {
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn measure(rt: &str) -> f64 {
    let polled = Arc::new(AtomicUsize::new(0));
    match rt {
        "weft" => {
            let rt = weft_rt();
            let before = rss_bytes();
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let p = polled.clone();
                    rt.spawn(async move {
                        let s = weft_timer::sleep(HOUR);
                        p.fetch_add(1, Ordering::Release);
                        s.await
                    })
                })
                .collect();
            wait_polled(&polled, TASKS);
            let per = (rss_bytes() - before) as f64 / TASKS as f64;
            drop(tasks);
            per
        }
        "tokio" => {
            let rt = tokio_rt();
            let before = rss_bytes();
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let p = polled.clone();
                    rt.spawn(async move {
                        let s = tokio::time::sleep(HOUR);
                        p.fetch_add(1, Ordering::Release);
                        s.await
                    })
                })
                .collect();
            wait_polled(&polled, TASKS);
            let per = (rss_bytes() - before) as f64 / TASKS as f64;
            for t in tasks {
                t.abort();
            }
            per
        }
        "smol" => {
            let rt = SmolRt::new(WORKERS);
            let before = rss_bytes();
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let p = polled.clone();
                    rt.spawn(async move {
                        let t = smol::Timer::after(HOUR);
                        p.fetch_add(1, Ordering::Release);
                        t.await;
                    })
                })
                .collect();
            wait_polled(&polled, TASKS);
            let per = (rss_bytes() - before) as f64 / TASKS as f64;
            drop(tasks);
            per
        }
        other => panic!("unknown runtime {other}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        println!("{}", measure(&args[pos + 1]));
        return;
    }
    let exe = std::env::current_exe().unwrap();
    println!("bytes of RSS per sleeping task ({TASKS} tasks, {WORKERS} workers, median of 3):");
    for rt in ["weft", "smol", "tokio"] {
        let mut runs: Vec<f64> = (0..3)
            .map(|_| {
                let out = Command::new(&exe).args(["--child", rt]).output().unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
            })
            .collect();
        runs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!("  {rt:6} {:7.1}", runs[1]);
    }
}
