//! Issue 18, feature `tracing`: every task runs in a `weft.task` span carrying its id, name and
//! spawn location; slow polls, unhandled errors and tasks left at shutdown are `tracing` events
//! with the same fields; with no subscriber installed the stderr lines stay.
//!
//! A hand-written `Subscriber` (no extra dependency) records spans and events into global
//! lists; it is installed as the global default (workers are other threads), and each test
//! looks only at the records of its own uniquely named tasks.
#![cfg(feature = "tracing")]

mod common;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use weft_executor::task::Builder;
use weft_executor::{LocalRuntime, Runtime};

#[derive(Clone, Debug)]
struct SpanRec {
    name: &'static str,
    fields: HashMap<String, String>,
}

#[derive(Clone, Debug)]
struct EventRec {
    target: String,
    level: Level,
    fields: HashMap<String, String>,
    /// The span current on the emitting thread (the innermost entered one).
    span: Option<SpanRec>,
}

#[derive(Default)]
struct Capture {
    next: AtomicU64,
    spans: Mutex<HashMap<u64, SpanRec>>,
    events: Mutex<Vec<EventRec>>,
}

thread_local! {
    static STACK: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        self.0.insert(f.name().to_string(), format!("{v:?}"));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.insert(f.name().to_string(), v.to_string());
    }
}

impl Subscriber for &'static Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        let rec = SpanRec {
            name: attrs.metadata().name(),
            fields,
        };
        self.spans.lock().unwrap().insert(id, rec);
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(s) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut s.fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let current = STACK.with(|s| s.borrow().last().copied());
        let span = current.and_then(|id| self.spans.lock().unwrap().get(&id).cloned());
        self.events.lock().unwrap().push(EventRec {
            target: event.metadata().target().to_string(),
            level: *event.metadata().level(),
            fields,
            span,
        });
    }
    fn enter(&self, span: &Id) {
        STACK.with(|s| s.borrow_mut().push(span.into_u64()));
    }
    fn exit(&self, span: &Id) {
        STACK.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(i) = s.iter().rposition(|x| *x == span.into_u64()) {
                s.remove(i);
            }
        });
    }
}

/// The capturing subscriber, installed as the global default on first use.
fn capture() -> &'static Capture {
    static C: OnceLock<&'static Capture> = OnceLock::new();
    C.get_or_init(|| {
        let c: &'static Capture = Box::leak(Box::default());
        tracing::subscriber::set_global_default(c).expect("no other global subscriber");
        c
    })
}

/// Events whose `task.name` field is `name`.
fn events_named(name: &str) -> Vec<EventRec> {
    let quoted = format!("{name:?}");
    capture()
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| {
            e.fields
                .get("task.name")
                .is_some_and(|n| n == name || *n == quoted)
        })
        .cloned()
        .collect()
}

/// Waits (bounded) until `f` returns `Some`.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "never saw {what}");
        std::thread::yield_now();
    }
}

fn field<'a>(fields: &'a HashMap<String, String>, k: &str) -> &'a str {
    fields
        .get(k)
        .unwrap_or_else(|| panic!("no field {k} in {fields:?}"))
}

#[test]
fn a_task_runs_inside_its_span_with_name_id_and_location() {
    capture();
    common::within(60, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let (id, line) = rt.block_on(async {
            let line = line!() + 1;
            let t = Builder::new().name("traced-task").spawn(async {
                tracing::info!(task.name = "traced-task", "inside the task");
                weft_executor::yield_now().await;
                tracing::info!(task.name = "traced-task", "after a yield");
            });
            let id = t.id();
            t.await.unwrap();
            (id, line)
        });
        let evs = events_named("traced-task");
        assert_eq!(evs.len(), 2, "{evs:#?}");
        for e in evs {
            let span = e
                .span
                .expect("the event has the task's span as its current span");
            assert_eq!(span.name, "weft.task");
            assert_eq!(field(&span.fields, "task.id"), id.as_u64().to_string());
            assert_eq!(field(&span.fields, "task.name"), "traced-task");
            let loc = field(&span.fields, "task.location");
            assert!(
                loc.contains("tracing_events.rs") && loc.contains(&format!(":{line}:")),
                "location {loc}, expected line {line}"
            );
        }
    });
}

