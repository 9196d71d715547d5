//! Issue 13 (driver): a worker that leaves must not strand threads parked behind it. Idle
//! workers park without queuing for the reactor while another worker holds its lock, counting
//! on that worker to come back to the poller; a worker of another runtime that is shut down
//! never does. The fallback thread (which sleeps while workers exist) must then drive until a
//! live worker takes the reactor again, or timers and I/O of the remaining runtime stall
//! forever (seen as a 1-in-30 hang of `task_abort_wait_for` when its tests' runtimes ended).
//! One test in its own binary, so no other test's threads drive the reactor.

mod common;

use std::time::Duration;

#[test]
fn a_runtime_shut_down_while_its_worker_drove_does_not_strand_another() {
    common::within(60, || {
        for _ in 0..20 {
            // `first`'s worker goes idle and becomes the reactor's driver.
            let first = common::multi(1);
            first.block_on(async { weft_executor::spawn(async {}).await.unwrap() });
            let second = common::multi(1);
            second.block_on(async move {
                // `second`'s worker runs a task, goes idle, finds the reactor held by
                // `first`'s worker and parks without queuing.
                weft_executor::spawn(async {}).await.unwrap();
                // `first`'s worker leaves for good.
                drop(first);
                // A timer on this passive `block_on` thread wakes no worker: someone must
                // drive the reactor for it to fire.
                weft_timer::sleep(Duration::from_millis(1)).await;
            });
        }
    });
}
