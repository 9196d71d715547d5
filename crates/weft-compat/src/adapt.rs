//! The plumbing every I/O adapter of this crate shares (hyper's and tokio's): the wrapper
//! accessors, the write-side forwarding, and the error for a reader that overreports.

use std::io;

/// The error for a reader that reports more bytes (`n`) than the buffer it was given (`len`):
/// a broken reader, reported instead of panicking on a slice out of range.
pub(crate) fn overlong(n: usize, len: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("poll_read returned {n} for a buffer of {len} bytes (broken reader)"),
    )
}

/// `new`, `get_ref`, `get_mut`, `get_pin_mut` and `into_inner` for an adapter whose only field
/// is a pinned `inner`.
macro_rules! wrapper_methods {
    ($t:ident) => {
        impl<T> $t<T> {
            /// Wraps `inner`.
            pub fn new(inner: T) -> $t<T> {
                $t { inner }
            }

            /// The wrapped object.
            pub fn get_ref(&self) -> &T {
                &self.inner
            }

            /// The wrapped object, mutably.
            pub fn get_mut(&mut self) -> &mut T {
                &mut self.inner
            }

            /// The wrapped object, pinned.
            pub fn get_pin_mut(self: ::std::pin::Pin<&mut Self>) -> ::std::pin::Pin<&mut T> {
                self.project().inner
            }

            /// Unwraps the object.
            pub fn into_inner(self) -> T {
                self.inner
            }
        }
    };
}

/// The write side of an adapter, inside the target trait's `impl`: `poll_write`,
/// `poll_write_vectored` and `poll_flush` forward to the pinned `inner`, and the target's
/// close method (`$close`: `poll_close` or `poll_shutdown`) calls the inner one (`$inner_close`).
macro_rules! forward_write {
    ($close:ident => $inner_close:ident) => {
        fn poll_write(
            self: ::std::pin::Pin<&mut Self>,
            cx: &mut ::std::task::Context<'_>,
            buf: &[u8],
        ) -> ::std::task::Poll<::std::io::Result<usize>> {
            self.project().inner.poll_write(cx, buf)
        }

        fn poll_write_vectored(
            self: ::std::pin::Pin<&mut Self>,
            cx: &mut ::std::task::Context<'_>,
            bufs: &[::std::io::IoSlice<'_>],
        ) -> ::std::task::Poll<::std::io::Result<usize>> {
            self.project().inner.poll_write_vectored(cx, bufs)
        }

        fn poll_flush(
            self: ::std::pin::Pin<&mut Self>,
            cx: &mut ::std::task::Context<'_>,
        ) -> ::std::task::Poll<::std::io::Result<()>> {
            self.project().inner.poll_flush(cx)
        }

        fn $close(
            self: ::std::pin::Pin<&mut Self>,
            cx: &mut ::std::task::Context<'_>,
        ) -> ::std::task::Poll<::std::io::Result<()>> {
            self.project().inner.$inner_close(cx)
        }
    };
}
