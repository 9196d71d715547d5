//! shield (§2.8 item 13), retry under virtual time, and the stream generator.

use std::future::pending;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

mod common;

use common::{flag, multi, paused, DropFlag};
use futures_lite::StreamExt;
use weft_executor::{
    retry, retry_if, shield, shutdown_shielded, stream, wait_shielded, LocalRuntime, RetryPolicy,
};
use weft_sync::Event;

#[test]
fn shield_survives_the_awaiter_being_dropped() {
    let rt = multi(2);
    rt.block_on(async {
        let go = Arc::new(Event::new());
        let finished = flag();
        let (g, f) = (go.clone(), finished.clone());
        let s = shield(async move {
            g.wait().await;
            f.store(true, SeqCst);
            7
        });
        // The caller is cancelled (here: a timeout drops the awaiting future).
        let r = weft_timer::timeout(Duration::from_millis(1), s).await;
        assert!(r.is_err());
        assert!(!finished.load(SeqCst));
        go.set();
        let report = wait_shielded(Duration::from_secs(10)).await;
        assert!(report.is_clean(), "{report}");
        assert!(finished.load(SeqCst));
        // Awaited to the end, a shield gives the result.
        assert_eq!(shield(async { 5 }).await.unwrap(), 5);
    });
}

#[test]
fn shutdown_reports_abandoned_shielded_work() {
    let rt = multi(1);
    let go = Arc::new(Event::new());
    let g = go.clone();
    let report = rt.block_on(async move {
        let s = shield(async move { g.wait().await });
        let id = s.info().unwrap().id();
        drop(s);
        let report = wait_shielded(Duration::from_millis(5)).await;
        assert_eq!(report.abandoned().len(), 1);
        assert_eq!(report.abandoned()[0].id(), id);
        assert!(report.to_string().contains("abandoned"), "{report}");
        // The blocking form, as a shutdown path would call it, once the work can finish.
        go.set();
        shutdown_shielded(Duration::from_secs(10))
    });
    assert!(report.is_clean(), "{report}");
}

#[test]
fn shielded_work_of_another_runtime_is_not_waited_for() {
    let a = multi(1);
    let b = LocalRuntime::new().unwrap();
    a.block_on(async { drop(shield(pending::<()>())) }); // detached, never finishes
    let report = b.block_on(wait_shielded(Duration::from_secs(10)));
    assert!(report.is_clean());
    assert!(report.waited() < Duration::from_secs(5));
    drop(a); // cancels it
}

#[test]
fn retry_counts_attempts_and_backs_off_in_virtual_time() {
    paused().block_on(async {
        let calls = AtomicU32::new(0);
        let t0 = weft_timer::now();
        let policy = RetryPolicy::exponential(Duration::from_millis(100))
            .max_attempts(4)
            .jitter(false);
        let r: Result<(), u32> = retry(policy, || {
            let n = calls.fetch_add(1, SeqCst) + 1;
            async move { Err(n) }
        })
        .await;
        assert_eq!(r, Err(4), "the last error is returned");
        assert_eq!(calls.load(SeqCst), 4);
        // 100 + 200 + 400 ms between the four attempts.
        assert_eq!(weft_timer::now() - t0, Duration::from_millis(700));

        // Success on the third attempt stops retrying.
        calls.store(0, SeqCst);
        let r = retry(policy, || {
            let n = calls.fetch_add(1, SeqCst) + 1;
            async move {
                if n == 3 {
                    Ok(n)
                } else {
                    Err(n)
                }
            }
        })
        .await;
        assert_eq!((r, calls.load(SeqCst)), (Ok(3), 3));

        // max_delay caps each delay; jitter keeps it within [d/2, d].
        let t0 = weft_timer::now();
        let capped = RetryPolicy::exponential(Duration::from_secs(1))
            .max_attempts(4)
            .max_delay(Duration::from_secs(2));
        let _: Result<(), ()> = retry(capped, || async { Err(()) }).await;
        let waited = weft_timer::now() - t0;
        // Unjittered: 1 + 2 + 2 = 5 s; jittered: between 2.5 and 5 s.
        assert!(
            waited >= Duration::from_millis(2500) && waited <= Duration::from_secs(5),
            "{waited:?}"
        );

        // retry_if: a non-retryable error is returned at once.
        calls.store(0, SeqCst);
        let r: Result<(), &str> = retry_if(
            policy,
            || {
                calls.fetch_add(1, SeqCst);
                async { Err("fatal") }
            },
            |e| *e != "fatal",
        )
        .await;
        assert_eq!((r, calls.load(SeqCst)), (Err("fatal"), 1));
    });
}

#[test]
fn generator_yields_in_order_and_runs_lazily() {
    paused().block_on(async {
        let produced = Arc::new(AtomicU32::new(0));
        let p = produced.clone();
        let mut s = stream(|y| async move {
            for i in 0..5u32 {
                weft_timer::sleep(Duration::from_millis(10)).await;
                p.fetch_add(1, SeqCst);
                y.yield_(i).await;
            }
        });
        assert_eq!(
            produced.load(SeqCst),
            0,
            "nothing runs before the first poll"
        );
        assert_eq!(s.next().await, Some(0));
        assert_eq!(
            produced.load(SeqCst),
            1,
            "the generator ran ahead of the consumer"
        );
        let rest: Vec<u32> = s.collect().await;
        assert_eq!(rest, [1, 2, 3, 4]);
    });
}

#[test]
fn dropping_the_stream_drops_the_generator() {
    paused().block_on(async {
        let dropped = flag();
        let d = DropFlag(dropped.clone());
        let mut s = stream(|y| async move {
            let _d = d;
            let mut i = 0u64;
            loop {
                y.yield_(i).await;
                i += 1;
            }
        });
        assert_eq!(s.next().await, Some(0));
        assert_eq!(s.next().await, Some(1));
        assert!(!dropped.load(SeqCst));
        drop(s);
        assert!(dropped.load(SeqCst));
    });
}

#[test]
fn run_waits_for_shielded_work_before_returning() {
    let done = flag();
    let d = done.clone();
    weft_executor::run(async move {
        // The awaiter is dropped at once; the shielded work still has 20 ms of "work" to do
        // when `run`'s future returns, so without the shutdown wait it would be cancelled.
        drop(shield(async move {
            weft_timer::sleep(Duration::from_millis(20)).await;
            d.store(true, SeqCst);
        }));
    });
    assert!(
        done.load(SeqCst),
        "run returned before the shielded work finished"
    );
}

#[test]
fn shutdown_timeout_waits_for_shielded_work_then_reports_the_rest() {
    // Finishes within the timeout: shutdown waits for it and reports a clean stop.
    let rt = multi(2);
    let done = flag();
    let d = done.clone();
    rt.block_on(async move {
        drop(shield(async move {
            weft_timer::sleep(Duration::from_millis(20)).await;
            d.store(true, SeqCst);
        }));
    });
    assert!(rt.shutdown_timeout(Duration::from_secs(10)));
    assert!(
        done.load(SeqCst),
        "shutdown did not wait for the shielded work"
    );

    // Never finishes: shutdown gives up after the timeout and says so.
    let rt = multi(2);
    rt.block_on(async { drop(shield(pending::<()>())) });
    assert!(!rt.shutdown_timeout(Duration::from_millis(20)));
}
