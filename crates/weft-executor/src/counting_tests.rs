//! Counting tests in the style of async-task's own: count polls, schedules and drops of the
//! future and of the output, and assert exact values at each step. They run on a
//! `LocalRuntime`, whose schedule function counts its calls in test builds.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::{yield_now, LocalRuntime};

#[derive(Default)]
struct Counts {
    polls: Cell<usize>,
    future_drops: Cell<usize>,
    output_drops: Cell<usize>,
    waker: Cell<Option<Waker>>,
    ready: Cell<bool>,
}

/// A future that is Ready once `ready` is set, records its waker, and counts polls and drops.
struct Counted(Rc<Counts>);

impl Future for Counted {
    type Output = Out;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Out> {
        let c = &self.0;
        c.polls.set(c.polls.get() + 1);
        if c.ready.get() {
            Poll::Ready(Out(c.clone()))
        } else {
            c.waker.set(Some(cx.waker().clone()));
            Poll::Pending
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.future_drops.set(self.0.future_drops.get() + 1);
    }
}

struct Out(Rc<Counts>);

impl Drop for Out {
    fn drop(&mut self) {
        self.0.output_drops.set(self.0.output_drops.get() + 1);
    }
}

fn schedules(rt: &LocalRuntime) -> usize {
    rt.core
        .shared
        .schedules
        .load(std::sync::atomic::Ordering::SeqCst)
}

/// Lets the runtime run every ready task (one pass of yields is enough on one thread).
fn settle(rt: &LocalRuntime) {
    rt.block_on(async {
        for _ in 0..4 {
            yield_now().await;
        }
    });
}

fn state(c: &Counts) -> (usize, usize, usize) {
    (c.polls.get(), c.future_drops.get(), c.output_drops.get())
}

#[test]
fn spawn_ready_then_await() {
    let rt = LocalRuntime::new().unwrap();
    let c = Rc::new(Counts::default());
    c.ready.set(true);
    let t = rt.spawn_local(Counted(c.clone()));
    assert_eq!(schedules(&rt), 1);
    assert_eq!(state(&c), (0, 0, 0));
    let out = rt.block_on(t).unwrap_or_else(|_| panic!("cancelled"));
    assert_eq!(state(&c), (1, 1, 0));
    assert_eq!(schedules(&rt), 1);
    drop(out);
    assert_eq!(state(&c), (1, 1, 1));
    assert_eq!(rt.alive_count(), 0);
}

#[test]
fn wake_reschedules_once_per_wake() {
    let rt = LocalRuntime::new().unwrap();
    let c = Rc::new(Counts::default());
    let t = rt.spawn_local(Counted(c.clone()));
    settle(&rt);
    assert_eq!(state(&c), (1, 0, 0));
    assert_eq!(schedules(&rt), 1);
    // Two wakes before the task runs coalesce into one schedule.
    let w = c.waker.take().unwrap();
    w.wake_by_ref();
    w.wake_by_ref();
    assert_eq!(schedules(&rt), 2);
    settle(&rt);
    assert_eq!(state(&c), (2, 0, 0));
    c.ready.set(true);
    w.wake();
    assert_eq!(schedules(&rt), 3);
    let out = rt.block_on(t).unwrap_or_else(|_| panic!("cancelled"));
    assert_eq!(state(&c), (3, 1, 0));
    drop(out);
    assert_eq!(state(&c), (3, 1, 1));
}

#[test]
fn drop_task_cancels_without_another_poll() {
    let rt = LocalRuntime::new().unwrap();
    let c = Rc::new(Counts::default());
    let t = rt.spawn_local(Counted(c.clone()));
    settle(&rt);
    assert_eq!(state(&c), (1, 0, 0));
    drop(t);
    // Cancelling a pending task schedules it once so the executor drops its future.
    assert_eq!(schedules(&rt), 2);
    settle(&rt);
    assert_eq!(state(&c), (1, 1, 0));
    // A wake after cancellation does nothing.
    if let Some(w) = c.waker.take() {
        w.wake();
    }
    settle(&rt);
    assert_eq!(state(&c), (1, 1, 0));
    assert_eq!(schedules(&rt), 2);
    assert_eq!(rt.alive_count(), 0);
}

#[test]
fn drop_task_before_first_poll() {
    let rt = LocalRuntime::new().unwrap();
    let c = Rc::new(Counts::default());
    let t = rt.spawn_local(Counted(c.clone()));
    drop(t);
    assert_eq!(schedules(&rt), 1);
    settle(&rt);
    assert_eq!(state(&c), (0, 1, 0));
}

#[test]
fn detach_runs_to_completion_and_drops_output() {
    let rt = LocalRuntime::new().unwrap();
    let c = Rc::new(Counts::default());
    rt.spawn_local(Counted(c.clone())).detach();
    settle(&rt);
    assert_eq!(state(&c), (1, 0, 0));
    c.ready.set(true);
    c.waker.take().unwrap().wake();
    settle(&rt);
    // Completed: the future and (nobody awaits it) the output are both dropped, once.
    assert_eq!(state(&c), (2, 1, 1));
    assert_eq!(schedules(&rt), 2);
}

#[test]
fn cancel_after_completion_returns_output() {
    let rt = LocalRuntime::new().unwrap();
    let c = Rc::new(Counts::default());
    c.ready.set(true);
    let t = rt.spawn_local(Counted(c.clone()));
    settle(&rt);
    assert_eq!(state(&c), (1, 1, 0));
    let out = rt.block_on(t.cancel());
    assert!(out.is_ok());
    assert_eq!(state(&c), (1, 1, 0));
    drop(out);
    assert_eq!(state(&c), (1, 1, 1));
}

#[test]
fn woken_while_running_is_polled_again() {
    let rt = LocalRuntime::new().unwrap();
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    let t = rt.spawn_local(std::future::poll_fn(move |cx| {
        p.set(p.get() + 1);
        if p.get() == 3 {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }));
    rt.block_on(t).unwrap();
    assert_eq!(polls.get(), 3);
    assert_eq!(schedules(&rt), 3);
}

#[test]
fn runtime_drop_cancels_pending_tasks() {
    let rt = LocalRuntime::new().unwrap();
    let c = Rc::new(Counts::default());
    rt.spawn_local(Counted(c.clone())).detach();
    let c2 = Rc::new(Counts::default());
    rt.spawn_local(Counted(c2.clone())).detach();
    settle(&rt);
    c.waker.take();
    c2.waker.take();
    assert_eq!(state(&c), (1, 0, 0));
    drop(rt);
    assert_eq!(state(&c), (1, 1, 0));
    assert_eq!(state(&c2), (1, 1, 0));
}
