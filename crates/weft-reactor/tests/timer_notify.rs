//! The timer driver hook (issue 13): a new earliest global timer inserted from another thread
//! wakes the thread waiting in the poller; a later one writes nothing. One test in its own
//! binary, so no other test inserts timers or drives the reactor meanwhile.

use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use weft_timer::{call_later, sleep, Timers};

mod common;

use common::{wait_for, Flag, WATCHDOG};

#[test]
fn an_earlier_timer_from_another_thread_wakes_the_waiting_driver_and_a_later_one_writes_nothing() {
    let flag = Arc::new(Flag::default());
    let order = Arc::new(Mutex::new(Vec::new()));
    let (polled_tx, polled_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let (f, o) = (flag.clone(), order.clone());
    // The driver: its own future waits for an hour (or the flag), so it waits in the poller
    // with an hour-long timeout.
    std::thread::spawn(move || {
        let won = weft_reactor::block_on(async {
            let long = async {
                sleep(Duration::from_secs(3600)).await;
                "long sleep"
            };
            let flagged = async {
                f.wait().await;
                "flag"
            };
            // Polled last (`or` polls its first argument first): the sleep is registered when
            // the test hears of the first poll.
            let polled = async {
                polled_tx.send(()).unwrap();
                std::future::pending::<&str>().await
            };
            futures_lite::future::or(futures_lite::future::or(flagged, long), polled).await
        });
        o.lock().unwrap().push("driver returned");
        done_tx.send(won).unwrap();
    });
    polled_rx
        .recv_timeout(WATCHDOG)
        .expect("watchdog: first poll");
    // The hour-long sleep is registered; make the cached "earliest deadline the driver knows"
    // that sleep's (a driver computing its timeout does the same), then wait until the driver
    // (the only block_on thread here) waits in the poller: nothing else wakes it from now on.
    let hour = Timers::global()
        .next_deadline()
        .expect("the hour-long sleep is registered");
    wait_for(
        "the block_on thread waits in the poller",
        weft_reactor::__block_on_in_poller_wait,
    );
    assert!(hour > Instant::now() + Duration::from_secs(3000));

    // Later than what the driver waits for: no notifier write.
    let before = weft_reactor::__timer_notifies();
    let later = call_later(Duration::from_secs(7200), || {});
    assert_eq!(
        weft_reactor::__timer_notifies(),
        before,
        "a later timer woke the poller"
    );
    assert!(later.cancel());

    // Earlier: the waiting driver is interrupted, recomputes its timeout and fires the timer.
    // It may also have left its wait on its own just before the insert (a sticky notification
    // from the reactor's start-up; under load ~1 run in 30): then the hook sees nobody waiting
    // and writes nothing, and the driver's next wait, which starts after the insert, reads the
    // new timer for its timeout. Either way the timer fires in time; which way it went is
    // checked, so the test cannot pass without one of the two.
    let waits = weft_reactor::__poller_waits();
    let o = order.clone();
    let _soon = call_later(Duration::from_millis(1), move || {
        o.lock().unwrap().push("timer fired");
        flag.complete();
    });
    match weft_reactor::__timer_notifies() - before {
        1 => {}
        0 => wait_for(
            "the driver, not waiting when the earlier timer came, starts a new wait",
            || weft_reactor::__poller_waits() > waits,
        ),
        n => panic!("{n} notifier writes for one earlier timer"),
    }
    let won = done_rx
        .recv_timeout(WATCHDOG)
        .expect("watchdog: the driver was not woken by the earlier timer");
    assert_eq!(won, "flag");
    assert_eq!(*order.lock().unwrap(), ["timer fired", "driver returned"]);
}
