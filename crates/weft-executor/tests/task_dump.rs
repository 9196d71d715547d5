//! Issue 18: the live task dump (`Runtime::tasks`, `LocalRuntime::tasks`, `task::all_tasks`,
//! `TaskDump`) lists a running, a waiting and a queued task with the right states.
//!
//! The states are made deterministic by running everything on one thread: task A (running)
//! takes the dump itself; task B has polled and waits on a channel; task C was spawned by A and
//! cannot have been polled yet, since A is still running on the only thread.

mod common;

use std::time::Duration;

use weft_executor::task::{self, Builder, TaskDump, TaskSnapshot, TaskState};
use weft_executor::{LocalRuntime, Runtime};
use weft_sync::channel;

fn find<'a>(tasks: &'a [TaskSnapshot], name: &str) -> &'a TaskSnapshot {
    tasks
        .iter()
        .find(|t| t.name() == Some(name))
        .unwrap_or_else(|| panic!("task {name:?} missing from the dump: {tasks:#?}"))
}

/// Spawns B (waits on a channel after signalling that it has been polled), waits for that
/// signal, then spawns A, which spawns C and dumps. Returns (A's dump, B's release, C).
async fn scenario(
    dump: fn() -> Vec<TaskSnapshot>,
) -> (
    Vec<TaskSnapshot>,
    channel::Sender<()>,
    weft_executor::Task<()>,
) {
    let (started_tx, started_rx) = channel::bounded::<()>(1);
    let (release_tx, release_rx) = channel::bounded::<()>(1);
    Builder::new()
        .name("b-waiting")
        .spawn(async move {
            started_tx.send(()).await.unwrap();
            release_rx.recv().await.unwrap();
        })
        .detach();
    started_rx.recv().await.unwrap();
    let a = Builder::new().name("a-running").spawn(async move {
        let c = Builder::new().name("c-queued").spawn(async {});
        (dump(), c)
    });
    let (tasks, c) = a.await.unwrap();
    (tasks, release_tx, c)
}

fn check(tasks: &[TaskSnapshot], timed: bool) {
    let a = find(tasks, "a-running");
    let b = find(tasks, "b-waiting");
    let c = find(tasks, "c-queued");
    assert_eq!(a.state(), TaskState::Running, "{tasks:#?}");
    assert_eq!(b.state(), TaskState::Waiting, "{tasks:#?}");
    assert_eq!(c.state(), TaskState::Queued, "{tasks:#?}");
    assert_eq!(c.since_last_poll(), None, "C was never polled");
    assert_eq!(a.since_last_poll().is_some(), timed);
    assert_eq!(b.since_last_poll().is_some(), timed);
    assert!(a.id() < c.id() && b.id() < a.id(), "ids in spawn order");
    assert!(
        c.location().file().ends_with("task_dump.rs"),
        "spawn location {}",
        c.location()
    );
    // The table: one line per task, naming state, name and location.
    let text = TaskDump::new(tasks.to_vec()).to_string();
    for t in [a, b, c] {
        let line = text
            .lines()
            .find(|l| l.contains(t.name().unwrap()))
            .unwrap_or_else(|| panic!("no line for {t:?} in\n{text}"));
        assert!(line.contains(&t.state().to_string()), "{line}");
        assert!(line.contains(&t.location().to_string()), "{line}");
    }
}

#[test]
fn local_runtime_dump_lists_running_waiting_and_queued_tasks() {
    common::within(60, || {
        let rt = LocalRuntime::builder().debug(true).build_local().unwrap();
        let (tasks, release, c) = rt.block_on(scenario(task::all_tasks));
        check(&tasks, true);
        assert_eq!(tasks.len(), 3, "{tasks:#?}");
        // From outside the runtime: C is still queued, B still waits, A is gone.
        let outside = rt.tasks();
        assert_eq!(find(&outside, "c-queued").state(), TaskState::Queued);
        assert_eq!(find(&outside, "b-waiting").state(), TaskState::Waiting);
        assert!(outside.iter().all(|t| t.name() != Some("a-running")));
        rt.block_on(async move {
            release.send(()).await.unwrap();
            c.await.unwrap();
        });
        // B finishes once it runs again; drive until it has.
        rt.block_on(async {
            while !task::all_tasks().is_empty() {
                weft_executor::yield_now().await;
            }
        });
        assert!(rt.tasks().is_empty());
    });
}

#[test]
fn multi_threaded_dump_lists_running_waiting_and_queued_tasks() {
    common::within(60, || {
        // One worker, so A's child C sits in its LIFO slot, unpolled, while A runs.
        let rt = Runtime::builder()
            .worker_threads(1)
            .debug(true)
            .build()
            .unwrap();
        let (tasks, release, c) = rt.block_on(scenario(task::all_tasks));
        check(&tasks, true);
        rt.block_on(async move {
            release.send(()).await.unwrap();
            c.await.unwrap();
        });
        // The handle's view agrees with all_tasks() on the runtime's threads.
        let (from_task, release, c) = rt.block_on(scenario(|| {
            weft_executor::Handle::try_current().unwrap().tasks()
        }));
        check(&from_task, true);
        rt.block_on(async move {
            release.send(()).await.unwrap();
            c.await.unwrap();
        });
    });
}

/// Outside debug mode a task is registered when it first waits: the waiting task is listed
/// (with its state, without a poll time), the never-polled one is not.
#[test]
fn without_debug_mode_the_dump_lists_tasks_that_have_waited() {
    common::within(60, || {
        let rt = LocalRuntime::builder().debug(false).build_local().unwrap();
        let (tasks, release, c) = rt.block_on(scenario(task::all_tasks));
        let b = find(&tasks, "b-waiting");
        assert_eq!(b.state(), TaskState::Waiting);
        assert_eq!(
            b.since_last_poll(),
            None,
            "polls are timed only in debug mode"
        );
        assert!(tasks.iter().all(|t| t.name() != Some("c-queued")));
        rt.block_on(async move {
            release.send(()).await.unwrap();
            c.await.unwrap();
        });
    });
}

/// A task woken from outside a poll shows as queued until it runs, and keeps the time of its
/// last poll (wall clock, to the millisecond) meanwhile.
#[test]
fn a_woken_task_is_queued_until_it_runs() {
    common::within(60, || {
        let rt = LocalRuntime::builder().debug(true).build_local().unwrap();
        let (tx, rx) = channel::bounded::<()>(1);
        let t = rt.spawn_local(async move {
            rx.recv().await.unwrap();
        });
        // One turn: the task polls and waits.
        rt.block_on(weft_executor::yield_now());
        assert_eq!(rt.tasks()[0].state(), TaskState::Waiting);
        // Woken from outside any poll: queued, not yet run.
        tx.try_send(()).unwrap();
        assert_eq!(rt.tasks()[0].state(), TaskState::Queued);
        assert!(rt.tasks()[0].since_last_poll().unwrap() < Duration::from_secs(3600));
        rt.block_on(t).unwrap();
        assert!(rt.tasks().is_empty());
    });
}

/// `print_tasks` and `Debug` never block, even inside a task.
#[test]
fn printing_the_dump_inside_a_task_does_not_block() {
    common::within(60, || {
        let rt = LocalRuntime::builder().debug(true).build_local().unwrap();
        rt.block_on(async {
            let t = Builder::new().name("printer").spawn(async {
                task::print_tasks();
                format!("{:?}", task::dump())
            });
            let debug = t.await.unwrap();
            assert!(debug.contains("printer"), "{debug}");
        });
    });
}
