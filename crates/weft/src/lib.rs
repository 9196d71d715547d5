//! weft: an async runtime toolkit for Rust with every asyncio pattern.
//!
//! ```
//! assert_eq!(weft::block_on(async { 40 + 2 }), 42);
//! ```

#![forbid(unsafe_code)]

pub use weft_blocking::{unblock, BlockingPool};
pub use weft_reactor::{block_on, Async};
pub use weft_timer::{call_at, call_later, interval, sleep, sleep_until, timeout, timeout_at};

/// Time: sleeps, intervals, timeouts, timer callbacks and the virtual clock for tests.
///
/// Everything from [`weft_timer`]. Timers have 1 ms resolution and never fire early.
///
/// ```
/// use std::time::Duration;
///
/// weft::block_on(async {
///     let r = weft::time::timeout(Duration::from_millis(5), std::future::pending::<()>()).await;
///     assert!(r.is_err());
/// });
/// ```
pub mod time {
    pub use weft_timer::{
        advance, call_at, call_later, interval, interval_at, now, pause, resume, sleep,
        sleep_until, timeout, timeout_at, Clock, Elapsed, EnterGuard, Interval, MissedTickBehavior,
        Sleep, Timeout, TimerHandle, Timers,
    };
}

/// Synchronization: locks, semaphores, events, queues, channels, cancellation tokens.
///
/// Everything from [`weft_sync`]; it works under any executor. Every waiting method is
/// cancel-safe: dropping a pending `lock`/`acquire`/`get`/`put`/`recv`/`send`/`wait` loses no
/// permit, no item and no wake-up.
///
/// ```
/// use weft::sync::channel;
///
/// weft::block_on(async {
///     let (tx, rx) = channel::bounded(1);
///     tx.send(7).await.unwrap();
///     assert_eq!(rx.recv().await.unwrap(), 7);
/// });
/// ```
pub mod sync {
    pub use weft_sync::*;
}

/// Networking: TCP, UDP and Unix sockets driven by the weft reactor.
///
/// Everything from [`weft_reactor::net`]; every stream implements the futures-io
/// `AsyncRead`/`AsyncWrite` traits re-exported in [`io`].
pub mod net {
    pub use weft_reactor::net::*;
}

/// Async I/O traits and helpers (from `futures-lite`).
///
/// ```
/// use weft::io::{AsyncReadExt, AsyncWriteExt};
///
/// weft::block_on(async {
///     let mut buf = Vec::new();
///     let mut w = weft::io::Cursor::new(&mut buf);
///     w.write_all(b"hello").await.unwrap();
///     let mut s = String::new();
///     weft::io::Cursor::new(&buf).read_to_string(&mut s).await.unwrap();
///     assert_eq!(s, "hello");
/// });
/// ```
pub mod io {
    pub use futures_lite::io::*;
    pub use weft_blocking::{stderr, stdin, stdout, Unblock};
}

/// Async files: a mirror of `std::fs` that runs each operation on the blocking pool.
///
/// Errors are `std::io::Error`s with the same `ErrorKind` as std's and the path in the message.
///
/// ```
/// weft::block_on(async {
///     let path = std::env::temp_dir().join(format!("weft-fs-doc-{}", std::process::id()));
///     weft::fs::write(&path, b"hi").await.unwrap();
///     assert_eq!(weft::fs::read_to_string(&path).await.unwrap(), "hi");
///     weft::fs::remove_file(&path).await.unwrap();
/// });
/// ```
pub mod fs {
    pub use weft_blocking::fs::*;
}

/// The traits most weft programs need in scope: `use weft::prelude::*;`.
pub mod prelude {
    pub use futures_lite::{AsyncBufRead, AsyncRead, AsyncWrite, Future, Stream};
    pub use futures_lite::{
        AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, FutureExt as _, StreamExt as _,
    };
}

// >>> executor exports
// <<< executor exports
