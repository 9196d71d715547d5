//! Linux backend: epoll and an eventfd notifier, both edge-triggered.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{Event, NOTIFY_KEY};

/// An epoll instance plus its notifier.
#[derive(Debug)]
pub(crate) struct Poller {
    epoll: OwnedFd,
    notifier: OwnedFd,
    /// Set by `notify` until the next wait returns: notifications are coalesced into one write.
    notified: AtomicBool,
}

/// The buffer one wait fills.
pub(crate) struct Events {
    buf: Vec<libc::epoll_event>,
    len: usize,
}

impl Events {
    /// Room for `cap` events per wait.
    pub(crate) fn with_capacity(cap: usize) -> Events {
        Events {
            buf: vec![libc::epoll_event { events: 0, u64: 0 }; cap.max(1)],
            len: 0,
        }
    }

    /// The events of the last wait, the notifier's excluded.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.buf[..self.len].iter().filter_map(|ev| {
            let key = ev.u64 as usize;
            if key == NOTIFY_KEY {
                return None;
            }
            let flags = ev.events as libc::c_int;
            let broken = flags & (libc::EPOLLERR | libc::EPOLLHUP) != 0;
            Some(Event {
                key,
                readable: flags & (libc::EPOLLIN | libc::EPOLLPRI) != 0,
                writable: flags & libc::EPOLLOUT != 0,
                read_closed: broken || flags & libc::EPOLLRDHUP != 0,
                write_closed: broken,
            })
        })
    }
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Whether `epoll_pwait2` (Linux 5.11) may be used; cleared the first time it is refused.
static PWAIT2: AtomicBool = AtomicBool::new(true);

