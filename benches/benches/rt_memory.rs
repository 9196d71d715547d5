//! Memory (issues 14, 19): resident bytes per sleeping task, and the peak RSS of a process
//! holding 1,000,000 sleeping tasks: weft vs tokio vs smol, 2 workers each.
//!
//! Every sample comes from a fresh child process (this binary re-executed with
//! `WEFT_BENCH_CHILD=<workload>:<runtime>:<tasks>`), so no runtime reuses pages another one
//! freed. The child spawns the tasks, each waiting on a one-hour sleep of its runtime's own timer
//! (`weft_timer::sleep`, `tokio::time::sleep`, `async_io::Timer`), waits until every task was
//! polled once, and prints `(RSS after - RSS before) / tasks` or the peak RSS (`VmHWM`) in MiB.
//! Handles are kept (tokio's too, for symmetry). Children run in interleaved rounds. Linux only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft_benches::child::{child_role, peak_rss_bytes, rss_bytes, run_child};
use weft_benches::rounds::Mode;
use weft_benches::runner::Workload;
use weft_benches::{tokio_rt, weft_rt, SmolRt, WORKERS};

const GROUP: &str = "memory";
const HOUR: Duration = Duration::from_secs(3600);

/// Waits until `n` tasks have been polled once (so each sleeps on a registered timer).
fn wait_polled(polled: &AtomicUsize, n: usize) {
    while polled.load(Ordering::Acquire) < n {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Spawns `tasks` sleeping tasks on runtime `rt`; returns (bytes of RSS per task, peak RSS).
fn measure(rt: &str, tasks: usize) -> (f64, usize) {
    let polled = Arc::new(AtomicUsize::new(0));
    let before = rss_bytes();
    let per = |after: usize| after.saturating_sub(before) as f64 / tasks as f64;
    match rt {
        "weft" => {
            let rt = weft_rt();
            let handles: Vec<_> = (0..tasks)
                .map(|_| {
                    let p = polled.clone();
                    rt.spawn(async move {
                        let s = weft_timer::sleep(HOUR);
                        p.fetch_add(1, Ordering::Release);
                        s.await
                    })
                })
                .collect();
            wait_polled(&polled, tasks);
            let r = (per(rss_bytes()), peak_rss_bytes());
            drop(handles);
            r
        }
        "tokio" => {
            let rt = tokio_rt();
            let handles: Vec<_> = (0..tasks)
                .map(|_| {
                    let p = polled.clone();
                    rt.spawn(async move {
                        let s = tokio::time::sleep(HOUR);
                        p.fetch_add(1, Ordering::Release);
                        s.await
                    })
                })
                .collect();
            wait_polled(&polled, tasks);
            let r = (per(rss_bytes()), peak_rss_bytes());
            for t in handles {
                t.abort();
            }
            r
        }
        "smol" => {
            let rt = SmolRt::new(WORKERS);
            let handles: Vec<_> = (0..tasks)
                .map(|_| {
                    let p = polled.clone();
                    rt.spawn(async move {
                        let t = smol::Timer::after(HOUR);
                        p.fetch_add(1, Ordering::Release);
                        t.await;
                    })
                })
                .collect();
            wait_polled(&polled, tasks);
            let r = (per(rss_bytes()), peak_rss_bytes());
            drop(handles);
            r
        }
        other => panic!("unknown runtime {other}"),
    }
}

/// Child mode: `per_task:<rt>:<n>` or `peak:<rt>:<n>`; prints one number.
fn child(role: &str) {
    let parts: Vec<&str> = role.split(':').collect();
    let [what, rt, n] = parts[..] else {
        panic!("bad {role:?}: want <per_task|peak>:<runtime>:<tasks>")
    };
    let n: usize = n.parse().expect("task count");
    let (per_task, peak) = measure(rt, n);
    match what {
        "per_task" => println!("{per_task}"),
        _ => println!("{}", peak as f64 / (1024.0 * 1024.0)),
    }
}

fn main() {
    if let Some(role) = child_role() {
        child(&role);
        return;
    }
    if !cfg!(target_os = "linux") {
        println!("memory: skipped (needs Linux /proc)");
        return;
    }
    let test = Mode::from_env() == Mode::Test;
    for (what, name, unit, tasks, child_ms) in [
        (
            "per_task",
            "bytes_per_sleeping_task",
            "bytes/task",
            100_000,
            500,
        ),
        (
            "peak",
            "peak_rss_1m_sleeping_tasks",
            "MiB",
            1_000_000,
            2_000,
        ),
    ] {
        let tasks = if test { tasks / 100 } else { tasks };
        let mut g = Workload::new(GROUP, name);
        g.unit(unit, false)
            .iters(1)
            .max_rounds(3)
            .no_warm_up()
            .expect_turn(Duration::from_millis(child_ms));
        for rt in ["weft", "tokio", "smol"] {
            g.bench(rt, move |b| {
                match run_child(&format!("{what}:{rt}:{tasks}")) {
                    Ok(v) => b.sample(v),
                    Err(e) => eprintln!("memory/{name}/{rt}: {e}"),
                }
            });
        }
        g.run();
    }
}
