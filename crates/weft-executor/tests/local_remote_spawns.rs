//! Tasks spawned on a `LocalRuntime` from outside its `block_on` (issue 14,
//! `rt_current_thread/spawn_many_remote_busy`): they join the same-thread run queue, in spawn
//! order, behind what is already queued, so a task that keeps respawning itself cannot make
//! them wait (they used to sit in the cross-thread queue, which the driver looks at first only
//! every 8th task: about 7 polls of the busy task per spawned task).

use std::cell::Cell;
use std::rc::Rc;

use weft_executor::LocalRuntime;

mod common;

const N: usize = 1_000;

/// Respawns itself forever, counting its polls.
fn respawn(polls: Rc<Cell<usize>>) {
    polls.set(polls.get() + 1);
    weft_executor::spawn_local(async move { respawn(polls) }).detach();
}

#[test]
fn tasks_spawned_outside_block_on_are_not_starved_by_a_respawning_task() {
    let _dog = common::watchdog(60);
    let rt = LocalRuntime::new().unwrap();
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    rt.spawn_local(async move { respawn(p) }).detach();
    // Let the busy task start.
    rt.block_on(weft_executor::yield_now());
    let order = Rc::new(std::cell::RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let o = order.clone();
            rt.spawn_local(async move { o.borrow_mut().push(i) })
        })
        .collect();
    let before = polls.get();
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    let busy = polls.get() - before;
    assert!(
        busy <= 8,
        "the respawning task ran {busy} times while {N} tasks spawned outside block_on waited \
         for their turn (they should run in one pass, behind it)"
    );
    assert_eq!(*order.borrow(), (0..N).collect::<Vec<_>>(), "spawn order");
}

/// A task spawned from outside `block_on` while the runtime is being driven re-entrantly from
/// another executor on the same thread (`run_until`, idle) wakes that driver (it would hang,
/// and the watchdog fail, if the same-thread push forgot to).
#[test]
fn a_spawn_outside_the_driver_wakes_an_idle_run_until() {
    let _dog = common::watchdog(60);
    let rt = Rc::new(LocalRuntime::new().unwrap());
    let outer = LocalRuntime::new().unwrap();
    let inner = rt.clone();
    let done = Rc::new(weft_sync::Event::new());
    let (d, seen) = (done.clone(), Rc::new(Cell::new(0)));
    let s = seen.clone();
    let out = outer.block_on(async move {
        // The outer runtime's task spawns on `rt` (outside `rt`'s driver) while `rt` is idle
        // inside `run_until` below.
        let spawner = weft_executor::spawn_local(async move {
            weft_executor::yield_now().await;
            inner
                .spawn_local(async move {
                    s.set(7);
                    d.set();
                })
                .detach();
        });
        rt.run_until(done.wait()).await;
        spawner.await.unwrap();
        seen.get()
    });
    assert_eq!(out, 7);
}
