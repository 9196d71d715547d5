//! The reactor reports an error (instead of panicking) when the OS poller cannot be created,
//! and retries on the next use. Its own test binary: it must run before anything else creates
//! the reactor, and it lowers the process's descriptor limit.

#[test]
fn poller_creation_failure_is_an_error_and_is_retried() {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit struct.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    let saved = lim.rlim_cur;
    lim.rlim_cur = 0; // no new descriptor can be opened: epoll_create1 fails with EMFILE
                      // SAFETY: as above; cur <= max.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);

    let res =
        std::panic::catch_unwind(|| weft_reactor::Async::new(std::os::fd::AsFd::as_fd(&sock)));
    // `block_on` still runs futures without a reactor.
    let two = std::panic::catch_unwind(|| weft_reactor::block_on(async { 1 + 1 }));

    lim.rlim_cur = saved;
    // SAFETY: as above.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);

    let res = res.expect("the reactor panicked when the poller could not be created");
    let e = res.expect_err("registration without a poller succeeded");
    assert!(
        e.to_string().contains("cannot create the OS poller") && e.to_string().contains("RLIMIT"),
        "{e}"
    );
    assert_eq!(two.expect("block_on panicked without a reactor"), 2);
    // With descriptors available again, the next use creates the reactor.
    let a = weft_reactor::Async::new(sock).expect("the reactor was not created on retry");
    drop(a);
}
