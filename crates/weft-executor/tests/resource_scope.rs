//! `with_resource` / `using` (issue 21): the async cleanup runs exactly once after success,
//! error, panic, a timeout, a dropped `Task` and a `TaskGroup` cancelling the child; `run` and
//! `shutdown_timeout` wait for a cancelled scope's cleanup; a panicking cleanup reaches the
//! unhandled-error hook. Each case runs on the multi-threaded runtime and on `LocalRuntime`.

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weft_executor::{with_resource, JoinError, LocalRuntime, ResourceScope, Runtime, TaskGroup};
use weft_sync::Event;
use weft_timer::{sleep, timeout};

/// Generous bound for waits that must end (a lost cleanup fails instead of hanging); scaled
/// under valgrind like the watchdogs.
fn bound() -> Duration {
    Duration::from_secs(30 * common::time_scale())
}

/// What a test observes about its resource.
#[derive(Clone, Default)]
struct Probe {
    closes: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
    /// Set when the body started (it holds the resource).
    entered: Arc<Event>,
    /// Set when the cleanup finished.
    closed: Arc<Event>,
}

impl Probe {
    fn res(&self) -> Res {
        Res(self.clone())
    }
    fn closes(&self) -> usize {
        self.closes.load(SeqCst)
    }
    async fn wait_closed(&self) {
        timeout(bound(), self.closed.wait())
            .await
            .expect("the cleanup never finished");
    }
}

/// The resource: counts its async closes and its drops.
struct Res(Probe);

impl Drop for Res {
    fn drop(&mut self) {
        self.0.drops.fetch_add(1, SeqCst);
    }
}

/// An async cleanup that really awaits before it counts.
async fn close(r: Res) -> Result<(), String> {
    sleep(Duration::from_millis(2)).await;
    r.0.closes.fetch_add(1, SeqCst);
    r.0.closed.set();
    Ok(())
}

/// A scope whose body signals `entered` and then never finishes (until cancelled).
fn stuck_scope(p: &Probe) -> impl Future<Output = Result<(), String>> + Send + 'static {
    let res = p.res();
    with_resource(
        async move { Ok(res) },
        async |r: &mut Res| {
            r.0.entered.set();
            std::future::pending::<Result<(), String>>().await
        },
        close,
    )
}

/// Runs `case` on a 2-worker runtime and on a `LocalRuntime`, each under a watchdog.
fn on_both<F, Fut>(case: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let rt = common::multi(2);
    rt.block_on(case());
    drop(rt);
    let _dog = common::watchdog(60);
    common::local().block_on(case());
}

#[test]
fn success_cleans_up_once_before_returning() {
    on_both(|| async {
        let p = Probe::default();
        let res = p.res();
        let out = with_resource(async move { Ok(res) }, async |_r| Ok(7), close).await;
        assert_eq!(out, Ok(7));
        assert_eq!(
            p.closes(),
            1,
            "the cleanup is awaited before the result returns"
        );
        assert_eq!(p.drops.load(SeqCst), 1);
    });
}

#[test]
fn body_error_cleans_up_once_and_keeps_the_error() {
    on_both(|| async {
        let p = Probe::default();
        let res = p.res();
        let out: Result<(), String> =
            with_resource(async move { Ok(res) }, async |_r| Err("boom".into()), close).await;
        assert_eq!(out, Err("boom".to_string()));
        assert_eq!(p.closes(), 1);
    });
}

#[test]
fn a_failing_cleanup_becomes_the_error_when_the_body_succeeded() {
    on_both(|| async {
        let out: Result<u8, String> = with_resource(
            async { Ok(()) },
            async |_r| Ok(1),
            |_r| async { Err("flush failed".to_string()) },
        )
        .await;
        assert_eq!(out, Err("flush failed".to_string()));
    });
}

#[test]
fn setup_error_runs_neither_body_nor_cleanup() {
    on_both(|| async {
        let p = Probe::default();
        let out: Result<(), String> = with_resource(
            async { Err::<Res, _>("no connection".to_string()) },
            async |_r| panic!("the body must not run"),
            close,
        )
        .await;
        assert_eq!(out, Err("no connection".to_string()));
        assert_eq!(p.closes(), 0);
    });
}