#[test]
fn a_slow_poll_is_a_warning_event_with_the_task_name_and_location() {
    capture();
    common::within(60, || {
        // Threshold zero: a poll that sleeps 1 ms is slow, however loaded the machine is.
        let rt = Runtime::builder()
            .worker_threads(1)
            .debug(true)
            .slow_poll_threshold(Duration::ZERO)
            .build()
            .unwrap();
        rt.block_on(async {
            Builder::new()
                .name("slow-task")
                .spawn(async { std::thread::sleep(Duration::from_millis(1)) })
                .await
                .unwrap();
        });
        // The report is emitted right after the poll, before the awaiter is woken; drop the
        // runtime so nothing of it still runs.
        drop(rt);
        let ev = eventually("the slow-poll event", || {
            events_named("slow-task")
                .into_iter()
                .find(|e| e.target == "weft_executor::slow_poll")
        });
        assert_eq!(ev.level, Level::WARN);
        assert!(field(&ev.fields, "task.location").contains("tracing_events.rs"));
        assert!(field(&ev.fields, "task.id").parse::<u64>().is_ok());
        assert!(field(&ev.fields, "duration").ends_with('s'), "{ev:?}");
        assert!(field(&ev.fields, "message").contains("slow-task"));
    });
}

#[test]
fn an_unhandled_panic_is_an_error_event() {
    capture();
    common::within(60, || {
        let rt = LocalRuntime::new().unwrap();
        rt.block_on(async {
            Builder::new()
                .name("panicking-task")
                .spawn(async { panic!("boom") })
                .detach();
            weft_executor::yield_now().await;
        });
        let ev = eventually("the unhandled-error event", || {
            events_named("panicking-task")
                .into_iter()
                .find(|e| e.target == "weft_executor::unhandled")
        });
        assert_eq!(ev.level, Level::ERROR);
        assert_eq!(field(&ev.fields, "panic"), "true");
        assert_eq!(field(&ev.fields, "error"), "boom");
        assert!(field(&ev.fields, "task.location").contains("tracing_events.rs"));
    });
}

#[test]
fn tasks_left_at_shutdown_are_warning_events_in_debug_mode() {
    capture();
    common::within(60, || {
        let rt = Runtime::builder()
            .worker_threads(1)
            .debug(true)
            .build()
            .unwrap();
        rt.block_on(async {
            Builder::new()
                .name("left-behind")
                .spawn(std::future::pending::<()>())
                .detach();
        });
        drop(rt);
        let evs: Vec<_> = events_named("left-behind")
            .into_iter()
            .filter(|e| e.target == "weft_executor::shutdown")
            .collect();
        assert_eq!(evs.len(), 1, "{evs:#?}");
        assert_eq!(evs[0].level, Level::WARN);
        assert!(field(&evs[0].fields, "task.location").contains("tracing_events.rs"));
    });
}

/// With the feature on but no subscriber installed, the reports stay on stderr, unchanged.
#[test]
fn without_a_subscriber_reports_stay_on_stderr() {
    if std::env::var_os("WEFT_TRACING_CHILD").is_some() {
        // The child: no subscriber (this test never calls `capture()`).
        let rt = LocalRuntime::builder()
            .debug(true)
            .slow_poll_threshold(Duration::ZERO)
            .build_local()
            .unwrap();
        rt.block_on(async {
            Builder::new()
                .name("stderr-task")
                .spawn(async { std::thread::sleep(Duration::from_millis(1)) })
                .await
                .unwrap();
        });
        return;
    }
    let out = common::run_as_child(
        "without_a_subscriber_reports_stay_on_stderr",
        "WEFT_TRACING_CHILD",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {err}");
    assert!(
        err.contains("weft: slow poll: task ") && err.contains("\"stderr-task\""),
        "stderr: {err}"
    );
}
