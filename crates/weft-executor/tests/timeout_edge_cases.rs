//! CPython's timeout edge cases run against `weft_timer::timeout` under the executor (issue 14,
//! defect 9): of two nested timeouts with the same deadline the outer one reports, and
//! `timeout(Duration::ZERO, fut)` never starts `fut`. Both failed before `Timeout::poll` looked
//! at its own deadline first (after the first poll, or from the start when already due).

use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

mod common;

use common::{flag, paused};

#[test]
fn nested_timeouts_with_the_same_deadline_report_only_the_outer_one() {
    paused().block_on(async {
        let deadline = weft_timer::Timers::current().now() + Duration::from_millis(10);
        let inner = weft_timer::timeout_at(deadline, std::future::pending::<()>());
        let r = weft_timer::timeout_at(deadline, inner).await;
        assert!(
            r.is_err(),
            "the outer timeout must report the expiry, not the inner one: got {r:?}"
        );
    });
}

#[test]
fn zero_timeout_does_not_start_the_future() {
    paused().block_on(async {
        let started = flag();
        let s = started.clone();
        let r = weft_timer::timeout(Duration::ZERO, async move {
            s.store(true, SeqCst);
            1
        })
        .await;
        assert!(!started.load(SeqCst), "timeout(ZERO, fut) started fut");
        assert!(r.is_err(), "timeout(ZERO, fut) must expire: got {r:?}");
    });
}