#[test]
fn body_panic_cleans_up_once_then_resumes_the_panic() {
    on_both(|| async {
        let p = Probe::default();
        let res = p.res();
        let t = weft_executor::spawn(async move {
            with_resource(
                async move { Ok(res) },
                async |_r| -> Result<(), String> { panic!("body panics") },
                close,
            )
            .await
        });
        match t.await {
            Err(JoinError::Panicked(p)) => {
                assert_eq!(p.downcast_ref::<&str>(), Some(&"body panics"))
            }
            other => panic!("expected the body's panic, got {other:?}"),
        }
        assert_eq!(p.closes(), 1, "the cleanup ran before the panic resumed");
    });
}

#[test]
fn a_timeout_that_cancels_the_body_still_cleans_up_once() {
    on_both(|| async {
        let p = Probe::default();
        let r = timeout(Duration::from_millis(1), stuck_scope(&p)).await;
        assert!(r.is_err(), "the body never finishes, so the timeout fires");
        p.wait_closed().await;
        let report = weft_executor::wait_shielded(bound()).await;
        assert!(report.is_clean(), "{report}");
        assert_eq!(p.closes(), 1);
        assert_eq!(p.drops.load(SeqCst), 1);
    });
}

#[test]
fn a_dropped_task_still_cleans_up_once() {
    on_both(|| async {
        let p = Probe::default();
        let task = weft_executor::spawn(stuck_scope(&p));
        timeout(bound(), p.entered.wait()).await.unwrap();
        drop(task);
        p.wait_closed().await;
        assert!(weft_executor::wait_shielded(bound()).await.is_clean());
        assert_eq!(p.closes(), 1);
    });
}

#[test]
fn a_cancelled_task_still_cleans_up_once() {
    on_both(|| async {
        let p = Probe::default();
        let task = weft_executor::spawn(stuck_scope(&p));
        timeout(bound(), p.entered.wait()).await.unwrap();
        assert!(task.cancel().await.unwrap_err().is_cancelled());
        // The cleanup was handed to a shielded task when the future was dropped.
        assert!(weft_executor::wait_shielded(bound()).await.is_clean());
        assert_eq!(p.closes(), 1);
    });
}

#[test]
fn a_group_cancelling_the_child_on_a_sibling_failure_still_cleans_up_once() {
    on_both(|| async {
        let p = Probe::default();
        let mut g = TaskGroup::new();
        g.spawn(stuck_scope(&p));
        let entered = p.entered.clone();
        g.spawn(async move {
            entered.wait().await;
            Err("sibling failed".to_string())
        });
        let err = timeout(bound(), g.join()).await.unwrap().unwrap_err();
        assert_eq!(
            err.errors().collect::<Vec<_>>(),
            [&"sibling failed".to_string()]
        );
        p.wait_closed().await;
        assert!(weft_executor::wait_shielded(bound()).await.is_clean());
        assert_eq!(p.closes(), 1);
    });
}

#[test]
fn a_scope_dropped_while_its_cleanup_runs_lets_the_cleanup_finish_once() {
    on_both(|| async {
        let p = Probe::default();
        let gate = Arc::new(Event::new());
        let (res, g, started) = (p.res(), gate.clone(), Arc::new(Event::new()));
        let s = started.clone();
        let scope = with_resource(
            async move { Ok(res) },
            async |_r| Ok(()),
            move |r| async move {
                s.set();
                g.wait().await; // the cleanup is in progress when the scope is dropped
                close(r).await
            },
        );
        let task = weft_executor::spawn(scope);
        timeout(bound(), started.wait()).await.unwrap();
        drop(task);
        gate.set();
        p.wait_closed().await;
        assert!(weft_executor::wait_shielded(bound()).await.is_clean());
        assert_eq!(p.closes(), 1);
    });
}

#[test]
fn run_returns_only_after_a_cancelled_scopes_cleanup_finished() {
    let _dog = common::watchdog(60);
    let p = Probe::default();
    let q = p.clone();
    weft_executor::run(async move {
        let r = timeout(Duration::from_millis(1), stuck_scope(&q)).await;
        assert!(r.is_err());
        // Returns at once: the cleanup (which sleeps) is still running.
    });
    assert_eq!(p.closes(), 1, "run waited for the shielded cleanup");
}

