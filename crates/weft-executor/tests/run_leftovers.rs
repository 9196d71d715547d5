//! `run`'s end, like `asyncio.run`: tasks still alive when the main future finishes are
//! cancelled **and joined** (their drop path runs, so `with_resource` cleanups inside them run)
//! before `run` waits for shielded work, which still completes (issue 14).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use weft_sync::Event;

/// A cleanup that really awaits (so it only finishes if something polls it after the scope
/// was cancelled) and then records that it ran.
async fn recording_cleanup(flag: Arc<AtomicBool>) -> std::io::Result<()> {
    weft_executor::yield_now().await;
    flag.store(true, SeqCst);
    Ok(())
}

/// Spawns a detached task that enters `with_resource` and waits forever in its body; returns
/// once the body has started.
async fn leftover_in_scope(cleaned: Arc<AtomicBool>) {
    let started = Arc::new(Event::new());
    let s = started.clone();
    weft_executor::spawn(async move {
        let _ = weft_executor::with_resource(
            async { Ok::<_, std::io::Error>(()) },
            async |_r| {
                s.set();
                std::future::pending::<std::io::Result<()>>().await
            },
            move |_r| recording_cleanup(cleaned),
        )
        .await;
    })
    .detach();
    started.wait().await;
}

#[test]
fn run_cancels_and_joins_leftover_tasks_so_their_cleanup_runs() {
    let _dog = common::watchdog(60);
    let cleaned = Arc::new(AtomicBool::new(false));
    let shielded = Arc::new(AtomicBool::new(false));
    let (c, s) = (cleaned.clone(), shielded.clone());
    weft_executor::run(async move {
        leftover_in_scope(c).await;
        // Shielded work still running when the main future returns.
        drop(weft_executor::shield(async move {
            for _ in 0..10 {
                weft_executor::yield_now().await;
            }
            s.store(true, SeqCst);
        }));
    });
    assert!(
        cleaned.load(SeqCst),
        "the cleanup of a leftover task's with_resource never ran: run cancelled it at \
         shutdown, when its shielded cleanup could no longer run"
    );
    assert!(shielded.load(SeqCst), "run did not wait for shielded work");
}

/// Many leftovers, some never polled (queued when the main future returns), some waiting, on
/// several workers: each one's drop runs exactly once and every waiting one's cleanup runs.
#[test]
fn run_joins_every_leftover_waiting_or_queued() {
    let _dog = common::watchdog(60);
    let cleaned: Vec<_> = (0..8).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let dropped = Arc::new(AtomicUsize::new(0));
    let flags = cleaned.clone();
    let d = dropped.clone();
    weft_executor::run(async move {
        for f in flags {
            leftover_in_scope(f).await;
        }
        struct CountDrop(Arc<AtomicUsize>);
        impl Drop for CountDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        for _ in 0..100 {
            let guard = CountDrop(d.clone());
            weft_executor::spawn(async move {
                let _g = guard;
                std::future::pending::<()>().await
            })
            .detach();
        }
    });
    assert_eq!(
        dropped.load(SeqCst),
        100,
        "every leftover's future was dropped"
    );
    for (i, c) in cleaned.iter().enumerate() {
        assert!(
            c.load(SeqCst),
            "leftover {i}'s with_resource cleanup never ran"
        );
    }
}

/// As in asyncio, shielded work that awaits a leftover task sees it cancelled (the leftovers go
/// first), and `run` still returns.
#[test]
fn shielded_work_awaiting_a_leftover_sees_it_cancelled() {
    let _dog = common::watchdog(60);
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s = seen.clone();
    weft_executor::run(async move {
        let leftover = weft_executor::spawn(std::future::pending::<()>());
        let started = Arc::new(Event::new());
        let st = started.clone();
        drop(weft_executor::shield(async move {
            st.set();
            let r = leftover.await;
            *s.lock().unwrap() = Some(r.map_err(|e| e.is_cancelled()));
        }));
        started.wait().await;
    });
    assert_eq!(
        *seen.lock().unwrap(),
        Some(Err(true)),
        "JoinError::Cancelled"
    );
}

/// Debug mode names the leftovers before `run` cancels them (child process: `WEFT_DEBUG` is
/// read when the runtime starts).
#[test]
fn debug_mode_lists_the_leftovers_run_cancels() {
    const CHILD: &str = "WEFT_RUN_LEFTOVERS_CHILD";
    if std::env::var_os(CHILD).is_some() {
        weft_executor::run(async {
            let started = Arc::new(Event::new());
            let s = started.clone();
            weft_executor::task::Builder::new()
                .name("the-leftover")
                .spawn(async move {
                    s.set();
                    std::future::pending::<()>().await
                })
                .detach();
            started.wait().await;
        });
        return;
    }
    let out = common::run_as_child_with(
        "debug_mode_lists_the_leftovers_run_cancels",
        CHILD,
        &[("WEFT_DEBUG", "1")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let listed = stderr
        .lines()
        .skip_while(|l| !l.contains("still alive"))
        .any(|l| l.contains("\"the-leftover\""));
    assert!(listed, "the leftover was not named: {stderr}");
}

/// A leftover `spawn_local` task (on `run`'s own thread) is cancelled when the main future
/// returns, and the cleanup of its `with_resource` scope still runs.
#[test]
fn a_leftover_local_task_gets_its_cleanup_too() {
    let _dog = common::watchdog(60);
    let cleaned = Arc::new(AtomicBool::new(false));
    let c = cleaned.clone();
    weft_executor::run(async move {
        let started = Arc::new(Event::new());
        let s = started.clone();
        weft_executor::spawn_local(async move {
            let _ = weft_executor::with_resource(
                async { Ok::<_, std::io::Error>(()) },
                async |_r| {
                    s.set();
                    std::future::pending::<std::io::Result<()>>().await
                },
                move |_r| recording_cleanup(c),
            )
            .await;
        })
        .detach();
        started.wait().await;
    });
    assert!(
        cleaned.load(SeqCst),
        "the local leftover's cleanup never ran"
    );
}

/// `Runtime::shutdown_timeout` ends like `run`: the tasks left over are cancelled and joined
/// before it waits for shielded work, so a `with_resource` cleanup inside a leftover still runs
/// (it used to wait for shielded work first, then cancel the leftovers when no cleanup could
/// run any more), and the shielded work started before the call finishes too.
#[test]
fn shutdown_timeout_cancels_and_joins_leftovers_before_waiting_for_shielded_work() {
    let _dog = common::watchdog(60);
    let rt = weft_executor::Runtime::builder()
        .worker_threads(2)
        .build()
        .unwrap();
    let cleaned: Vec<_> = (0..4).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let shielded = Arc::new(AtomicBool::new(false));
    let (flags, s) = (cleaned.clone(), shielded.clone());
    rt.block_on(async move {
        for f in flags {
            leftover_in_scope(f).await;
        }
        drop(weft_executor::shield(async move {
            for _ in 0..10 {
                weft_executor::yield_now().await;
            }
            s.store(true, SeqCst);
        }));
    });
    assert!(
        rt.shutdown_timeout(std::time::Duration::from_secs(30)),
        "shutdown_timeout did not finish in time"
    );
    for (i, c) in cleaned.iter().enumerate() {
        assert!(
            c.load(SeqCst),
            "leftover {i}'s with_resource cleanup never ran: shutdown_timeout cancelled it when \
             its shielded cleanup could no longer run"
        );
    }
    assert!(
        shielded.load(SeqCst),
        "shutdown_timeout did not wait for shielded work"
    );
}
