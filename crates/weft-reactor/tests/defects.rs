//! Regression tests for the defects found in review of the reactor (issue 13). Each one failed
//! before its fix.

use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use weft_reactor::net::UnixStream;
use weft_reactor::{block_on, Async, RegisterError, RegisterErrorKind};

/// Runs `f` on its own thread and fails (instead of hanging) if it does not finish in time.
fn with_watchdog<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: no progress for 30 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: the thread panicked"),
    }
}

struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("timer waker panic (expected by this test)");
    }
}

fn round_trip() {
    block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
    });
}

#[test]
fn a_panicking_timer_waker_does_not_stop_the_driver() {
    // A global-timer sleep whose waker panics fires inside the reactor's turn. The turn must
    // finish the batch (the other sleep fires) and the reactor must keep being driven, by this
    // thread and by others (before: the panic unwound through `react`, poisoned the reactor
    // lock, and `try_lock` then saw it as held forever).
    with_watchdog("panicking timer waker", || {
        let timers = weft_timer::Timers::global().clone();
        let deadline = timers.now() + Duration::from_millis(1);
        let mut bad = Box::pin(weft_timer::Sleep::new_in(timers.clone(), deadline));
        let waker = Waker::from(Arc::new(PanickingWaker));
        assert!(bad
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        block_on(weft_timer::Sleep::new_in(timers, deadline));
        block_on(weft_timer::sleep(Duration::from_millis(5)));
        round_trip();
    });
    with_watchdog("I/O on another thread afterwards", round_trip);
}

#[test]
fn unix_connect_to_a_full_backlog_is_an_error_not_an_unconnected_socket() {
    let dir = std::env::temp_dir().join(format!("weft-defects-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("full.sock");
    let _ = std::fs::remove_file(&path);
    let listener =
        socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
    listener
        .bind(&socket2::SockAddr::unix(&path).unwrap())
        .unwrap();
    listener.listen(0).unwrap(); // never accepts: the backlog fills after a connection or two
    let res = with_watchdog("unix connect", {
        let path = path.clone();
        move || {
            block_on(async {
                let mut held = Vec::new();
                for _ in 0..64 {
                    match UnixStream::connect(&path).await {
                        Ok(s) => {
                            // Before the fix an EAGAIN "connected" an unconnected socket.
                            s.peer_addr()
                                .expect("connect returned an unconnected socket");
                            held.push(s);
                        }
                        Err(e) => return Some(e),
                    }
                }
                None
            })
        }
    });
    let e = res.expect("64 connects into a backlog of 0 all succeeded");
    assert_eq!(e.kind(), io::ErrorKind::ResourceBusy, "{e}");
    assert!(e.to_string().contains("backlog is full"), "{e}");
    drop(listener);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn fd_is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD takes no pointer; it only reports whether `fd` is open.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

#[test]
fn into_inner_returns_the_object_when_deregistration_fails() {
    let mut a = Async::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    let other = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let other_fd = other.as_raw_fd();
    // Swap in a descriptor the reactor never registered: deregistering it fails (ENOENT).
    // SAFETY: the registered original is kept open in `original` until the end of the test.
    let original = std::mem::replace(unsafe { a.get_mut() }, other);
    let back = a
        .into_inner()
        .expect("into_inner failed instead of returning the object");
    assert_eq!(back.as_raw_fd(), other_fd);
    assert!(fd_is_open(other_fd), "into_inner closed the object");
    drop(original);
}

fn register_error(e: &io::Error) -> &RegisterError {
    e.get_ref()
        .and_then(|e| e.downcast_ref::<RegisterError>())
        .unwrap_or_else(|| panic!("not a RegisterError: {e:?}"))
}

#[test]
fn registering_a_regular_file_says_what_is_wrong() {
    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    let e = Async::new(file).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
    assert_eq!(register_error(&e).kind(), RegisterErrorKind::NotPollable);
    assert_eq!(register_error(&e).raw_os_error(), Some(libc::EPERM));
    let msg = e.to_string();
    assert!(
        msg.contains("regular file") && msg.contains("blocking pool"),
        "{msg}"
    );
}

#[test]
fn registering_a_descriptor_twice_says_what_is_wrong() {
    let a = Async::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    // SAFETY: `a` keeps the descriptor open for the borrow's whole life.
    let again = unsafe { BorrowedFd::borrow_raw(a.as_raw_fd()) };
    let e = Async::new(again).unwrap_err();
    assert_eq!(
        register_error(&e).kind(),
        RegisterErrorKind::AlreadyRegistered
    );
    assert!(e.to_string().contains("already registered"), "{e}");
    // The failed registration did not disturb the first one.
    block_on(async {
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        b.send_to(b"x", a.get_ref().local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 1];
        a.read_with(|s| s.recv(&mut buf)).await.unwrap();
    });
}

#[test]
fn a_short_read_on_a_message_socket_does_not_hide_the_next_message() {
    // On a SEQPACKET socket each read returns one message, shorter than the buffer while more
    // messages wait: only stream sockets may treat a short read as "drained".
    with_watchdog("seqpacket reads", || {
        let (a, b) =
            socket2::Socket::pair(socket2::Domain::UNIX, socket2::Type::SEQPACKET, None).unwrap();
        a.send(b"one").unwrap();
        a.send(b"two").unwrap();
        let mut b = Async::new(b).unwrap();
        block_on(async {
            let mut buf = [0u8; 64];
            let n = b.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"one");
            let n = b.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"two");
        });
        drop(a);
    });
}