/// Reports seen by the unhandled-error hook: (is a panic, "task name: message").
type Seen = Arc<Mutex<Vec<(bool, String)>>>;

/// A runtime builder whose unhandled-error hook records each report.
fn recording() -> (weft_executor::RuntimeBuilder, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let b = Runtime::builder().on_unhandled_error(move |e| {
        let task = e.task().and_then(|t| t.name()).unwrap_or("").to_string();
        s.lock()
            .unwrap()
            .push((e.is_panic(), format!("{task}: {}", e.message())));
    });
    (b, seen)
}

#[test]
fn shutdown_timeout_waits_for_a_cleanup_until_its_deadline_and_reports_it() {
    let _dog = common::watchdog(60);
    let (b, seen) = recording();
    let rt = b.worker_threads(2).build().unwrap();
    rt.block_on(async {
        let scope = ResourceScope::new()
            .cleanup_timeout(Duration::from_millis(20))
            .with_resource(
                async { Ok(()) },
                async |_r| std::future::pending::<Result<(), String>>().await,
                |_r| std::future::pending::<Result<(), String>>(),
            );
        assert!(timeout(Duration::from_millis(1), scope).await.is_err());
    });
    // The cleanup never finishes by itself; its own deadline ends it, and shutdown waited.
    assert!(
        rt.shutdown_timeout(bound()),
        "the deadline ended the cleanup"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(!seen[0].0);
    assert!(
        seen[0].1.contains("cleanup of with_resource at"),
        "{seen:?}"
    );
    assert!(seen[0].1.contains("deadline"), "{seen:?}");
}

#[test]
fn wait_shielded_names_an_abandoned_cleanup() {
    on_both(|| async {
        let gate = Arc::new(Event::new());
        let g = gate.clone();
        let scope = with_resource(
            async { Ok(()) },
            async |_r| std::future::pending::<Result<(), String>>().await,
            move |_r| async move {
                g.wait().await;
                Ok(())
            },
        );
        assert!(timeout(Duration::from_millis(1), scope).await.is_err());
        let report = weft_executor::wait_shielded(Duration::from_millis(5)).await;
        assert_eq!(report.abandoned_count(), 1, "{report}");
        assert!(
            report.to_string().contains("cleanup of with_resource at"),
            "{report}"
        );
        gate.set();
        assert!(weft_executor::wait_shielded(bound()).await.is_clean());
    });
}

/// Both kinds of runtime with the recording hook.
fn on_both_recording<F, Fut>(case: F) -> Vec<Vec<(bool, String)>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut out = Vec::new();
    let _dog = common::watchdog(60);
    let (b, seen) = recording();
    let rt = b.worker_threads(2).build().unwrap();
    rt.block_on(case());
    assert!(rt.shutdown_timeout(bound()));
    out.push(std::mem::take(&mut *seen.lock().unwrap()));
    let (b, seen) = recording();
    let rt: LocalRuntime = b.build_local().unwrap();
    rt.block_on(case());
    drop(rt);
    out.push(std::mem::take(&mut *seen.lock().unwrap()));
    out
}

#[test]
fn a_panicking_cleanup_reaches_the_hook_and_loses_nothing_else() {
    let reports = on_both_recording(|| async {
        let p = Probe::default();
        let res = p.res();
        let out = with_resource(
            async move { Ok(res) },
            async |_r| Ok::<_, String>("body result"),
            |_r| async { panic!("cleanup panics") },
        )
        .await;
        assert_eq!(out, Ok("body result"));
        assert_eq!(p.drops.load(SeqCst), 1, "the resource was still dropped");
    });
    for seen in reports {
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].0, "reported as a panic: {seen:?}");
        assert!(seen[0].1.contains("cleanup panics"), "{seen:?}");
    }
}

#[test]
fn a_panicking_cleanup_after_cancellation_reaches_the_hook_once() {
    let reports = on_both_recording(|| async {
        let p = Probe::default();
        let res = p.res();
        let scope = with_resource(
            async move { Ok(res) },
            async |_r| std::future::pending::<Result<(), String>>().await,
            |_r| async {
                sleep(Duration::from_millis(1)).await;
                panic!("cleanup panics")
            },
        );
        assert!(timeout(Duration::from_millis(1), scope).await.is_err());
        assert!(weft_executor::wait_shielded(bound()).await.is_clean());
        assert_eq!(p.drops.load(SeqCst), 1);
    });
    for seen in reports {
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].0, "{seen:?}");
        assert!(
            seen[0].1.contains("cleanup of with_resource at"),
            "{seen:?}"
        );
        assert!(seen[0].1.contains("cleanup panics"), "{seen:?}");
    }
}

