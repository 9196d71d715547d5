//! `fs::File` on values that cannot seek (a FIFO, a pty) opened read+write: a write or a seek
//! after a partial read must keep the unread input and must not fail with ESPIPE.
#![cfg(unix)]

mod common;
use common::within;

use std::ffi::CString;
use std::io::{self, Read, SeekFrom, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;

use futures_lite::future::block_on;
use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use weft_blocking::fs::{File, OpenOptions};
use weft_blocking::NotSeekable;

fn fifo_path() -> PathBuf {
    std::env::temp_dir().join(format!(
        "weft-fifo-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ))
}

#[test]
fn fifo_partial_read_then_write_keeps_input_and_does_not_seek() {
    let path = fifo_path();
    let _ = std::fs::remove_file(&path);
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", io::Error::last_os_error());
    let p = path.clone();
    let result = within("FIFO read/write", move || {
        block_on(async move {
            // O_RDWR on a FIFO does not block on Linux and keeps a writer and a reader open.
            let mut f = OpenOptions::new().read(true).write(true).open(&p).await?;
            f.write_all(b"hello world").await?;
            f.flush().await?;
            let mut head = [0u8; 5];
            f.read_exact(&mut head).await?; // one fill got all 11 bytes: 6 stay buffered
            assert_eq!(&head, b"hello");
            f.write_all(b"!").await?;
            f.flush().await?; // before the fix: "Illegal seek", and " world" was gone
                              // A seek fails as on std (ESPIPE) and loses nothing either.
            let seek = f.seek(SeekFrom::Current(0)).await.unwrap_err();
            assert_not_seekable(&seek);
            let mut rest = [0u8; 7];
            f.read_exact(&mut rest).await?;
            assert_eq!(&rest, b" world!");
            // The handle can still be converted back (no rewind on an unseekable file).
            let std_file = f.into_std().await?;
            drop(std_file);
            io::Result::Ok(())
        })
    });
    let _ = std::fs::remove_file(&path);
    result.unwrap();
}

/// The error of a seek on an unseekable file: kind `NotSeekable` around `weft::NotSeekable`,
/// whose message says what is wrong.
fn assert_not_seekable(e: &io::Error) {
    assert_eq!(e.kind(), io::ErrorKind::NotSeekable, "{e}");
    assert!(e.get_ref().is_some_and(|i| i.is::<NotSeekable>()), "{e:?}");
    assert!(e.to_string().contains("not seekable"), "{e}");
}

fn make_fifo(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", io::Error::last_os_error());
}

#[test]
fn fifo_seek_with_a_read_in_flight_fails_at_once_and_keeps_input() {
    let path = fifo_path().with_extension("seek");
    make_fifo(&path);
    let p = path.clone();
    let result = within(
        "seek on a FIFO while a read waits for a writer",
        move || {
            block_on(async move {
                let mut f = OpenOptions::new().read(true).write(true).open(&p).await?;
                f.write_all(b"abc").await?;
                f.flush().await?;
                let mut one = [0u8; 1];
                f.read_exact(&mut one).await?; // "bc" stays buffered
                assert_not_seekable(&f.seek(SeekFrom::Start(0)).await.unwrap_err());
                let mut two = [0u8; 2];
                f.read_exact(&mut two).await?;
                assert_eq!(&two, b"bc", "a failed seek lost buffered input");
                // The FIFO is empty: this read's fill waits on the pool until someone writes.
                let started = futures_lite::future::poll_once(f.read(&mut one)).await;
                assert!(
                    started.is_none(),
                    "read of an empty FIFO finished: {started:?}"
                );
                // Before the fix the seek waited for that read, which nothing would ever end.
                assert_not_seekable(&f.seek(SeekFrom::Current(0)).await.unwrap_err());
                assert_not_seekable(&f.seek(SeekFrom::End(0)).await.unwrap_err());
                // Writes never wait for the read; the read in flight gets the byte, kept for us.
                f.write_all(b"d").await?;
                f.flush().await?;
                f.read_exact(&mut one).await?;
                assert_eq!(&one, b"d");
                io::Result::Ok(())
            })
        },
    );
    let _ = std::fs::remove_file(&path);
    result.unwrap();
}

/// Opens a pty pair in raw mode (no echo, no line editing): (master, slave).
fn open_pty() -> io::Result<(std::fs::File, std::fs::File)> {
    // SAFETY: plain libc calls on a descriptor we own; every return value is checked, and the
    // descriptors are moved into `OwnedFd`s (closed on drop) as soon as they exist.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        if m < 0 {
            return Err(io::Error::last_os_error());
        }
        let master = OwnedFd::from_raw_fd(m);
        if libc::grantpt(m) != 0 || libc::unlockpt(m) != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut name = [0 as libc::c_char; 128];
        if libc::ptsname_r(m, name.as_mut_ptr(), name.len()) != 0 {
            return Err(io::Error::last_os_error());
        }
        let s = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        if s < 0 {
            return Err(io::Error::last_os_error());
        }
        let slave = OwnedFd::from_raw_fd(s);
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(s, &mut t) != 0 {
            return Err(io::Error::last_os_error());
        }
        libc::cfmakeraw(&mut t);
        if libc::tcsetattr(s, libc::TCSANOW, &t) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((master.into(), slave.into()))
    }
}

#[test]
fn pty_partial_read_then_write_keeps_input_and_does_not_seek() {
    let (master, mut slave) = match open_pty() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("skipped: no pty available here ({e})");
            return;
        }
    };
    slave.write_all(b"abcdef").unwrap();
    let (to_slave, from_slave) = within("pty read/write", move || {
        block_on(async move {
            let mut m = File::from_std(master);
            let mut two = [0u8; 2];
            m.read_exact(&mut two).await?;
            assert_eq!(&two, b"ab");
            m.write_all(b"zz").await?;
            m.flush().await?; // before the fix: "Illegal seek", and "cdef" was gone
            let mut rest = [0u8; 4];
            m.read_exact(&mut rest).await?;
            io::Result::Ok((rest, m))
        })
        .map(|(rest, m)| {
            let mut got = [0u8; 2];
            slave.read_exact(&mut got).unwrap();
            drop(m);
            (got, rest)
        })
    })
    .unwrap();
    assert_eq!(&from_slave, b"cdef");
    assert_eq!(&to_slave, b"zz");
}

#[test]
fn positional_io_on_a_fifo_is_espipe_and_keeps_input() {
    let path = fifo_path().with_extension("pos");
    let _ = std::fs::remove_file(&path);
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", io::Error::last_os_error());
    let p = path.clone();
    let result = within("FIFO positional I/O", move || {
        block_on(async move {
            let mut f = OpenOptions::new().read(true).write(true).open(&p).await?;
            f.write_all(b"abcdef").await?;
            f.flush().await?;
            let mut two = [0u8; 2];
            f.read_exact(&mut two).await?;
            let mut b = [0u8; 2];
            let e = f.read_at(&mut b, 0).await.unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::ESPIPE), "{e}");
            let e = f.write_at(b"zz", 0).await.unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::ESPIPE), "{e}");
            let mut rest = [0u8; 4];
            f.read_exact(&mut rest).await?;
            assert_eq!(&rest, b"cdef");
            io::Result::Ok(())
        })
    });
    let _ = std::fs::remove_file(&path);
    result.unwrap();
}
