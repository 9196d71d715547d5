//! `async with` for Rust: [`with_resource`] (setup → body → async cleanup) and [`using`] (for
//! an [`AsyncClose`] resource), whose cleanup also runs when the scope is cancelled.
//!
//! Rust has no async drop, so a cleanup that awaits is normally skipped when its future is
//! dropped part-way. Here the resource lives in a guard; when the scope's future is dropped
//! before its cleanup finished, the guard hands the resource (or the cleanup already in
//! progress) to a [`shield`](crate::shield)ed task on the current runtime, bounded by a deadline
//! ([`DEFAULT_CLEANUP_TIMEOUT`] unless [`ResourceScope::cleanup_timeout`] says otherwise), which
//! `run` and `Runtime::shutdown_timeout` wait for like any shielded work.

use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::FutureExt;
use weft_reactor::AsyncClose;

use crate::task::{report_unhandled, try_current, TaskInfo, UnhandledError};

/// How long a cancelled scope's cleanup may run on its own before it is dropped and reported.
pub const DEFAULT_CLEANUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Options for [`with_resource`] / [`using`]: today, the deadline of a cleanup that continues
/// after its scope was cancelled.
///
/// ```
/// use std::time::Duration;
/// use weft_executor::ResourceScope;
///
/// let out = weft_executor::run(async {
///     ResourceScope::new()
///         .cleanup_timeout(Duration::from_secs(1))
///         .with_resource(
///             async { Ok::<_, std::io::Error>(vec![1, 2]) },
///             async |v| Ok(v.len()),
///             |_v| async { Ok(()) },
///         )
///         .await
/// });
/// assert_eq!(out.unwrap(), 2);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ResourceScope {
    cleanup_timeout: Duration,
}

impl Default for ResourceScope {
    fn default() -> Self {
        ResourceScope::new()
    }
}

impl ResourceScope {
    /// Default options: a cancelled scope's cleanup gets [`DEFAULT_CLEANUP_TIMEOUT`].
    pub const fn new() -> ResourceScope {
        ResourceScope {
            cleanup_timeout: DEFAULT_CLEANUP_TIMEOUT,
        }
    }

    /// How long the cleanup may go on after the scope was cancelled (counted from the
    /// cancellation). When it expires, the cleanup future is dropped (so the resource's
    /// synchronous `Drop` runs) and the unhandled-error hook is told.
    pub const fn cleanup_timeout(mut self, d: Duration) -> ResourceScope {
        self.cleanup_timeout = d;
        self
    }

    /// [`with_resource`] with these options.
    #[track_caller]
    pub fn with_resource<R, T, E, S, B, C, CF>(
        self,
        setup: S,
        body: B,
        cleanup: C,
    ) -> impl Future<Output = Result<T, E>>
    where
        S: Future<Output = Result<R, E>>,
        B: AsyncFnOnce(&mut R) -> Result<T, E>,
        C: FnOnce(R) -> CF,
        CF: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        scope(self, Location::caller(), setup, body, cleanup)
    }

    /// [`using`] with these options.
    #[track_caller]
    pub fn using<R, T, E, B>(self, resource: R, body: B) -> impl Future<Output = Result<T, E>>
    where
        R: AsyncClose,
        B: AsyncFnOnce(&mut R) -> Result<T, E>,
        E: From<R::Error> + fmt::Display + Send + 'static,
    {
        self.with_resource(std::future::ready(Ok(resource)), body, |r: R| {
            let close = r.close();
            async move { close.await.map_err(E::from) }
        })
    }
}

