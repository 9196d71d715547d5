//! `OpenOptions::open` opens a cached local file (or a memory device) on the calling thread,
//! without a pool job, and leaves everything else (creating, truncating, FIFOs) to the pool.
//! One test function: it counts the global pool's jobs, so nothing else may use the pool.
#![cfg(target_os = "linux")]

use std::ffi::CString;
use std::io;
use std::os::fd::AsRawFd;

use futures_lite::future::block_on;
use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use weft_blocking::fs::{File, OpenOptions};
use weft_blocking::BlockingPool;

/// Jobs the global pool has been given so far (each job is queued, running or completed).
fn pool_jobs() -> u64 {
    let m = BlockingPool::global().metrics();
    m.completed_jobs + m.running_jobs as u64 + m.queued_jobs as u64
}

/// Whether `f`'s descriptor is in non-blocking mode (it must not be: `std` opens block).
fn nonblocking(f: &std::fs::File) -> bool {
    // SAFETY: `F_GETFL` on a descriptor `f` owns and keeps open for the call.
    let fl = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
    assert!(fl >= 0, "fcntl: {}", io::Error::last_os_error());
    fl & libc::O_NONBLOCK != 0
}

#[test]
fn cached_files_open_without_a_pool_job_and_the_rest_use_the_pool() {
    let dir = std::env::temp_dir().join(format!("weft-inline-open-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data");
    std::fs::write(&path, b"cached bytes").unwrap();
    let _ = std::fs::read(&path).unwrap(); // the lookup and the bytes are cached now
    let fifo = dir.join("fifo");
    let c = CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);

    block_on(async {
        // A cached regular file, read-only and read+write: on this thread.
        let before = pool_jobs();
        let mut f = File::open(&path).await.unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "cached bytes");
        let mut rw = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        rw.write_all(b"C").await.unwrap();
        rw.flush().await.unwrap();
        // Opened again (the mount is remembered as local now), and known to be seekable
        // without asking the OS: a seek and a read there work as on any file.
        let mut again = File::open(&path).await.unwrap();
        assert_eq!(again.seek(io::SeekFrom::Start(1)).await.unwrap(), 1);
        let mut tail = String::new();
        again.read_to_string(&mut tail).await.unwrap();
        assert_eq!(
            tail,
            "Cached bytes"[1..],
            "C was written through `rw` before"
        );
        let mut z = File::open("/dev/zero").await.unwrap();
        let mut buf = [1u8; 4096];
        z.read_exact(&mut buf).await.unwrap();
        assert!(buf.iter().all(|&b| b == 0));
        // (the write's flush was a pool job; the opens and cached reads were not)
        assert_eq!(pool_jobs(), before + 1, "cached opens took pool jobs");
        let std_file = f.into_std().await.unwrap();
        assert!(
            !nonblocking(&std_file),
            "O_NONBLOCK left on an inline-opened file"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"Cached bytes");

        // Creating or truncating, a FIFO, and a missing file: the pool (same results as std).
        for (what, open) in [
            (
                "create",
                OpenOptions::new().write(true).create(true).clone(),
            ),
            (
                "truncate",
                OpenOptions::new().write(true).truncate(true).clone(),
            ),
        ] {
            let before = pool_jobs();
            drop(open.open(&path).await.unwrap());
            assert!(pool_jobs() > before, "{what} did not use the pool");
        }
        let before = pool_jobs();
        // O_RDWR on a FIFO does not wait for a peer on Linux.
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .await
            .unwrap();
        assert!(
            pool_jobs() > before,
            "a FIFO was opened on the calling thread"
        );
        assert!(!nonblocking(&f.into_std().await.unwrap()));
        let before = pool_jobs();
        let e = File::open(dir.join("missing")).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("missing"), "{e}");
        assert!(pool_jobs() > before);
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