#[test]
fn a_failing_cleanup_after_a_failing_body_reaches_the_hook() {
    let reports = on_both_recording(|| async {
        let out: Result<(), String> = with_resource(
            async { Ok(()) },
            async |_r| Err("body failed".into()),
            |_r| async { Err("close failed".to_string()) },
        )
        .await;
        assert_eq!(out, Err("body failed".to_string()));
    });
    for seen in reports {
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(!seen[0].0);
        assert!(seen[0].1.contains("close failed"), "{seen:?}");
    }
}

/// Outside any runtime there is nothing to continue on: the cleanup is dropped (the resource's
/// synchronous `Drop` runs), and debug mode says so.
#[test]
fn outside_a_runtime_a_cancelled_scope_falls_back_to_drop() {
    const CHILD: &str = "WEFT_RESOURCE_SCOPE_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let p = Probe::default();
        let r = weft_reactor::block_on(timeout(Duration::from_millis(1), stuck_scope(&p)));
        assert!(r.is_err());
        assert_eq!(p.closes(), 0, "no runtime to run the async cleanup on");
        assert_eq!(p.drops.load(SeqCst), 1, "the synchronous fallback ran");
        return;
    }
    let out = common::run_as_child_with(
        "outside_a_runtime_a_cancelled_scope_falls_back_to_drop",
        CHILD,
        &[("WEFT_DEBUG", "1")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("cancelled outside a runtime"), "{stderr}");
}

/// Issue 14: a task still alive when `run`'s future returns is cancelled and joined *before*
/// the shielded-work wait, so a scope inside it gets its async cleanup (it used to be cancelled
/// at shutdown, afterwards, and got only its synchronous `Drop`).
#[test]
fn a_scope_in_a_task_left_at_shutdown_gets_its_drop() {
    let _dog = common::watchdog(60);
    let p = Probe::default();
    let q = p.clone();
    weft_executor::run(async move {
        weft_executor::spawn(stuck_scope(&q)).detach();
        timeout(bound(), q.entered.wait()).await.unwrap();
    });
    assert_eq!(p.closes(), 1, "the leftover scope's async cleanup ran");
    assert_eq!(
        p.drops.load(SeqCst),
        1,
        "the resource was dropped, not leaked"
    );
}

#[test]
fn a_cleanup_closure_that_panics_when_called_reaches_the_hook() {
    let reports = on_both_recording(|| async {
        let out = with_resource(
            async { Ok(()) },
            async |_r| Ok::<_, String>(5),
            |_r| -> std::future::Ready<Result<(), String>> { panic!("closure panics") },
        )
        .await;
        assert_eq!(out, Ok(5));
    });
    for seen in reports {
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(
            seen[0].0 && seen[0].1.contains("closure panics"),
            "{seen:?}"
        );
    }
}

/// `weft::run` waits for a cancelled scope's cleanup only until the cleanup's own deadline,
/// and the default hook reports the abandoned cleanup on stderr.
#[test]
fn run_returns_after_a_cleanup_deadline_passed_and_reports_it() {
    const CHILD: &str = "WEFT_RESOURCE_DEADLINE_CHILD";
    if std::env::var_os(CHILD).is_some() {
        weft_executor::run(async {
            let scope = ResourceScope::new()
                .cleanup_timeout(Duration::from_millis(10))
                .with_resource(
                    async { Ok(()) },
                    async |_r| std::future::pending::<Result<(), String>>().await,
                    |_r| std::future::pending::<Result<(), String>>(),
                );
            assert!(timeout(Duration::from_millis(1), scope).await.is_err());
        });
        return;
    }
    let out = common::run_as_child(
        "run_returns_after_a_cleanup_deadline_passed_and_reports_it",
        CHILD,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("cleanup of with_resource at"), "{stderr}");
    assert!(
        stderr.contains("did not finish within its deadline"),
        "{stderr}"
    );
}