/// asyncio's `async with` / `@asynccontextmanager`: runs `setup`, then `body` with the resource,
/// then `cleanup(resource)`, which **always runs exactly once** once `setup` succeeded:
///
/// * after the body returns `Ok` or `Err` (awaited in place; the scope's result is the body's,
///   or the cleanup's error if only the cleanup failed; a cleanup error after a body error goes
///   to the unhandled-error hook);
/// * after the body panicked (the cleanup is awaited, then the panic resumes);
/// * after the scope's future was **dropped** (a `timeout`, a dropped or cancelled `Task`, a
///   `TaskGroup` cancelling siblings, a `race`): the cleanup, owning the resource, continues as
///   a [`shield`](crate::shield)ed task on the current runtime, for at most
///   [`DEFAULT_CLEANUP_TIMEOUT`] (see [`ResourceScope::cleanup_timeout`]). [`run`](crate::run)
///   and [`Runtime::shutdown_timeout`](crate::Runtime::shutdown_timeout) wait for it like other
///   shielded work, and name it (task `"cleanup of with_resource at file:line"`) if they give up.
///
/// A cleanup that panics, fails after a cancellation, or misses its deadline is reported to the
/// unhandled-error hook; nothing else is lost (the body's result is still returned).
///
/// **Outside a runtime** (a scope dropped on a thread that runs no weft executor, e.g. under
/// plain `block_on` or another executor), there is nothing to continue on: the cleanup future
/// (or the resource) is dropped, so only its synchronous `Drop` runs; debug mode
/// (`WEFT_DEBUG=1`) says so on stderr.
///
/// The resource, the cleanup future and the error must be `Send + 'static` because the cleanup
/// may move to another task; `setup` and `body` have no such bound.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// struct Conn(Arc<AtomicUsize>);
/// impl Conn {
///     async fn close(self) -> std::io::Result<()> {
///         weft_timer::sleep(Duration::from_millis(1)).await; // a goodbye message, a flush...
///         self.0.fetch_add(1, Ordering::SeqCst);
///         Ok(())
///     }
/// }
///
/// let closed = Arc::new(AtomicUsize::new(0));
/// let c = closed.clone();
/// weft_executor::run(async move {
///     // Success: the cleanup is awaited before the result comes back.
///     let c1 = c.clone();
///     let rows = weft_executor::with_resource(
///         async move { Ok(Conn(c1)) },
///         async |_conn| Ok::<_, std::io::Error>(1),
///         |conn| conn.close(),
///     )
///     .await;
///     assert_eq!(rows.unwrap(), 1);
///     assert_eq!(c.load(Ordering::SeqCst), 1);
///
///     // Cancelled: a timeout drops the scope mid-body; the close still runs, shielded.
///     let c2 = c.clone();
///     let scope = weft_executor::with_resource(
///         async move { Ok(Conn(c2)) },
///         async |_conn| std::future::pending::<std::io::Result<()>>().await,
///         |conn| conn.close(),
///     );
///     assert!(weft_timer::timeout(Duration::from_millis(1), scope).await.is_err());
/// });
/// // `run` waited for the shielded close before returning.
/// assert_eq!(closed.load(Ordering::SeqCst), 2);
/// ```
#[doc(alias = "asynccontextmanager")]
#[doc(alias = "async_with")]
#[doc(alias = "finally")]
#[track_caller]
pub fn with_resource<R, T, E, S, B, C, CF>(
    setup: S,
    body: B,
    cleanup: C,
) -> impl Future<Output = Result<T, E>>
where
    S: Future<Output = Result<R, E>>,
    B: AsyncFnOnce(&mut R) -> Result<T, E>,
    C: FnOnce(R) -> CF,
    CF: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display + Send + 'static,
{
    ResourceScope::new().with_resource(setup, body, cleanup)
}

/// `async with resource:` for a resource that knows its own async close ([`AsyncClose`]):
/// [`with_resource`] with `resource.close()` as the cleanup, with the same guarantees (the close
/// runs exactly once: after success, error, panic, or, shielded, after cancellation).
///
/// A close error becomes the scope's error (through `From`) when the body succeeded.
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use weft_reactor::net::{TcpListener, TcpStream};
///
/// weft_executor::run(async {
///     let l = TcpListener::bind("127.0.0.1:0")?;
///     let stream = TcpStream::connect(l.local_addr()?).await?;
///     let (mut peer, _) = l.accept().await?;
///     weft_executor::using(stream, async |s| s.write_all(b"hello").await).await?;
///     // The stream was flushed and its write half shut down: the peer reads to EOF.
///     let mut got = String::new();
///     peer.read_to_string(&mut got).await?;
///     assert_eq!(got, "hello");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
#[doc(alias = "asynccontextmanager")]
#[doc(alias = "async_with")]
#[track_caller]
pub fn using<R, T, E, B>(resource: R, body: B) -> impl Future<Output = Result<T, E>>
where
    R: AsyncClose,
    B: AsyncFnOnce(&mut R) -> Result<T, E>,
    E: From<R::Error> + fmt::Display + Send + 'static,
{
    ResourceScope::new().using(resource, body)
}

async fn scope<R, T, E, S, B, C>(
    opts: ResourceScope,
    at: &'static Location<'static>,
    setup: S,
    body: B,
    cleanup: C,
) -> Result<T, E>
where
    S: Future<Output = Result<R, E>>,
    B: AsyncFnOnce(&mut R) -> Result<T, E>,
    C: Cleanup<R, E>,
{
    let resource = setup.await?;
    let mut guard = Guard {
        state: State::Held(resource, cleanup),
        timeout: opts.cleanup_timeout,
        at,
    };
    let out = match &mut guard.state {
        State::Held(r, _) => AssertUnwindSafe(body(r)).catch_unwind().await,
        _ => unreachable!("the guard holds the resource until the body is done"),
    };
    guard.start_cleanup();
    let cleaned = poll_fn(|cx| guard.poll_cleanup(cx)).await;
    match (out, cleaned) {
        (Ok(Ok(v)), Ok(())) => Ok(v),
        (Ok(Ok(_)), Err(e)) => Err(e),
        (Ok(Err(e)), Ok(())) => Err(e),
        (Ok(Err(e)), Err(ce)) => {
            report_unhandled(UnhandledError::error(
                try_current(),
                format!(
                    "cleanup of with_resource at {at} failed (after its body failed): {}",
                    C::describe(&ce)
                ),
            ));
            Err(e)
        }
        (Err(panic), Ok(())) => resume_unwind(panic),
        (Err(panic), Err(ce)) => {
            report_unhandled(UnhandledError::error(
                try_current(),
                format!(
                    "cleanup of with_resource at {at} failed (after its body panicked): {}",
                    C::describe(&ce)
                ),
            ));
            resume_unwind(panic)
        }
    }
}

