//! Linux: a `File` whose bytes are in the page cache reads them on the calling thread
//! (`preadv2(RWF_NOWAIT)`) and seeks with an `lseek` there, without pool jobs. One test in its
//! own binary, so nothing else uses the global pool while its jobs are counted.
#![cfg(target_os = "linux")]

use futures_lite::future::block_on;
use futures_lite::{AsyncReadExt, AsyncSeekExt};
use weft_blocking::fs::File;
use weft_blocking::BlockingPool;

/// Pool jobs that reading `path` in 4 KiB reads takes (the open excluded), and the bytes.
fn jobs_to_read(path: &std::path::Path, inline: bool) -> (u64, Vec<u8>) {
    block_on(async {
        let mut f = File::open(path).await.unwrap();
        f.set_inline_reads(inline);
        let before = BlockingPool::global().metrics().completed_jobs;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match f.read(&mut buf).await.unwrap() {
                0 => break,
                n => out.extend_from_slice(&buf[..n]),
            }
        }
        // Jobs counted when they finish: one the reader did not wait for (a read-ahead) may
        // still be running, so wait until the pool is quiet before counting.
        let report = BlockingPool::global().drain(std::time::Duration::from_secs(20));
        assert_eq!(report.abandoned, 0, "the pool did not go quiet");
        (
            BlockingPool::global().metrics().completed_jobs - before,
            out,
        )
    })
}

/// Pool jobs that 200 seek + 100-byte read pairs take (and whether the bytes were right).
fn random_access_jobs(path: &std::path::Path, src: &[u8]) -> (u64, bool) {
    block_on(async {
        let mut f = File::open(path).await.unwrap();
        let before = BlockingPool::global().metrics().completed_jobs;
        let mut ok = true;
        let mut buf = [0u8; 100];
        for i in 0..200u64 {
            let at = (i * 7919 * 37) % (src.len() as u64 - 100);
            assert_eq!(f.seek(std::io::SeekFrom::Start(at)).await.unwrap(), at);
            f.read_exact(&mut buf).await.unwrap();
            ok &= buf[..] == src[at as usize..at as usize + 100];
        }
        let report = BlockingPool::global().drain(std::time::Duration::from_secs(20));
        assert_eq!(report.abandoned, 0, "the pool did not go quiet");
        (BlockingPool::global().metrics().completed_jobs - before, ok)
    })
}

#[test]
fn cached_reads_and_seeks_take_no_pool_jobs() {
    let path = std::env::temp_dir().join(format!("weft-inline-{}", std::process::id()));
    let src: Vec<u8> = (0..1_000_000).map(|i| (i % 241) as u8).collect();
    std::fs::write(&path, &src).unwrap();
    // Just written, so in the page cache; read once more to be sure.
    assert_eq!(std::fs::read(&path).unwrap(), src);
    let (pool_jobs, pool_bytes) = jobs_to_read(&path, false);
    let (inline_jobs, inline_bytes) = jobs_to_read(&path, true);
    let (random_jobs, random_ok) = random_access_jobs(&path, &src);
    let _ = std::fs::remove_file(&path);
    assert!(random_ok, "random access read the wrong bytes");
    // 200 seeks and reads of a cached file: `lseek` and `preadv2` here, no pool trip (a few
    // only if the kernel evicted pages in between).
    assert!(
        random_jobs < 20,
        "random access took {random_jobs} pool jobs"
    );
    assert!(pool_bytes == src && inline_bytes == src, "content differs");
    // 1 MB through the pool: fills of 8, 16, 32, 64, then 128 KiB (and a last one for EOF).
    assert!(pool_jobs >= 8, "the pool path took only {pool_jobs} jobs");
    // From the cache: no job at all, unless the kernel evicted pages in between (then a few).
    assert!(
        inline_jobs < pool_jobs / 2,
        "cached reads took {inline_jobs} pool jobs (the pool path {pool_jobs})"
    );
}

/// Cached reads never wait, so without a rule a task reading a big cached file would never give
/// its executor thread back: it must yield (`Pending`, already woken) now and then.
#[test]
fn a_long_run_of_cached_reads_yields_to_the_executor() {
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    let path = std::env::temp_dir().join(format!("weft-yield-{}", std::process::id()));
    let len = 16 << 20;
    std::fs::write(&path, vec![5u8; len]).unwrap();
    let mut f = block_on(File::open(&path)).unwrap();
    let wakes = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    let (mut got, mut pending) = (0, 0);
    let mut buf = vec![0u8; 64 * 1024];
    while got < len {
        let mut read = f.read(&mut buf);
        match std::pin::Pin::new(&mut read).poll(&mut cx) {
            Poll::Ready(n) => got += n.unwrap(),
            Poll::Pending => {
                pending += 1;
                drop(read);
                // A yield (or a pool fill): the next read picks up where this one left off.
                got += block_on(f.read(&mut buf)).unwrap();
            }
        }
    }
    let _ = std::fs::remove_file(&path);
    // 16 MiB of 128 KiB fills: a yield every 4 MiB (or pool fills, which wait too).
    assert!(
        pending >= 3,
        "16 MiB of reads returned Pending {pending} times"
    );
    assert!(
        wakes.0.load(Ordering::SeqCst) >= 3,
        "a yield must wake its task"
    );
}