/// Sets the calling thread's timer slack to 1 ns, once per thread: the kernel otherwise lets a
/// timed wait of a normal thread end up to 50 µs late (`PR_SET_TIMERSLACK`), the largest part of
/// a short sleep's overshoot. Only threads that wait in the poller with a sub-millisecond
/// timeout are affected (their other timed waits become as precise); one syscall per thread,
/// never on the path of a busy server.
fn precise_timer_slack() {
    thread_local! {
        static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    let _ = DONE.try_with(|done| {
        if !done.replace(true) {
            // SAFETY: PR_SET_TIMERSLACK takes one integer argument and only changes this
            // thread's timer slack; failure (an old kernel, a filter) leaves it as it was.
            unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
        }
    });
}

const EDGE_BOTH: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;

impl Poller {
    /// Creates the epoll instance and its notifier.
    pub(crate) fn new() -> io::Result<Poller> {
        // SAFETY: plain syscall with a flag argument; the result is checked.
        let ep = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `ep` is a fresh descriptor we own.
        let epoll = unsafe { OwnedFd::from_raw_fd(ep) };
        // SAFETY: plain syscall with integer arguments; the result is checked.
        let ev = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: `ev` is a fresh descriptor we own.
        let notifier = unsafe { OwnedFd::from_raw_fd(ev) };
        let p = Poller {
            epoll,
            notifier,
            notified: AtomicBool::new(false),
        };
        // Edge-triggered: every write to the eventfd is a new edge, so it never needs draining
        // (until its counter would overflow, see `notify`).
        p.ctl(libc::EPOLL_CTL_ADD, p.notifier.as_raw_fd(), NOTIFY_KEY)?;
        Ok(p)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, key: usize) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: EDGE_BOTH,
            u64: key as u64,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call; the descriptors are
        // checked by the kernel.
        cvt(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) })?;
        Ok(())
    }

    /// Registers `fd` for both directions, edge-triggered, under `key`.
    ///
    /// # Safety
    ///
    /// `fd` must be deleted with [`delete`](Self::delete) before it is closed.
    pub(crate) unsafe fn add(&self, fd: RawFd, key: usize) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, key)
    }

    /// Deregisters `fd`.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: a null event pointer is allowed for EPOLL_CTL_DEL (since Linux 2.6.9).
        cvt(unsafe {
            libc::epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        })?;
        Ok(())
    }

    /// Waits for events for at most `timeout` (`None`: until an event or a notification).
    /// Returns the number of events, the notifier's included. Never returns before the timeout
    /// unless something happened: a timeout finer than a millisecond is waited for exactly with
    /// `epoll_pwait2`, or rounded up to whole milliseconds where the kernel lacks it.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        let cap = libc::c_int::try_from(events.buf.len()).unwrap_or(libc::c_int::MAX);
        let n = match timeout {
            Some(d) if d.subsec_nanos() % 1_000_000 != 0 && PWAIT2.load(Ordering::Relaxed) => {
                match self.wait_exact(events, cap, d) {
                    Some(n) => n,
                    None => self.wait_ms(events, cap, timeout),
                }
            }
            _ => self.wait_ms(events, cap, timeout),
        };
        // Any wait that returned has consumed the notification's purpose (the caller re-checks
        // its state now); later notifications must write again.
        self.notified.store(false, Ordering::SeqCst);
        match cvt(n) {
            Ok(n) => {
                events.len = n as usize;
                Ok(events.len)
            }
            Err(e) => {
                events.len = 0;
                if e.kind() == io::ErrorKind::Interrupted {
                    Ok(0)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// `epoll_wait` with `timeout` rounded up to whole milliseconds.
    fn wait_ms(
        &self,
        events: &mut Events,
        cap: libc::c_int,
        timeout: Option<Duration>,
    ) -> libc::c_int {
        let ms: libc::c_int = match timeout {
            None => -1,
            Some(d) => {
                let ms = d.as_nanos().div_ceil(1_000_000);
                libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
            }
        };
        // SAFETY: the buffer holds `cap` writable epoll_event slots.
        unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), events.buf.as_mut_ptr(), cap, ms) }
    }

    /// `epoll_pwait2` with the exact timeout, or `None` (and never again) if the kernel or a
    /// seccomp filter refuses the syscall.
    fn wait_exact(
        &self,
        events: &mut Events,
        cap: libc::c_int,
        d: Duration,
    ) -> Option<libc::c_int> {
        precise_timer_slack();
        let ts = libc::timespec {
            tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: d.subsec_nanos().into(),
        };
        // SAFETY: the buffer holds `cap` writable epoll_event slots, `ts` is a valid timespec
        // for the call, and a null signal mask (size 0) leaves the mask alone.
        let n = unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                self.epoll.as_raw_fd(),
                events.buf.as_mut_ptr(),
                cap,
                &ts as *const libc::timespec,
                std::ptr::null::<libc::sigset_t>(),
                0usize,
            )
        };
        if n == -1 {
            let e = io::Error::last_os_error();
            if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) {
                PWAIT2.store(false, Ordering::Relaxed);
                return None;
            }
            return Some(-1);
        }
        Some(libc::c_int::try_from(n).unwrap_or(0))
    }

    /// Wakes the current or next `wait`. Coalesced: one write until that wait returns.
    pub(crate) fn notify(&self) -> io::Result<()> {
        if self.notified.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let one = 1u64.to_ne_bytes();
        loop {
            // SAFETY: writes 8 bytes from a valid buffer to our eventfd.
            let r = unsafe { libc::write(self.notifier.as_raw_fd(), one.as_ptr().cast(), 8) };
            if r == 8 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => {}
                io::ErrorKind::WouldBlock => {
                    // The counter is about to overflow (after ~2^64 notifications): drain it.
                    let mut buf = [0u8; 8];
                    // SAFETY: reads 8 bytes into a valid buffer from our eventfd.
                    unsafe { libc::read(self.notifier.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
                }
                _ => {
                    self.notified.store(false, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_sub_millisecond_wait_never_returns_before_its_timeout() {
        let p = Poller::new().unwrap();
        let mut events = Events::with_capacity(4);
        // The notifier's first (writable) edge.
        p.wait(&mut events, Some(Duration::ZERO)).unwrap();
        for us in [1u64, 90, 300, 999, 1_250] {
            let d = Duration::from_micros(us);
            let start = Instant::now();
            assert_eq!(p.wait(&mut events, Some(d)).unwrap(), 0);
            assert!(start.elapsed() >= d, "a {d:?} wait returned early");
        }
    }

    #[test]
    fn a_notified_wait_returns_at_once_whatever_the_timeout() {
        let p = Poller::new().unwrap();
        let mut events = Events::with_capacity(4);
        p.wait(&mut events, Some(Duration::ZERO)).unwrap();
        p.notify().unwrap();
        // A watchdog-sized timeout: a lost notification fails the test instead of hanging.
        assert_eq!(
            p.wait(
                &mut events,
                Some(Duration::from_secs(20) + Duration::from_nanos(1))
            )
            .unwrap(),
            1
        );
    }
}
