//! Futures polled inside a tokio context.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use ::tokio::runtime::{EnterGuard, Handle, Runtime};

/// The name of the thread that drives the lazily started tokio runtime.
const THREAD_NAME: &str = "weft-compat-tokio";

/// The tokio runtime behind [`Compat`], started on first use: a current-thread runtime with
/// timers and I/O enabled, driven by one thread named `weft-compat-tokio` that runs forever.
///
/// # Panics
/// If the runtime or its thread cannot be created (out of threads or file descriptors); tokio
/// itself panics in the same situation.
pub fn runtime_handle() -> Handle {
    runtime().handle().clone()
}

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    static DRIVER: OnceLock<()> = OnceLock::new();
    let rt = RT.get_or_init(|| {
        ::tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name(THREAD_NAME)
            .build()
            .unwrap_or_else(|e| {
                panic!("weft-compat: cannot start the tokio runtime for Compat futures: {e}")
            })
    });
    DRIVER.get_or_init(|| {
        // The thread's block_on never returns: it drives the timers and sockets of every tokio
        // resource created under `Compat`, and runs what those futures `tokio::spawn`.
        std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || rt.block_on(std::future::pending::<()>()))
            .unwrap_or_else(|e| {
                panic!("weft-compat: cannot spawn the `{THREAD_NAME}` thread: {e}")
            });
    });
    rt
}

/// Enters our tokio runtime's context unless this thread is already in one.
fn enter() -> Option<EnterGuard<'static>> {
    match Handle::try_current() {
        Ok(_) => None,
        Err(_) => Some(runtime().enter()),
    }
}

pin_project_lite::pin_project! {
    /// A future (or tokio I/O object) that runs inside a tokio context, whatever executor polls
    /// it. Created by [`Compat::new`] or [`CompatExt::compat`].
    ///
    /// While it is polled, and while its inner value is dropped, the context of the runtime
    /// from [`runtime_handle`] is entered (unless the polling thread already is in a tokio
    /// runtime), so `tokio::spawn`, `tokio::time` and tokio's sockets work inside weft tasks.
    ///
    /// # Cancel safety
    /// As cancel-safe as the inner future: dropping a `Compat` drops it (inside the context).
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Compat<F> {
        #[pin]
        inner: Option<F>,
    }

    impl<F> PinnedDrop for Compat<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if this.inner.as_mut().as_pin_mut().is_some() {
                let _guard = enter();
                this.inner.set(None);
            }
        }
    }
}

impl<F> Compat<F> {
    /// Wraps `inner`.
    pub fn new(inner: F) -> Compat<F> {
        Compat { inner: Some(inner) }
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &F {
        self.inner
            .as_ref()
            .expect("Compat is only emptied by its own Drop")
    }
}

impl<F: Future> Future for Compat<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _guard = enter();
        match self.project().inner.as_pin_mut() {
            Some(f) => f.poll(cx),
            // Unreachable: only Drop empties it.
            None => Poll::Pending,
        }
    }
}

/// `.compat()` on every future: see [`Compat`].
pub trait CompatExt: Sized {
    /// Runs `self` inside a tokio context; see [`Compat`].
    fn compat(self) -> Compat<Self> {
        Compat::new(self)
    }
}

impl<F: Future> CompatExt for F {}