/// Where the resource is: with its cleanup not started, being cleaned up, or done.
enum State<R, C, CF> {
    Held(R, C),
    Cleaning(Pin<Box<CF>>),
    Done,
}

/// The bounds of a cleanup closure (called once with the resource; its future may move to
/// another task), named once for [`scope`] and [`Guard`] (the public functions spell them out).
trait Cleanup<R, E>: FnOnce(R) -> <Self as Cleanup<R, E>>::Fut {
    type Fut: Future<Output = Result<(), E>> + Send + 'static;
    /// `E: Display + Send + 'static` (the error may be reported from another task).
    fn describe(e: &E) -> String;
}

impl<R, E, C, CF> Cleanup<R, E> for C
where
    C: FnOnce(R) -> CF,
    CF: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display + Send + 'static,
{
    type Fut = CF;

    fn describe(e: &E) -> String {
        e.to_string()
    }
}

/// Owns the resource for the scope; if dropped before the cleanup finished, hands the cleanup
/// on (see [`Guard::hand_off`]). The bounds are on the type so that `Drop` can use them.
struct Guard<R, C: Cleanup<R, E>, E> {
    state: State<R, C, C::Fut>,
    timeout: Duration,
    at: &'static Location<'static>,
}

impl<R, C: Cleanup<R, E>, E> Guard<R, C, E> {
    /// Calls the cleanup closure; a panic in that call is reported, like one in its future.
    fn start_cleanup(&mut self) {
        if !matches!(self.state, State::Held(..)) {
            return;
        }
        if let State::Held(r, c) = std::mem::replace(&mut self.state, State::Done) {
            match catch_unwind(AssertUnwindSafe(|| Box::pin(c(r)))) {
                Ok(f) => self.state = State::Cleaning(f),
                Err(p) => report_unhandled(UnhandledError::panic(try_current(), p)),
            }
        }
    }

    /// Polls the cleanup in place. A panic in it is reported to the hook, and counts as done.
    fn poll_cleanup(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        let State::Cleaning(f) = &mut self.state else {
            return Poll::Ready(Ok(()));
        };
        let r = match catch_unwind(AssertUnwindSafe(|| f.as_mut().poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(r)) => r,
            Err(p) => {
                report_unhandled(UnhandledError::panic(try_current(), p));
                Ok(())
            }
        };
        // Dropping the finished future may panic too: that must not undo the result.
        drop_reporting(std::mem::replace(&mut self.state, State::Done));
        Poll::Ready(r)
    }

    /// The scope was dropped before its cleanup finished: start the cleanup if it had not
    /// started (the body was cancelled), and let it finish as a shielded task.
    fn hand_off(&mut self) {
        self.start_cleanup();
        let State::Cleaning(cleanup) = std::mem::replace(&mut self.state, State::Done) else {
            return; // finished, or the cleanup closure panicked (reported)
        };
        let at = self.at;
        if !crate::context::in_executor() {
            if crate::context::debug_mode() {
                eprintln!(
                    "weft: with_resource at {at} was cancelled outside a runtime: its async \
                     cleanup cannot continue and is dropped (only synchronous Drop runs)"
                );
            }
            return drop_reporting(cleanup);
        }
        let timeout = self.timeout;
        let info = TaskInfo::new(
            Some(Arc::from(format!("cleanup of with_resource at {at}"))),
            at,
        );
        let work = async move {
            let r = weft_timer::timeout(timeout, AssertUnwindSafe(cleanup).catch_unwind()).await;
            let report = match r {
                Ok(Ok(Ok(()))) => return,
                Ok(Ok(Err(e))) => UnhandledError::error(
                    try_current(),
                    format!(
                        "the cleanup failed after its scope was cancelled: {}",
                        C::describe(&e)
                    ),
                ),
                Ok(Err(p)) => UnhandledError::panic(try_current(), p),
                Err(_) => UnhandledError::error(
                    try_current(),
                    format!(
                        "the cleanup did not finish within its deadline of {timeout:?} after its \
                         scope was cancelled; dropped (raise ResourceScope::cleanup_timeout)"
                    ),
                ),
            };
            report_unhandled(report);
        };
        // Dropping the `Shield` detaches the task: it runs on, and shutdown waits for it.
        drop(crate::structured::shield_as(work, info));
    }
}

impl<R, C: Cleanup<R, E>, E> Drop for Guard<R, C, E> {
    fn drop(&mut self) {
        self.hand_off();
    }
}

/// Drops `v`, sending a panic in its destructor to the unhandled-error hook.
fn drop_reporting<V>(v: V) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(move || drop(v))) {
        report_unhandled(UnhandledError::panic(try_current(), p));
    }
}
